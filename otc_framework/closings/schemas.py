"""How closings are shown: to their client (SPEC §6; never the spread, tier, reference or
the desk's side: clients always see ``side: "BUY"``) and to the desk (every column)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import Field

from otc_framework.storage.models import Channel, ClosingStatus, Currency, Settlement, Side, Tier
from otc_framework.web.bodies import AmountText, AnswerModel, DecimalText, RequestModel
from otc_framework.web.pages import CURSOR_DESCRIPTION, CURSOR_PATTERN


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
    cursor: str | None = Field(None, pattern=CURSOR_PATTERN, description=CURSOR_DESCRIPTION)


class AdminClosing(AnswerModel):
    """Every column of a closing, its pricing snapshot included (SPEC §4): what operators see,
    what the admin stream carries and what ``otc_closing_created`` receives."""

    id: UUID
    oid: str
    session_id: str
    client_id: UUID
    client_name: str
    tier: Tier
    source: Channel
    side: Side
    currency: Currency
    settlement: Settlement
    amount: AmountText
    price: DecimalText
    total_brl: DecimalText
    status: ClosingStatus
    settlement_date: date
    group_id: str | None
    reference_mode: str
    reference_price: DecimalText
    spot_at_quote: DecimalText | None
    binance_at_quote: DecimalText | None
    lp_spread_pct_used: DecimalText | None
    tier_spread_pct_used: DecimalText | None
    spread_adjustment_used: DecimalText
    validity_adder_used: DecimalText
    usdt_usdc_ratio_used: DecimalText
    validity_seconds: int
    quoted_at: datetime
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, closing: Any) -> AdminClosing:
        """From a ``Closing`` row or a ``ClosingRow`` (same attribute names)."""
        return cls.model_validate({name: getattr(closing, name) for name in cls.model_fields})


def closing_view(closing: Any) -> dict[str, Any]:
    """The admin view as JSON-ready data (camelCase, decimals as strings)."""
    return AdminClosing.of(closing).model_dump(mode="json", by_alias=True)
