"""The LP feed event as it travels through the store: JSON with decimals as strings."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from typing import Any, cast

from otc_framework.ports import Currency, LpPrice, Settlement


def instrument(currency: str, settlement: str) -> str:
    """How an LP price is named in ``spot_ticks`` and reports: ``USDC/BRL D1``."""
    return f"{currency}/BRL {settlement}"


def price_to_dict(price: LpPrice) -> dict[str, Any]:
    return {
        "provider": price.provider,
        "currency": price.currency,
        "settlement": price.settlement,
        "bid": str(price.bid),
        "ask": str(price.ask),
        "receivedAt": price.received_at.isoformat(),
    }


def price_from_dict(data: dict[str, Any]) -> LpPrice:
    return LpPrice(
        provider=data["provider"],
        currency=cast("Currency", data["currency"]),
        settlement=cast("Settlement", data["settlement"]),
        bid=Decimal(data["bid"]),
        ask=Decimal(data["ask"]),
        received_at=datetime.fromisoformat(data["receivedAt"]),
    )


def encode_event(provider: str, prices: list[LpPrice], error: str | None, at: datetime) -> str:
    """One poll's outcome for one provider: the prices it answered and, when any read failed,
    the error. Prices it did not answer stay where they were, ageing visibly."""
    return json.dumps(
        {"provider": provider, "at": at.isoformat(), "error": error, "prices": [price_to_dict(p) for p in prices]}
    )


def decode_event(message: str) -> tuple[str, list[LpPrice], str | None, datetime]:
    data = json.loads(message)
    return (
        data["provider"],
        [price_from_dict(p) for p in data["prices"]],
        data["error"],
        datetime.fromisoformat(data["at"]),
    )
