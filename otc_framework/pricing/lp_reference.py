"""LP quote mode (SPEC §4): the reference is the cheapest fresh LP price, when the operators
switch it on (``lp_quote_mode_enabled``).

The cheapest LP is read from this worker's LP feed snapshot (never a venue call on the quote
path). A quote is priced as the desk will hedge it: USDT D0 off the LPs' USDT D0 price, USDT
D1/D2 and USDC off their USDC price of that settlement (LPs do not quote forward USDT), at
the LP's ask (what the desk pays), with the tier's ``lp_spread_pct`` instead of the tier
spread.

The deviation guard (``lp_deviation_guard_enabled``, ``lp_max_deviation_pct``) drops an LP
whose ask is further than that from the conservative spot reference, max(spot, second
reference). The spot reference is still required (``SPOT_UNAVAILABLE`` without it): it is
what the guard and the fallback stand on.

Falling back is silent to the client (the answer's shape is the same) and visible to
operators: the closing records ``spot-fallback``, and an ``lp_fallback`` alert (deduplicated
desk-wide by the alert service) and an ``lp.fallback`` admin event naming the cause go out,
at most once per ``NOTICE_SECONDS`` per worker, not once per quote or per price-board cell
(the board prices every cell each second, and several cells may fall back at once).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal

from otc_framework.admin.feed import AdminFeed, EventType
from otc_framework.alerts import kinds
from otc_framework.alerts.service import AlertService
from otc_framework.execution.intent import hedged_as
from otc_framework.liquidity import LpFeed
from otc_framework.liquidity.feed import FRESH_SECONDS
from otc_framework.ports import LpPrice
from otc_framework.pricing.reference_price import ReferencePrice, ReferenceSource
from otc_framework.reference import Reference
from otc_framework.storage.models import Currency, Settlement, Tier

NOTICE_SECONDS = 60.0
HUNDRED = Decimal(100)


def deviation_pct(price: Decimal, reference: Decimal) -> Decimal:
    return abs(price - reference) / reference * HUNDRED


class LpQuoteReference:
    def __init__(
        self, spot: ReferenceSource, feed: LpFeed, alerts: AlertService, admin: AdminFeed,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.spot = spot
        self.feed = feed
        self.alerts = alerts
        self.admin = admin
        self.clock = clock
        self._noticed_at = float("-inf")

    def reference(
        self, tier: Tier, currency: Currency, settlement: Settlement, data: Reference, now: datetime
    ) -> ReferencePrice:
        spot = self.spot.reference(tier, currency, settlement, data, now)
        controls = data.controls
        if not controls.flag("lp_quote_mode_enabled"):
            return spot
        lp_spread = data.spreads.lp_spread(tier, currency)
        if lp_spread is None:
            return self._fallback(spot, f"tier {tier} has no lp_spread_pct for {currency}")
        lp_currency, lp_settlement = hedged_as(currency, settlement)
        fresh = self._fresh(lp_currency, lp_settlement, now)
        if not fresh:
            return self._fallback(spot, f"no fresh LP price for {lp_currency} {lp_settlement}")
        if controls.flag("lp_deviation_guard_enabled"):
            conservative = max(rate for rate in (spot.spot, spot.second) if rate is not None)
            limit = controls.decimal("lp_max_deviation_pct")
            fresh = [p for p in fresh if deviation_pct(p.ask, conservative) <= limit]
            if not fresh:
                return self._fallback(spot, f"every LP is more than {limit} % from the spot reference {conservative}")
        cheapest = min(fresh, key=lambda p: (p.ask, p.provider))
        return ReferencePrice(f"lp:{cheapest.provider}", cheapest.ask, Decimal(1), spot.spot, spot.second, lp_spread)

    def _fresh(self, currency: Currency, settlement: Settlement, now: datetime) -> list[LpPrice]:
        prices = (self.feed.latest(provider, currency, settlement) for provider in self.feed.status)
        return [p for p in prices if p is not None and (now - p.received_at).total_seconds() <= FRESH_SECONDS]

    def _fallback(self, spot: ReferencePrice, reason: str) -> ReferencePrice:
        self._notice(reason)
        return ReferencePrice("spot-fallback", spot.price, spot.ratio, spot.spot, spot.second)

    def _notice(self, reason: str) -> None:
        now = self.clock()
        if now - self._noticed_at < NOTICE_SECONDS:
            return
        self._noticed_at = now
        self.admin.emit(EventType.LP_FALLBACK, {"reason": reason})
        self.alerts.raise_soon(kinds.LP_FALLBACK, "LP quote mode fell back to spot",
                               f"{reason}. Quotes are priced off spot until LP prices are usable again.",
                               key="lp:fallback")
