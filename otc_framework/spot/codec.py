"""The spot event as it travels through the store: JSON with decimals as strings."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from typing import Any

from otc_framework.ports import SpotQuote


def quote_to_dict(quote: SpotQuote) -> dict[str, Any]:
    return {
        "source": quote.source,
        "instrument": quote.instrument,
        "bid": str(quote.bid),
        "ask": str(quote.ask),
        "last": None if quote.last is None else str(quote.last),
        "venueTime": None if quote.venue_time is None else quote.venue_time.isoformat(),
        "receivedAt": quote.received_at.isoformat(),
    }


def quote_from_dict(data: dict[str, Any]) -> SpotQuote:
    return SpotQuote(
        source=data["source"],
        instrument=data["instrument"],
        bid=Decimal(data["bid"]),
        ask=Decimal(data["ask"]),
        last=None if data["last"] is None else Decimal(data["last"]),
        venue_time=None if data["venueTime"] is None else datetime.fromisoformat(data["venueTime"]),
        received_at=datetime.fromisoformat(data["receivedAt"]),
    )


def encode_event(
    source: str, quotes: list[SpotQuote], error: str | None, at: datetime
) -> str:
    """One poll's outcome for one source. Failed polls carry the error and no quotes; the
    last good quotes stay where they were, ageing visibly."""
    return json.dumps(
        {"source": source, "at": at.isoformat(), "error": error, "quotes": [quote_to_dict(q) for q in quotes]}
    )


def decode_event(message: str) -> tuple[str, list[SpotQuote], str | None, datetime]:
    data = json.loads(message)
    return (
        data["source"],
        [quote_from_dict(q) for q in data["quotes"]],
        data["error"],
        datetime.fromisoformat(data["at"]),
    )
