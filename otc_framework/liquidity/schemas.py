"""How the LP feed is shown to operators (``GET /v1/admin/lp-feed``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from otc_framework.ports import Currency, LpPrice, Settlement, SpotQuote
from otc_framework.spot import SourceStatus
from otc_framework.web.bodies import AnswerModel, DecimalText


class LpPriceView(AnswerModel):
    currency: Currency
    settlement: Settlement
    bid: DecimalText
    ask: DecimalText
    received_at: datetime
    age_seconds: float = Field(description="Seconds since the desk read it")


class LpProviderView(AnswerModel):
    prices: list[LpPriceView] = Field(description="The latest price of each currency and settlement polled")
    last_polled_at: datetime | None = Field(description="When the feed last asked it; null before the first poll")
    last_error: str | None = Field(description="Why its last poll failed; its prices then are the last good ones")


class SpotQuoteView(AnswerModel):
    instrument: str
    bid: DecimalText
    ask: DecimalText
    received_at: datetime
    age_seconds: float


class SecondReferenceView(AnswerModel):
    source: str
    quotes: list[SpotQuoteView]
    last_error: str | None


class LpFeedView(AnswerModel):
    providers: dict[str, LpProviderView] = Field(description="By provider name")
    second_reference: SecondReferenceView | None = Field(
        description="The second spot reference (Binance) as the spot feed holds it; null when none is configured")

    @classmethod
    def of(cls, snapshot: dict[str, dict[str, Any]], second: tuple[str, SourceStatus] | None,
           now: datetime) -> LpFeedView:
        providers = {
            name: LpProviderView(
                prices=[_price(p, age) for p, age in entry["prices"]],
                last_polled_at=entry["last_polled_at"], last_error=entry["last_error"],
            )
            for name, entry in snapshot.items()
        }
        reference = None
        if second is not None:
            source, status = second
            reference = SecondReferenceView(source=source, quotes=[_quote(q, now) for q in status.quotes.values()],
                                            last_error=status.last_error)
        return cls(providers=providers, second_reference=reference)


def _price(price: LpPrice, age: float) -> LpPriceView:
    return LpPriceView(currency=price.currency, settlement=price.settlement, bid=price.bid, ask=price.ask,
                       received_at=price.received_at, age_seconds=round(age, 3))


def _quote(quote: SpotQuote, now: datetime) -> SpotQuoteView:
    return SpotQuoteView(instrument=quote.instrument, bid=quote.bid, ask=quote.ask, received_at=quote.received_at,
                         age_seconds=round((now - quote.received_at).total_seconds(), 3))
