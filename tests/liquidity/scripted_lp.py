"""A test plugin whose liquidity providers answer indicative prices from a script.

It stands in for outside venues (Nonco, Horizon), never for core code, so core tests can
drive the LP feed and choose LPs without a network. ``nonco`` trades 24/7, ``horizon`` does
not. A tradable quote is at the provider's ``rate`` (plus the spread for a buy); an order
fills at once, once per client order id, and ``lookup_order`` finds it."""

from __future__ import annotations

import sys
from collections import Counter, deque
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict

from otc_framework.hookspecs import hookimpl
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

SPREAD = Decimal("0.0020")


class ScriptedLpConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rate: Decimal = Decimal("5.1000")


class ScriptedLp(LiquidityProvider):
    def __init__(self, name: str, rate: Decimal, trades_24x7: bool) -> None:
        self.name = name
        self.rate = rate
        self.trades_24x7 = trades_24x7
        self.script: deque[Exception | Decimal] = deque()
        self.calls: Counter[tuple[str, str]] = Counter()
        self.quotes = 0
        self.orders: dict[str, LpFill] = {}

    async def get_price(self, currency: Currency, settlement: Settlement) -> LpPrice:
        self.calls[(currency, settlement)] += 1
        step = self.script.popleft() if self.script else self.rate
        if isinstance(step, Exception):
            raise step
        return LpPrice(self.name, currency, settlement, step, step + SPREAD, datetime.now(UTC))

    async def request_quote(self, side: Side, currency: Currency, settlement: Settlement, amount: Decimal,
                            *, controls: Mapping[str, Any] | None = None) -> LpQuote:
        """Tradable at the indicative price of the moment (``rate``, plus the spread for a buy)."""
        self.quotes += 1
        price = self.rate + SPREAD if side == "BUY" else self.rate
        return LpQuote(self.name, f"{self.name}-q{self.quotes}", side, currency, settlement, amount, price,
                       datetime.now(UTC) + timedelta(seconds=10))

    async def execute_quote(self, quote: LpQuote, client_order_id: str) -> LpFill:
        if client_order_id not in self.orders:
            execution = LpExecution(f"{self.name}-x{len(self.orders) + 1}", quote.amount, quote.price, datetime.now(UTC))
            self.orders[client_order_id] = LpFill.aggregate(self.name, quote.quote_id, [execution])
        return self.orders[client_order_id]

    async def lookup_order(self, client_order_id: str) -> OrderLookup:
        fill = self.orders.get(client_order_id)
        return OrderLookup(OrderState.FILLED, fill) if fill else OrderLookup(OrderState.NOT_FOUND)


PROVIDERS: list[ScriptedLp] = []


def latest(name: str) -> ScriptedLp:
    """The newest provider of that name (each app instance builds its own)."""
    return next(p for p in reversed(PROVIDERS) if p.name == name)


@hookimpl
def otc_config_model() -> type[BaseModel]:
    return ScriptedLpConfig


@hookimpl
def otc_liquidity_providers(config: ScriptedLpConfig, http: object) -> list[LiquidityProvider]:
    built = [ScriptedLp("nonco", config.rate, trades_24x7=True), ScriptedLp("horizon", config.rate, trades_24x7=False)]
    PROVIDERS.extend(built)
    return list(built)


plugin = sys.modules[__name__]
