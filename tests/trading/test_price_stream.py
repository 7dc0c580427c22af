"""``WS /v1/ws/prices``: the tier grid pushed every second, authenticated and rechecked like
any client request, computed once per tier per tick whatever the number of sockets."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from otc_framework.auth.client_cache import refresh_client
from otc_framework.pricing.pipeline import PricedQuote, PricingPipeline
from otc_framework.pricing.stream import CHANNEL, PriceFanout
from otc_framework.reference import Reference
from otc_framework.storage.models import Client, Tier
from tests import scripted_plugin
from tests.desk import Desk

WAIT = 10.0
T1_GRID = {("USDT", "D0"): "5.0150", ("USDT", "D1"): "5.0075", ("USDT", "D2"): "5.0025",
           ("USDC", "D0"): "5.0150", ("USDC", "D1"): "5.0075", ("USDC", "D2"): "5.0025"}
FORBIDDEN_WORDS = ("tier", "spread", "reference", "sell")


def stream_url(desk: Desk, token: str | None = None) -> str:
    base = str(desk.http.base_url).rstrip("/").replace("http", "ws", 1)
    return f"{base}/v1/ws/prices" + (f"?token={token}" if token else "")


@asynccontextmanager
async def stream(desk: Desk, token: str | None = None) -> AsyncIterator[ClientConnection]:
    async with connect(stream_url(desk, token), open_timeout=WAIT, close_timeout=2) as ws:
        yield ws


class Recorder:
    """Every text a socket received, so a test can also check what it was never sent."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.texts: list[str] = []

    async def until(self, wanted: Callable[[dict[str, Any]], bool], timeout: float = WAIT) -> dict[str, Any]:
        async with asyncio.timeout(timeout):
            while True:
                text = await self.ws.recv()
                assert isinstance(text, str)
                self.texts.append(text)
                message = json.loads(text)
                if wanted(message):
                    return message

    async def closed(self, timeout: float = WAIT) -> int | None:
        """Read until the server closes; the close code."""
        try:
            await self.until(lambda _: False, timeout)
        except ConnectionClosed:
            return self.ws.close_code
        raise AssertionError("still open")


def priced(message: dict[str, Any]) -> bool:
    return message.get("type") == "prices" and bool(message["prices"])


def grid(message: dict[str, Any]) -> dict[tuple[str, str], str]:
    return {(p["currency"], p["settlement"]): p["price"] for p in message["prices"]}


def assert_private(texts: list[str]) -> None:
    for text in texts:
        lowered = text.lower()
        assert not any(word in lowered for word in FORBIDDEN_WORDS), text


async def test_t1_grid_arrives_with_market_status(desk: Desk) -> None:
    _, token = await desk.client()
    async with stream(desk, token) as ws:
        recorder = Recorder(ws)
        message = await recorder.until(priced)
        assert set(message) == {"type", "at", "marketOpen", "nextOpen", "prices"}
        assert message["marketOpen"] is True and message["nextOpen"] is None
        assert grid(message) == T1_GRID
        assert datetime.fromisoformat(message["at"]).tzinfo is not None
        # Ticks keep coming, each newer than the last.
        after = await recorder.until(lambda m: m["at"] > message["at"])
        assert grid(after) == T1_GRID
        assert_private(recorder.texts)


async def test_token_in_the_first_message(desk: Desk) -> None:
    _, token = await desk.client()
    async with stream(desk) as ws:
        await ws.send(json.dumps({"token": token}))
        message = await Recorder(ws).until(priced)
        assert grid(message) == T1_GRID


@pytest.mark.parametrize("first", ["not json", json.dumps({"token": "garbage"}), json.dumps({"apiKey": "x"})])
async def test_bad_token_is_refused_with_4401(desk: Desk, first: str) -> None:
    async with stream(desk) as ws:
        await ws.send(first)
        recorder = Recorder(ws)
        error = await recorder.until(lambda m: True)
        assert error["type"] == "error" and error["code"] == "UNAUTHORIZED" and error["detail"]
        assert await recorder.closed() == 4401


async def test_bad_query_token_is_refused_with_4401(desk: Desk) -> None:
    async with stream(desk, "not-a-jwt") as ws:
        recorder = Recorder(ws)
        assert (await recorder.until(lambda m: True))["code"] == "UNAUTHORIZED"
        assert await recorder.closed() == 4401


async def test_each_client_sees_its_own_tier(desk: Desk) -> None:
    _, t1 = await desk.client("one", Tier.T1)
    _, t3 = await desk.client("three", Tier.T3)
    async with stream(desk, t1) as ws1, stream(desk, t3) as ws3:
        first, third = Recorder(ws1), Recorder(ws3)
        assert grid(await first.until(priced)) == T1_GRID
        board = grid(await third.until(priced))
        assert board[("USDT", "D0")] == "5.0500"
        assert board != T1_GRID
        assert_private(first.texts + third.texts)


