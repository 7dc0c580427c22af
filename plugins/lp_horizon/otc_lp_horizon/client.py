"""Horizon Fund's FX API over REST: indicative price, ``fx_quote`` → ``fx_confirm``, lookup.

Horizon's API document is not public. The paths, header and field names below are our
assumption of its shape (SPEC §10), kept here (the fake imports them) so that correcting them
against the vendor's document touches one place. Decimals travel as strings::

    GET  /v1/fx/price?pair=USDCBRL&settlement=D0           indicative; registers nothing
      200 {"pair", "settlement", "bid", "ask", "timestamp"}
    POST /v1/fx/quote {"pair", "side", "amount", "settlement", "validitySeconds"}
      200 {"quoteId", "price", "validUntil"}
    POST /v1/fx/confirm {"quoteId", "clientOrderId"}    header Idempotency-Key
      200 {"tradeId", "quoteId", "amount", "price", "executedAt"}
    GET  /v1/fx/trades?clientOrderId=…
      200 {"trades": [<as confirm answers>, …]}
    errors: {"error": {"code", "message"}}; 429 with Retry-After

Every request carries the API key in ``X-Api-Key``.

Decisions taken while the vendor is silent:

- **Chunks.** An order above the chunk size is split into chunks of the chunk size and a
  remainder. ``request_quote`` quotes every chunk at once (so the price the execution engine
  compares is the price it will get: the VWAP of the chunk quotes) and ``execute_quote``
  confirms them in order; a failure part-way raises ``VenuePartialFill`` with what filled.
- **Live controls.** A hook cannot read live control values, so ``request_quote`` takes the
  chunk size and the quote validity from the ``controls`` the execution engine passes
  (``exec_horizon_chunk_size``, ``exec_horizon_validity_sec``) and, for any absent, from the
  config (whose defaults are the controls' defaults).
- **Exactly once.** Chunk ``i``'s idempotency key is ``f"{client_order_id}:{i}"`` and the
  confirm carries the client order id, so a retry of the same order never fills twice and
  ``lookup_order`` finds every chunk. A lookup reports what filled (FILLED with the chunks
  found, or NOT_FOUND): a REST confirm has no pending state; the engine compares the filled
  amount with the order's.
- **Unknown outcomes.** A timeout or a lost connection after the confirm was sent, and a 5xx
  answer to it (the venue may have executed before failing), are ``VenueUnknownOutcome``;
  a failure to connect (nothing sent) is a plain ``VenueError``.
- **Errors.** 401/403 and any other 4xx but 408/429 (an unknown or expired quote, a request
  it will never take) are ``VenueRefused``; 429 ``VenueRateLimited``; the rest ``VenueError``.
- Only USDC/BRL is listed; other currencies are refused before anything is sent.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import httpx

from otc_framework.errors import (
    VenueError,
    VenuePartialFill,
    VenueRateLimited,
    VenueRefused,
    VenueUnknownOutcome,
)
from otc_framework.ports import (
    Currency,
    LiquidityProvider,
    LpExecution,
    LpFill,
    LpPrice,
    LpQuote,
    OrderLookup,
    OrderState,
    Settlement,
    Side,
)
from otc_framework.venue_answers import one_line, wait_seconds
from otc_lp_horizon.config import CONTROL_CHUNK_SIZE, CONTROL_VALIDITY, HorizonConfig

PROVIDER_NAME = "horizon"
API_KEY_HEADER = "X-Api-Key"
IDEMPOTENCY_HEADER = "Idempotency-Key"
RETRY_AFTER_HEADER = "Retry-After"
PRICE_PATH = "/v1/fx/price"
QUOTE_PATH = "/v1/fx/quote"
CONFIRM_PATH = "/v1/fx/confirm"
TRADES_PATH = "/v1/fx/trades"
PAIRS: Mapping[str, str] = {"USDC": "USDCBRL"}

PARAM_PAIR = "pair"
PARAM_SETTLEMENT = "settlement"
PARAM_CLIENT_ORDER_ID = "clientOrderId"
FIELD_PAIR = "pair"
FIELD_SETTLEMENT = "settlement"
FIELD_SIDE = "side"
FIELD_AMOUNT = "amount"
FIELD_VALIDITY = "validitySeconds"
FIELD_BID = "bid"
FIELD_ASK = "ask"
FIELD_TIMESTAMP = "timestamp"
FIELD_QUOTE_ID = "quoteId"
FIELD_PRICE = "price"
FIELD_VALID_UNTIL = "validUntil"
FIELD_CLIENT_ORDER_ID = "clientOrderId"
FIELD_TRADE_ID = "tradeId"
FIELD_EXECUTED_AT = "executedAt"
FIELD_TRADES = "trades"
FIELD_ERROR = "error"
FIELD_ERROR_CODE = "code"
FIELD_ERROR_MESSAGE = "message"

# When a 429 says nothing of how long to wait: short next to a quote's validity.
DEFAULT_RETRY_AFTER_SECONDS = 2.0
VENUE_TEXT_LIMIT = 120


def _utcnow() -> datetime:
    return datetime.now(UTC)


def idempotency_key(client_order_id: str, chunk: int) -> str:
    """The key of chunk ``chunk`` of an order: the same order retried reuses it."""
    return f"{client_order_id}:{chunk}"


def split_in_chunks(amount: Decimal, chunk_size: Decimal) -> list[Decimal]:
    """``amount`` as full chunks of ``chunk_size`` and a remainder (none when it divides)."""
    full, rest = divmod(amount, chunk_size)
    return [chunk_size] * int(full) + ([rest] if rest else [])


@dataclass(frozen=True, slots=True)
class Trade:
    """One confirmed chunk as Horizon reports it."""

    trade_id: str
    quote_id: str
    amount: Decimal
    price: Decimal
    executed_at: datetime


def aggregate(trades: Sequence[Trade], quote_id: str) -> LpFill:
    """The fill of an order's chunks (``LpFill.aggregate``: total amount, VWAP), one
    ``LpExecution`` per chunk's trade."""
    executions = [LpExecution(t.trade_id, t.amount, t.price, t.executed_at) for t in trades]
    return LpFill.aggregate(PROVIDER_NAME, quote_id, executions)


