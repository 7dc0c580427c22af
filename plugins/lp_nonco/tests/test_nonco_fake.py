"""The fake Nonco's faults and order count, spoken to in raw frames: a fault matched to a
frame type, before or after the book acted on the frame, and ``/_orders`` by ``ClOrdID``."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from otc_framework.testing.fake_venue import LoopbackServer
from otc_lp_nonco.client import (
    TYPE_ERROR,
    TYPE_EXECUTION_REPORT,
    TYPE_NEW_ORDER,
    TYPE_QUOTE,
    TYPE_QUOTE_REQUEST,
    WS_PATH,
    handshake_headers,
)
from otc_lp_nonco.fake import create_app

API_KEY = "nc-fake-secret-api-key"
API_SECRET = "nc-fake-signing-secret"
SILENCE = 0.3


class Venue:
    """The fake on loopback and one socket to it, with a reqid per request."""

    def __init__(self, server: LoopbackServer, http: httpx.AsyncClient, ws: ClientConnection) -> None:
        self.server, self.http, self.ws = server, http, ws
        self.book = server.app.ctx.book
        self._reqid = 0

    async def fault(self, **fault: Any) -> None:
        (await self.http.post(self.server.base_url + "/_fault", json=fault)).raise_for_status()

    async def orders(self) -> dict[str, Any]:
        summary: dict[str, Any] = (await self.http.get(self.server.base_url + "/_orders")).json()
        return summary

    async def request(self, frame_type: str, item: dict[str, Any]) -> int:
        self._reqid += 1
        await self.ws.send(json.dumps({"reqid": self._reqid, "type": frame_type, "data": [item]}))
        return self._reqid

    async def answer(self, reqid: int, timeout: float = 2.0) -> dict[str, Any]:
        """The next frame answering ``reqid`` (market data is skipped)."""
        while True:
            frame: dict[str, Any] = json.loads(await asyncio.wait_for(self.ws.recv(), timeout))
            if frame.get("reqid") == reqid:
                return frame

    async def quote(self) -> dict[str, Any]:
        reqid = await self.request(TYPE_QUOTE_REQUEST, {
            "QuoteReqID": str(uuid.uuid4()), "Symbol": "USDC-BRL", "Currency": "USDC", "OrderQty": "1000",
            "Side": "Buy", "SettlType": "D0", "Parameters": {"QuoteTTL": "17s"},
        })
        while True:
            frame = await self.answer(reqid)
            if frame["type"] != TYPE_QUOTE or frame["data"][0]["QuoteStatus"] == "Open":
                return frame

    async def order(self, quote: dict[str, Any], cl_ord_id: str) -> int:
        item = quote["data"][0]
        return await self.request(TYPE_NEW_ORDER, {
            "ClOrdID": cl_ord_id, "RFQID": item["RFQID"], "QuoteID": item["QuoteID"], "Side": "Buy",
            "OrderQty": "1000", "Symbol": "USDC-BRL", "Currency": "USDC", "OrdType": "RFQ",
        })


@pytest.fixture
async def venue(loopback: Any, http: httpx.AsyncClient) -> AsyncIterator[Venue]:
    server: LoopbackServer = await loopback(create_app(API_KEY, API_SECRET, spot=Decimal("5.00")))
    url = server.base_url.replace("http://", "ws://", 1) + WS_PATH
    headers = handshake_headers(API_KEY, API_SECRET, "127.0.0.1", datetime.now(UTC))
    async with connect(url, additional_headers=headers, proxy=None, close_timeout=0.5) as ws:
        yield Venue(server, http, ws)


async def test_a_fault_matched_to_orders_lets_quotes_through(venue: Venue) -> None:
    await venue.fault(match=TYPE_NEW_ORDER, drop=True)
    quote = await venue.quote()
    assert quote["type"] == TYPE_QUOTE
    await venue.order(quote, "o-1")
    with pytest.raises(ConnectionClosed):
        await venue.answer(0)
    assert venue.book.executions == []
    assert await venue.orders() == {"received": 1, "distinct": 1, "repeated": {}, "executed": 0}


async def test_a_fault_matched_to_quotes_errs_the_quote_only(venue: Venue) -> None:
    await venue.fault(match=TYPE_QUOTE_REQUEST, status=429, retryAfter=3)
    refused = await venue.quote()
    assert refused["type"] == TYPE_ERROR and refused["data"][0]["Code"] == 429
    assert venue.book.quotes_registered == 0
    assert (await venue.quote())["type"] == TYPE_QUOTE


async def test_dropped_after_the_order_filled(venue: Venue) -> None:
    quote = await venue.quote()
    await venue.fault(match=TYPE_NEW_ORDER, drop=True, after=True)
    await venue.order(quote, "o-1")
    with pytest.raises(ConnectionClosed):
        await venue.answer(0)
    assert len(venue.book.executions) == 1
    assert (await venue.orders())["executed"] == 1


async def test_filled_but_never_answered_on_a_live_socket(venue: Venue) -> None:
    quote = await venue.quote()
    await venue.fault(match=TYPE_NEW_ORDER, drop=True, delay=60, after=True)
    reqid = await venue.order(quote, "o-1")
    with pytest.raises(TimeoutError):
        await venue.answer(reqid, timeout=SILENCE)
    assert len(venue.book.executions) == 1
    # The socket lives on: the same order again is answered with its first reports.
    again = await venue.order(quote, "o-1")
    reports = [await venue.answer(again) for _ in range(2)]
    assert [r["data"][0]["ExecType"] for r in reports] == ["PendingNew", "Trade"]
    assert await venue.orders() == {"received": 2, "distinct": 1, "repeated": {"o-1": 2}, "executed": 1}


async def test_a_venue_that_lies_fills_and_answers_an_error(venue: Venue) -> None:
    quote = await venue.quote()
    await venue.fault(match=TYPE_NEW_ORDER, status=503, after=True)
    answer = await venue.answer(await venue.order(quote, "o-1"))
    assert answer["type"] == TYPE_ERROR and answer["data"][0]["Code"] == 503
    assert len(venue.book.executions) == 1


async def test_a_delay_answers_late(venue: Venue) -> None:
    quote = await venue.quote()
    await venue.fault(match=TYPE_NEW_ORDER, delay=0.5, after=True)
    reqid = await venue.order(quote, "o-1")
    with pytest.raises(TimeoutError):
        await venue.answer(reqid, timeout=SILENCE)
    assert (await venue.answer(reqid))["type"] == TYPE_EXECUTION_REPORT
