"""Where a quote's reference price comes from: the replaceable first step of the pipeline.

``SpotReference`` is SPEC §4's spot mode. LP quote mode (``pricing.lp_reference``) is another
``ReferenceSource``: it returns ``mode="lp:<provider>"`` with the tier's ``lp_spread_pct``,
which then replaces the tier spread, and the rest of the pipeline is unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from otc_framework.config import PricingConfig
from otc_framework.errors import SpotUnavailable
from otc_framework.ports import SpotQuote
from otc_framework.reference import Reference
from otc_framework.spot import SpotFeed
from otc_framework.storage.models import Currency, Settlement, Tier


@dataclass(frozen=True, slots=True)
class ReferencePrice:
    mode: str  # spot | spot-fallback | lp:<provider>
    price: Decimal  # in BRL per unit of the quoted currency, ratio already applied
    ratio: Decimal  # usdc_usdt_ratio applied (1 for USDT)
    spot: Decimal | None
    second: Decimal | None
    # When set, replaces the tier spread (LP quote mode's per-tier lp_spread_pct).
    lp_spread_pct: Decimal | None = None


class ReferenceSource(Protocol):
    def reference(
        self, tier: Tier, currency: Currency, settlement: Settlement, data: Reference, now: datetime
    ) -> ReferencePrice:
        """The reference for one quote; ``SpotUnavailable`` rather than a stale price."""
        ...


def spot_rate(quote: SpotQuote) -> Decimal:
    """A venue's rate: its last trade when it publishes one, else the bid/ask mid."""
    return quote.last if quote.last is not None else quote.mid


class SpotReference:
    def __init__(self, feed: SpotFeed, config: PricingConfig) -> None:
        self.feed = feed
        self.config = config

    def reference(
        self, tier: Tier, currency: Currency, settlement: Settlement, data: Reference, now: datetime
    ) -> ReferencePrice:
        max_age = data.controls.integer("spot_max_age_seconds")
        spot = self.feed.fresh(self.config.spot_source, self.config.spot_instrument, max_age, now)
        if spot is None:
            raise SpotUnavailable("no fresh spot rate; try again shortly")
        second = None
        if self.config.second_source:
            quote = self.feed.fresh(self.config.second_source, self.config.second_instrument, max_age, now)
            second = None if quote is None else spot_rate(quote)
        rate = spot_rate(spot)
        ratio = data.controls.decimal("usdc_usdt_ratio") if currency is Currency.USDC else Decimal(1)
        return ReferencePrice("spot", rate * ratio, ratio, rate, second)