class HorizonProvider(LiquidityProvider):
    """Horizon Fund: USDC/BRL, D0/D1/D2, business hours only."""

    name = PROVIDER_NAME
    trades_24x7 = False
    currencies: tuple[Currency, ...] = ("USDC",)

    def __init__(
        self,
        config: HorizonConfig,
        http: httpx.AsyncClient,
        *,
        now: Callable[[], datetime] = _utcnow,
    ) -> None:
        self._base_url = config.base_url.rstrip("/")
        self._api_key = config.api_key
        self._timeout = config.timeout_seconds
        self._chunk_size = config.chunk_size
        self._validity_seconds = config.quote_validity_seconds
        self._http = http
        self._now = now

    def __repr__(self) -> str:
        return f"HorizonProvider(base_url={self._base_url!r})"

    async def get_price(self, currency: Currency, settlement: Settlement) -> LpPrice:
        params = {PARAM_PAIR: _pair(currency), PARAM_SETTLEMENT: settlement}
        body = await self._call("GET", PRICE_PATH, "price", params=params)
        bid, ask = _decimal(body, FIELD_BID), _decimal(body, FIELD_ASK)
        if bid > ask:
            raise VenueError(PROVIDER_NAME, f"crossed price: bid {bid} > ask {ask}")
        return LpPrice(PROVIDER_NAME, currency, settlement, bid, ask, self._now())

    async def request_quote(
        self,
        side: Side,
        currency: Currency,
        settlement: Settlement,
        amount: Decimal,
        *,
        controls: Mapping[str, Any] | None = None,
    ) -> LpQuote:
        """A quote for each chunk of ``amount``; see the module docstring for the controls."""
        pair = _pair(currency)
        if not amount.is_finite() or amount <= 0:
            raise VenueRefused(PROVIDER_NAME, f"amount must be positive, got {amount}")
        live = controls or {}
        chunk_size = Decimal(live.get(CONTROL_CHUNK_SIZE, self._chunk_size))
        validity = int(live.get(CONTROL_VALIDITY, self._validity_seconds))
        chunks: list[tuple[str, Decimal, Decimal]] = []
        valid_until: list[datetime] = []
        for chunk in split_in_chunks(amount, chunk_size):
            request = {
                FIELD_PAIR: pair, FIELD_SIDE: side, FIELD_AMOUNT: str(chunk), FIELD_SETTLEMENT: settlement,
                FIELD_VALIDITY: validity,
            }
            body = await self._call("POST", QUOTE_PATH, "quote", json_body=request)
            chunks.append((_text(body, FIELD_QUOTE_ID), chunk, _decimal(body, FIELD_PRICE)))
            valid_until.append(_time(body, FIELD_VALID_UNTIL))
        notional = sum((chunk * price for _, chunk, price in chunks), Decimal(0))
        return LpQuote(
            provider=PROVIDER_NAME,
            quote_id=chunks[0][0],
            side=side,
            currency=currency,
            settlement=settlement,
            amount=amount,
            price=notional / amount,
            valid_until=min(valid_until),
            venue_data={"chunks": tuple(chunks)},
        )

    async def execute_quote(self, quote: LpQuote, client_order_id: str) -> LpFill:
        if quote.valid_until <= self._now():
            raise VenueRefused(PROVIDER_NAME, f"quote {quote.quote_id} expired at {quote.valid_until.isoformat()}")
        chunks = _chunks_of(quote)
        trades: list[Trade] = []
        for index, (quote_id, _, _) in enumerate(chunks):
            try:
                trades.append(await self._confirm(quote_id, client_order_id, index))
            except VenueUnknownOutcome as exc:
                where = f"chunk {index + 1} of {len(chunks)}: " if len(chunks) > 1 else ""
                raise VenueUnknownOutcome(PROVIDER_NAME, where + exc.message, client_order_id) from None
            except VenueError as exc:
                if not trades:
                    raise
                raise VenuePartialFill(
                    PROVIDER_NAME,
                    f"chunk {index + 1} of {len(chunks)} failed after {len(trades)} filled: {exc.message}",
                    aggregate(trades, quote.quote_id),
                    exc,
                ) from None
        return aggregate(trades, quote.quote_id)

    async def lookup_order(self, client_order_id: str) -> OrderLookup:
        body = await self._call("GET", TRADES_PATH, "trade lookup", params={PARAM_CLIENT_ORDER_ID: client_order_id})
        raw = body.get(FIELD_TRADES)
        if not isinstance(raw, list) or not all(isinstance(item, dict) for item in raw):
            raise VenueError(PROVIDER_NAME, f"trade lookup: {FIELD_TRADES!r} is not a list of objects")
        trades = list({t.trade_id: t for t in map(_trade, raw)}.values())
        if not trades:
            return OrderLookup(OrderState.NOT_FOUND)
        return OrderLookup(OrderState.FILLED, aggregate(trades, trades[0].quote_id), f"{len(trades)} trade(s)")

    async def _confirm(self, quote_id: str, client_order_id: str, index: int) -> Trade:
        body = await self._call(
            "POST", CONFIRM_PATH, "confirm",
            json_body={FIELD_QUOTE_ID: quote_id, FIELD_CLIENT_ORDER_ID: client_order_id},
            headers={IDEMPOTENCY_HEADER: idempotency_key(client_order_id, index)},
            client_order_id=client_order_id,
        )
        return _trade(body)

    async def _call(
        self,
        method: str,
        path: str,
        what: str,
        *,
        params: Mapping[str, str] | None = None,
        json_body: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        client_order_id: str | None = None,
    ) -> dict[str, Any]:
        """One request, its failures in the core's terms. ``client_order_id`` marks a request
        that executes: once it may have reached the venue, a lost answer is an unknown outcome."""
        sent_headers = {API_KEY_HEADER: self._api_key.get_secret_value(), **(headers or {})}
        try:
            response = await self._http.request(
                method, self._base_url + path, params=params, json=json_body, headers=sent_headers,
                timeout=self._timeout,
            )
        except (
            httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol, httpx.InvalidURL,
        ) as exc:
            # Nothing was sent. The exception's text can echo the request; its class is enough.
            raise VenueError(PROVIDER_NAME, f"{what}: could not connect ({type(exc).__name__})") from None
        except httpx.HTTPError as exc:
            reason = f"timed out after {self._timeout:g} s" if isinstance(exc, httpx.TimeoutException) else (
                f"connection lost ({type(exc).__name__})"
            )
            if client_order_id is not None:
                raise VenueUnknownOutcome(PROVIDER_NAME, f"{what}: {reason}", client_order_id) from None
            raise VenueError(PROVIDER_NAME, f"{what}: {reason}") from None
        self._raise_for_status(response, what, client_order_id)
        return _json_object(response, what)

    def _raise_for_status(self, response: httpx.Response, what: str, client_order_id: str | None) -> None:
        status = response.status_code
        if status == 200:
            return
        message = f"{what}: HTTP {status}{self._venue_words(response)}"
        if status == 429:
            retry_after = wait_seconds(response.headers.get(RETRY_AFTER_HEADER), default=DEFAULT_RETRY_AFTER_SECONDS)
            raise VenueRateLimited(PROVIDER_NAME, f"{message}, retry in {retry_after:g} s", retry_after)
        if status in (401, 403):
            raise VenueRefused(PROVIDER_NAME, f"{message}: check the API key")
        if 400 <= status < 500 and status != 408:
            raise VenueRefused(PROVIDER_NAME, message)
        if client_order_id is not None and (status >= 500 or status == 408):
            raise VenueUnknownOutcome(PROVIDER_NAME, message, client_order_id)
        raise VenueError(PROVIDER_NAME, message)

    def _venue_words(self, response: httpx.Response) -> str:
        """The venue's error code and message, on one line, without our API key in them."""
        try:
            error = json.loads(response.content).get(FIELD_ERROR)
        except (ValueError, UnicodeDecodeError, AttributeError):
            return ""
        if not isinstance(error, dict):
            return ""
        words = " ".join(
            one_line(error.get(key), VENUE_TEXT_LIMIT) for key in (FIELD_ERROR_CODE, FIELD_ERROR_MESSAGE)
        ).strip()
        words = words.replace(self._api_key.get_secret_value(), "***")
        return f" ({words})" if words else ""


