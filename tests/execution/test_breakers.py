"""An LP that keeps failing is skipped for a cool-down: alerted, open in health and on
``/metrics``, and no hedge asks it while it is open."""

from __future__ import annotations

from otc_framework.storage.models import AlertRecord, HedgeStatus
from otc_lp_horizon.client import QUOTE_PATH
from tests.desk import Desk
from tests.execution.conftest import Venues, settled, trade
from tests.liquidity.conftest import until


async def _horizon(desk: Desk) -> dict:
    return (await desk.http.get("/health/ready")).json()["lp"]["horizon"]


async def test_consecutive_failures_open_the_breaker(hedging_desk: Desk, venues: Venues) -> None:
    await hedging_desk.set_control("exec_lp_override", "horizon")
    await hedging_desk.set_control("exec_mode", "auto_manual")
    _, token = await hedging_desk.client()
    await venues.fault("horizon", match=QUOTE_PATH, status=503, count=3)
    for _ in range(3):
        closing_id = await trade(hedging_desk, token, currency="USDC")
        await settled(closing_id, HedgeStatus.FAILED)
    breaker = (await _horizon(hedging_desk))["breaker"]
    assert breaker["open"] is True and breaker["failures"] == 3
    await until(lambda: AlertRecord.filter(kind="lp.breaker_open").exists())
    metrics = (await hedging_desk.http.get("/metrics")).text
    assert 'otc_lp_breaker_open{provider="horizon"} 1.0' in metrics

    quotes_before = sum(1 for item in (await hedging_desk.http.get(f"{venues.url('horizon')}/_inbox")).json()["items"]
                        if item["path"] == QUOTE_PATH)
    closing_id = await trade(hedging_desk, token, currency="USDC")
    hedge = await settled(closing_id, HedgeStatus.FAILED)
    assert "horizon" in (hedge.reason or "") and "not available" in (hedge.reason or "")
    inbox = (await hedging_desk.http.get(f"{venues.url('horizon')}/_inbox")).json()["items"]
    assert sum(1 for item in inbox if item["path"] == QUOTE_PATH) == quotes_before


async def test_a_success_resets_the_count(hedging_desk: Desk, venues: Venues) -> None:
    await hedging_desk.set_control("exec_lp_override", "horizon")
    await hedging_desk.set_control("exec_mode", "auto_manual")
    _, token = await hedging_desk.client()
    await venues.fault("horizon", match=QUOTE_PATH, status=503, count=2)
    for _ in range(2):
        await settled(await trade(hedging_desk, token, currency="USDC"), HedgeStatus.FAILED)
    await settled(await trade(hedging_desk, token, currency="USDC"), HedgeStatus.FILLED)
    breaker = (await _horizon(hedging_desk))["breaker"]
    assert breaker["open"] is False and breaker["failures"] == 0
