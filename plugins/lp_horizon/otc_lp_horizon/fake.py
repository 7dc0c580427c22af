"""A fake Horizon: the FX API of ``client.py`` behind the same API key.

``HorizonBook`` is the venue's state and rules, free of any server, so the Sanic app here and
a respx mock in the tests answer alike:

- prices follow ``MarketRate`` (the demo's market): USDC/BRL mid = rate × 1.0008, a little
  dearer for later settlement, ``HALF_SPREAD`` either side; an indicative price registers
  nothing, a quote is counted in ``quotes_registered``;
- a quote is valid for the ``validitySeconds`` asked (1 to 60, default 8); a confirm after
  that is ``410 QUOTE_EXPIRED``; ``expire_quotes()`` ends every validity at once;
- a confirm fills the whole quote at its price; a repeated ``Idempotency-Key`` answers the
  first trade and fills nothing; a quote confirmed once cannot be confirmed under another key;
- ``trades`` holds what executed, oldest first; ``GET /v1/fx/trades`` finds them by client
  order id.

``GET /_inbox`` lists the quote and confirm requests received (path, body, idempotency key);
``GET /_orders`` counts the confirms by their ``Idempotency-Key`` (one per chunk of an order)
and what the book executed. Both, and ``/_fault``, come from
``otc_framework.testing.fake_venue``: a confirm whose answer never comes is
``{"match": "/v1/fx/confirm", "drop": true}`` (never reaches the book) or the same with
``"after": true`` (the book executed it), either with ``"delay"`` for a hang.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sanic import Request, Sanic
from sanic.exceptions import BadRequest
from sanic.response import HTTPResponse, json

from otc_framework.testing.fake_venue import DemoSettings, DemoVenue, LoopbackServer, MarketRate, install_test_routes
from otc_lp_horizon.client import (
    API_KEY_HEADER,
    CONFIRM_PATH,
    FIELD_AMOUNT,
    FIELD_ASK,
    FIELD_BID,
    FIELD_CLIENT_ORDER_ID,
    FIELD_ERROR,
    FIELD_ERROR_CODE,
    FIELD_ERROR_MESSAGE,
    FIELD_EXECUTED_AT,
    FIELD_PAIR,
    FIELD_PRICE,
    FIELD_QUOTE_ID,
    FIELD_SETTLEMENT,
    FIELD_SIDE,
    FIELD_TIMESTAMP,
    FIELD_TRADE_ID,
    FIELD_TRADES,
    FIELD_VALID_UNTIL,
    FIELD_VALIDITY,
    IDEMPOTENCY_HEADER,
    PAIRS,
    PARAM_CLIENT_ORDER_ID,
    PARAM_PAIR,
    PARAM_SETTLEMENT,
    PRICE_PATH,
    QUOTE_PATH,
    RETRY_AFTER_HEADER,
    TRADES_PATH,
)
from otc_lp_horizon.config import DEFAULT_VALIDITY_SECONDS, MAX_VALIDITY_SECONDS

USDC_PREMIUM = Decimal("1.0008")
HALF_SPREAD = Decimal("0.0010")
FORWARD_POINTS = {"D0": Decimal("0"), "D1": Decimal("0.0005"), "D2": Decimal("0.0010")}
TICK = Decimal("0.0001")

# (status, body, headers): what the venue answers, whoever serves it.
Answer = tuple[int, dict[str, Any], dict[str, str]]


def error_answer(status: int, code: str, message: str, retry_after: float | None = None) -> Answer:
    headers = {RETRY_AFTER_HEADER: f"{retry_after:g}"} if retry_after is not None else {}
    return status, {FIELD_ERROR: {FIELD_ERROR_CODE: code, FIELD_ERROR_MESSAGE: message}}, headers


def fault_answer(status: int, retry_after: float) -> Answer:
    """A forced status, Horizon's way."""
    if status == 429:
        return error_answer(429, "RATE_LIMITED", "too many requests", retry_after)
    if status in (401, 403):
        return error_answer(status, "UNAUTHORIZED", "invalid API key")
    return error_answer(status, "INTERNAL", "forced failure")


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


