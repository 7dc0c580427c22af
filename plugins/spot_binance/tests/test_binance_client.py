from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest
import respx

from otc_framework.errors import VenueError, VenueRateLimited
from otc_framework.ports import USDC_BRL, USDT_BRL
from otc_spot_binance.client import BinanceSpotSource
from otc_spot_binance.config import BinanceConfig

BASE_URL = "https://binance.test"
URL = f"{BASE_URL}/api/v3/ticker/bookTicker"
# Ten seconds into a minute, so "until the minute turns" is 50 s.
WALL_START = 29_916_667 * 60 + 10.0


class Clocks:
    def __init__(self) -> None:
        self.mono = 1000.0
        self.wall = WALL_START

    def advance(self, seconds: float) -> None:
        self.mono += seconds
        self.wall += seconds


def ticker(symbol: str, bid: str = "5.00400000", ask: str = "5.00600000") -> dict[str, str]:
    return {"symbol": symbol, "bidPrice": bid, "bidQty": "100.00", "askPrice": ask, "askQty": "9"}


INVALID_SYMBOL = {"code": -1121, "msg": "Invalid symbol."}


@pytest.fixture
def clocks() -> Clocks:
    return Clocks()


@pytest.fixture
def venue() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False) as router:
        yield router


@pytest.fixture
def make(http, clocks):
    def make(**config: object) -> BinanceSpotSource:
        return BinanceSpotSource(
            BinanceConfig(base_url=BASE_URL, **config),
            http,
            clock=lambda: clocks.mono,
            wall_clock=lambda: clocks.wall,
        )

    return make


def route(venue: respx.MockRouter, symbol: str) -> respx.Route:
    return venue.get(URL, params={"symbol": symbol})


async def test_one_keyless_request_per_symbol(make, venue) -> None:
    usdt = route(venue, "USDTBRL").respond(json=ticker("USDTBRL"))
    usdc = route(venue, "USDCBRL").respond(json=ticker("USDCBRL"))
    await make().fetch()
    for r, symbol in ((usdt, "USDTBRL"), (usdc, "USDCBRL")):
        assert r.call_count == 1
        request = r.calls.last.request
        assert request.method == "GET"
        assert request.url.path == "/api/v3/ticker/bookTicker"
        assert request.url.params.multi_items() == [("symbol", symbol)]
        assert "X-MBX-APIKEY" not in request.headers
        assert "Authorization" not in request.headers


async def test_book_ticker_is_parsed_into_exact_decimals(make, venue, clocks) -> None:
    route(venue, "USDTBRL").respond(json=ticker("USDTBRL", "5.0123", "5.01240000"))
    route(venue, "USDCBRL").respond(json=ticker("USDCBRL", "5.0100", "5.0110"))
    quotes = {q.instrument: q for q in await make().fetch()}
    usdt, usdc = quotes[USDT_BRL], quotes[USDC_BRL]
    assert str(usdt.bid) == "5.0123" and str(usdt.ask) == "5.01240000"
    assert usdc.bid == Decimal("5.01") and usdc.ask == Decimal("5.011")
    assert usdt.source == usdc.source == "binance"
    assert usdt.last is None and usdt.venue_time is None
    assert usdt.received_at == datetime.fromtimestamp(clocks.wall, UTC)


async def test_instruments_follow_the_configured_symbols(make) -> None:
    assert make().instruments == (USDT_BRL, USDC_BRL)
    assert make(symbols=["USDCBRL"]).instruments == (USDC_BRL,)


async def test_unlisted_symbol_is_left_out_and_rechecked_after_the_interval(
    make, venue, clocks
) -> None:
    usdt = route(venue, "USDTBRL").respond(json=ticker("USDTBRL"))
    usdc = route(venue, "USDCBRL").respond(400, json=INVALID_SYMBOL)
    source = make(unlisted_recheck_seconds=600)

    assert [q.instrument for q in await source.fetch()] == [USDT_BRL]
    clocks.advance(599)
    assert [q.instrument for q in await source.fetch()] == [USDT_BRL]
    assert (usdt.call_count, usdc.call_count) == (2, 1)

    clocks.advance(1)
    usdc.respond(json=ticker("USDCBRL"))
    assert {q.instrument for q in await source.fetch()} == {USDT_BRL, USDC_BRL}
    assert (usdt.call_count, usdc.call_count) == (3, 2)
    await source.fetch()
    assert usdc.call_count == 3


