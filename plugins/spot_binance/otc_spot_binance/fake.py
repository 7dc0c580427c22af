"""A fake Binance market-data host: the book ticker of ``client.py`` with Binance's weight
header, its -1121 answer for symbols it does not list, and its 429/418 back-off answers.

Test switches live on ``app.ctx`` and may be changed while it serves:

- ``listed``: the symbols it serves; any other answers HTTP 400 ``-1121 Invalid symbol.``.
- ``fail_with``: ``429`` or ``418`` (sent with ``Retry-After: retry_after``), or any other
  status; ``None`` serves normally.
- ``spot``: pins the underlying USD/BRL; ``None`` lets it drift.
- ``weight_offset``: weight other clients of "this IP" spent this minute, added to the
  ``X-MBX-USED-WEIGHT-1M`` the fake reports.
- ``requests``: the ``symbol`` of every request received, in order.

It also answers ``/_inbox`` and ``/_fault`` (``otc_framework.testing.fake_venue``).
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from sanic import Request, Sanic
from sanic.response import HTTPResponse, json

from otc_framework.testing.fake_venue import DemoSettings, DemoVenue, LoopbackServer, MarketRate, install_test_routes
from otc_spot_binance.venue import (
    BANNED_STATUS,
    BOOK_TICKER_PATH,
    INVALID_SYMBOL_CODE,
    RATE_LIMITED_STATUS,
    REQUEST_WEIGHT,
    USED_WEIGHT_HEADER,
)

# Stablecoins trade a little over USD/BRL on Binance; the premium makes the demo's two
# references visibly different, as they are in the market.
PREMIUM = {"USDTBRL": Decimal("1.001"), "USDCBRL": Decimal("1.0008")}
TICK = Decimal("0.001")
QTY_STEP = Decimal("0.01")
TOO_MANY_REQUESTS_CODE = -1003


def create_app(
    *,
    listed: Iterable[str] = ("USDTBRL",),
    spot: Decimal | None = None,
    seed: int | None = None,
    fail_with: int | None = None,
    retry_after: int = 30,
    weight_offset: int = 0,
) -> Sanic:
    """A Sanic app serving Binance's book ticker; see the module docstring."""
    # Sanic refuses two apps of one name in a process; tests start many fakes.
    app = Sanic(f"fake_binance_{uuid.uuid4().hex[:12]}")
    app.ctx.listed = set(listed)
    app.ctx.rate = MarketRate(spot, seed)
    app.ctx.fail_with = fail_with
    app.ctx.retry_after = retry_after
    app.ctx.weight_offset = weight_offset
    app.ctx.requests = []
    app.ctx.random = random.Random(seed)
    app.ctx.weight_minute = -1
    app.ctx.used_weight = 0
    install_test_routes(app, _error)

    @app.get(BOOK_TICKER_PATH)
    async def book_ticker(request: Request) -> HTTPResponse:
        ctx = request.app.ctx
        symbol = request.args.get("symbol")
        ctx.requests.append(symbol)
        headers = {USED_WEIGHT_HEADER: str(_spend_weight(ctx))}
        if ctx.fail_with is not None:
            failure = _error(ctx.fail_with, ctx.retry_after)
            failure.headers.update(headers)
            return failure
        underlying = ctx.rate.next()
        if symbol is None:
            # Without a symbol Binance answers every ticker it lists.
            tickers = [_ticker(s, underlying, ctx.random) for s in sorted(ctx.listed)]
            return json(tickers, headers=headers)
        if symbol not in ctx.listed:
            body = {"code": INVALID_SYMBOL_CODE, "msg": "Invalid symbol."}
            return json(body, status=400, headers=headers)
        return json(_ticker(symbol, underlying, ctx.random), headers=headers)

    return app


def _error(status: int, retry_after: float) -> HTTPResponse:
    if status in (RATE_LIMITED_STATUS, BANNED_STATUS):
        body = {"code": TOO_MANY_REQUESTS_CODE, "msg": "Too many requests."}
        return json(body, status=status, headers={"Retry-After": f"{retry_after:g}"})
    return json({"code": -1000, "msg": "An unknown error occurred."}, status=status)


def _spend_weight(ctx: Any) -> int:
    minute = int(time.time() // 60)
    if minute != ctx.weight_minute:
        ctx.weight_minute, ctx.used_weight = minute, 0
    ctx.used_weight += REQUEST_WEIGHT
    return ctx.used_weight + ctx.weight_offset


def _ticker(symbol: str, underlying: Decimal, rng: random.Random) -> dict[str, str]:
    mid = (underlying * PREMIUM.get(symbol, Decimal(1))).quantize(TICK)

    def qty() -> str:
        return f"{(Decimal(rng.randint(1_000, 5_000_000)) * QTY_STEP):.8f}"

    return {
        "symbol": symbol,
        "bidPrice": f"{mid - TICK:.8f}",
        "bidQty": qty(),
        "askPrice": f"{mid + TICK:.8f}",
        "askQty": qty(),
    }


class BinanceDemoVenue(DemoVenue):
    """Starts the fake listing USDTBRL only, so the demo shows USDCBRL handled as unlisted."""

    async def start(self, host: str, settings: DemoSettings) -> dict[str, Any]:
        self.server = LoopbackServer(create_app(spot=settings.sandbox_spot))
        base_url = await self.server.start(host)
        return {"base_url": base_url}