@dataclass
class _Quote:
    quote_id: str
    amount: Decimal
    price: Decimal
    valid_until: datetime
    confirmed_by: str | None = None


@dataclass
class HorizonBook:
    """The venue's state and rules; see the module docstring."""

    rate: MarketRate
    now: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    quotes_registered: int = 0
    trades: list[dict[str, str]] = field(default_factory=list)
    _quotes: dict[str, _Quote] = field(default_factory=dict)
    _by_key: dict[str, dict[str, str]] = field(default_factory=dict)

    def _bid_ask(self, settlement: str) -> tuple[Decimal, Decimal]:
        mid = (self.rate.next() * USDC_PREMIUM + FORWARD_POINTS[settlement]).quantize(TICK)
        return mid - HALF_SPREAD, mid + HALF_SPREAD

    def price(self, query: Mapping[str, str]) -> Answer:
        pair, settlement = query.get(PARAM_PAIR), query.get(PARAM_SETTLEMENT)
        if pair not in PAIRS.values() or settlement not in FORWARD_POINTS:
            return error_answer(400, "INVALID_REQUEST", "unknown pair or settlement")
        bid, ask = self._bid_ask(settlement)
        return 200, {
            FIELD_PAIR: pair, FIELD_SETTLEMENT: settlement, FIELD_BID: str(bid), FIELD_ASK: str(ask),
            FIELD_TIMESTAMP: _iso(self.now()),
        }, {}

    def quote(self, body: Mapping[str, Any]) -> Answer:
        side, settlement, validity = body.get(FIELD_SIDE), body.get(FIELD_SETTLEMENT), body.get(FIELD_VALIDITY)
        try:
            amount = Decimal(str(body.get(FIELD_AMOUNT)))
        except ArithmeticError:
            amount = Decimal(0)
        if (
            body.get(FIELD_PAIR) not in PAIRS.values() or side not in ("BUY", "SELL")
            or settlement not in FORWARD_POINTS or not amount.is_finite() or amount <= 0
        ):
            return error_answer(400, "INVALID_REQUEST", "pair, side, amount and settlement are required")
        seconds = validity if isinstance(validity, int) and not isinstance(validity, bool) else DEFAULT_VALIDITY_SECONDS
        seconds = min(MAX_VALIDITY_SECONDS, max(1, seconds))
        bid, ask = self._bid_ask(settlement)
        quote = _Quote(f"q-{uuid.uuid4().hex[:16]}", amount, ask if side == "BUY" else bid,
                       self.now() + timedelta(seconds=seconds))
        self._quotes[quote.quote_id] = quote
        self.quotes_registered += 1
        return 200, {
            FIELD_QUOTE_ID: quote.quote_id, FIELD_PRICE: str(quote.price), FIELD_VALID_UNTIL: _iso(quote.valid_until),
        }, {}

    def confirm(self, body: Mapping[str, Any], key: str | None) -> Answer:
        if not key:
            return error_answer(400, "INVALID_REQUEST", f"{IDEMPOTENCY_HEADER} is required")
        if key in self._by_key:
            return 200, self._by_key[key], {}
        quote = self._quotes.get(str(body.get(FIELD_QUOTE_ID)))
        if quote is None:
            return error_answer(404, "UNKNOWN_QUOTE", "no such quote")
        if quote.confirmed_by is not None:
            return error_answer(409, "QUOTE_ALREADY_CONFIRMED", "quote already confirmed")
        if self.now() >= quote.valid_until:
            return error_answer(410, "QUOTE_EXPIRED", "quote expired")
        quote.confirmed_by = key
        trade = {
            FIELD_TRADE_ID: f"t-{uuid.uuid4().hex[:16]}", FIELD_QUOTE_ID: quote.quote_id,
            FIELD_AMOUNT: str(quote.amount), FIELD_PRICE: str(quote.price), FIELD_EXECUTED_AT: _iso(self.now()),
            FIELD_CLIENT_ORDER_ID: str(body.get(FIELD_CLIENT_ORDER_ID) or ""),
        }
        self._by_key[key] = trade
        self.trades.append(trade)
        return 200, trade, {}

    def lookup(self, query: Mapping[str, str]) -> Answer:
        wanted = query.get(PARAM_CLIENT_ORDER_ID)
        if not wanted:
            return error_answer(400, "INVALID_REQUEST", f"{PARAM_CLIENT_ORDER_ID} is required")
        return 200, {FIELD_TRADES: [t for t in self.trades if t[FIELD_CLIENT_ORDER_ID] == wanted]}, {}

    def expire_quotes(self) -> None:
        expired = self.now() - timedelta(seconds=1)
        for quote in self._quotes.values():
            quote.valid_until = min(quote.valid_until, expired)


