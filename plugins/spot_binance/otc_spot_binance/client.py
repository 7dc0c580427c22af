"""Binance's book ticker for USDT/BRL and USDC/BRL (SPEC §10).

``GET {base_url}/api/v3/ticker/bookTicker?symbol=USDTBRL`` answers
``{"symbol", "bidPrice", "bidQty", "askPrice", "askQty"}`` as decimal strings, costs request
weight 2 of the 6000 an IP may spend per minute, and needs no key on the market-data host.

Binance's rules this adapter keeps, because breaking them gets the desk's IP banned:

- 429 (and 418, a ban) carry ``Retry-After``: until then the adapter sends nothing and
  answers ``VenueRateLimited`` itself.
- ``X-MBX-USED-WEIGHT-1M`` counts the weight spent in the current minute; when the next
  read would pass ``weight_ceiling`` the adapter waits for the minute to turn.
- A symbol Binance does not list answers 400 ``{"code": -1121}``; it is left out and asked
  about again only every ``unlisted_recheck_seconds``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import httpx

from otc_framework.errors import VenueError, VenueRateLimited
from otc_framework.ports import SpotQuote, SpotSource
from otc_spot_binance.config import BinanceConfig
from otc_spot_binance.venue import (
    BAN_DEFAULT_RETRY_AFTER_SECONDS,
    BANNED_STATUS,
    BOOK_TICKER_PATH,
    INVALID_SYMBOL_CODE,
    RATE_LIMITED_STATUS,
    REQUEST_WEIGHT,
    SYMBOL_INSTRUMENTS,
    USED_WEIGHT_HEADER,
    WAF_STATUS,
)

SOURCE_NAME = "binance"
MAX_VENUE_MESSAGE = 200

log = logging.getLogger(__name__)


class _UsedWeight:
    """The weight Binance says this IP spent in the current (wall-clock) minute."""

    def __init__(self) -> None:
        self._minute = -1
        self._used = 0
        self.resets_at = 0.0

    def observe(self, used: int, monotonic: float, wall: float) -> None:
        minute = int(wall // 60)
        if minute > self._minute:
            self._minute, self._used = minute, used
            self.resets_at = monotonic + seconds_to_minute_turn(wall)
        elif minute == self._minute:
            # Concurrent answers arrive in any order; the largest count is the latest.
            self._used = max(self._used, used)

    def used(self, monotonic: float) -> int:
        return self._used if monotonic < self.resets_at else 0


class BinanceSpotSource(SpotSource):
    """Reads the configured symbols' best bid and ask, one request per symbol, concurrently.

    ``clock`` (monotonic seconds) times back-offs and rechecks; ``wall_clock`` (epoch seconds)
    finds Binance's minute and stamps ``received_at``. Tests inject both instead of sleeping.
    """

    name = SOURCE_NAME

    def __init__(
        self,
        config: BinanceConfig,
        http: httpx.AsyncClient,
        *,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.instruments = tuple(SYMBOL_INSTRUMENTS[s] for s in config.symbols)
        self._url = config.base_url.rstrip("/") + BOOK_TICKER_PATH
        self._symbols = config.symbols
        self._timeout = config.timeout_seconds
        self._recheck_seconds = config.unlisted_recheck_seconds
        self._weight_ceiling = config.weight_ceiling
        self._http = http
        self._clock = clock
        self._wall_clock = wall_clock
        self._blocked_until = 0.0
        self._unlisted_until: dict[str, float] = {}
        self._weight = _UsedWeight()

    async def fetch(self) -> Sequence[SpotQuote]:
        now = self._clock()
        if now < self._blocked_until:
            raise VenueRateLimited(
                SOURCE_NAME, "backing off after a 429/418", self._blocked_until - now
            )
        due = [s for s in self._symbols if self._unlisted_until.get(s, now) <= now]
        if not due:
            raise VenueError(SOURCE_NAME, f"no configured symbol is listed ({self._unlisted()})")
        planned = REQUEST_WEIGHT * len(due)
        used = self._weight.used(now)
        if used + planned > self._weight_ceiling:
            raise VenueRateLimited(
                SOURCE_NAME,
                f"used weight {used} + {planned} would pass the ceiling {self._weight_ceiling}",
                self._weight.resets_at - now,
            )
        results = await asyncio.gather(
            *(self._fetch_symbol(s) for s in due), return_exceptions=True
        )
        return self._collect(due, results)

    def _collect(self, due: list[str], results: list[Any]) -> list[SpotQuote]:
        for result in results:
            if isinstance(result, BaseException) and not isinstance(result, VenueError):
                raise result
        limits = [r for r in results if isinstance(r, VenueRateLimited)]
        if limits:
            # A 429/418 is about our IP, not one symbol: the caller must see the back-off
            # rather than a quietly shrunken answer.
            raise max(limits, key=lambda e: e.retry_after)
        quotes = [r for r in results if isinstance(r, SpotQuote)]
        failures = {s: r for s, r in zip(due, results, strict=True) if isinstance(r, VenueError)}
        if not quotes:
            detail = "; ".join(e.message for e in failures.values())
            detail = detail or f"no configured symbol is listed ({self._unlisted()})"
            raise VenueError(SOURCE_NAME, detail)
        for symbol, error in failures.items():
            log.warning("binance %s left out of the answer: %s", symbol, error.message)
        return quotes

    def _unlisted(self) -> str:
        return ", ".join(sorted(self._unlisted_until)) or "none"

    async def _fetch_symbol(self, symbol: str) -> SpotQuote | None:
        try:
            response = await self._http.get(
                self._url, params={"symbol": symbol}, timeout=self._timeout
            )
        except httpx.TimeoutException:
            message = f"{symbol}: timed out after {self._timeout:g} s"
            raise VenueError(SOURCE_NAME, message) from None
        except (httpx.HTTPError, httpx.InvalidURL) as exc:  # InvalidURL is not an HTTPError
            message = f"{symbol}: request failed ({type(exc).__name__})"
            raise VenueError(SOURCE_NAME, message) from None
        wall = self._wall_clock()
        self._observe_weight(response, wall)
        status = response.status_code
        if status == 200:
            self._unlisted_until.pop(symbol, None)
            return _parse_book_ticker(symbol, _json(symbol, response), _utc(wall))
        if status in (RATE_LIMITED_STATUS, BANNED_STATUS):
            raise self._back_off(symbol, response, wall)
        body = _json_or_none(response)
        code = body.get("code") if isinstance(body, dict) else None
        if status == 400 and code == INVALID_SYMBOL_CODE:
            if symbol not in self._unlisted_until:
                log.info(
                    "binance does not list %s; rechecking every %g s",
                    symbol,
                    self._recheck_seconds,
                )
            self._unlisted_until[symbol] = self._clock() + self._recheck_seconds
            return None
        if status == WAF_STATUS:
            raise VenueError(SOURCE_NAME, f"{symbol}: refused by Binance's firewall (HTTP 403)")
        if status >= 500:
            raise VenueError(SOURCE_NAME, f"{symbol}: server error (HTTP {status})")
        msg = body.get("msg") if isinstance(body, dict) else None
        detail = f" code {code}: {str(msg)[:MAX_VENUE_MESSAGE]}" if code is not None else ""
        raise VenueError(SOURCE_NAME, f"{symbol}: unexpected HTTP {status}{detail}")

    def _observe_weight(self, response: httpx.Response, wall: float) -> None:
        try:
            used = int(response.headers.get(USED_WEIGHT_HEADER, ""))
        except ValueError:
            return
        self._weight.observe(used, self._clock(), wall)

    def _back_off(self, symbol: str, response: httpx.Response, wall: float) -> VenueRateLimited:
        banned = response.status_code == BANNED_STATUS
        # A plain 429 is about this minute's weight, which resets when the minute turns.
        default = BAN_DEFAULT_RETRY_AFTER_SECONDS if banned else seconds_to_minute_turn(wall)
        retry_after = _retry_after(response.headers.get("Retry-After"), default)
        self._blocked_until = max(self._blocked_until, self._clock() + retry_after)
        what = "IP banned (HTTP 418)" if banned else "rate limited (HTTP 429)"
        return VenueRateLimited(
            SOURCE_NAME, f"{symbol}: {what}, retry in {retry_after:g} s", retry_after
        )


def seconds_to_minute_turn(wall: float) -> float:
    return 60.0 - (wall % 60.0)


def _retry_after(header: str | None, default: float) -> float:
    # Binance sends delta-seconds only.
    try:
        seconds = float(header) if header else math.nan
    except ValueError:
        return default
    return max(0.0, seconds) if math.isfinite(seconds) else default


def _utc(wall: float) -> datetime:
    return datetime.fromtimestamp(wall, UTC)


def _json_or_none(response: httpx.Response) -> Any:
    try:
        return json.loads(response.content, parse_float=Decimal)
    except (ValueError, UnicodeDecodeError):
        return None


def _json(symbol: str, response: httpx.Response) -> Any:
    body = _json_or_none(response)
    if body is None:
        raise VenueError(SOURCE_NAME, f"{symbol}: response is not JSON")
    return body


def _parse_book_ticker(symbol: str, body: Any, received_at: datetime) -> SpotQuote:
    if not isinstance(body, dict):
        raise VenueError(SOURCE_NAME, f"{symbol}: response is not a JSON object")
    if body.get("symbol") != symbol:
        raise VenueError(SOURCE_NAME, f"{symbol}: answered for symbol {body.get('symbol')!r}")
    bid = _price(symbol, body, "bidPrice")
    ask = _price(symbol, body, "askPrice")
    if bid > ask:
        raise VenueError(SOURCE_NAME, f"{symbol}: crossed book: bid {bid} > ask {ask}")
    return SpotQuote(
        source=SOURCE_NAME,
        instrument=SYMBOL_INSTRUMENTS[symbol],
        bid=bid,
        ask=ask,
        last=None,
        venue_time=None,
        received_at=received_at,
    )


def _price(symbol: str, body: dict[str, Any], field: str) -> Decimal:
    raw = body.get(field)
    if not isinstance(raw, str | Decimal):
        raise VenueError(SOURCE_NAME, f"{symbol}: {field!r} is missing or not a decimal")
    try:
        value = Decimal(raw.strip()) if isinstance(raw, str) else raw
    except InvalidOperation:
        raise VenueError(SOURCE_NAME, f"{symbol}: {field!r} is not a decimal") from None
    # An empty book shows as "0.00000000": no price, not a price of zero.
    if not value.is_finite() or value <= 0:
        raise VenueError(SOURCE_NAME, f"{symbol}: {field!r} is not a positive price")
    return value
