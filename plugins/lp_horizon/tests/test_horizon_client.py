"""The Horizon client against hand-written respx answers: every error mapping, the chunking
maths, idempotency keys, and the API key kept out of errors."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
import respx
from pydantic import SecretStr

from otc_framework.errors import (
    VenueError,
    VenuePartialFill,
    VenueRateLimited,
    VenueRefused,
    VenueUnknownOutcome,
)
from otc_framework.ports import LpExecution, LpQuote, OrderState
from otc_lp_horizon.client import (
    API_KEY_HEADER,
    CONFIRM_PATH,
    DEFAULT_RETRY_AFTER_SECONDS,
    IDEMPOTENCY_HEADER,
    PRICE_PATH,
    QUOTE_PATH,
    TRADES_PATH,
    HorizonProvider,
    idempotency_key,
    split_in_chunks,
)
from otc_lp_horizon.config import CONTROL_CHUNK_SIZE, CONTROL_VALIDITY, HorizonConfig

API_KEY = "hz-client-secret-api-key-9876543210"
BASE = "https://api.horizon.test"
ORDER = "hedge-42"
VALID_UNTIL = "2099-01-01T00:00:08.000Z"


@pytest.fixture
def router() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=BASE, assert_all_called=False) as mock:
        yield mock


@pytest.fixture
def provider(http: httpx.AsyncClient) -> HorizonProvider:
    config = HorizonConfig(base_url=BASE, api_key=SecretStr(API_KEY), timeout_seconds=0.5, chunk_size=Decimal("500000"))
    return HorizonProvider(config, http)


def _error(status: int, code: str = "ERR", message: str = "failed", **headers: str) -> httpx.Response:
    return httpx.Response(status, json={"error": {"code": code, "message": message}}, headers=headers)


def _quote_answer(quote_id: str, price: str) -> httpx.Response:
    return httpx.Response(200, json={"quoteId": quote_id, "price": price, "validUntil": VALID_UNTIL})


def _trade(trade_id: str, quote_id: str, amount: str, price: str, client_order_id: str = ORDER) -> dict[str, str]:
    return {"tradeId": trade_id, "quoteId": quote_id, "amount": amount, "price": price,
            "executedAt": "2026-11-21T12:00:01.250Z", "clientOrderId": client_order_id}


def _quote(chunks: tuple[tuple[str, Decimal, Decimal], ...], **fields: Any) -> LpQuote:
    amount = sum((c[1] for c in chunks), Decimal(0))
    values: dict[str, Any] = {
        "provider": "horizon", "quote_id": chunks[0][0], "side": "BUY", "currency": "USDC", "settlement": "D0",
        "amount": amount, "price": chunks[0][2], "valid_until": datetime.now(UTC) + timedelta(seconds=8),
        "venue_data": {"chunks": chunks},
    }
    values.update(fields)
    return LpQuote(**values)


ONE_CHUNK = (("q-1", Decimal("100000"), Decimal("5.0100")),)


# --- chunking maths ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "chunks"),
    [
        ("1250000", ["500000", "500000", "250000"]),
        ("1000000", ["500000", "500000"]),
        ("499999.99", ["499999.99"]),
        ("500000.01", ["500000", "0.01"]),
    ],
)
def test_split_in_chunks(amount: str, chunks: list[str]) -> None:
    assert split_in_chunks(Decimal(amount), Decimal("500000")) == [Decimal(c) for c in chunks]


def test_idempotency_key_is_derived_from_the_order_and_chunk() -> None:
    assert idempotency_key(ORDER, 0) == "hedge-42:0"
    assert idempotency_key(ORDER, 2) == "hedge-42:2"


async def test_quote_above_the_chunk_size_quotes_each_chunk_at_their_vwap(
    router: respx.MockRouter, provider: HorizonProvider
) -> None:
    route = router.post(QUOTE_PATH).mock(side_effect=[
        _quote_answer("q-1", "5.0100"), _quote_answer("q-2", "5.0110"), _quote_answer("q-3", "5.0125"),
    ])
    quote = await provider.request_quote("BUY", "USDC", "D1", Decimal("1250000"))
    sent = [json.loads(call.request.content) for call in route.calls]
    assert [body["amount"] for body in sent] == ["500000", "500000", "250000"]
    assert {(b["pair"], b["side"], b["settlement"], b["validitySeconds"]) for b in sent} == {("USDCBRL", "BUY", "D1", 8)}
    # (500000 × 5.0100 + 500000 × 5.0110 + 250000 × 5.0125) / 1250000, exactly.
    assert quote.price == Decimal("5.0109")
    assert quote.amount == Decimal("1250000")
    assert quote.quote_id == "q-1"
    assert quote.valid_until == datetime(2099, 1, 1, 0, 0, 8, tzinfo=UTC)


async def test_request_quote_takes_the_live_controls(router: respx.MockRouter, provider: HorizonProvider) -> None:
    route = router.post(QUOTE_PATH).mock(return_value=_quote_answer("q-1", "5.01"))
    controls = {CONTROL_CHUNK_SIZE: Decimal("300000"), CONTROL_VALIDITY: 15, "exec_mode": "auto"}
    await provider.request_quote("SELL", "USDC", "D0", Decimal("600000"), controls=controls)
    sent = [json.loads(call.request.content) for call in route.calls]
    assert [(b["amount"], b["validitySeconds"], b["side"]) for b in sent] == [("300000", 15, "SELL")] * 2


async def test_execute_confirms_each_chunk_with_its_key_and_aggregates_by_vwap(
    router: respx.MockRouter, provider: HorizonProvider
) -> None:
    chunks = (
        ("q-1", Decimal("500000"), Decimal("5.0100")),
        ("q-2", Decimal("500000"), Decimal("5.0111")),
        ("q-3", Decimal("3"), Decimal("5.0125")),
    )
    route = router.post(CONFIRM_PATH).mock(side_effect=[
        httpx.Response(200, json=_trade(f"t-{i}", qid, str(amount), str(price)))
        for i, (qid, amount, price) in enumerate(chunks, start=1)
    ])
    fill = await provider.execute_quote(_quote(chunks), ORDER)
    assert [call.request.headers[IDEMPOTENCY_HEADER] for call in route.calls] == ["hedge-42:0", "hedge-42:1", "hedge-42:2"]
    assert [json.loads(call.request.content) for call in route.calls] == [
        {"quoteId": qid, "clientOrderId": ORDER} for qid, _, _ in chunks
    ]
    notional = Decimal("500000") * Decimal("5.0100") + Decimal("500000") * Decimal("5.0111") + 3 * Decimal("5.0125")
    assert fill.price == notional / Decimal("1000003")
    assert (fill.amount, fill.chunks, fill.execution_ids) == (Decimal("1000003"), 3, ("t-1", "t-2", "t-3"))
    executed_at = datetime(2026, 11, 21, 12, 0, 1, 250000, tzinfo=UTC)
    assert fill.executions == tuple(
        LpExecution(f"t-{i}", amount, price, executed_at) for i, (_, amount, price) in enumerate(chunks, start=1)
    )
    assert fill.filled_at == executed_at


async def test_failure_part_way_is_a_partial_fill_with_what_filled(
    router: respx.MockRouter, provider: HorizonProvider
) -> None:
    chunks = (("q-1", Decimal("500000"), Decimal("5.01")), ("q-2", Decimal("500000"), Decimal("5.02")))
    router.post(CONFIRM_PATH).mock(side_effect=[
        httpx.Response(200, json=_trade("t-1", "q-1", "500000", "5.01")), _error(410, "QUOTE_EXPIRED", "quote expired"),
    ])
    with pytest.raises(VenuePartialFill) as caught:
        await provider.execute_quote(_quote(chunks), ORDER)
    assert isinstance(caught.value.cause, VenueRefused)
    assert caught.value.filled.amount == Decimal("500000")  # type: ignore[attr-defined]
    assert caught.value.filled.execution_ids == ("t-1",)  # type: ignore[attr-defined]
    assert "chunk 2 of 2" in str(caught.value)


async def test_lost_answer_part_way_is_an_unknown_outcome_of_the_order(
    router: respx.MockRouter, provider: HorizonProvider
) -> None:
    chunks = (("q-1", Decimal("500000"), Decimal("5.01")), ("q-2", Decimal("500000"), Decimal("5.02")))
    router.post(CONFIRM_PATH).mock(side_effect=[
        httpx.Response(200, json=_trade("t-1", "q-1", "500000", "5.01")), httpx.ReadTimeout("timed out"),
    ])
    with pytest.raises(VenueUnknownOutcome) as caught:
        await provider.execute_quote(_quote(chunks), ORDER)
    assert caught.value.client_order_id == ORDER
    assert "chunk 2 of 2" in str(caught.value)


async def test_first_chunk_failure_is_the_error_itself(router: respx.MockRouter, provider: HorizonProvider) -> None:
    router.post(CONFIRM_PATH).mock(return_value=_error(404, "UNKNOWN_QUOTE"))
    with pytest.raises(VenueRefused) as caught:
        await provider.execute_quote(_quote(ONE_CHUNK + (("q-2", Decimal(1), Decimal(5)),)), ORDER)
    assert not isinstance(caught.value, VenuePartialFill)


# --- what is refused before anything is sent -------------------------------------------------


async def test_locally_expired_quote_is_refused_unsent(router: respx.MockRouter, provider: HorizonProvider) -> None:
    route = router.post(CONFIRM_PATH)
    quote = _quote(ONE_CHUNK, valid_until=datetime.now(UTC) - timedelta(seconds=1))
    with pytest.raises(VenueRefused, match="expired"):
        await provider.execute_quote(quote, ORDER)
    assert not route.called


async def test_foreign_quote_is_refused_unsent(router: respx.MockRouter, provider: HorizonProvider) -> None:
    route = router.post(CONFIRM_PATH)
    with pytest.raises(VenueRefused):
        await provider.execute_quote(replace(_quote(ONE_CHUNK), provider="nonco"), ORDER)
    with pytest.raises(VenueRefused):
        await provider.execute_quote(replace(_quote(ONE_CHUNK), venue_data={}), ORDER)
    assert not route.called


async def test_unlisted_currency_and_bad_amounts_are_refused_unsent(router: respx.MockRouter, provider: HorizonProvider) -> None:
    route = router.route()
    with pytest.raises(VenueRefused, match="USDT"):
        await provider.get_price("USDT", "D0")
    with pytest.raises(VenueRefused, match="USDT"):
        await provider.request_quote("BUY", "USDT", "D0", Decimal(1000))
    for amount in (Decimal(0), Decimal(-5), Decimal("NaN")):
        with pytest.raises(VenueRefused):
            await provider.request_quote("BUY", "USDC", "D0", amount)
    assert not route.called


# --- reading answers -------------------------------------------------------------------------


async def test_price_is_read_as_decimals_with_the_key_header(router: respx.MockRouter, provider: HorizonProvider) -> None:
    route = router.get(PRICE_PATH).mock(return_value=httpx.Response(200, json={
        "pair": "USDCBRL", "settlement": "D2", "bid": "5.0030", "ask": "5.0050", "timestamp": "2026-11-21T12:00:00Z",
    }))
    price = await provider.get_price("USDC", "D2")
    request = route.calls.last.request
    assert request.headers[API_KEY_HEADER] == API_KEY
    assert dict(request.url.params) == {"pair": "USDCBRL", "settlement": "D2"}
    assert (price.bid, price.ask, price.provider) == (Decimal("5.0030"), Decimal("5.0050"), "horizon")


async def test_json_numbers_are_read_exactly(router: respx.MockRouter, provider: HorizonProvider) -> None:
    router.get(PRICE_PATH).mock(return_value=httpx.Response(
        200, content=b'{"bid": 5.003000000000000001, "ask": 5.0050}', headers={"content-type": "application/json"}
    ))
    price = await provider.get_price("USDC", "D0")
    assert price.bid == Decimal("5.003000000000000001")


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[1, 2]",
        b'{"bid": "5.0", "ask": "x"}',
        b'{"bid": true, "ask": "5.0"}',
        b'{"bid": "-5.0", "ask": "5.0"}',
        b'{"bid": "5.2", "ask": "5.1"}',
        b'{"ask": "5.1"}',
    ],
)
async def test_garbled_price_is_a_venue_error(router: respx.MockRouter, provider: HorizonProvider, body: bytes) -> None:
    router.get(PRICE_PATH).mock(return_value=httpx.Response(200, content=body))
    with pytest.raises(VenueError) as caught:
        await provider.get_price("USDC", "D0")
    assert type(caught.value) is VenueError


@pytest.mark.parametrize(
    "body",
    [
        {"quoteId": "q-1", "price": "5.01"},
        {"quoteId": "q-1", "price": "5.01", "validUntil": "2099-01-01T00:00:08"},
        {"quoteId": "", "price": "5.01", "validUntil": VALID_UNTIL},
        {"quoteId": "q-1", "price": 5, "validUntil": "soon"},
    ],
)
async def test_garbled_quote_is_a_venue_error(router: respx.MockRouter, provider: HorizonProvider, body: dict[str, Any]) -> None:
    router.post(QUOTE_PATH).mock(return_value=httpx.Response(200, json=body))
    with pytest.raises(VenueError) as caught:
        await provider.request_quote("BUY", "USDC", "D0", Decimal(1000))
    assert type(caught.value) is VenueError


async def test_lookup_aggregates_the_orders_trades_once_each(router: respx.MockRouter, provider: HorizonProvider) -> None:
    first, second = _trade("t-1", "q-1", "500000", "5.01"), _trade("t-2", "q-2", "250000", "5.04")
    route = router.get(TRADES_PATH).mock(return_value=httpx.Response(200, json={"trades": [first, second, first]}))
    lookup = await provider.lookup_order(ORDER)
    assert dict(route.calls.last.request.url.params) == {"clientOrderId": ORDER}
    assert lookup.state is OrderState.FILLED and lookup.fill is not None
    assert (lookup.fill.amount, lookup.fill.price, lookup.fill.chunks) == (Decimal("750000"), Decimal("5.02"), 2)
    assert lookup.fill.execution_ids == ("t-1", "t-2")


async def test_lookup_without_trades_is_not_found(router: respx.MockRouter, provider: HorizonProvider) -> None:
    router.get(TRADES_PATH).mock(return_value=httpx.Response(200, json={"trades": []}))
    assert (await provider.lookup_order(ORDER)).state is OrderState.NOT_FOUND


@pytest.mark.parametrize("body", [{}, {"trades": "none"}, {"trades": [1]}, {"trades": [{"tradeId": "t"}]}])
async def test_garbled_lookup_is_a_venue_error_never_a_fill(
    router: respx.MockRouter, provider: HorizonProvider, body: dict[str, Any]
) -> None:
    router.get(TRADES_PATH).mock(return_value=httpx.Response(200, json=body))
    with pytest.raises(VenueError):
        await provider.lookup_order(ORDER)


# --- error mapping ---------------------------------------------------------------------------


async def _price(provider: HorizonProvider) -> object:
    return await provider.get_price("USDC", "D0")


async def _request_quote(provider: HorizonProvider) -> object:
    return await provider.request_quote("BUY", "USDC", "D0", Decimal(1000))


async def _confirm(provider: HorizonProvider) -> object:
    return await provider.execute_quote(_quote(ONE_CHUNK), ORDER)


async def _lookup(provider: HorizonProvider) -> object:
    return await provider.lookup_order(ORDER)


CALLS = {
    "price": ("GET", PRICE_PATH, _price),
    "quote": ("POST", QUOTE_PATH, _request_quote),
    "confirm": ("POST", CONFIRM_PATH, _confirm),
    "lookup": ("GET", TRADES_PATH, _lookup),
}


@pytest.fixture(params=list(CALLS))
def call(request: pytest.FixtureRequest, router: respx.MockRouter) -> tuple[str, respx.Route, Any]:
    method, path, run = CALLS[request.param]
    return request.param, router.route(method=method, path=path), run


@pytest.mark.parametrize(("header", "expected"), [("7", 7.0), (None, DEFAULT_RETRY_AFTER_SECONDS), ("soon", DEFAULT_RETRY_AFTER_SECONDS)])
async def test_429_is_rate_limited_with_the_venues_wait(
    call: tuple[str, respx.Route, Any], provider: HorizonProvider, header: str | None, expected: float
) -> None:
    _, route, run = call
    route.mock(return_value=_error(429, "RATE_LIMITED", **({"Retry-After": header} if header else {})))
    with pytest.raises(VenueRateLimited) as caught:
        await run(provider)
    assert caught.value.retry_after == expected


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 410, 422])
async def test_4xx_is_refused(call: tuple[str, respx.Route, Any], provider: HorizonProvider, status: int) -> None:
    _, route, run = call
    route.mock(return_value=_error(status, "NOPE", "refused"))
    with pytest.raises(VenueRefused) as caught:
        await run(provider)
    assert f"HTTP {status}" in str(caught.value) and "NOPE refused" in str(caught.value)
    if status in (401, 403):
        assert "API key" in str(caught.value)


@pytest.mark.parametrize("status", [408, 500, 502, 503, 504])
async def test_5xx_is_retryable_and_unknown_after_a_confirm(
    call: tuple[str, respx.Route, Any], provider: HorizonProvider, status: int
) -> None:
    name, route, run = call
    route.mock(return_value=_error(status))
    with pytest.raises(VenueError) as caught:
        await run(provider)
    if name == "confirm":
        assert isinstance(caught.value, VenueUnknownOutcome) and caught.value.client_order_id == ORDER
    else:
        assert type(caught.value) is VenueError


@pytest.mark.parametrize(
    "exc", [httpx.ReadTimeout("t"), httpx.WriteTimeout("t"), httpx.RemoteProtocolError("x"), httpx.ReadError("x")]
)
async def test_lost_answer_is_unknown_only_after_a_confirm(
    call: tuple[str, respx.Route, Any], provider: HorizonProvider, exc: Exception
) -> None:
    name, route, run = call
    route.mock(side_effect=exc)
    with pytest.raises(VenueError) as caught:
        await run(provider)
    if name == "confirm":
        assert isinstance(caught.value, VenueUnknownOutcome) and caught.value.client_order_id == ORDER
    else:
        assert type(caught.value) is VenueError
    assert caught.value.__cause__ is None


@pytest.mark.parametrize(
    "exc", [httpx.ConnectError("refused"), httpx.ConnectTimeout("t"), httpx.PoolTimeout("t"), httpx.InvalidURL("bad")]
)
async def test_nothing_sent_is_a_plain_venue_error(
    call: tuple[str, respx.Route, Any], provider: HorizonProvider, exc: Exception
) -> None:
    _, route, run = call
    route.mock(side_effect=exc)
    with pytest.raises(VenueError) as caught:
        await run(provider)
    assert type(caught.value) is VenueError
    assert "could not connect" in str(caught.value)


async def test_api_key_never_in_errors_even_when_the_venue_echoes_it(
    call: tuple[str, respx.Route, Any], provider: HorizonProvider
) -> None:
    _, route, run = call
    texts = [repr(provider), str(provider)]
    answers: list[Any] = [
        _error(401, "UNAUTHORIZED", f"key {API_KEY} revoked"),
        _error(500, API_KEY, f"boom {API_KEY}"),
        _error(429, "RATE_LIMITED", API_KEY),
        httpx.ConnectError(f"{BASE}?key={API_KEY}"),
        httpx.ReadTimeout(f"{API_KEY}"),
    ]
    for answer in answers:
        route.mock(side_effect=[answer])
        with pytest.raises(VenueError) as caught:
            await run(provider)
        texts += [str(caught.value), repr(caught.value), caught.value.message]
    assert not [text for text in texts if API_KEY in text]