async def test_only_unlisted_symbols_is_an_error_without_requests(make, venue, clocks) -> None:
    usdc = route(venue, "USDCBRL").respond(400, json=INVALID_SYMBOL)
    source = make(symbols=["USDCBRL"])
    with pytest.raises(VenueError, match="listed"):
        await source.fetch()
    clocks.advance(60)
    with pytest.raises(VenueError, match="USDCBRL"):
        await source.fetch()
    assert usdc.call_count == 1


async def test_other_400_codes_are_errors_not_unlisted(make, venue) -> None:
    usdt = route(venue, "USDTBRL").respond(
        400, json={"code": -1100, "msg": "Illegal characters found in parameter 'symbol'."}
    )
    source = make(symbols=["USDTBRL"])
    with pytest.raises(VenueError, match="-1100"):
        await source.fetch()
    with pytest.raises(VenueError):
        await source.fetch()
    assert usdt.call_count == 2


@pytest.mark.parametrize(
    ("status", "headers", "retry_after"),
    [
        (429, {"Retry-After": "30"}, 30),
        (418, {"Retry-After": "300"}, 300),
        (429, {}, 50),  # the weight resets when the minute turns
        (418, {}, 120),  # Binance's shortest ban
        (429, {"Retry-After": "soon"}, 50),
    ],
)
async def test_back_off_is_honoured_without_requests(
    make, venue, clocks, status, headers, retry_after
) -> None:
    usdt = route(venue, "USDTBRL").respond(status, headers=headers, json={"code": -1003})
    source = make(symbols=["USDTBRL"])
    with pytest.raises(VenueRateLimited) as caught:
        await source.fetch()
    assert caught.value.retry_after == retry_after

    clocks.advance(retry_after - 1)
    with pytest.raises(VenueRateLimited) as caught:
        await source.fetch()
    assert caught.value.retry_after == pytest.approx(1)
    assert usdt.call_count == 1

    clocks.advance(1)
    usdt.respond(json=ticker("USDTBRL"))
    assert await source.fetch()
    assert usdt.call_count == 2


async def test_a_rate_limit_on_one_symbol_stops_the_whole_read(make, venue) -> None:
    usdt = route(venue, "USDTBRL").respond(json=ticker("USDTBRL"))
    usdc = route(venue, "USDCBRL").respond(429, headers={"Retry-After": "7"})
    source = make()
    with pytest.raises(VenueRateLimited) as caught:
        await source.fetch()
    assert caught.value.retry_after == 7
    with pytest.raises(VenueRateLimited):
        await source.fetch()
    assert (usdt.call_count, usdc.call_count) == (1, 1)


@pytest.mark.parametrize(("used", "blocked"), [(4996, False), (4997, True)])
async def test_weight_ceiling_stops_calls_until_the_minute_turns(
    make, venue, clocks, used, blocked
) -> None:
    headers = {"X-MBX-USED-WEIGHT-1M": str(used)}
    usdt = route(venue, "USDTBRL").respond(json=ticker("USDTBRL"), headers=headers)
    usdc = route(venue, "USDCBRL").respond(json=ticker("USDCBRL"), headers=headers)
    source = make()
    await source.fetch()
    if not blocked:
        await source.fetch()  # 4996 + 2 symbols x weight 2 = 5000: at the ceiling, not past it
        assert usdt.call_count == 2
        return
    with pytest.raises(VenueRateLimited) as caught:
        await source.fetch()
    assert caught.value.retry_after == pytest.approx(50)
    clocks.advance(49)
    with pytest.raises(VenueRateLimited):
        await source.fetch()
    assert (usdt.call_count, usdc.call_count) == (1, 1)
    clocks.advance(1)
    await source.fetch()
    assert (usdt.call_count, usdc.call_count) == (2, 2)


async def test_weight_ceiling_is_configurable_and_counts_only_due_symbols(make, venue) -> None:
    spent = [94]

    def answer(request: httpx.Request) -> httpx.Response:
        symbol = request.url.params["symbol"]
        spent[0] += 2
        headers = {"X-MBX-USED-WEIGHT-1M": str(spent[0])}
        if symbol == "USDCBRL":
            return httpx.Response(400, json=INVALID_SYMBOL, headers=headers)
        return httpx.Response(200, json=ticker(symbol), headers=headers)

    usdt = route(venue, "USDTBRL").mock(side_effect=answer)
    route(venue, "USDCBRL").mock(side_effect=answer)
    source = make(weight_ceiling=100)
    await source.fetch()  # both symbols: 96 and 98 reported
    await source.fetch()  # only USDTBRL is due: 98 + 2 reaches the ceiling, reports 100
    with pytest.raises(VenueRateLimited, match="ceiling"):
        await source.fetch()
    assert usdt.call_count == 2


