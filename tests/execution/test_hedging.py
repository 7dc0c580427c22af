"""Every closing hedged exactly once on the real LP plugins against their fakes: the intent
written with the closing, fills recorded per execution, and each way an order can go wrong
(a lost answer, a drop before the venue saw it, a refusal, a timeout), on every backend."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from otc_framework.execution.repository import client_order_id, executions_of
from otc_framework.storage.models import AlertRecord, AuditLog, Closing, Hedge, HedgeStatus
from tests.desk import Desk
from tests.execution.conftest import HORIZON_ORDER, NONCO_ORDER, Venues, hedge_of, settled, trade
from tests.liquidity.conftest import until

# Horizon trades USDC only; Nonco both.
CURRENCY = {"horizon": "USDC", "nonco": "USDT"}


async def _manual(desk: Desk, provider: str) -> str:
    await desk.set_control("exec_lp_override", provider)
    await desk.set_control("exec_mode", "auto_manual")
    _, token = await desk.client()
    return token


async def _actions(closing_id: str) -> list[str]:
    rows = await AuditLog.filter(closing_id=closing_id).order_by("id").values_list("action", flat=True)
    return [str(action) for action in rows]


async def test_exec_mode_off_records_the_hedge_skipped(hedging_desk: Desk, venues: Venues) -> None:
    _, token = await hedging_desk.client()
    closing_id = await trade(hedging_desk, token)
    hedge = await hedge_of(closing_id)
    assert hedge.status is HedgeStatus.SKIPPED
    assert hedge.reason == "exec_mode off does not hedge"
    assert (await venues.orders("horizon"))["received"] == 0
    assert (await venues.orders("nonco"))["received"] == 0


async def test_a_client_outside_exec_enabled_clients_is_skipped(hedging_desk: Desk, venues: Venues) -> None:
    token = await _manual(hedging_desk, "horizon")
    await hedging_desk.client("other")
    await hedging_desk.set_control("exec_enabled_clients", "other")
    closing_id = await trade(hedging_desk, token)
    hedge = await hedge_of(closing_id)
    assert (hedge.status, hedge.reason) == (HedgeStatus.SKIPPED, "client not in exec_enabled_clients")
    assert (await venues.orders("horizon"))["received"] == 0


@pytest.mark.parametrize("provider", ["horizon", "nonco"])
async def test_a_closing_is_hedged_once_with_its_fill_and_spread_capture(
    hedging_desk: Desk, venues: Venues, provider: str
) -> None:
    token = await _manual(hedging_desk, provider)
    closing_id = await trade(hedging_desk, token, amount="100000", currency=CURRENCY[provider])
    hedge = await settled(closing_id, HedgeStatus.FILLED)
    assert (hedge.provider, hedge.side, hedge.currency, hedge.settlement) == (provider, "BUY", CURRENCY[provider], "D0")
    assert hedge.filled_amount == hedge.amount == Decimal("100000")
    assert hedge.client_order_id == client_order_id(hedge.id, 1)
    executions = await executions_of(hedge.id)
    assert len(executions) == hedge.chunks == 1
    assert hedge.fill_price == executions[0].price
    expected = ((hedge.client_price - executions[0].price) / executions[0].price * 10000).quantize(Decimal("0.1"))
    assert hedge.spread_capture_bps == expected
    assert "hedge.filled" in await _actions(closing_id)
    orders = await venues.orders(provider)
    assert (orders["received"], orders["distinct"], orders["repeated"]) == (1, 1, {})


async def test_forward_usdt_hedges_as_usdc(hedging_desk: Desk) -> None:
    token = await _manual(hedging_desk, "horizon")
    for settlement in ("D1", "D2"):
        closing_id = await trade(hedging_desk, token, settlement=settlement)
        hedge = await settled(closing_id, HedgeStatus.FILLED)
        assert (hedge.currency, hedge.settlement) == ("USDC", settlement)


async def test_a_large_horizon_hedge_is_recorded_chunk_by_chunk(hedging_desk: Desk, venues: Venues) -> None:
    token = await _manual(hedging_desk, "horizon")
    await hedging_desk.set_control("exec_horizon_chunk_size", "40000")
    closing_id = await trade(hedging_desk, token, amount="100000", currency="USDC")
    hedge = await settled(closing_id, HedgeStatus.FILLED)
    executions = await executions_of(hedge.id)
    assert [e.amount for e in executions] == [Decimal("40000"), Decimal("40000"), Decimal("20000")]
    assert hedge.chunks == 3
    vwap = sum((e.amount * e.price for e in executions), Decimal(0)) / hedge.amount
    assert hedge.fill_price == vwap.quantize(Decimal("0.00000001"))
    assert (await venues.orders("horizon"))["distinct"] == 3  # one idempotency key per chunk


@pytest.mark.parametrize(("provider", "order"), [("horizon", HORIZON_ORDER), ("nonco", NONCO_ORDER)])
async def test_a_fill_whose_answer_is_lost_ends_filled_with_one_venue_order(
    hedging_desk: Desk, venues: Venues, provider: str, order: str
) -> None:
    token = await _manual(hedging_desk, provider)
    await venues.fault(provider, match=order, after=True, drop=True)
    closing_id = await trade(hedging_desk, token, currency=CURRENCY[provider])
    hedge = await settled(closing_id, HedgeStatus.FILLED)
    actions = await _actions(closing_id)
    assert actions.index("hedge.unknown") < actions.index("hedge.filled")
    orders = await venues.orders(provider)
    assert (orders["received"], orders["executed"], orders["repeated"]) == (1, 1, {})
    assert hedge.attempt == 1


@pytest.mark.parametrize(("provider", "order"), [("horizon", HORIZON_ORDER), ("nonco", NONCO_ORDER)])
async def test_a_fill_that_never_answers_times_out_then_reconciles(
    hedging_desk: Desk, venues: Venues, provider: str, order: str
) -> None:
    token = await _manual(hedging_desk, provider)
    await venues.fault(provider, match=order, after=True, drop=True, delay=30)
    closing_id = await trade(hedging_desk, token, currency=CURRENCY[provider])
    await settled(closing_id, HedgeStatus.FILLED)
    orders = await venues.orders(provider)
    assert (orders["received"], orders["executed"], orders["repeated"]) == (1, 1, {})


@pytest.mark.parametrize(("provider", "order"), [("horizon", HORIZON_ORDER), ("nonco", NONCO_ORDER)])
async def test_an_order_dropped_before_the_venue_saw_it_fails_once_its_quote_expired(
    hedging_desk: Desk, venues: Venues, provider: str, order: str
) -> None:
    token = await _manual(hedging_desk, provider)
    await hedging_desk.set_control(f"exec_{provider}_validity_sec", 1)
    await venues.fault(provider, match=order, drop=True)
    closing_id = await trade(hedging_desk, token, currency=CURRENCY[provider])
    hedge = await settled(closing_id, HedgeStatus.FAILED)
    assert hedge.reason == "the venue never received the order"
    assert hedge.filled_amount == 0
    assert (await venues.orders(provider))["executed"] == 0
    await until(lambda: AlertRecord.filter(kind="hedge.failed").exists())


@pytest.mark.parametrize("provider", ["horizon", "nonco"])
async def test_a_rejected_order_fails_with_an_alert(hedging_desk: Desk, venues: Venues, provider: str) -> None:
    token = await _manual(hedging_desk, provider)
    await hedging_desk.set_control(f"exec_{provider}_validity_sec", 1)
    await venues.fault(provider, match=HORIZON_ORDER if provider == "horizon" else NONCO_ORDER, status=422)
    closing_id = await trade(hedging_desk, token, currency=CURRENCY[provider])
    hedge = await settled(closing_id, HedgeStatus.FAILED)
    assert hedge.filled_amount == 0
    assert "hedge.failed" in await _actions(closing_id)
    await until(lambda: AlertRecord.filter(kind="hedge.failed").exists())
    assert (await venues.orders(provider))["executed"] == 0


async def test_a_hedge_above_the_order_ceiling_is_held(hedging_desk: Desk, venues: Venues) -> None:
    token = await _manual(hedging_desk, "horizon")
    await hedging_desk.set_control("exec_max_order_amount", "50000")
    closing_id = await trade(hedging_desk, token, amount="100000", currency="USDC")
    hedge = await settled(closing_id, HedgeStatus.HELD)
    assert "exec_max_order_amount" in (hedge.reason or "")
    await until(lambda: AlertRecord.filter(kind="hedge.held").exists())
    assert (await venues.orders("horizon"))["received"] == 0


async def test_pending_hedges_wait_while_the_mode_is_switched_off(hedging_desk: Desk, venues: Venues) -> None:
    token = await _manual(hedging_desk, "nonco")
    await hedging_desk.runtime.engine_loop.stop()  # the closing commits while nobody drives hedges
    closing_id = await trade(hedging_desk, token)
    await hedging_desk.set_control("exec_mode", "off")
    hedging_desk.runtime.engine_loop.start()
    await hedging_desk.runtime.engine_loop.turn()
    assert (await hedge_of(closing_id)).status is HedgeStatus.PENDING
    await hedging_desk.set_control("exec_mode", "auto_manual")
    await settled(closing_id, HedgeStatus.FILLED)


async def test_every_change_reaches_the_stream_and_the_hook(hedging_desk: Desk) -> None:
    seen: list[dict[str, Any]] = []
    runtime = hedging_desk.runtime
    original = runtime.hedges.notify
    runtime.hedges.notify = lambda hedge: (seen.append(hedge), original(hedge=hedge))
    token = await _manual(hedging_desk, "nonco")
    closing_id = await trade(hedging_desk, token)
    await settled(closing_id, HedgeStatus.FILLED)
    await until(lambda: [h["status"] for h in seen if h["closingId"] == closing_id][-1:] == ["filled"])
    statuses = [h["status"] for h in seen if h["closingId"] == closing_id]
    assert statuses == ["quoting", "executing", "filled"]
    assert seen[-1]["spreadCaptureBps"] is not None


async def test_the_closing_and_its_intent_commit_together(hedging_desk: Desk) -> None:
    _, token = await hedging_desk.client()
    for _ in range(3):
        await trade(hedging_desk, token)
    assert await Closing.all().count() == await Hedge.all().count() == 3
