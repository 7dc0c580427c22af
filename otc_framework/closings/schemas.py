"""What a client sees of its closings (SPEC §6). Never the spread, tier, reference or the
desk's side: clients always see ``side: "BUY"``."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import Field

from otc_framework.storage.models import ClosingStatus, Currency, Settlement
from otc_framework.web.bodies import AmountText, AnswerModel, DecimalText, RequestModel


class ClosingAnswer(AnswerModel):
    closing_id: UUID
    oid: str
    side: Literal["BUY"] = "BUY"
    currency: Currency
    settlement: Settlement
    amount: AmountText
    price: DecimalText
    total_brl: DecimalText
    status: ClosingStatus
    settlement_date: date
    created_at: datetime

    @classmethod
    def of(cls, closing: Any) -> ClosingAnswer:
        """From a ``Closing`` row or a ``ClosingRow`` (same attribute names)."""
        return cls(
            closing_id=closing.id, oid=closing.oid, currency=closing.currency, settlement=closing.settlement,
            amount=closing.amount, price=closing.price, total_brl=closing.total_brl, status=closing.status,
            settlement_date=closing.settlement_date, created_at=closing.created_at,
        )


class ClosingPage(AnswerModel):
    items: list[ClosingAnswer]
    next_cursor: str | None = Field(None, description="Pass as `cursor` for the next (older) page; null at the end")


class ClosingQuery(RequestModel):
    limit: int = Field(50, ge=1, le=200)
    cursor: str | None = Field(None, max_length=200)
