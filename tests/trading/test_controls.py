"""The controls read path (SPEC §8): typed, defaulted, validated, audited, and a change is seen
by every worker on its next request."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from otc_framework.controls import CORE_CONTROLS
from otc_framework.controls.values import Controls
from otc_framework.errors import ValidationFailed
from otc_framework.storage.models import AuditLog, Currency, Settlement, Spread, Tier
from tests.desk import Desk, two_workers


def test_defaults_and_a_bad_stored_value_fall_back() -> None:
    # ``exec_mode`` names a mode whose plugin is no longer enabled: the desk does not hedge.
    controls = Controls(CORE_CONTROLS, {"session_ttl_seconds": "9", "spot_max_age_seconds": "not a number",
                                        "exec_mode": "twap_gone"})
    assert controls.integer("session_ttl_seconds") == 9
    assert controls.integer("spot_max_age_seconds") == 10
    assert controls["exec_mode"] == "off"
    assert controls.flag("quoting_enabled") is True
    assert controls.decimal("usdc_usdt_ratio") == Decimal("1.0000")


async def test_writes_are_validated_and_audited(desk: Desk) -> None:
    for key, value in (("no_such_control", "1"), ("session_ttl_seconds", "soon"), ("session_ttl_seconds", 0),
                       ("usdc_usdt_ratio", 1.0), ("exec_mode", "sometimes")):
        with pytest.raises(ValidationFailed):
            await desk.set_control(key, value)
    await desk.set_control("session_ttl_seconds", 9)
    await desk.set_control("session_ttl_seconds", "11")
    rows = await AuditLog.filter(action="control.update").order_by("id")
    assert [r.detail for r in rows] == [
        {"key": "session_ttl_seconds", "before": "7", "after": "9"},
        {"key": "session_ttl_seconds", "before": "9", "after": "11"},
    ]


@pytest.mark.parametrize("store_url", ["redis"], indirect=True)
async def test_a_change_reaches_every_worker_on_its_next_request(
    migrated_database_url: str, store_url: str, store_namespace: str, loopback: Any
) -> None:
    async with two_workers(migrated_database_url, store_url, store_namespace, loopback) as (first, second):
        _, token = await first.client()
        assert (await second.quote(token)).json()["price"] == "5.0150"
        await first.set_control("spread_adjustment", "0.10")
        assert (await second.quote(token)).json()["price"] == "5.0200"  # no wait, no restart
        await Spread.filter(tier=Tier.T1, currency=Currency.USDT, settlement=Settlement.D0).update(
            spread_pct=Decimal("0.50"))
        await first.runtime.reference.changed("spreads")
        assert (await second.quote(token)).json()["price"] == "5.0300"
        await first.set_control("quoting_enabled", False)
        assert (await second.quote(token)).json()["code"] == "QUOTING_DISABLED"