async def test_deactivated_client_is_closed(desk: Desk) -> None:
    client_id, token = await desk.client()
    async with stream(desk, token) as ws:
        recorder = Recorder(ws)
        await recorder.until(priced)
        await Client.filter(id=client_id).update(active=False)
        await refresh_client(desk.runtime.store, client_id)
        error = await recorder.until(lambda m: m["type"] == "error", timeout=15)
        assert error["code"] == "UNAUTHORIZED"
        assert await recorder.closed() == 4401
    # A new socket with the same token is refused at once.
    async with stream(desk, token) as ws:
        recorder = Recorder(ws)
        assert (await recorder.until(lambda m: True))["code"] == "UNAUTHORIZED"
        assert await recorder.closed() == 4401


async def test_tier_change_moves_the_socket(desk: Desk) -> None:
    client_id, token = await desk.client()
    async with stream(desk, token) as ws:
        recorder = Recorder(ws)
        assert grid(await recorder.until(priced)) == T1_GRID
        await Client.filter(id=client_id).update(tier=Tier.T3)
        await refresh_client(desk.runtime.store, client_id)
        moved = await recorder.until(lambda m: priced(m) and grid(m)[("USDT", "D0")] == "5.0500", timeout=15)
        assert set(moved) == {"type", "at", "marketOpen", "nextOpen", "prices"}
        assert_private(recorder.texts)


async def test_api_disabled_refuses_and_closes_with_4503(desk: Desk) -> None:
    _, token = await desk.client()
    async with stream(desk, token) as ws:
        open_one = Recorder(ws)
        await open_one.until(priced)
        await desk.set_control("api_enabled", False)
        async with stream(desk, token) as refused:
            recorder = Recorder(refused)
            assert (await recorder.until(lambda m: True))["code"] == "API_DISABLED"
            assert await recorder.closed() == 4503
        error = await open_one.until(lambda m: m["type"] == "error", timeout=15)
        assert error["code"] == "API_DISABLED"
        assert await open_one.closed() == 4503


async def test_spot_outage_sends_no_prices(desk: Desk) -> None:
    _, token = await desk.client()
    async with stream(desk, token) as ws:
        recorder = Recorder(ws)
        await recorder.until(priced)
        scripted_plugin.SOURCES[-1].script.extend([scripted_plugin.failing("venue down")] * 100_000)
        await desk.set_control("spot_max_age_seconds", 1)
        message = await recorder.until(lambda m: m.get("unavailable") is not None, timeout=15)
        assert message["unavailable"] == "SPOT_UNAVAILABLE"
        assert message["prices"] == [] and message["marketOpen"] is True
        # Once unavailable, never an old price again while the outage lasts.
        later = await recorder.until(lambda m: m["at"] > message["at"])
        assert later["prices"] == [] and later["unavailable"] == "SPOT_UNAVAILABLE"
        assert_private(recorder.texts)


# --------------------------------------------------------------------------- computed once per tier


class CountingPipeline(PricingPipeline):
    """The real pipeline on the runtime's own reference source, counting boards priced per tier."""

    def __init__(self, real: PricingPipeline) -> None:
        super().__init__(real.source)
        self.boards: Counter[Tier] = Counter()

    def grid(self, tier: Tier, data: Reference, now: datetime) -> list[PricedQuote]:
        self.boards[tier] += 1
        return super().grid(tier, data, now)


async def test_ticker_prices_each_tier_once_per_tick_whatever_the_sockets(desk: Desk) -> None:
    runtime = desk.runtime
    await runtime.price_loop.stop()  # the test turns the ticker by hand
    counting = CountingPipeline(runtime.pricing)
    runtime.price_ticker.pipeline = counting
    runtime.pricing = counting  # anything pricing per socket would count here too

    await runtime.price_ticker.tick()  # no socket at all
    assert counting.boards == {tier: 1 for tier in Tier}

    tokens = [token for _, token in (await desk.client("one", Tier.T1), await desk.client("three", Tier.T3))]
    async with many_streams(desk, tokens * 6) as sockets:
        recorders = [Recorder(ws) for ws in sockets]
        for recorder in recorders:  # each got the latest board on joining
            await recorder.until(priced)
        assert runtime.price_fanout.count == len(sockets)
        before = runtime.price_fanout.last_at
        await runtime.price_ticker.tick()
        at = await next_tick(runtime.price_fanout, before)
        for recorder in recorders:
            await recorder.until(lambda m: m["at"] == at)
    assert counting.boards == {tier: 2 for tier in Tier}


