"""How closings are shown: to their client (SPEC §6; never the spread, tier, reference or
the desk's side: clients always see ``side: "BUY"``) and to the desk (every column)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal
from uuid import UUID

import orjson
from pydantic import Field

from otc_framework.storage.models import Channel, ClosingStatus, Currency, Settlement, Side, Tier
from otc_framework.web.bodies import (
    AmountText,
    AnswerModel,
    DecimalText,
    RequestModel,
    amount_text,
    decimal_text,
    time_text,
)
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


def closing_answer_text(closing: Any) -> str:
    """``ClosingAnswer.of(closing)`` as the model writes it in JSON, written straight from the
    closing's values: every close writes it, and the model's validation and serializers cost
    more than the text (docs/decisions.md, "Performance"). A property test holds the two equal."""
    return orjson.dumps(
        {"closingId": str(closing.id), "oid": closing.oid, "side": "BUY", "currency": str(closing.currency),
         "settlement": str(closing.settlement), "amount": amount_text(closing.amount),
         "price": decimal_text(closing.price), "totalBrl": decimal_text(closing.total_brl),
         "status": str(closing.status), "settlementDate": closing.settlement_date, "createdAt": closing.created_at},
        option=orjson.OPT_UTC_Z,
    ).decode()


def closing_view(closing: Any) -> dict[str, Any]:
    """``AdminClosing.of(closing)`` as the model dumps it for JSON (camelCase, decimals as
    strings), made straight from the closing's values as ``closing_answer_text`` is; a
    ``Closing`` row or a ``ClosingRow``. A property test holds it to the model's dump."""
    c = closing
    return {
        "id": str(c.id), "oid": c.oid, "sessionId": c.session_id, "clientId": str(c.client_id),
        "clientName": c.client_name, "tier": str(c.tier), "source": str(c.source), "side": str(c.side),
        "currency": str(c.currency), "settlement": str(c.settlement), "amount": amount_text(c.amount),
        "price": decimal_text(c.price), "totalBrl": decimal_text(c.total_brl), "status": str(c.status),
        "settlementDate": c.settlement_date.isoformat(), "groupId": c.group_id, "referenceMode": c.reference_mode,
        "referencePrice": decimal_text(c.reference_price), "spotAtQuote": _optional(c.spot_at_quote),
        "binanceAtQuote": _optional(c.binance_at_quote), "lpSpreadPctUsed": _optional(c.lp_spread_pct_used),
        "tierSpreadPctUsed": _optional(c.tier_spread_pct_used),
        "spreadAdjustmentUsed": decimal_text(c.spread_adjustment_used),
        "validityAdderUsed": decimal_text(c.validity_adder_used), "usdtUsdcRatioUsed": decimal_text(c.usdt_usdc_ratio_used),
        "validitySeconds": c.validity_seconds, "quotedAt": time_text(c.quoted_at), "createdAt": time_text(c.created_at),
        "updatedAt": time_text(c.updated_at),
    }


def _optional(value: Decimal | None) -> str | None:
    return None if value is None else decimal_text(value)
