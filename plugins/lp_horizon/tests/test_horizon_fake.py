"""The fake Horizon on loopback: its prices, quotes, fills, faults and order count, spoken to
in raw HTTP."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
import pytest

from otc_framework.testing.fake_venue import LoopbackServer
from otc_lp_horizon.client import (
    API_KEY_HEADER,
    CONFIRM_PATH,
    IDEMPOTENCY_HEADER,
    PRICE_PATH,
    QUOTE_PATH,
    TRADES_PATH,
)
from otc_lp_horizon.fake import create_app

API_KEY = "hz-fake-secret-api-key"
HEADERS = {API_KEY_HEADER: API_KEY}


class Venue:
    def __init__(self, server: LoopbackServer, http: httpx.AsyncClient) -> None:
        self.server, self.http, self.ctx = server, http, server.app.ctx

    async def price(self, settlement: str = "D0", **headers: str) -> httpx.Response:
        return await self.http.get(
            self.server.base_url + PRICE_PATH, params={"pair": "USDCBRL", "settlement": settlement},
            headers=headers or HEADERS,
        )

    async def quote(self, side: str = "BUY", amount: str = "1000", **extra: Any) -> httpx.Response:
        body = {"pair": "USDCBRL", "side": side, "amount": amount, "settlement": "D0", **extra}
        return await self.http.post(self.server.base_url + QUOTE_PATH, json=body, headers=HEADERS)

    async def confirm(self, quote_id: str, key: str | None, order: str = "o-1") -> httpx.Response:
        headers = {**HEADERS, **({IDEMPOTENCY_HEADER: key} if key else {})}
        body = {"quoteId": quote_id, "clientOrderId": order}
        return await self.http.post(self.server.base_url + CONFIRM_PATH, json=body, headers=headers)

    async def trades(self, order: str) -> list[dict[str, str]]:
        response = await self.http.get(self.server.base_url + TRADES_PATH, params={"clientOrderId": order}, headers=HEADERS)
        assert response.status_code == 200
        trades: list[dict[str, str]] = response.json()["trades"]
        return trades


@pytest.fixture
async def venue(loopback: Any, http: httpx.AsyncClient) -> Venue:
    return Venue(await loopback(create_app(API_KEY, spot=Decimal("5.0000"))), http)


async def test_every_route_wants_the_api_key(venue: Venue) -> None:
    response = await venue.price(**{API_KEY_HEADER: "wrong"})
    assert response.status_code == 401
    assert response.json() == {"error": {"code": "UNAUTHORIZED", "message": "invalid API key"}}
    for path in (QUOTE_PATH, CONFIRM_PATH):
        assert (await venue.http.post(venue.server.base_url + path, json={})).status_code == 401
    assert (await venue.http.get(venue.server.base_url + TRADES_PATH)).status_code == 401


async def test_price_is_the_market_with_the_usdc_premium_and_registers_nothing(venue: Venue) -> None:
    d0, d2 = (await venue.price("D0")).json(), (await venue.price("D2")).json()
    # 5.0000 × 1.0008 = 5.0040, ± 0.0010; D2 is 0.0010 dearer.
    assert (d0["bid"], d0["ask"]) == ("5.0030", "5.0050")
    assert (d2["bid"], d2["ask"]) == ("5.0040", "5.0060")
    assert venue.ctx.book.quotes_registered == 0


async def test_bad_price_request_is_refused(venue: Venue) -> None:
    response = await venue.http.get(
        venue.server.base_url + PRICE_PATH, params={"pair": "BTCBRL", "settlement": "D0"}, headers=HEADERS
    )
    assert response.status_code == 400


async def test_quote_is_registered_at_ask_or_bid_with_the_validity_asked(venue: Venue) -> None:
    buy, sell = (await venue.quote("BUY", validitySeconds=20)).json(), (await venue.quote("SELL")).json()
    assert (buy["price"], sell["price"]) == ("5.0050", "5.0030")
    assert buy["validUntil"].endswith("Z") and buy["validUntil"] > sell["validUntil"]
    assert venue.ctx.book.quotes_registered == 2


@pytest.mark.parametrize("body", [{"amount": "0"}, {"amount": "abc"}, {"side": "HOLD"}, {"settlement": "D9"}])
async def test_bad_quote_request_is_refused(venue: Venue, body: dict[str, str]) -> None:
    response = await venue.http.post(
        venue.server.base_url + QUOTE_PATH,
        json={"pair": "USDCBRL", "side": "BUY", "amount": "1", "settlement": "D0", **body}, headers=HEADERS,
    )
    assert response.status_code == 400
    assert venue.ctx.book.quotes_registered == 0


async def test_confirm_fills_at_the_quoted_price_once_per_key(venue: Venue) -> None:
    quote = (await venue.quote(amount="1234.5")).json()
    first = await venue.confirm(quote["quoteId"], "o-1:0")
    assert first.status_code == 200
    trade = first.json()
    assert (trade["quoteId"], trade["amount"], trade["price"]) == (quote["quoteId"], "1234.5", quote["price"])
    again = await venue.confirm((await venue.quote()).json()["quoteId"], "o-1:0")
    assert again.json() == trade
    assert (await venue.confirm(quote["quoteId"], "other:0")).status_code == 409
    assert await venue.trades("o-1") == [trade]
    assert await venue.trades("o-2") == []
    inbox = (await venue.http.get(venue.server.base_url + "/_inbox")).json()["items"]
    confirms = [item for item in inbox if item["path"] == CONFIRM_PATH]
    assert [c["idempotencyKey"] for c in confirms] == ["o-1:0", "o-1:0", "other:0"]
    assert confirms[0]["body"] == {"quoteId": quote["quoteId"], "clientOrderId": "o-1"}


async def test_confirm_refusals(venue: Venue) -> None:
    quote = (await venue.quote()).json()
    assert (await venue.confirm(quote["quoteId"], None)).status_code == 400
    assert (await venue.confirm("q-unknown", "o-1:0")).status_code == 404
    venue.ctx.book.expire_quotes()
    expired = await venue.confirm(quote["quoteId"], "o-1:0")
    assert expired.status_code == 410 and expired.json()["error"]["code"] == "QUOTE_EXPIRED"
    assert venue.ctx.book.trades == []


@pytest.mark.parametrize("executed", [True, False])
async def test_lost_confirm_drops_the_connection_after_or_instead_of_filling(venue: Venue, executed: bool) -> None:
    quote = (await venue.quote()).json()
    lost = {"match": CONFIRM_PATH, "drop": True, "after": executed}
    assert (await venue.http.post(venue.server.base_url + "/_fault", json=lost)).status_code == 200
    with pytest.raises(httpx.RemoteProtocolError):
        await venue.confirm(quote["quoteId"], "o-1:0")
    assert len(await venue.trades("o-1")) == (1 if executed else 0)
    assert (await venue.http.get(venue.server.base_url + "/_fault")).json()["pending"] == 0


async def test_a_confirm_that_lies_filled_and_answered_an_error(venue: Venue) -> None:
    quote = (await venue.quote()).json()
    lie = {"match": CONFIRM_PATH, "status": 503, "after": True}
    await venue.http.post(venue.server.base_url + "/_fault", json=lie)
    answer = await venue.confirm(quote["quoteId"], "o-1:0")
    assert answer.status_code == 503 and answer.json()["error"]["code"] == "INTERNAL"
    assert len(await venue.trades("o-1")) == 1


async def test_orders_count_each_confirm_key_even_when_faulted(venue: Venue) -> None:
    quotes = [(await venue.quote()).json()["quoteId"] for _ in range(3)]
    await venue.http.post(venue.server.base_url + "/_fault", json={"match": CONFIRM_PATH, "drop": True})
    with pytest.raises(httpx.RemoteProtocolError):
        await venue.confirm(quotes[0], "o-1:0", order="o-1")
    await venue.confirm(quotes[0], "o-1:0", order="o-1")  # sent again: seen twice, filled once
    await venue.confirm(quotes[1], "o-2:0", order="o-2")
    await venue.confirm(quotes[2], "o-2:1", order="o-2")
    await venue.price()
    orders = (await venue.http.get(venue.server.base_url + "/_orders")).json()
    assert orders == {"received": 4, "distinct": 3, "repeated": {"o-1:0": 2}, "executed": 3}


async def test_forced_429_is_horizons_with_retry_after(venue: Venue) -> None:
    await venue.http.post(venue.server.base_url + "/_fault", json={"status": 429, "retryAfter": 4})
    response = await venue.price()
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "4"
    assert response.json()["error"]["code"] == "RATE_LIMITED"
    assert (await venue.price()).status_code == 200