async def next_tick(fanout: PriceFanout, before: str | None, timeout: float = WAIT) -> str:
    """The stamp of the first tick the fan-out applies after ``before``."""
    async with asyncio.timeout(timeout):
        while fanout.last_at == before:
            await asyncio.sleep(0.01)
    assert fanout.last_at is not None
    return fanout.last_at


@asynccontextmanager
async def many_streams(desk: Desk, tokens: list[str]) -> AsyncIterator[list[ClientConnection]]:
    sockets = [await connect(stream_url(desk, token), open_timeout=WAIT, close_timeout=2) for token in tokens]
    try:
        yield sockets
    finally:
        await asyncio.gather(*(ws.close() for ws in sockets))


# --------------------------------------------------------------------------- fan-out, socket by socket


class FakeSocket:
    """A peer: reads promptly, stalls, or is gone."""

    def __init__(self, behaviour: str = "ok") -> None:
        self.behaviour = behaviour
        self.sent: list[str] = []
        self.closed_with: int | None = None

    async def send(self, message: str) -> None:
        if self.behaviour == "stall":
            await asyncio.sleep(3600)
        if self.behaviour == "slowish":
            await asyncio.sleep(0.1)
        if self.behaviour == "gone":
            raise ConnectionResetError("peer gone")
        self.sent.append(message)

    async def close(self, code: int = 1000, reason: str = "") -> None:
        self.closed_with = code

    def write_frame(self, frame: bytes) -> bool:
        """"direct" takes the frame at once, as an open socket that keeps up does; the others
        are busy or gone, so the fan-out must fall back to ``send``."""
        if self.behaviour != "direct":
            return False
        assert frame[0] == 0x81 and not frame[1] & 0x80  # FIN + text, unmasked
        length, offset = frame[1] & 0x7F, 2
        if length == 126:
            length, offset = int.from_bytes(frame[2:4], "big"), 4
        self.sent.append(frame[offset:offset + length].decode())
        return True


def tick_message(at: str, price: str) -> str:
    board = {"marketOpen": True, "nextOpen": None, "tier": "leak", "spreadPct": "0.30",
             "prices": [{"currency": "USDT", "settlement": "D0", "price": price, "referencePrice": "5"}]}
    return json.dumps({"at": at, "boards": {str(tier): board for tier in Tier}})


async def test_fanout_drops_slow_and_dead_sockets_without_delaying_others(store: Any) -> None:
    fanout = PriceFanout(store, send_timeout=0.2)
    await fanout.start()
    try:
        good, stalled, gone, direct = FakeSocket(), FakeSocket("stall"), FakeSocket("gone"), FakeSocket("direct")
        for ws in (good, stalled, gone, direct):
            fanout.join(ws, Tier.T1)
        await store.publish(CHANNEL, tick_message("2026-01-05T12:00:00.000000Z", "5.0150"))
        async with asyncio.timeout(WAIT):
            while not good.sent or stalled.closed_with is None or gone.closed_with is None:
                await asyncio.sleep(0.01)
        assert json.loads(good.sent[0]) == {
            "type": "prices", "at": "2026-01-05T12:00:00.000000Z", "marketOpen": True, "nextOpen": None,
            "prices": [{"currency": "USDT", "settlement": "D0", "price": "5.0150"}],
        }
        assert stalled.closed_with == gone.closed_with == 1013
        assert fanout.count == 2
        assert direct.sent == good.sent  # the same text, framed once for the tier
        # An older tick arriving late is ignored; the next one goes out.
        await store.publish(CHANNEL, tick_message("2026-01-05T11:59:59.000000Z", "4.0000"))
        await store.publish(CHANNEL, tick_message("2026-01-05T12:00:01.000000Z", "5.0151"))
        async with asyncio.timeout(WAIT):
            while len(good.sent) < 2:
                await asyncio.sleep(0.01)
        assert [json.loads(text)["prices"][0]["price"] for text in good.sent] == ["5.0150", "5.0151"]
        assert direct.sent == good.sent
    finally:
        await fanout.stop()
    assert good.closed_with == direct.closed_with == 1001


async def test_fanout_sends_a_busy_socket_only_the_latest_tick(store: Any) -> None:
    fanout = PriceFanout(store, send_timeout=1.0)
    await fanout.start()
    try:
        ws = FakeSocket("slowish")
        fanout.join(ws, Tier.T2)
        for second, price in enumerate(("5.0001", "5.0002", "5.0003")):
            await store.publish(CHANNEL, tick_message(f"2026-01-05T12:00:0{second}.000000Z", price))
        async with asyncio.timeout(WAIT):
            while not ws.sent or "5.0003" not in ws.sent[-1]:
                await asyncio.sleep(0.01)
        prices = [json.loads(text)["prices"][0]["price"] for text in ws.sent]
        assert prices[-1] == "5.0003" and prices == sorted(set(prices))
        assert fanout.count == 1
    finally:
        await fanout.stop()
