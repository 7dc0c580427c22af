"""LP quote mode (SPEC §4): the cheapest fresh LP after the deviation guard, with the tier's LP
spread; a silent fallback to spot for each cause, told to operators once, not per quote."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal
from typing import Any

from otc_framework.admin.feed import CHANNEL
from otc_framework.storage.models import AlertRecord, Closing
from tests.desk import Desk, bearer
from tests.liquidity.conftest import lp_desk, lp_tree, until
from tests.liquidity.scripted_lp import latest

__all__ = ["lp_desk", "lp_tree"]  # fixtures this module uses


async def traded(desk: Desk, token: str, **quote: Any) -> tuple[dict[str, Any], Closing]:
    """A quote and its close; the close's answer and the closing row."""
    session = await desk.quote(token, **quote)
    assert session.status_code == 201, session.text
    closed = await desk.close(token, session.json()["sessionId"])
    assert closed.status_code == 201, closed.text
    return closed.json(), await Closing.get(id=closed.json()["closingId"])


def asks(nonco: str, horizon: str) -> None:
    """Set each scripted LP's ask (its bid is 0.0020 below)."""
    for name, ask in (("nonco", nonco), ("horizon", horizon)):
        latest(name).rate = Decimal(ask) - Decimal("0.0020")


async def fed(desk: Desk, provider: str, ask: str) -> None:
    feed = desk.runtime.lp_feed
    await until(lambda: (p := feed.latest(provider, "USDC", "D0")) is not None and p.ask == Decimal(ask))


async def test_off_prices_off_spot_and_on_prices_off_the_cheapest_lp(lp_desk: Desk) -> None:
    _, token = await lp_desk.client()
    asks("5.0120", "5.0150")
    await fed(lp_desk, "nonco", "5.0120")
    await fed(lp_desk, "horizon", "5.0150")
    spot_answer, spot_row = await traded(lp_desk, token, currency="USDC")
    assert spot_row.reference_mode == "spot"
    await lp_desk.set_control("lp_quote_mode_enabled", True)
    lp_answer, row = await traded(lp_desk, token, currency="USDC")
    assert row.reference_mode == "lp:nonco" and row.reference_price == Decimal("5.0120")
    assert row.lp_spread_pct_used == Decimal("0.10") and row.tier_spread_pct_used is None
    assert row.spot_at_quote == Decimal("5.0000") and row.usdt_usdc_ratio_used == Decimal(1)
    assert lp_answer["price"] == "5.0170"  # 5.0120 × 1.0010, half-up
    assert set(lp_answer) == set(spot_answer)  # the client cannot tell the modes apart


async def test_usdt_d1_is_priced_off_the_lps_usdc_d1(lp_desk: Desk) -> None:
    _, token = await lp_desk.client()
    asks("5.0120", "5.0150")
    await fed(lp_desk, "nonco", "5.0120")
    await lp_desk.set_control("lp_quote_mode_enabled", True)
    _, row = await traded(lp_desk, token, currency="USDT", settlement="D1")
    assert row.reference_mode == "lp:nonco" and row.reference_price == Decimal("5.0120")


async def test_the_deviation_guard_drops_an_lp_past_the_limit(lp_desk: Desk) -> None:
    _, token = await lp_desk.client()
    asks("5.0300", "5.0200")  # 0.6 % and 0.4 % from the 5.0000 spot; the limit is 0.50 %
    await fed(lp_desk, "nonco", "5.0300")
    await fed(lp_desk, "horizon", "5.0200")
    await lp_desk.set_control("lp_quote_mode_enabled", True)
    _, row = await traded(lp_desk, token, currency="USDC")
    assert row.reference_mode == "lp:horizon"
    await lp_desk.set_control("lp_deviation_guard_enabled", False)
    _, row = await traded(lp_desk, token, currency="USDC")
    assert row.reference_mode == "lp:horizon"  # still the cheapest
    asks("5.0190", "5.0200")
    await fed(lp_desk, "nonco", "5.0190")
    await lp_desk.set_control("lp_deviation_guard_enabled", True)
    _, row = await traded(lp_desk, token, currency="USDC")
    assert row.reference_mode == "lp:nonco"


