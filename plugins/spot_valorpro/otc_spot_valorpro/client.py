"""ValorPro's USD/BRL quote over HTTP.

ValorPro's API document is not public. The path, auth scheme and field names below are our
assumption of its shape, kept here (the fake imports them) so that correcting them against
the vendor's document touches one place::

    GET {base_url}/v1/quotes/USDBRL
    Authorization: Bearer <token>

    200 {"symbol": "USDBRL", "bid": "5.0010", "ask": "5.0030", "last": "5.0020",
         "timestamp": "2026-11-21T12:00:00.000Z"}
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from otc_framework.errors import VenueError, VenueRateLimited
from otc_framework.ports import USD_BRL, SpotQuote, SpotSource
from otc_spot_valorpro.config import ValorProConfig

SOURCE_NAME = "valorpro"
SYMBOL = "USDBRL"
QUOTE_PATH = f"/v1/quotes/{SYMBOL}"
AUTH_HEADER = "Authorization"
AUTH_SCHEME = "Bearer"
FIELD_SYMBOL = "symbol"
FIELD_BID = "bid"
FIELD_ASK = "ask"
FIELD_LAST = "last"
FIELD_TIMESTAMP = "timestamp"
# Used when a 429 carries no usable Retry-After: long enough not to hammer the vendor,
# short next to the 10 s after which the core calls a spot stale.
DEFAULT_RETRY_AFTER_SECONDS = 5.0


def _utcnow() -> datetime:
    return datetime.now(UTC)


class ValorProSpotSource(SpotSource):
    """Reads ValorPro's USD/BRL bid, ask and last; one request per ``fetch``."""

    name = SOURCE_NAME
    instruments = (USD_BRL,)

    def __init__(
        self,
        config: ValorProConfig,
        http: httpx.AsyncClient,
        *,
        now: Callable[[], datetime] = _utcnow,
    ) -> None:
        self._url = config.base_url.rstrip("/") + QUOTE_PATH
        self._token = config.token
        self._timeout = config.timeout_seconds
        self._http = http
        self._now = now

    async def fetch(self) -> Sequence[SpotQuote]:
        response = await self._get()
        received_at = self._now()
        self._raise_for_status(response)
        return [self._parse(response, received_at)]

    async def _get(self) -> httpx.Response:
        headers = {AUTH_HEADER: f"{AUTH_SCHEME} {self._token.get_secret_value()}"}
        try:
            return await self._http.get(self._url, headers=headers, timeout=self._timeout)
        except httpx.TimeoutException:
            raise VenueError(SOURCE_NAME, f"timed out after {self._timeout:g} s") from None
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            # InvalidURL is not an HTTPError. The exception's text can echo the request; the
            # class name is enough to act on.
            raise VenueError(SOURCE_NAME, f"request failed ({type(exc).__name__})") from None

    def _raise_for_status(self, response: httpx.Response) -> None:
        status = response.status_code
        if status == 200:
            return
        if status in (401, 403):
            raise VenueError(SOURCE_NAME, f"unauthorized (HTTP {status}): check the token")
        if status == 429:
            retry_after = retry_after_seconds(response.headers.get("Retry-After"), self._now())
            raise VenueRateLimited(
                SOURCE_NAME, f"rate limited (HTTP 429), retry in {retry_after:g} s", retry_after
            )
        if status >= 500:
            raise VenueError(SOURCE_NAME, f"server error (HTTP {status})")
        raise VenueError(SOURCE_NAME, f"unexpected HTTP {status}")

    def _parse(self, response: httpx.Response, received_at: datetime) -> SpotQuote:
        try:
            body = json.loads(response.content, parse_float=Decimal)
        except (ValueError, UnicodeDecodeError):
            raise VenueError(SOURCE_NAME, "response is not JSON") from None
        if not isinstance(body, dict):
            raise VenueError(SOURCE_NAME, "response is not a JSON object")
        symbol = body.get(FIELD_SYMBOL)
        if symbol is not None and symbol != SYMBOL:
            raise VenueError(SOURCE_NAME, f"answered for symbol {symbol!r}, asked {SYMBOL}")
        bid = _required_price(body, FIELD_BID)
        ask = _required_price(body, FIELD_ASK)
        if bid > ask:
            raise VenueError(SOURCE_NAME, f"crossed quote: bid {bid} > ask {ask}")
        return SpotQuote(
            source=SOURCE_NAME,
            instrument=USD_BRL,
            bid=bid,
            ask=ask,
            # The core prices from bid/ask; a missing last or timestamp should not take the
            # reference rate down, but a present, garbled one means the body is not what we
            # think it is.
            last=_price(body, FIELD_LAST, required=False),
            venue_time=_timestamp(body.get(FIELD_TIMESTAMP)),
            received_at=received_at,
        )


def _required_price(body: dict[str, Any], field: str) -> Decimal:
    price = _price(body, field, required=True)
    assert price is not None  # _price raises when a required field is missing
    return price


def _price(body: dict[str, Any], field: str, *, required: bool) -> Decimal | None:
    raw = body.get(field)
    if raw is None:
        if required:
            raise VenueError(SOURCE_NAME, f"response has no {field!r}")
        return None
    # bool is an int: refuse it rather than price USD at 1.
    if isinstance(raw, bool) or not isinstance(raw, str | int | Decimal):
        raise VenueError(SOURCE_NAME, f"{field!r} is not a decimal")
    try:
        value = Decimal(raw) if isinstance(raw, Decimal) else Decimal(str(raw).strip())
    except InvalidOperation:
        raise VenueError(SOURCE_NAME, f"{field!r} is not a decimal") from None
    if not value.is_finite() or value <= 0:
        raise VenueError(SOURCE_NAME, f"{field!r} is not a positive price")
    return value


def _timestamp(raw: Any) -> datetime | None:
    if raw is None:
        return None
    if not isinstance(raw, str):
        raise VenueError(SOURCE_NAME, "'timestamp' is not a string")
    try:
        parsed = datetime.fromisoformat(raw)
    except ValueError:
        raise VenueError(SOURCE_NAME, "'timestamp' is not ISO-8601") from None
    if parsed.utcoffset() is None:
        # Guessing the zone (UTC or São Paulo) would silently shift it by hours.
        raise VenueError(SOURCE_NAME, "'timestamp' has no UTC offset")
    return parsed.astimezone(UTC)


def retry_after_seconds(header: str | None, now: datetime) -> float:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP-date)."""
    if header:
        try:
            seconds = float(header)
        except ValueError:
            seconds = None
        if seconds is not None and math.isfinite(seconds):
            return max(0.0, seconds)
        try:
            when = parsedate_to_datetime(header)
        except (TypeError, ValueError):
            when = None
        if when is not None and when.tzinfo is not None:
            return max(0.0, (when - now).total_seconds())
    return DEFAULT_RETRY_AFTER_SECONDS
