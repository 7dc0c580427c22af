"""Open exposure (SPEC §10, Risk): the unfilled notional of hedges in an open status, by hedge
currency, followed by every worker and shown as a gauge."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from otc_framework.risk import open_exposure
from otc_framework.storage.models import HedgeStatus
from tests.desk import Desk, two_workers
from tests.liquidity.conftest import until
from tests.risk.support import hedge


async def test_only_open_statuses_count_and_only_what_is_not_filled(desk: Desk) -> None:
    client_id, _ = await desk.client()
    assert (await open_exposure()).by_currency == {"USDT": Decimal(0), "USDC": Decimal(0)}
    await hedge(client_id, "100000", HedgeStatus.PENDING)
    await hedge(client_id, "200000", HedgeStatus.HELD, currency="USDC")
    await hedge(client_id, "300000", HedgeStatus.QUOTING)
    await hedge(client_id, "400000", HedgeStatus.EXECUTING, filled="150000.5")
    await hedge(client_id, "500000", HedgeStatus.UNKNOWN, currency="USDC")
    await hedge(client_id, "600000", HedgeStatus.FAILED, filled="100000")
    # Neither is owed: one is done, the other the desk chose not to hedge.
    await hedge(client_id, "700000", HedgeStatus.FILLED, filled="700000")
    await hedge(client_id, "800000", HedgeStatus.SKIPPED)

    exposure = await open_exposure()
    assert exposure.by_currency == {"USDT": Decimal("1149999.5"), "USDC": Decimal("700000")}
    assert exposure.total == Decimal("1849999.5")


def gauge(text: str, currency: str) -> float | None:
    return next((sample.value for family in text_string_to_metric_families(text) for sample in family.samples
                 if sample.name == "otc_open_exposure" and sample.labels == {"currency": currency}), None)


async def test_every_worker_follows_it_and_the_gauge_shows_it(desk: Desk) -> None:
    client_id, _ = await desk.client()
    await hedge(client_id, "250000", HedgeStatus.PENDING, currency="USDC")
    watch = desk.runtime.exposure_watch
    await until(lambda: watch.latest is not None and watch.latest.total == Decimal("250000"))
    assert watch.latest.by_currency == {"USDT": Decimal(0), "USDC": Decimal("250000")}
    metrics = (await desk.http.get("/metrics")).text
    assert (gauge(metrics, "USDC"), gauge(metrics, "USDT")) == (250000.0, 0.0)


@pytest.mark.parametrize("store_url", ["redis"], indirect=True)
async def test_a_worker_without_the_lease_follows_the_one_with_it(
    migrated_database_url: str, store_url: str, store_namespace: str, loopback: Any
) -> None:
    async with two_workers(migrated_database_url, store_url, store_namespace, loopback) as (first, second):
        client_id, _ = await first.client()
        await hedge(client_id, "120000", HedgeStatus.PENDING)
        watches = [first.runtime.exposure_watch, second.runtime.exposure_watch]
        await until(lambda: all(w.latest is not None and w.latest.total == Decimal("120000") for w in watches))
        assert [first.runtime.risk_loop.leading, second.runtime.risk_loop.leading].count(True) == 1
