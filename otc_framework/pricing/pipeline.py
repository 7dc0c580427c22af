"""Pricing (SPEC §4): reference → spread → rounding, all in Decimal.

``client price = reference × (1 + (spread + spread_adjustment + validity adder) / 100)``,
rounded half-up to 4 places; totals to 2. The spread is the tier's, unless the reference
source brought its own (LP quote mode). Every input lands in ``PricedQuote`` so a closing can
snapshot it and an operator can replay the price from the row alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from otc_framework.errors import ValidationFailed
from otc_framework.pricing.reference_price import ReferencePrice, ReferenceSource
from otc_framework.reference import Reference
from otc_framework.storage.models import Currency, Settlement, Tier

PRICE_STEP = Decimal("0.0001")
TOTAL_STEP = Decimal("0.01")
HUNDRED = Decimal(100)
# Validity a client may ask for instead of the default TTL, and the control adding to it.
VALIDITY_ADDERS = {5: "quote_validity_5s_spread_pct", 10: "quote_validity_10s_spread_pct"}


def round_price(value: Decimal) -> Decimal:
    return value.quantize(PRICE_STEP, rounding=ROUND_HALF_UP)


def total_brl(amount: Decimal, price: Decimal) -> Decimal:
    return (amount * price).quantize(TOTAL_STEP, rounding=ROUND_HALF_UP)


def client_price(
    reference: Decimal,
    lp_spread_pct: Decimal | None,
    tier_spread_pct: Decimal | None,
    spread_adjustment: Decimal,
    validity_adder: Decimal,
) -> Decimal:
    """The one price formula, from exactly what a closing snapshots: the quote path prices
    with it and ``otc closings verify`` replays with it, so the two cannot drift apart.

    ``reference`` has the USDC ratio applied already (``ReferencePrice.price``, recorded as
    ``reference_price``). The LP spread, when there is one, replaces the tier spread. Nothing
    is rounded before the final half-up to 4 places."""
    spread = lp_spread_pct if lp_spread_pct is not None else tier_spread_pct
    if spread is None:
        raise ValueError("no spread to price with: neither an LP spread nor a tier spread")
    return round_price(reference * (1 + (spread + spread_adjustment + validity_adder) / HUNDRED))


@dataclass(frozen=True, slots=True)
class PricedQuote:
    tier: Tier
    currency: Currency
    settlement: Settlement
    price: Decimal
    reference: ReferencePrice
    tier_spread_pct: Decimal | None  # None when the reference brought its own spread
    spread_adjustment: Decimal
    validity_adder: Decimal
    validity_seconds: int


class PricingPipeline:
    def __init__(self, source: ReferenceSource) -> None:
        self.source = source

    def quote(
        self,
        tier: Tier,
        currency: Currency,
        settlement: Settlement,
        data: Reference,
        now: datetime,
        validity_seconds: int | None = None,
    ) -> PricedQuote:
        reference = self.source.reference(tier, currency, settlement, data, now)
        controls = data.controls
        if validity_seconds is None:
            ttl, adder = controls.integer("session_ttl_seconds"), Decimal(0)
        elif validity_seconds in VALIDITY_ADDERS:
            ttl, adder = validity_seconds, controls.decimal(VALIDITY_ADDERS[validity_seconds])
        else:
            raise ValidationFailed("validitySeconds: must be 5 or 10", field="validitySeconds")
        tier_spread = None if reference.lp_spread_pct is not None else data.spreads.spread(tier, currency, settlement)
        adjustment = controls.decimal("spread_adjustment")
        price = client_price(reference.price, reference.lp_spread_pct, tier_spread, adjustment, adder)
        return PricedQuote(tier, currency, settlement, price, reference, tier_spread, adjustment, adder, ttl)

    def grid(self, tier: Tier, data: Reference, now: datetime) -> list[PricedQuote]:
        """Every currency × settlement at the default validity: the client's price board."""
        return [self.quote(tier, c, s, data, now) for c in Currency for s in Settlement]