def _pair(currency: str) -> str:
    pair = PAIRS.get(currency)
    if pair is None:
        raise VenueRefused(PROVIDER_NAME, f"{currency} is not quoted (only {', '.join(PAIRS)})")
    return pair


def _chunks_of(quote: LpQuote) -> Sequence[tuple[str, Decimal, Decimal]]:
    chunks = quote.venue_data.get("chunks")
    if quote.provider != PROVIDER_NAME or not chunks:
        raise VenueRefused(PROVIDER_NAME, f"quote {quote.quote_id} was not obtained from {PROVIDER_NAME}")
    return tuple(chunks)


def _json_object(response: httpx.Response, what: str) -> dict[str, Any]:
    try:
        body = json.loads(response.content, parse_float=Decimal)
    except (ValueError, UnicodeDecodeError):
        raise VenueError(PROVIDER_NAME, f"{what}: response is not JSON") from None
    if not isinstance(body, dict):
        raise VenueError(PROVIDER_NAME, f"{what}: response is not a JSON object")
    return body


def _trade(body: Mapping[str, Any]) -> Trade:
    return Trade(
        trade_id=_text(body, FIELD_TRADE_ID),
        quote_id=_text(body, FIELD_QUOTE_ID),
        amount=_decimal(body, FIELD_AMOUNT),
        price=_decimal(body, FIELD_PRICE),
        executed_at=_time(body, FIELD_EXECUTED_AT),
    )


