"""A test plugin whose liquidity providers answer indicative prices from a script.

It stands in for outside venues (Nonco, Horizon), never for core code, so core tests can
drive the LP feed without a network. ``nonco`` trades 24/7, ``horizon`` does not."""

from __future__ import annotations

import sys
from collections import Counter, deque
from datetime import UTC, datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict

from otc_framework.errors import VenueError
from otc_framework.hookspecs import hookimpl
from otc_framework.ports import Currency, LiquidityProvider, LpFill, LpPrice, LpQuote, OrderLookup, Settlement, Side

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

    async def get_price(self, currency: Currency, settlement: Settlement) -> LpPrice:
        self.calls[(currency, settlement)] += 1
        step = self.script.popleft() if self.script else self.rate
        if isinstance(step, Exception):
            raise step
        return LpPrice(self.name, currency, settlement, step, step + SPREAD, datetime.now(UTC))

    async def request_quote(self, side: Side, currency: Currency, settlement: Settlement,
                            amount: Decimal) -> LpQuote:
        raise VenueError(self.name, "not used in feed tests")

    async def execute_quote(self, quote: LpQuote, client_order_id: str) -> LpFill:
        raise VenueError(self.name, "not used in feed tests")

    async def lookup_order(self, client_order_id: str) -> OrderLookup:
        raise VenueError(self.name, "not used in feed tests")


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
