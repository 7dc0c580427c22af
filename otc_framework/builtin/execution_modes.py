"""The four built-in ``exec_mode`` strategies (SPEC §10), registered like any plugin's.

- ``off``: hedges nothing; closings' hedges are recorded ``skipped``.
- ``auto_best``: the cheapest LP in the LP feed's snapshot (BUY: lowest ask; SELL: highest
  bid), among those whose price is at most ``SNAPSHOT_MAX_AGE_SECONDS`` old, is asked for one
  tradable quote. Every LP is quoted in parallel instead, and the best quote taken, when no
  snapshot price is fresh, when that LP fails to quote, or when its quote is worse than its
  indicative price by more than ``exec_comparison_pct`` percent.
- ``auto_manual``: always the LP named by ``exec_lp_override``, or no hedge.
- ``off_market``: the spec says only "best LP + ``exec_offhours_spread_pct`` bps". Read here
  as a limit: off-hours the snapshot is not trusted to trade on, so every LP is quoted in
  parallel and the best quote is taken, but only when it is within that many basis points of
  the best indicative price in the snapshot for the side (BUY: price <= best ask × (1 +
  bps/10,000); SELL: price >= best bid × (1 − bps/10,000)). Beyond it the hedge is not sent,
  with both prices in the reason; with no snapshot price at all, the best quote is taken.

Prices and thresholds are ``Decimal``; between equal prices the provider whose name sorts
first wins, so a choice never depends on the order answers arrived in.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from decimal import Decimal
from typing import TYPE_CHECKING

from otc_framework.hookspecs import hookimpl
from otc_framework.ports import ExecutionContext, ExecutionStrategy, HedgeOrder, LpPrice, LpQuote, NoHedge, Side

if TYPE_CHECKING:
    from pydantic import BaseModel

log = logging.getLogger(__name__)

SNAPSHOT_MAX_AGE_SECONDS = 10  # SPEC §10: an older snapshot is not a price to choose an LP by


def _rank(price: Decimal, side: Side) -> Decimal:
    """A sort key, lowest best for the desk: a low price when it buys, a high one when it sells."""
    return price if side == "BUY" else -price


def _indicative(price: LpPrice, side: Side) -> Decimal:
    """What the LP shows for the desk's side: its ask when the desk buys, its bid when it sells."""
    return price.ask if side == "BUY" else price.bid


def _within(price: Decimal, reference: Decimal, fraction: Decimal, side: Side) -> bool:
    """Whether ``price`` is no worse for the desk than ``reference`` moved against it by ``fraction``."""
    if side == "BUY":
        return price <= reference * (1 + fraction)
    return price >= reference * (1 - fraction)


def _best_price(prices: Iterable[LpPrice], side: Side) -> LpPrice | None:
    return min(prices, key=lambda p: (_rank(_indicative(p, side), side), p.provider), default=None)


def _best_quote(quotes: Iterable[LpQuote], side: Side) -> LpQuote | None:
    # ``quote_all`` answers best first; ranking here again keeps equal prices in name order.
    return min(quotes, key=lambda q: (_rank(q.price, side), q.provider), default=None)


def _snapshot_prices(context: ExecutionContext, *, fresh_only: bool) -> list[LpPrice]:
    """The snapshot prices of the providers that may take the order now; with ``fresh_only``,
    those at most ``SNAPSHOT_MAX_AGE_SECONDS`` old (a missing age counts as stale)."""
    return [
        price for name in context.providers
        if (price := context.snapshot.get(name)) is not None
        and (not fresh_only or context.snapshot_age_seconds.get(name, float("inf")) <= SNAPSHOT_MAX_AGE_SECONDS)
    ]


async def _best_of_all(order: HedgeOrder, context: ExecutionContext) -> LpQuote:
    best = _best_quote(await context.quote_all(order), order.side)
    if best is None:
        raise NoHedge("no LP quoted")
    return best


class Off(ExecutionStrategy):
    name = "off"
    hedges = False

    async def choose_quote(self, order: HedgeOrder, context: ExecutionContext) -> LpQuote:
        raise NoHedge("exec_mode is off")


class AutoBest(ExecutionStrategy):
    name = "auto_best"

    async def choose_quote(self, order: HedgeOrder, context: ExecutionContext) -> LpQuote:
        cheapest = _best_price(_snapshot_prices(context, fresh_only=True), order.side)
        if cheapest is None:
            return await self._fall_back(order, context, "no fresh LP price in the snapshot")
        quote = await context.quote(cheapest.provider, order)
        if quote is None:
            return await self._fall_back(order, context, f"{cheapest.provider} did not quote")
        indicative = _indicative(cheapest, order.side)
        pct: Decimal = context.controls["exec_comparison_pct"]
        if not _within(quote.price, indicative, pct / 100, order.side):
            return await self._fall_back(
                order, context,
                f"{cheapest.provider} quoted {quote.price}, beyond {pct}% of its indicative {indicative}",
            )
        return quote

    @staticmethod
    async def _fall_back(order: HedgeOrder, context: ExecutionContext, why: str) -> LpQuote:
        log.info("auto_best: quoting every LP", extra={"hedge_id": order.hedge_id, "reason": why})
        return await _best_of_all(order, context)


class AutoManual(ExecutionStrategy):
    name = "auto_manual"

    async def choose_quote(self, order: HedgeOrder, context: ExecutionContext) -> LpQuote:
        provider: str = context.controls["exec_lp_override"]
        if not provider:
            raise NoHedge("exec_lp_override is empty")
        if provider not in context.providers:
            raise NoHedge(
                f"exec_lp_override {provider!r} is not available for {order.currency} now "
                "(not enabled, not trading it, circuit open or off-hours)"
            )
        quote = await context.quote(provider, order)
        if quote is None:
            raise NoHedge(f"exec_lp_override {provider!r} did not quote")
        return quote


class OffMarket(ExecutionStrategy):
    name = "off_market"

    async def choose_quote(self, order: HedgeOrder, context: ExecutionContext) -> LpQuote:
        best = await _best_of_all(order, context)
        reference = _best_price(_snapshot_prices(context, fresh_only=False), order.side)
        if reference is None:
            return best
        indicative = _indicative(reference, order.side)
        bps: Decimal = context.controls["exec_offhours_spread_pct"]
        if not _within(best.price, indicative, bps / 10_000, order.side):
            raise NoHedge(
                f"best quote {best.price} ({best.provider}) is beyond {bps} bps of the best indicative "
                f"{indicative} ({reference.provider})"
            )
        return best


@hookimpl
def otc_execution_strategies(config: BaseModel | None) -> list[ExecutionStrategy]:
    # In catalog order: ``exec_mode`` lists the registered modes in registration order.
    return [Off(), AutoBest(), AutoManual(), OffMarket()]
