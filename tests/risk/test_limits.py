"""The risk limits of the quote path (SPEC §10, Risk): open exposure above
``risk_max_open_exposure`` stops every quote; a client's closings of the business day plus the
amount asked above ``risk_client_daily_limit`` stop that client's quote. Each raises an alert once."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from otc_framework.alerts import kinds
from otc_framework.auth.client_cache import ClientRecord
from otc_framework.errors import QuotingDisabled
from otc_framework.risk import Exposure, ExposureWatch, RiskLimits
from otc_framework.storage.models import AlertRecord, ClosingStatus, HedgeStatus, Role, Tier
from tests.desk import Desk
from tests.liquidity.conftest import until
from tests.risk.support import DESK_ZONE, closing, hedge, today


def assert_problem(response: Any, status: int, code: str, field: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    problem: dict[str, Any] = response.json()
    assert problem["code"] == code and (field is None or problem["field"] == field), problem
    return problem


async def exposure_followed(desk: Desk, total: str) -> None:
    watch = desk.runtime.exposure_watch
    await until(lambda: watch.latest is not None and watch.latest.total == Decimal(total))


async def test_exposure_above_the_limit_refuses_quotes_and_alerts_once(desk: Desk) -> None:
    client_id, token = await desk.client()
    await desk.set_control("risk_max_open_exposure", "1000000")
    await hedge(client_id, "600000", HedgeStatus.PENDING)
    await hedge(client_id, "400000", HedgeStatus.UNKNOWN, currency="USDC")
    await exposure_followed(desk, "1000000")
    assert (await desk.quote(token)).status_code == 201  # at the limit is not above it

    await hedge(client_id, "0.000001", HedgeStatus.HELD)
    await exposure_followed(desk, "1000000.000001")
    for _ in range(3):
        problem = assert_problem(await desk.quote(token), 503, "QUOTING_DISABLED")
        assert "exposure" in problem["detail"] and "limit" in problem["detail"]
    await until(lambda: AlertRecord.filter(kind=kinds.RISK_EXPOSURE).exists())
    alerts = await AlertRecord.filter(kind=kinds.RISK_EXPOSURE)
    assert [(a.severity, a.dedup_key) for a in alerts] == [("critical", "risk:exposure")]

    await desk.set_control("risk_max_open_exposure", "0")  # no limit
    assert (await desk.quote(token)).status_code == 201
    await desk.set_control("risk_max_open_exposure", "1000000.000001")
    assert (await desk.quote(token)).status_code == 201


@dataclass
class Alerts:
    raised: list[str] = field(default_factory=list)

    def raise_soon(self, kind: str, title: str, detail: str, **_: Any) -> None:
        self.raised.append(kind)


async def test_a_worker_that_never_heard_a_figure_does_not_refuse(desk: Desk) -> None:
    await desk.set_control("risk_max_open_exposure", "1")
    reference, _ = await desk.runtime.reference.current()
    watch = ExposureWatch(desk.runtime.store)  # never started: nothing received
    alerts = Alerts()
    limits = RiskLimits(watch, alerts, DESK_ZONE)  # type: ignore[arg-type]
    client = ClientRecord(id="c1", name="acme", tier=Tier.T1, role=Role.CLIENT, active=True, group_id=None,
                          api_key_hash="0" * 64, key_rotated_at=0)
    now = datetime.now(UTC)
    await limits.check(client, Decimal("100000"), reference, now)
    watch.apply(Exposure.of({"USDT": Decimal("2"), "USDC": Decimal(0)}, now).to_json())
    with pytest.raises(QuotingDisabled):
        await limits.check(client, Decimal("100000"), reference, now)
    assert alerts.raised == [kinds.RISK_EXPOSURE]
    # A figure delivered late never replaces a newer one.
    watch.apply(Exposure.of({"USDT": Decimal(0), "USDC": Decimal(0)}, now - timedelta(seconds=1)).to_json())
    assert watch.latest is not None and watch.latest.total == Decimal("2")


async def test_a_client_beyond_its_daily_limit_is_refused_on_amount(desk: Desk) -> None:
    alice_id, alice = await desk.client("alice")
    _, bob = await desk.client("bob")
    day = await today(desk)
    sid = (await desk.quote(alice, amount="300000")).json()["sessionId"]
    assert (await desk.close(alice, sid)).status_code == 201
    # Neither counts: the business day before, and a cancelled trade.
    await closing(alice_id, "1000000", created_at=day.start - timedelta(minutes=1))
    await closing(alice_id, "400000", status=ClosingStatus.CANCELLED)
    await desk.set_control("risk_client_daily_limit", "500000")

    assert (await desk.quote(alice, amount="200000")).status_code == 201  # 300,000 + 200,000: at the limit
    for _ in range(2):
        problem = assert_problem(await desk.quote(alice, amount="200000.5"), 400, "VALIDATION_ERROR", "amount")
        assert problem["detail"] == "amount: above the daily limit of 500000; 200000 left today"
    assert (await desk.quote(bob, amount="500000")).status_code == 201  # another client's day is its own
    await until(lambda: AlertRecord.filter(kind=kinds.RISK_CLIENT_LIMIT).exists())
    alerts = await AlertRecord.filter(kind=kinds.RISK_CLIENT_LIMIT)
    assert [(a.severity, a.dedup_key) for a in alerts] == [
        ("warning", f"risk:client_limit:{alice_id}:{day.day.isoformat()}")]
    assert "alice" in alerts[0].title

    await desk.set_control("risk_client_daily_limit", "0")  # no limit
    assert (await desk.quote(alice, amount="5000000")).status_code == 201


def test_a_business_day_takes_the_days_without_business_before_it() -> None:
    from otc_framework.calendar import MarketCalendar
    from otc_framework.config import MarketHoursConfig
    from otc_framework.risk.business_day import business_day

    calendar = MarketCalendar(MarketHoursConfig(), [])
    monday = business_day(calendar, DESK_ZONE, datetime(2026, 11, 23, 15, 0, tzinfo=UTC))
    assert (monday.day.isoformat(), monday.start.isoformat(), monday.end.isoformat()) == (
        "2026-11-23", "2026-11-21T03:00:00+00:00", "2026-11-24T03:00:00+00:00")
    # 01:00 UTC on Wednesday is still Tuesday in São Paulo.
    tuesday = business_day(calendar, DESK_ZONE, datetime(2026, 11, 25, 1, 0, tzinfo=UTC))
    assert (tuesday.day.isoformat(), tuesday.start.isoformat()) == ("2026-11-24", "2026-11-24T03:00:00+00:00")
