"""A group's bot session (SPEC §12), as it lives in the store: one per chat, JSON, with a TTL.

States: QUOTING (a quote every ``quote_interval_seconds``, up to ``max_quotes_per_session``)
→ CLOSING_WINDOW ("Off" sent; ``/fecha`` accepted until ``due_at``) → TERMINATED. CLOSING is
the moment between a ``/fecha`` claiming the window and its closing committing: it is what
keeps two ``/fecha`` (two participants, two workers) from trading twice, and what the timed
loop reconciles with the database if the process booking the trade died.

``due_at`` is when the timed loop must next act on the session (the next quote, the "Off",
the window's end, the reconciliation of a CLOSING); ``None`` once terminated.

``queued`` names the replies derived from the state (each quote, the "Off", the trade's
confirmation) already put in the outbound queue. A state change is committed first, then its
replies are queued under keys derived from the session (idempotent), then ``queued`` records
them: a crash between any two steps ends with every reply queued exactly once.

Every quote keeps its full pricing snapshot (``QuoteSession.to_dict``), so the closing reads
nothing again and prices nothing again: the client trades at a price it was shown.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from otc_framework.sessions.session import QuoteSession


class BotState(StrEnum):
    QUOTING = "quoting"
    CLOSING_WINDOW = "closing_window"
    CLOSING = "closing"
    TERMINATED = "terminated"


class EndReason(StrEnum):
    CLOSED = "closed"  # /fecha traded (in test mode: simulated, nothing recorded)
    CLIENT_OFF = "client_off"  # the client sent /off: /fecha is blocked
    TIMEOUT = "timeout"  # the window ended without /fecha
    FAILED = "failed"  # a quote could not be priced, or the trade could not be recorded


LIVE_STATES = (BotState.QUOTING, BotState.CLOSING_WINDOW, BotState.CLOSING)


def session_key(channel: str, chat_id: str) -> str:
    return f"bot:session:{channel}:{chat_id}"


@dataclass(frozen=True, slots=True)
class BotQuote:
    n: int
    price: Decimal
    at: datetime
    snapshot: dict[str, Any]  # QuoteSession.to_dict() of the priced quote

    def quote_session(self) -> QuoteSession:
        return QuoteSession.from_json(json.dumps(self.snapshot))


@dataclass(frozen=True, slots=True)
class BotTrade:
    """What a ``/fecha`` traded (or, in test mode, would have)."""

    amount: Decimal
    price: Decimal
    total_brl: Decimal
    quote_n: int
    closed_by: str
    closing_id: str | None = None  # None in test mode, and while CLOSING
    oid: str | None = None
    settlement_date: str | None = None


@dataclass(frozen=True, slots=True)
class BotSession:
    id: str
    channel: str
    chat_id: str
    client_id: str | None  # None: a group mapped to no client (test mode, nothing persisted)
    client_name: str | None
    tier: str
    currency: str
    settlement: str
    volume: Decimal | None
    started_by: str
    started_at: datetime
    state: BotState
    due_at: datetime | None
    quotes: tuple[BotQuote, ...] = ()
    ended: EndReason | None = None
    end_detail: str | None = None
    trade: BotTrade | None = None
    queued: tuple[str, ...] = ()
    refused: tuple[str, ...] = field(default_factory=tuple)

    @property
    def test_mode(self) -> bool:
        return self.client_id is None

    @property
    def live(self) -> bool:
        return self.state in LIVE_STATES

    @property
    def key(self) -> str:
        return session_key(self.channel, self.chat_id)

    def closing_price(self) -> BotQuote:
        """The quote a ``/fecha`` trades at: the lower of the last two (the client buys, so
        the lower is the better for the client; SPEC §12)."""
        last_two = self.quotes[-2:]
        return min(last_two, key=lambda q: (q.price, -q.n))

    def with_quote(self, quote: BotQuote, due_at: datetime) -> BotSession:
        return replace(self, quotes=(*self.quotes, quote), due_at=due_at)

    def ending(self, reason: EndReason, detail: str | None = None) -> BotSession:
        return replace(self, state=BotState.TERMINATED, due_at=None, ended=reason, end_detail=detail)

    def to_json(self) -> str:
        data = asdict(self)
        data["volume"] = None if self.volume is None else str(self.volume)
        data["started_at"] = self.started_at.isoformat()
        data["due_at"] = None if self.due_at is None else self.due_at.isoformat()
        data["quotes"] = [{"n": q.n, "price": str(q.price), "at": q.at.isoformat(), "snapshot": q.snapshot}
                          for q in self.quotes]
        if self.trade is not None:
            data["trade"] = {**asdict(self.trade), "amount": str(self.trade.amount), "price": str(self.trade.price),
                             "total_brl": str(self.trade.total_brl)}
        return json.dumps(data, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> BotSession:
        data = json.loads(text)
        trade = data.pop("trade")
        return cls(
            **{**data,
               "volume": None if data["volume"] is None else Decimal(data["volume"]),
               "started_at": datetime.fromisoformat(data["started_at"]),
               "due_at": None if data["due_at"] is None else datetime.fromisoformat(data["due_at"]),
               "state": BotState(data["state"]),
               "ended": None if data["ended"] is None else EndReason(data["ended"]),
               "quotes": tuple(BotQuote(q["n"], Decimal(q["price"]), datetime.fromisoformat(q["at"]), q["snapshot"])
                               for q in data["quotes"]),
               "queued": tuple(data["queued"]),
               "refused": tuple(data["refused"])},
            trade=None if trade is None else BotTrade(**{
                **trade, "amount": Decimal(trade["amount"]), "price": Decimal(trade["price"]),
                "total_brl": Decimal(trade["total_brl"])}),
        )
