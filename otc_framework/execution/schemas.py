"""How a hedge is shown: on the admin stream, to plugins (``otc_hedge_recorded``) and in the
admin API, one view for all three."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from otc_framework.storage.models import Currency, Hedge, HedgeExecution, HedgeStatus, Settlement, Side
from otc_framework.web.bodies import AmountText, AnswerModel, DecimalText


class HedgeView(AnswerModel):
    """A closing's hedge on an LP (SPEC §10). ``amount`` is what is owed at the LP,
    ``filled_amount`` what executed; ``fill_price`` is their VWAP and ``spread_capture_bps``
    ``(client price − fill) / fill × 10,000``, 1 decimal."""

    id: UUID
    closing_id: UUID
    status: HedgeStatus
    reason: str | None
    side: Side
    currency: Currency
    settlement: Settlement
    amount: AmountText
    client_price: DecimalText
    provider: str | None
    attempt: int
    client_order_id: str | None
    quote_id: str | None
    quote_price: DecimalText | None
    filled_amount: AmountText
    fill_price: DecimalText | None
    chunks: int
    spread_capture_bps: DecimalText | None
    venue_reference: str | None
    created_at: datetime
    updated_at: datetime
    filled_at: datetime | None

    @classmethod
    def of(cls, hedge: Hedge) -> HedgeView:
        return cls.model_validate({name: getattr(hedge, name) for name in cls.model_fields})


class HedgeExecutionView(AnswerModel):
    """One venue execution of a hedge (a chunk, a trade report)."""

    attempt: int
    provider: str
    client_order_id: str
    execution_id: str
    amount: AmountText
    price: DecimalText
    executed_at: datetime

    @classmethod
    def of(cls, execution: HedgeExecution) -> HedgeExecutionView:
        return cls.model_validate({name: getattr(execution, name) for name in cls.model_fields})


def hedge_view(hedge: Hedge) -> dict[str, Any]:
    """The view as JSON-ready data (camelCase, decimals as strings)."""
    return HedgeView.of(hedge).model_dump(mode="json", by_alias=True)
