from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import TypeVar

import httpx
import pytest
import respx

from otc_framework.errors import VenueError, VenueRateLimited
from otc_framework.ports import USD_BRL
from otc_spot_valorpro.client import ValorProSpotSource
from otc_spot_valorpro.config import ValorProConfig

BASE_URL = "https://valorpro.test"
TOKEN = "s3cr3t-valorpro-token"
QUOTE_URL = f"{BASE_URL}/v1/quotes/USDBRL"
NOW = datetime(2026, 11, 21, 12, 0, 1, tzinfo=UTC)
BODY = {
    "symbol": "USDBRL",
    "bid": "5.0123",
    "ask": "5.0130",
    "last": "5.0127",
    "timestamp": "2026-11-21T12:00:00.000Z",
}


@pytest.fixture
def source(http: httpx.AsyncClient) -> ValorProSpotSource:
    config = ValorProConfig(base_url=BASE_URL + "/", token=TOKEN, timeout_seconds=1.5)
    return ValorProSpotSource(config, http, now=lambda: NOW)


@pytest.fixture
def venue() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False) as router:
        yield router


E = TypeVar("E", bound=VenueError)


async def _error(source: ValorProSpotSource, kind: type[E]) -> E:
    with pytest.raises(kind) as caught:
        await source.fetch()
    assert TOKEN not in str(caught.value)
    assert TOKEN not in repr(caught.value)
    return caught.value


async def test_request_is_one_authorised_get_of_the_quote(source, venue) -> None:
    route = venue.get(QUOTE_URL).respond(json=BODY)
    await source.fetch()
    assert route.call_count == 1
    request = route.calls.last.request
    assert request.url.path == "/v1/quotes/USDBRL"
    assert request.url.query == b""
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"


async def test_quote_is_parsed_into_exact_decimals(source, venue) -> None:
    venue.get(QUOTE_URL).respond(json=BODY)
    [quote] = await source.fetch()
    assert quote.source == "valorpro"
    assert quote.instrument == USD_BRL
    assert quote.bid == Decimal("5.0123") and str(quote.bid) == "5.0123"
    assert quote.ask == Decimal("5.0130") and str(quote.ask) == "5.0130"
    assert quote.last == Decimal("5.0127")
    assert quote.venue_time == datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
    assert quote.venue_time.tzinfo is UTC
    assert quote.received_at == NOW


async def test_json_numbers_become_decimals_without_float_rounding(source, venue) -> None:
    venue.get(QUOTE_URL).respond(
        content=b'{"symbol":"USDBRL","bid":5.0123,"ask":5.013,"last":5.0127,'
        b'"timestamp":"2026-11-21T09:00:00-03:00"}',
        headers={"Content-Type": "application/json"},
    )
    [quote] = await source.fetch()
    assert str(quote.bid) == "5.0123"
    assert str(quote.ask) == "5.013"
    assert quote.venue_time == datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


async def test_missing_last_and_timestamp_are_tolerated(source, venue) -> None:
    venue.get(QUOTE_URL).respond(json={"bid": "5.0010", "ask": "5.0030"})
    [quote] = await source.fetch()
    assert quote.last is None and quote.venue_time is None


async def test_equal_bid_and_ask_is_a_valid_quote(source, venue) -> None:
    venue.get(QUOTE_URL).respond(json=BODY | {"bid": "5.0100", "ask": "5.0100"})
    [quote] = await source.fetch()
    assert quote.bid == quote.ask


@pytest.mark.parametrize("status", [401, 403])
async def test_rejected_token_is_unauthorized(source, venue, status: int) -> None:
    venue.get(QUOTE_URL).respond(status, json={"error": f"bad token {TOKEN}"})
    error = await _error(source, VenueError)
    assert "unauthorized" in error.message
    assert not isinstance(error, VenueRateLimited)


async def test_429_honours_retry_after_seconds(source, venue) -> None:
    venue.get(QUOTE_URL).respond(429, headers={"Retry-After": "17"})
    error = await _error(source, VenueRateLimited)
    assert error.retry_after == 17


async def test_429_honours_retry_after_http_date(source, venue) -> None:
    venue.get(QUOTE_URL).respond(429, headers={"Retry-After": "Sat, 21 Nov 2026 12:00:31 GMT"})
    error = await _error(source, VenueRateLimited)
    assert error.retry_after == 30