async def test_concurrent_weight_headers_keep_the_largest(make, venue) -> None:
    # Answers to concurrent requests arrive in any order; a later, smaller count is stale.
    for symbol, used in (("USDTBRL", "4999"), ("USDCBRL", "12")):
        route(venue, symbol).respond(json=ticker(symbol), headers={"X-MBX-USED-WEIGHT-1M": used})
    source = make()
    await source.fetch()
    with pytest.raises(VenueRateLimited):
        await source.fetch()


async def test_one_failing_symbol_does_not_fail_the_other(make, venue) -> None:
    route(venue, "USDTBRL").respond(json=ticker("USDTBRL"))
    route(venue, "USDCBRL").respond(503)
    assert [q.instrument for q in await make().fetch()] == [USDT_BRL]


async def test_every_symbol_failing_is_a_venue_error_naming_each(make, venue) -> None:
    route(venue, "USDTBRL").respond(502)
    route(venue, "USDCBRL").mock(side_effect=httpx.ReadTimeout("slow"))
    with pytest.raises(VenueError) as caught:
        await make().fetch()
    assert not isinstance(caught.value, VenueRateLimited)
    assert "USDTBRL: server error (HTTP 502)" in caught.value.message
    assert "USDCBRL: timed out" in caught.value.message


@pytest.mark.parametrize(
    "exc", [httpx.ConnectError("refused"), httpx.ConnectTimeout("slow"), httpx.ReadError("reset")]
)
async def test_transport_errors_are_venue_errors(make, venue, exc) -> None:
    route(venue, "USDTBRL").mock(side_effect=exc)
    with pytest.raises(VenueError):
        await make(symbols=["USDTBRL"]).fetch()


async def test_waf_refusal_is_a_venue_error(make, venue) -> None:
    route(venue, "USDTBRL").respond(403, text="Forbidden")
    with pytest.raises(VenueError, match="firewall"):
        await make(symbols=["USDTBRL"]).fetch()


async def test_timeout_is_passed_to_each_request(make, venue) -> None:
    usdt = route(venue, "USDTBRL").respond(json=ticker("USDTBRL"))
    await make(symbols=["USDTBRL"], timeout_seconds=0.5).fetch()
    assert usdt.calls.last.request.extensions["timeout"]["read"] == 0.5


@pytest.mark.parametrize(
    "content",
    [
        b"<html>oops</html>",
        b"[]",
        b'{"symbol": "USDCBRL", "bidPrice": "5.004", "askPrice": "5.006"}',
        b'{"symbol": "USDTBRL", "askPrice": "5.006"}',
        b'{"symbol": "USDTBRL", "bidPrice": "abc", "askPrice": "5.006"}',
        b'{"symbol": "USDTBRL", "bidPrice": "0.00000000", "askPrice": "5.006"}',
        b'{"symbol": "USDTBRL", "bidPrice": "NaN", "askPrice": "5.006"}',
        b'{"symbol": "USDTBRL", "bidPrice": null, "askPrice": "5.006"}',
        b'{"symbol": "USDTBRL", "bidPrice": "5.007", "askPrice": "5.006"}',
    ],
)
async def test_malformed_tickers_are_venue_errors(make, venue, content: bytes) -> None:
    route(venue, "USDTBRL").respond(200, content=content)
    with pytest.raises(VenueError):
        await make(symbols=["USDTBRL"]).fetch()


def test_config_defaults_and_validation() -> None:
    config = BinanceConfig()
    assert config.base_url == "https://data-api.binance.vision"
    assert config.symbols == ("USDTBRL", "USDCBRL")
    assert config.timeout_seconds == 2.0
    assert config.unlisted_recheck_seconds == 600
    assert config.weight_ceiling == 5000
    bad: dict[str, Any]
    for bad in (
        {"symbols": ["BTCBRL"]},
        {"symbols": ["USDTBRL", "USDTBRL"]},
        {"symbols": []},
        {"weight_ceiling": 6001},
        {"weight_ceiling": 3},
        {"api_key": "x"},
    ):
        with pytest.raises(ValueError):
            BinanceConfig.model_validate(bad)


async def test_unusable_base_url_is_a_venue_error(http) -> None:
    source = BinanceSpotSource(BinanceConfig(base_url="http://bad\x00host"), http)
    with pytest.raises(VenueError, match="InvalidURL"):
        await source.fetch()
