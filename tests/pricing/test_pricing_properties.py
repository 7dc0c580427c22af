"""Properties of the pricing pipeline (SPEC §3–§4) over any reference, spreads, adders, ratio
and amount: Decimal only, half-up to 4 places (totals to 2), price monotone in the spread,
and the replay of a closing's snapshot equal to the price the client was charged, in spot
and LP mode. Exactness is checked against ``Fraction`` arithmetic, not a second Decimal
formula, so a shared rounding mistake cannot hide."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from fractions import Fraction
from math import floor
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from otc_framework.closings.verify import replay
from otc_framework.config import PricingConfig
from otc_framework.controls.catalog import CORE_CONTROLS
from otc_framework.controls.values import Controls
from otc_framework.ports import SpotQuote
from otc_framework.pricing.pipeline import PricingPipeline, client_price, total_brl
from otc_framework.pricing.reference_price import ReferencePrice, SpotReference
from otc_framework.pricing.spreads import SpreadGrid
from otc_framework.reference import Reference
from otc_framework.sessions.service import closing_row
from otc_framework.sessions.session import QuoteSession
from otc_framework.storage.models import Currency, Settlement, Tier

# Few examples, always the same ones: the suite stays fast and a failure reproduces.
# (A decorator, not a loaded profile: other modules' hypothesis settings stay theirs.)
few = settings(max_examples=60, derandomize=True, deadline=None, database=None)

NOW = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
references = st.decimals(min_value=Decimal("0.5"), max_value=Decimal("20"), places=8)
spreads = st.decimals(min_value=Decimal("-1"), max_value=Decimal("5"), places=4)
adjustments = st.decimals(min_value=Decimal("-5"), max_value=Decimal("5"), places=4)
ratios = st.decimals(min_value=Decimal("0.9"), max_value=Decimal("1.1"), places=6)
amounts = st.decimals(min_value=Decimal("1000"), max_value=Decimal("10000000"), places=6)


def half_up(exact: Fraction, places: int) -> Fraction:
    step = Fraction(1, 10**places)
    return floor(exact / step + Fraction(1, 2)) * step


@few
@given(references, spreads, adjustments, adjustments)
def test_price_is_the_exact_formula_rounded_half_up_to_four_places(
    reference: Decimal, spread: Decimal, adjustment: Decimal, adder: Decimal
) -> None:
    price = client_price(reference, None, spread, adjustment, adder)
    exact = Fraction(reference) * (1 + (Fraction(spread) + Fraction(adjustment) + Fraction(adder)) / 100)
    assert isinstance(price, Decimal) and price.as_tuple().exponent == -4
    assert Fraction(price) == half_up(exact, 4)


@few
@given(references, spreads, spreads, adjustments, adjustments)
def test_price_is_monotone_in_the_spread(
    reference: Decimal, low: Decimal, high: Decimal, adjustment: Decimal, adder: Decimal
) -> None:
    low, high = sorted((low, high))
    assert client_price(reference, None, low, adjustment, adder) <= client_price(reference, None, high, adjustment,
                                                                                 adder)


@few
@given(references, spreads, spreads)
def test_the_lp_spread_replaces_the_tier_spread(reference: Decimal, lp: Decimal, tier: Decimal) -> None:
    zero = Decimal(0)
    assert client_price(reference, lp, tier, zero, zero) == client_price(reference, None, lp, zero, zero)


@few
@given(amounts, st.decimals(min_value=Decimal("0.5"), max_value=Decimal("20"), places=4))
def test_total_is_amount_times_price_rounded_half_up_to_cents(amount: Decimal, price: Decimal) -> None:
    total = total_brl(amount, price)
    assert isinstance(total, Decimal) and total.as_tuple().exponent == -2
    assert Fraction(total) == half_up(Fraction(amount) * Fraction(price), 2)


class OneSpot:
    """A spot feed holding one fresh rate, as ``SpotReference`` reads it."""

    def __init__(self, rate: Decimal) -> None:
        self.rate = rate

    def fresh(self, source: str, instrument: str, max_age_seconds: float, now: datetime | None = None) -> Any:
        if source != "vp":
            return None
        return SpotQuote(source, instrument, self.rate, self.rate, self.rate, None, NOW)


@dataclass(frozen=True)
class LpSource:
    """An LP quote mode reference (not built yet): its own price and per-tier LP spread."""

    price: Decimal
    lp_spread_pct: Decimal

    def reference(self, tier: Tier, currency: Currency, settlement: Settlement, data: Reference,
                  now: datetime) -> ReferencePrice:
        return ReferencePrice("lp:horizon", self.price, Decimal(1), self.price, None, self.lp_spread_pct)


@dataclass(frozen=True)
class Client:
    id: str
    name: str = "acme"
    group_id: str | None = None


def reference_data(tier_spread: Decimal, adjustment: Decimal, adder: Decimal, ratio: Decimal) -> Reference:
    controls = Controls(CORE_CONTROLS, {"spread_adjustment": str(adjustment), "quote_validity_5s_spread_pct": str(adder),
                                        "usdc_usdt_ratio": str(ratio)})
    grid = SpreadGrid({(t, c, s): tier_spread for t in Tier for c in Currency for s in Settlement})
    return Reference(controls, grid, None)  # type: ignore[arg-type]  # the calendar does not price


def charged_and_replayed(pipeline: PricingPipeline, data: Reference, currency: Currency, amount: Decimal,
                         validity: int | None) -> tuple[tuple[Decimal, Decimal], tuple[Decimal, Decimal]]:
    """The price and total a client trades at through the real quote → session → closing path,
    and what the verifier replays from the closing's snapshot."""
    priced = pipeline.quote(Tier.T1, currency, Settlement.D0, data, NOW, validity)
    session = QuoteSession.of(uuid.uuid4().hex, Client(str(uuid.uuid4())), amount, total_brl(amount, priced.price),
                              priced, NOW, NOW)
    row = closing_row(QuoteSession.from_json(session.to_json()), "oid-1", date(2026, 11, 23), NOW)
    replayed = replay(row)
    return (row.price, row.total_brl), (replayed.price, replayed.total_brl)


@few
@given(references, ratios, spreads, adjustments, adjustments, amounts, st.sampled_from(list(Currency)),
       st.sampled_from([None, 5]))
def test_spot_mode_replay_equals_the_charged_price(
    rate: Decimal, ratio: Decimal, spread: Decimal, adjustment: Decimal, adder: Decimal, amount: Decimal,
    currency: Currency, validity: int | None,
) -> None:
    pipeline = PricingPipeline(SpotReference(OneSpot(rate), PricingConfig(spot_source="vp", second_source=None)))  # type: ignore[arg-type]
    charged, replayed = charged_and_replayed(pipeline, reference_data(spread, adjustment, adder, ratio), currency,
                                             amount, validity)
    assert replayed == charged


@few
@given(references, spreads, spreads, adjustments, adjustments, amounts, st.sampled_from([None, 5]))
def test_lp_mode_replay_equals_the_charged_price(
    price: Decimal, lp_spread: Decimal, tier_spread: Decimal, adjustment: Decimal, adder: Decimal, amount: Decimal,
    validity: int | None,
) -> None:
    pipeline = PricingPipeline(LpSource(price, lp_spread))
    charged, replayed = charged_and_replayed(pipeline, reference_data(tier_spread, adjustment, adder, Decimal(1)),
                                             Currency.USDT, amount, validity)
    assert replayed == charged