def _text(body: Mapping[str, Any], field: str) -> str:
    raw = body.get(field)
    if not isinstance(raw, str) or not raw.strip():
        raise VenueError(PROVIDER_NAME, f"response has no {field!r}")
    return raw


def _decimal(body: Mapping[str, Any], field: str) -> Decimal:
    """A positive decimal sent as a string (a JSON number is tolerated when exact)."""
    raw = body.get(field)
    # bool is an int, and a float has already lost the exact value.
    if isinstance(raw, bool) or not isinstance(raw, str | int | Decimal):
        raise VenueError(PROVIDER_NAME, f"{field!r} is missing or not a decimal")
    try:
        value = raw if isinstance(raw, Decimal) else Decimal(str(raw).strip())
    except InvalidOperation:
        raise VenueError(PROVIDER_NAME, f"{field!r} is not a decimal") from None
    if not value.is_finite() or value <= 0:
        raise VenueError(PROVIDER_NAME, f"{field!r} is not positive")
    return value


def _time(body: Mapping[str, Any], field: str) -> datetime:
    raw = body.get(field)
    if not isinstance(raw, str):
        raise VenueError(PROVIDER_NAME, f"{field!r} is missing or not a string")
    try:
        parsed = datetime.fromisoformat(raw)
    except ValueError:
        raise VenueError(PROVIDER_NAME, f"{field!r} is not ISO-8601") from None
    if parsed.utcoffset() is None:
        # Guessing the zone (UTC or São Paulo) would shift a quote's validity by hours.
        raise VenueError(PROVIDER_NAME, f"{field!r} has no UTC offset")
    return parsed.astimezone(UTC)