@pytest.mark.parametrize("header", [None, "soon", "nan"])
async def test_429_without_usable_retry_after_waits_five_seconds(source, venue, header) -> None:
    headers = {"Retry-After": header} if header else {}
    venue.get(QUOTE_URL).respond(429, headers=headers)
    error = await _error(source, VenueRateLimited)
    assert error.retry_after == 5


@pytest.mark.parametrize("status", [500, 502, 503, 504])
async def test_server_errors_are_venue_errors(source, venue, status: int) -> None:
    venue.get(QUOTE_URL).respond(status)
    error = await _error(source, VenueError)
    assert str(status) in error.message
    assert not isinstance(error, VenueRateLimited)


async def test_unexpected_status_is_a_venue_error(source, venue) -> None:
    venue.get(QUOTE_URL).respond(404)
    await _error(source, VenueError)


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (httpx.ConnectTimeout("boom"), "timed out"),
        (httpx.ReadTimeout("boom"), "timed out"),
        (httpx.ConnectError("boom"), "ConnectError"),
        (httpx.RemoteProtocolError("boom"), "RemoteProtocolError"),
    ],
)
async def test_transport_failures_are_venue_errors(source, venue, exc, expected: str) -> None:
    venue.get(QUOTE_URL).mock(side_effect=exc)
    error = await _error(source, VenueError)
    assert expected in error.message


async def test_timeout_is_passed_to_the_request(source, venue) -> None:
    route = venue.get(QUOTE_URL).respond(json=BODY)
    await source.fetch()
    timeout = route.calls.last.request.extensions["timeout"]
    assert timeout == {"connect": 1.5, "read": 1.5, "write": 1.5, "pool": 1.5}


@pytest.mark.parametrize(
    "content",
    [
        b"<html>maintenance</html>",
        b"[]",
        b'"5.00"',
        b'{"bid": "5.0010"}',
        b'{"ask": "5.0030"}',
        b'{"bid": "abc", "ask": "5.0030"}',
        b'{"bid": "NaN", "ask": "5.0030"}',
        b'{"bid": "Infinity", "ask": "5.0030"}',
        b'{"bid": true, "ask": "5.0030"}',
        b'{"bid": {"v": 1}, "ask": "5.0030"}',
        b'{"bid": "0", "ask": "5.0030"}',
        b'{"bid": "-5.0010", "ask": "5.0030"}',
        b'{"bid": "5.0040", "ask": "5.0030"}',
        b'{"bid": "5.0010", "ask": "5.0030", "last": "x"}',
        b'{"bid": "5.0010", "ask": "5.0030", "timestamp": "yesterday"}',
        b'{"bid": "5.0010", "ask": "5.0030", "timestamp": "2026-11-21T12:00:00"}',
        b'{"bid": "5.0010", "ask": "5.0030", "timestamp": 1790000000}',
        b'{"symbol": "EURBRL", "bid": "5.0010", "ask": "5.0030"}',
    ],
)
async def test_malformed_bodies_are_venue_errors(source, venue, content: bytes) -> None:
    venue.get(QUOTE_URL).respond(200, content=content)
    await _error(source, VenueError)


async def test_token_is_not_in_the_config_repr() -> None:
    config = ValorProConfig(base_url=BASE_URL, token=TOKEN)
    assert TOKEN not in repr(config)
    assert TOKEN not in str(config.model_dump())


def test_config_defaults_and_strictness() -> None:
    config = ValorProConfig(base_url=BASE_URL, token=TOKEN)
    assert config.timeout_seconds == 2.0
    with pytest.raises(ValueError):
        ValorProConfig.model_validate({"base_url": BASE_URL, "token": TOKEN, "unknown": 1})
    with pytest.raises(ValueError):
        ValorProConfig.model_validate({"base_url": BASE_URL})
    with pytest.raises(ValueError):
        ValorProConfig.model_validate({"token": TOKEN})
    with pytest.raises(ValueError):
        ValorProConfig(base_url=BASE_URL, token="")


async def test_unusable_base_url_is_a_venue_error(http) -> None:
    config = ValorProConfig(base_url="http://bad\x00host", token=TOKEN)
    with pytest.raises(VenueError, match="InvalidURL"):
        await ValorProSpotSource(config, http).fetch()