def create_app(api_key: str, *, spot: Decimal | None = None, seed: int | None = None) -> Sanic:
    """A Sanic app serving Horizon's FX API for ``api_key``; see the module docstring."""
    # Sanic refuses two apps of one name in a process; tests start many fakes.
    app = Sanic(f"fake_horizon_{uuid.uuid4().hex[:12]}")
    app.ctx.api_key = api_key
    book = app.ctx.book = HorizonBook(MarketRate(spot, seed))
    install_test_routes(
        app, lambda status, retry_after: _response(fault_answer(status, retry_after)),
        order_id=_confirm_key, executed=lambda: len(book.trades),
    )

    def authorised(request: Request) -> bool:
        given = request.headers.get(API_KEY_HEADER, "").encode()
        return secrets.compare_digest(given, request.app.ctx.api_key.encode())

    def received(request: Request) -> None:
        request.app.ctx.inbox.add(
            {"path": request.path, "body": _body(request), "idempotencyKey": request.headers.get(IDEMPOTENCY_HEADER)}
        )

    def unauthorised() -> HTTPResponse:
        return _response(error_answer(401, "UNAUTHORIZED", "invalid API key"))

    @app.get(PRICE_PATH)
    async def price(request: Request) -> HTTPResponse:
        if not authorised(request):
            return unauthorised()
        return _response(request.app.ctx.book.price(_query(request)))

    @app.post(QUOTE_PATH)
    async def quote(request: Request) -> HTTPResponse:
        if not authorised(request):
            return unauthorised()
        received(request)
        return _response(request.app.ctx.book.quote(_body(request)))

    @app.post(CONFIRM_PATH)
    async def confirm(request: Request) -> HTTPResponse:
        if not authorised(request):
            return unauthorised()
        received(request)
        return _response(request.app.ctx.book.confirm(_body(request), request.headers.get(IDEMPOTENCY_HEADER)))

    @app.get(TRADES_PATH)
    async def trades(request: Request) -> HTTPResponse:
        if not authorised(request):
            return unauthorised()
        return _response(request.app.ctx.book.lookup(_query(request)))

    return app


def _confirm_key(request: Request) -> str | None:
    """The order a request places: a confirm's idempotency key names its chunk of an order."""
    if request.method != "POST" or request.path != CONFIRM_PATH:
        return None
    return request.headers.get(IDEMPOTENCY_HEADER)


def _response(answer: Answer) -> HTTPResponse:
    status, body, headers = answer
    return json(body, status=status, headers=headers or None)


def _query(request: Request) -> dict[str, str]:
    return {name: values[0] for name, values in request.args.items() if values}


def _body(request: Request) -> dict[str, Any]:
    try:
        body = request.json
    except BadRequest:  # a body that is not JSON
        return {}
    return body if isinstance(body, dict) else {}


class HorizonDemoVenue(DemoVenue):
    """Starts the fake with a fresh API key; the demo's config section carries that key."""

    async def start(self, host: str, settings: DemoSettings) -> dict[str, Any]:
        api_key = secrets.token_urlsafe(24)
        self.server = LoopbackServer(create_app(api_key, spot=settings.sandbox_spot))
        base_url = await self.server.start(host)
        return {"base_url": base_url, "api_key": api_key}
