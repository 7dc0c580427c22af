"""How a bot session is shown: on the admin stream and in ``GET /v1/admin/bot/sessions``,
one view for both. Prices and amounts are decimal strings, never floats."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from otc_framework.bot.session import BotSession, BotState, EndReason
from otc_framework.web.bodies import AmountText, AnswerModel, DecimalText


class BotQuoteView(AnswerModel):
    n: int
    price: DecimalText
    at: datetime


class BotTradeView(AnswerModel):
    amount: AmountText
    price: DecimalText
    total_brl: DecimalText
    quote_n: int
    closed_by: str
    closing_id: str | None
    oid: str | None
    settlement_date: str | None


class BotSessionView(AnswerModel):
    """One group's session: where it stands, what it quoted, and what it traded.
    ``test_mode`` is a group mapped to no client (nothing persisted)."""

    id: str
    channel: str
    chat_id: str
    client_id: str | None
    client_name: str | None
    test_mode: bool
    tier: str
    currency: str
    settlement: str
    volume: AmountText | None
    started_by: str
    started_at: datetime
    state: BotState
    due_at: datetime | None
    quotes: list[BotQuoteView]
    ended: EndReason | None
    end_detail: str | None
    trade: BotTradeView | None

    @classmethod
    def of(cls, session: BotSession) -> BotSessionView:
        return cls(
            id=session.id, channel=session.channel, chat_id=session.chat_id, client_id=session.client_id,
            client_name=session.client_name, test_mode=session.test_mode, tier=session.tier,
            currency=session.currency, settlement=session.settlement, volume=session.volume,
            started_by=session.started_by, started_at=session.started_at, state=session.state,
            due_at=session.due_at, quotes=[BotQuoteView(n=q.n, price=q.price, at=q.at) for q in session.quotes],
            ended=session.ended, end_detail=session.end_detail,
            trade=None if session.trade is None else BotTradeView.model_validate(
                {name: getattr(session.trade, name) for name in BotTradeView.model_fields}),
        )


class BotSessionList(AnswerModel):
    items: list[BotSessionView]


def session_view(session: BotSession) -> dict[str, Any]:
    """JSON-ready, for the admin stream."""
    return BotSessionView.of(session).model_dump(mode="json", by_alias=True)