async def test_every_lp_guarded_out_falls_back_and_operators_hear_once(lp_desk: Desk) -> None:
    _, token = await lp_desk.client()
    asks("5.1000", "5.2000")
    await fed(lp_desk, "horizon", "5.2000")
    subscription = await lp_desk.runtime.store.subscribe(CHANNEL)
    try:
        await lp_desk.set_control("lp_quote_mode_enabled", True)
        answers = [await traded(lp_desk, token, currency="USDC") for _ in range(3)]
        assert {row.reference_mode for _, row in answers} == {"spot-fallback"}
        assert all(row.lp_spread_pct_used is None and row.tier_spread_pct_used == Decimal("0.30")
                   for _, row in answers)
        events = await _events(subscription, "lp.fallback", seconds=2)
    finally:
        await subscription.close()
    assert len(events) == 1  # the board's cells and the three quotes fell back: one event
    await until(lambda: AlertRecord.filter(kind="lp.fallback").exists())
    await asyncio.sleep(0.3)
    assert await AlertRecord.filter(kind="lp.fallback").count() == 1


async def test_a_tier_without_an_lp_spread_falls_back(lp_desk: Desk) -> None:
    _, admin = await lp_desk.admin()
    _, token = await lp_desk.client()
    asks("5.0120", "5.0150")
    await fed(lp_desk, "nonco", "5.0120")
    cleared = await lp_desk.http.put("/v1/admin/lp-spreads/T1/USDC", json={"lpSpreadPct": None}, headers=bearer(admin))
    assert cleared.status_code == 200, cleared.text
    await lp_desk.set_control("lp_quote_mode_enabled", True)
    _, row = await traded(lp_desk, token, currency="USDC")
    assert row.reference_mode == "spot-fallback"
    _, usdt = await traded(lp_desk, token, currency="USDT", settlement="D1")  # T1/USDT keeps its LP spread
    assert usdt.reference_mode == "lp:nonco" and usdt.lp_spread_pct_used == Decimal("0.10")


async def test_no_feed_falls_back(desk: Desk) -> None:
    _, token = await desk.client()
    await desk.set_control("lp_quote_mode_enabled", True)
    _, row = await traded(desk, token)
    assert row.reference_mode == "spot-fallback" and row.reference_price == Decimal("5.0000")


async def _events(subscription: Any, kind: str, seconds: float) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []

    async def read() -> None:
        async for text in subscription:
            message = json.loads(text)
            if message["type"] == kind:
                found.append(message["data"])

    try:
        await asyncio.wait_for(read(), seconds)
    except TimeoutError:
        pass
    return found


async def test_a_tick_older_than_ten_seconds_is_not_a_price(lp_desk: Desk) -> None:
    from datetime import UTC, datetime, timedelta

    from otc_framework.liquidity.codec import encode_event
    from otc_framework.ports import LpPrice
    from tests.scripted_plugin import failing

    _, token = await lp_desk.client()
    for name in ("nonco", "horizon"):  # both venues stop answering: their last prices only age
        latest(name).script.extend([failing()] * 10_000)
    feed = lp_desk.runtime.lp_feed
    await until(lambda: all(s.last_error for s in feed.status.values()))
    old = datetime.now(UTC) - timedelta(seconds=11)
    for name in ("nonco", "horizon"):
        feed.apply(encode_event(name, [LpPrice(name, "USDC", "D0", Decimal("5.0000"), Decimal("5.0020"), old)],
                                "venue down", datetime.now(UTC) + timedelta(seconds=5)))
    await lp_desk.set_control("lp_quote_mode_enabled", True)
    _, row = await traded(lp_desk, token, currency="USDC")
    assert row.reference_mode == "spot-fallback"


async def test_lp_mode_trades_replay_from_their_rows(lp_desk: Desk) -> None:
    from otc_framework.closings.verify import verify_closings

    _, token = await lp_desk.client()
    asks("5.0120", "5.0150")
    await fed(lp_desk, "nonco", "5.0120")
    await lp_desk.set_control("lp_quote_mode_enabled", True)
    await lp_desk.set_control("spread_adjustment", "0.07")
    for currency, settlement in (("USDC", "D0"), ("USDT", "D1"), ("USDC", "D2")):
        await traded(lp_desk, token, currency=currency, settlement=settlement, validitySeconds=5)
    assert {row.reference_mode for row in await Closing.all()} == {"lp:nonco"}
    verified = await verify_closings()
    assert (verified.checked, verified.mismatches) == (3, [])
