"""The spot path across workers: one poller (by lease) feeds every worker's SpotFeed."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from otc_framework.errors import VenueRateLimited
from otc_framework.ports import USD_BRL
from otc_framework.spot import SpotFeed, SpotPoller
from otc_framework.storage.store import Store
from tests.scripted_plugin import ScriptedSource, failing


async def until(predicate, attempts: int = 100) -> None:  # noqa: ANN001
    for _ in range(attempts):
        if predicate():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("condition never held")


async def test_poll_reaches_every_feed_exactly(store: Store) -> None:
    source = ScriptedSource("vp", Decimal("5.1234"))
    first, second = SpotFeed(store, ["vp"]), SpotFeed(store, ["vp"])
    await first.start()
    await second.start()
    try:
        await SpotPoller([source], store).poll_all()
        await until(lambda: first.latest("vp", USD_BRL) and second.latest("vp", USD_BRL))
        quote = second.latest("vp", USD_BRL)
        assert quote.bid == Decimal("5.1234") and isinstance(quote.bid, Decimal)
        assert str(quote.ask) == "5.1244"
    finally:
        await first.stop()
        await second.stop()


async def test_late_feed_starts_from_the_last_state(store: Store) -> None:
    source = ScriptedSource("vp", Decimal("5.0000"))
    poller = SpotPoller([source], store)
    await poller.poll_all()
    source.script.append(failing("venue down"))
    await poller.poll_all()
    late = SpotFeed(store, ["vp"])
    await late.start()
    try:
        assert late.latest("vp", USD_BRL).bid == Decimal("5.0000")  # last good rate kept
        report = late.report(max_age_seconds=10)["vp"]
        assert report["fresh"] is False and report["lastError"] == "venue down"
    finally:
        await late.stop()


async def test_fresh_refuses_an_old_rate(store: Store) -> None:
    feed = SpotFeed(store, ["vp"])
    await feed.start()
    try:
        await SpotPoller([ScriptedSource("vp", Decimal("5"))], store).poll_all()
        await until(lambda: feed.latest("vp", USD_BRL) is not None)
        later = datetime.now(UTC) + timedelta(seconds=11)
        assert feed.fresh("vp", USD_BRL, 10) is not None
        assert feed.fresh("vp", USD_BRL, 10, now=later) is None
        assert feed.report(10, now=later)["vp"]["fresh"] is False
    finally:
        await feed.stop()


async def test_rate_limited_source_is_not_called_before_its_time(store: Store) -> None:
    now = datetime(2026, 11, 21, 12, tzinfo=UTC)
    source = ScriptedSource("bn", Decimal("5.01"))
    source.script.append(VenueRateLimited("bn", "429 Too Many Requests", retry_after=30))
    poller = SpotPoller([source], store, clock=lambda: now)
    await poller.poll_all()
    await poller.poll_all()
    assert source.calls == 1
    now += timedelta(seconds=31)
    await poller.poll_all()
    assert source.calls == 2


async def test_operators_hear_of_failure_and_recovery_once(store: Store) -> None:
    heard: list[tuple[str, bool, str]] = []
    source = ScriptedSource("vp", Decimal("5"))
    poller = SpotPoller([source], store, notify=lambda **kw: heard.append((kw["source"], kw["fresh"], kw["detail"])))
    source.script.extend([failing("down"), failing("down")])
    for _ in range(4):
        await poller.poll_all()
    assert heard == [("vp", False, "down"), ("vp", True, "recovered")]
