"""The adapter interfaces plugins implement.

A plugin's registration hook (see ``hookspecs``) returns instances of these classes. Adapters
do all their I/O in async methods, turn vendor and transport failures into the core's
``VenueError`` family (``otc_framework.errors``), and never read ``os.environ``: the core hands
them a validated config model and a shared ``httpx.AsyncClient``.

Money is ``Decimal`` throughout; times are timezone-aware UTC.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, Literal, Protocol

Currency = Literal["USDT", "USDC"]
Settlement = Literal["D0", "D1", "D2"]
Side = Literal["BUY", "SELL"]

USD_BRL = "USD/BRL"
USDT_BRL = "USDT/BRL"
USDC_BRL = "USDC/BRL"


@dataclass(frozen=True, slots=True)
class SpotQuote:
    """One reference rate read from a spot source.

    ``venue_time`` is when the venue says the rate was current; the core measures freshness
    from ``received_at`` (when we read it), so a venue with a skewed clock cannot make an old
    rate look new, nor a fresh one look stale.
    """

    source: str
    instrument: str
    bid: Decimal
    ask: Decimal
    last: Decimal | None
    venue_time: datetime | None
    received_at: datetime

    @property
    def mid(self) -> Decimal:
        return (self.bid + self.ask) / 2


class SpotSource(ABC):
    """A USD/BRL (or stablecoin/BRL) reference rate venue.

    ``name`` is the source's short name as it appears in health reports and closing snapshots
    (``valorpro``, ``binance``); ``instruments`` lists what ``fetch`` returns.
    """

    name: str
    instruments: tuple[str, ...]

    @abstractmethod
    async def fetch(self) -> Sequence[SpotQuote]:
        """Read the current rate of every instrument this source can serve right now.

        Raises ``VenueError`` (``VenueRateLimited`` with ``retry_after`` when the venue asks
        the caller to back off). An instrument the venue does not list is left out of the
        answer rather than failing the whole read.
        """

    async def aclose(self) -> None:
        """Release anything the adapter opened itself (the shared HTTP client is the core's)."""


@dataclass(frozen=True, slots=True)
class LpPrice:
    """An indicative LP price: for display and best-LP selection, never tradable."""

    provider: str
    currency: Currency
    settlement: Settlement
    bid: Decimal
    ask: Decimal
    received_at: datetime


@dataclass(frozen=True, slots=True)
class LpQuote:
    """A tradable LP quote, valid until ``valid_until``."""

    provider: str
    quote_id: str
    side: Side
    currency: Currency
    settlement: Settlement
    amount: Decimal
    price: Decimal
    valid_until: datetime
    venue_data: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class LpExecution:
    """One execution of an order (a chunk, a trade report) as a venue reported it."""

    execution_id: str
    amount: Decimal
    price: Decimal
    executed_at: datetime


@dataclass(frozen=True, slots=True)
class LpFill:
    """What the LP executed for an order: one or more chunks, aggregated.

    ``price`` is the volume-weighted average of the chunks' prices (full precision; round only
    for display); ``executions`` are the venue's executions (each chunk, each trade report)
    with their ids, so the desk records every chunk and counts a fill reported twice (a replay
    after a reconnect) once.
    """

    provider: str
    quote_id: str
    amount: Decimal
    price: Decimal
    chunks: int
    filled_at: datetime
    venue_data: Mapping[str, Any] = field(default_factory=dict)
    executions: tuple[LpExecution, ...] = ()

    @property
    def execution_ids(self) -> tuple[str, ...]:
        return tuple(e.execution_id for e in self.executions)

    @classmethod
    def aggregate(
        cls, provider: str, quote_id: str, executions: Sequence[LpExecution], venue_data: Mapping[str, Any] | None = None,
    ) -> LpFill:
        """The fill of an order's executions: total amount, VWAP = notional / amount in full
        precision, the latest execution time, every execution id."""
        amount = sum((e.amount for e in executions), Decimal(0))
        notional = sum((e.amount * e.price for e in executions), Decimal(0))
        return cls(
            provider=provider, quote_id=quote_id, amount=amount, price=notional / amount, chunks=len(executions),
            filled_at=max(e.executed_at for e in executions), venue_data=dict(venue_data or {}),
            executions=tuple(executions),
        )


class OrderState(StrEnum):
    """What a venue says of an order the desk sent (``lookup_order``)."""

    FILLED = "filled"  # executed: the lookup carries the fill
    PENDING = "pending"  # the venue has it and has not finished it
    REJECTED = "rejected"  # the venue has it and refused it: nothing executed
    NOT_FOUND = "not_found"  # the venue never received it: nothing executed


@dataclass(frozen=True, slots=True)
class OrderLookup:
    state: OrderState
    fill: LpFill | None = None
    detail: str | None = None


class LiquidityProvider(ABC):
    """A venue where the desk hedges (SPEC §10).

    ``name`` is the provider's short name (``nonco``, ``horizon``) as closings record it
    (``lp:<name>``). ``trades_24x7`` says whether it quotes off-hours, ``currencies`` what it
    trades. Every method raises the
    core's ``VenueError`` family, never a transport exception: ``VenueRateLimited``,
    ``VenueRefused`` (bad credentials, an expired or unknown quote), ``VenueUnknownOutcome``
    (sent, no answer: ask ``lookup_order``), ``VenuePartialFill`` (chunks failed part-way),
    or ``VenueError`` for anything else worth trying again.
    """

    name: str
    trades_24x7: bool = False
    # The stablecoins it trades against BRL; the engine never asks it for another.
    currencies: tuple[Currency, ...] = ("USDT", "USDC")

    @abstractmethod
    async def get_price(self, currency: Currency, settlement: Settlement) -> LpPrice:
        """An indicative price; must not register a tradable quote at the venue."""

    @abstractmethod
    async def request_quote(
        self, side: Side, currency: Currency, settlement: Settlement, amount: Decimal,
        *, controls: Mapping[str, Any] | None = None,
    ) -> LpQuote:
        """A tradable quote with its validity.

        ``controls`` are the live runtime controls by key (the core's and every plugin's, as
        the execution engine read them for this order): an adapter reads the ones its plugin
        owns (``exec_horizon_chunk_size``, ``exec_nonco_validity_sec``) and falls back to its
        config for any that are absent.
        """

    @abstractmethod
    async def execute_quote(self, quote: LpQuote, client_order_id: str) -> LpFill:
        """Execute a quote obtained from ``request_quote``.

        ``client_order_id`` is the desk's id for the order (derived from the hedge, stored
        before this call): the venue's ``ClOrdID`` or idempotency key, so the same order is
        never executed twice and ``lookup_order`` can find it. An expired quote is
        ``VenueRefused``; no answer after sending is ``VenueUnknownOutcome``.
        """

    @abstractmethod
    async def lookup_order(self, client_order_id: str) -> OrderLookup:
        """What the venue knows of an order sent with ``execute_quote``: the truth after an
        unknown outcome (filled with its fill, pending, rejected, or never received)."""

    async def aclose(self) -> None:
        """Close connections the adapter opened itself."""


@dataclass(frozen=True, slots=True)
class InboundMessage:
    """A chat message as a transport parsed it, channel-agnostic.

    ``chat_id`` is where it was written (a WhatsApp group ``…@g.us``), and where answers go.
    ``sender`` is its author as the transport names them (a phone JID, or an ``@lid`` id);
    ``sender_alternates`` are other names the transport gave for the same author (the phone
    JID behind an ``@lid``), so an allowed-participants list matches whichever was sent.
    ``message_id`` is the transport's id, unique within the channel: the engine drops a
    message it already handled by it (transports retry). ``sent_at`` is when the author sent
    it, by the transport's clock.
    """

    channel: str
    message_id: str
    chat_id: str
    sender: str
    text: str
    from_me: bool
    is_group: bool
    sent_at: datetime | None
    sender_alternates: tuple[str, ...] = ()
    sender_name: str | None = None


class Receipt(StrEnum):
    """What the bot engine made of an inbound message (a webhook answers 200 whatever it is)."""

    HANDLED = "handled"  # a command, acted on (or refused, politely)
    DUPLICATE = "duplicate"  # this message id was handled already
    IGNORED = "ignored"  # not a command, the desk's own message, too old, or the bot is off


class ChatInbox(Protocol):
    """Where a channel plugin hands the messages it received: the core's bot engine.

    A plugin's webhook route finds it with ``otc_framework.web.channels.chat_inbox(request)``.
    ``receive`` deduplicates by (channel, message id) across workers and restarts, so a
    transport's retries are harmless; it raises ``NotReady`` when the store cannot say whether
    the message was seen (the route answers 503 and the transport retries later).
    """

    async def receive(self, message: InboundMessage) -> Receipt: ...


class Channel(ABC):
    """A chat transport (WhatsApp through Evolution API, …) the bot engine talks through.

    The core never calls ``send_text`` from a request or a trade: answers are queued
    (``bot.outbox``) and one delivery loop per deployment sends them, one chat at a time in
    the order they were queued, paced to ``per_chat_per_minute`` for each chat and
    ``per_minute`` for the whole channel (WhatsApp bans an account that sends too fast, and
    Evolution API does not pace). After a failure it waits ``retry_backoff_seconds`` ×
    2^(attempt − 1), capped, unless the venue said how long.
    """

    name: str
    per_minute: int = 60
    per_chat_per_minute: int = 20
    retry_backoff_seconds: float = 1.0

    @abstractmethod
    async def send_text(self, chat_id: str, text: str) -> None:
        """Deliver a text message to a chat, or raise:

        - ``VenueRateLimited`` (``retry_after`` seconds) when the venue asks us to wait;
        - ``VenueRefused`` when the venue refuses this message for good (an unknown chat, a
          number not on WhatsApp, a bad API key): it is not retried;
        - ``VenueError`` for anything else (a 5xx, a timeout, a dropped connection): retried.
        """

    async def aclose(self) -> None:
        """Release anything the adapter opened itself (the shared HTTP client is the core's)."""


Severity = Literal["info", "warning", "critical"]
SEVERITIES: tuple[Severity, ...] = ("info", "warning", "critical")


@dataclass(frozen=True, slots=True)
class Alert:
    """Something operators must know (SPEC §13), as a sink receives it.

    ``kind`` is dotted (``spot.failing``, ``trade.large``); ``dedup_key`` groups repeats: the
    core drops an alert whose key was raised within its dedup window. ``detail`` is plain
    text (a sink escapes it for its venue). ``raised_at`` is when the core recorded it.
    """

    kind: str
    title: str
    detail: str
    dedup_key: str
    severity: Severity = "warning"
    raised_at: datetime | None = None


class AlertSink(ABC):
    """Where alerts are delivered (Telegram admin chat, Discord webhook, …).

    The core calls ``send`` from one delivery loop per deployment, one alert at a time per
    sink, in the order they were raised, never from a request or a trade. It paces each sink
    to ``per_minute`` deliveries and, after a failure, waits ``retry_backoff_seconds`` ×
    2^(attempt − 1) (capped) unless the venue said how long.
    """

    name: str
    per_minute: int = 20
    retry_backoff_seconds: float = 2.0

    @abstractmethod
    async def send(self, alert: Alert) -> None:
        """Deliver one alert, or raise:

        - ``VenueRateLimited`` (``retry_after`` seconds) when the venue asks us to wait;
        - ``VenueRefused`` when it refuses for good (bad token, unknown chat or webhook): the
          core stops the sink, shows it in health, and stops retrying;
        - ``VenueError`` for anything else (a 5xx, a timeout, a dropped connection): retried.
        """

    async def aclose(self) -> None:
        """Release anything the adapter opened itself (the shared HTTP client is the core's)."""


@dataclass(frozen=True, slots=True)
class HedgeOrder:
    """What a closing asks the desk to offset on an LP: ``side``, ``currency`` and
    ``settlement`` as executed there (a D1/D2 USDT closing hedges as USDC), ``amount`` still to
    execute, and the client's price for the closing."""

    hedge_id: str
    closing_id: str
    side: Side
    currency: Currency
    settlement: Settlement
    amount: Decimal
    client_price: Decimal


@dataclass(frozen=True, slots=True)
class ExecutionContext:
    """What a strategy may use to choose where a hedge goes.

    ``providers`` are the LPs that may take the order now: enabled, trading its currency and
    at this hour (off-hours only 24/7 ones), their circuit breaker closed. ``snapshot`` is the LP feed's
    latest indicative price of each of them for the order's currency and settlement, and
    ``snapshot_age_seconds`` the age of each. ``quote`` asks one provider for a tradable quote
    and ``quote_all`` asks every provider in parallel (the answers that came, best first for
    the order's side); both pass the live controls to the adapter and count failures on the
    provider's breaker, so a strategy never calls an adapter itself.
    """

    providers: Mapping[str, LiquidityProvider]
    snapshot: Mapping[str, LpPrice]
    snapshot_age_seconds: Mapping[str, float]
    controls: Mapping[str, Any]
    off_hours: bool
    quote: Callable[[str, HedgeOrder], Awaitable[LpQuote | None]]
    quote_all: Callable[[HedgeOrder], Awaitable[Sequence[LpQuote]]]


class NoHedge(Exception):
    """A strategy's answer that the order is not to be sent now, with the reason operators see
    (no LP quoted, the override names no enabled LP, a quote beyond the off-hours limit)."""


class ExecutionStrategy(ABC):
    """An ``exec_mode``: decides whether and where a closing is hedged.

    ``name`` is the mode's value of ``exec_mode``. A mode with ``hedges = False`` (the built-in
    ``off``) leaves closings unhedged: their hedge is recorded ``skipped`` when they commit,
    and the engine sends nothing while it is the mode.
    """

    name: str
    hedges: bool = True

    @abstractmethod
    async def choose_quote(self, order: HedgeOrder, context: ExecutionContext) -> LpQuote:
        """The tradable quote to execute, or raise ``NoHedge`` with the reason."""
