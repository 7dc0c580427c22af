"""The bot engine (SPEC §12): commands from any chat channel, one session per group, timed
quotes under a lease, trades through the same booking path as the API.

Two entries:

- ``receive`` (every worker; a channel's webhook calls it through ``ChatInbox``) reads one
  message: it drops the desk's own messages, non-commands and commands older than
  ``max_message_age_seconds``; when ``bot_enabled`` is off it ignores everything; it remembers
  each message id for ``dedup_seconds`` in the store (a transport's retries and a second
  worker find it there); then it acts, answering through the outbound queue.
- ``step`` (one process per deployment, leased loop ``LEASE``) drives every live session's
  timed steps: the next quote, the "Off", the end of the window, and the reconciliation of a
  ``/fecha`` whose process died while booking it. The session is in the store, so whichever
  process holds the lease carries it on: a quote due during a restart is sent late, once.

Every state change is a compare-and-set on the session (``Store.replace``): of a ``/fecha``
on one worker and the window's end on another, exactly one wins. The replies a state implies
(quotes, "Off", the confirmation) are queued after it commits, under keys derived from the
session, so a crash between the two never loses or doubles one (``session`` docstring).

Who may trade: only messages in a group count; a group mapped to an active client
(``groupId``) trades for it, limited to its ``botParticipants`` when that list is not empty
(``participants.may_trade``). Anyone else gets one polite refusal per session and a
BOT_REFUSED audit row. A group mapped to no client is test mode: tier T7, every reply
prefixed "(TESTE)", nothing persisted (no audit row, no closing).
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from tortoise.exceptions import IntegrityError

from otc_framework.admin.feed import AdminFeed, EventType
from otc_framework.audit import AuditRow, record
from otc_framework.auth.client_cache import ClientRecord
from otc_framework.bot import outbox, texts
from otc_framework.bot.commands import Command, CommandError, CommandKind, parse
from otc_framework.bot.outbox import Reply
from otc_framework.bot.participants import identities, may_trade
from otc_framework.bot.session import BotQuote, BotSession, BotState, BotTrade, EndReason, session_key
from otc_framework.bot.views import session_view
from otc_framework.closings import repository
from otc_framework.config import BotConfig
from otc_framework.errors import NotReady, ProblemError, QuotingDisabled, StoreError, ValidationFailed
from otc_framework.metrics import BOT_COMMANDS, BOT_SESSIONS, database_error
from otc_framework.ports import InboundMessage, Receipt
from otc_framework.pricing.pipeline import PricingPipeline, total_brl
from otc_framework.reference import Reference, ReferenceCache
from otc_framework.sessions.service import TradingDesk, check_amount
from otc_framework.sessions.session import QuoteSession
from otc_framework.storage.models import AuditSource, Channel, Client, Currency, Settlement, Tier
from otc_framework.storage.store import Store

log = logging.getLogger(__name__)

LEASE = "loop:bot"
TURN_SECONDS = 0.25
INDEX_KEY = "bot:live"
# How long a /fecha may take to book before the timed loop asks the database what happened.
RECONCILE_SECONDS = 30.0
REPLY_EXPIRES_SECONDS = 120.0
# However quick the rhythm, a timed reply gets this long to leave before it is stale.
MIN_FRESH_SECONDS = 2.0
CAS_ATTEMPTS = 50
TEST_TIER = Tier.T7


def seen_key(channel: str, message_id: str) -> str:
    return f"bot:seen:{channel}:{message_id}"


def refused_key(channel: str, chat_id: str, who: str) -> str:
    return f"bot:refused:{channel}:{chat_id}:{who}"


class BotEngine:
    def __init__(
        self, store: Store, reference: ReferenceCache, pricing: PricingPipeline, desk: TradingDesk, feed: AdminFeed,
        config: BotConfig, zone: ZoneInfo, clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.store = store
        self.reference = reference
        self.pricing = pricing
        self.desk = desk
        self.feed = feed
        self.config = config
        self.zone = zone
        self.clock = clock
        # Set by the runtime: turn the delivery loop now (a reply was queued) and the timed
        # loop now (a session started), when this process holds their leases.
        self.replies_queued: Callable[[], None] = lambda: None
        self.session_started: Callable[[], None] = lambda: None

    # -- inbound ---------------------------------------------------------------------------

    async def receive(self, message: InboundMessage) -> Receipt:
        if message.from_me or not message.is_group:
            return Receipt.IGNORED
        try:
            command = parse(message.text)
            problem = None
        except CommandError as exc:
            command, problem = None, str(exc)
        if command is None and problem is None:
            return Receipt.IGNORED
        now = self.clock()
        if message.sent_at is not None and (now - message.sent_at).total_seconds() > self.config.max_message_age_seconds:
            log.info("bot command too old to act on", extra={"channel": message.channel, "messageId": message.message_id,
                                                             "sentAt": message.sent_at.isoformat()})
            return Receipt.IGNORED
        try:
            reference, _ = await self.reference.current()
            if not reference.controls.flag("bot_enabled"):
                return Receipt.IGNORED
            first = await self.store.set_if_absent(seen_key(message.channel, message.message_id), "1",
                                                   ttl=self.config.dedup_seconds)
        except StoreError as exc:
            raise NotReady("the bot cannot tell whether this message was handled; retry") from exc
        if not first:
            return Receipt.DUPLICATE
        try:
            await self._handle(message, command, problem, reference, now)
        except Exception as exc:
            # Forget the message so the transport's retry is handled; what this try did
            # (a session started) makes the retry answer sensibly rather than twice.
            log.exception("bot command failed", extra={"channel": message.channel, "messageId": message.message_id})
            try:
                await self.store.delete(seen_key(message.channel, message.message_id))
            except StoreError:
                pass
            raise NotReady("the bot could not handle this message now; retry") from exc
        return Receipt.HANDLED

    async def _handle(self, message: InboundMessage, command: Command | None, problem: str | None,
                      reference: Reference, now: datetime) -> None:
        client = await Client.filter(group_id=message.chat_id, active=True).order_by("created_at").first()
        kind = command.kind if command is not None else "invalid"
        if problem is not None:
            BOT_COMMANDS.labels(command=kind, outcome="invalid").inc()
            await self._reply(message, client is None, problem)
            return
        assert command is not None
        if command.kind is CommandKind.HELP:
            await self._reply(message, client is None, texts.HELP)
        elif command.kind is CommandKind.PIX:
            pix = str(reference.controls["bot_pix_info"]).strip()
            await self._reply(message, client is None, pix or texts.PIX_MISSING)
        elif client is not None and not may_trade(message.sender, message.sender_alternates,
                                                   list(client.bot_participants or [])):
            await self._refuse(message, client, command)
            BOT_COMMANDS.labels(command=kind, outcome="refused").inc()
            return
        elif command.kind is CommandKind.REF:
            await self._start(message, command, client, reference, now)
        elif command.kind is CommandKind.OFF:
            await self._stop(message, client is None)
        else:
            await self._close(message, command, client, reference, now)
        BOT_COMMANDS.labels(command=kind, outcome="handled").inc()

    # -- commands --------------------------------------------------------------------------

    async def _start(self, message: InboundMessage, command: Command, client: Client | None, reference: Reference,
                     now: datetime) -> None:
        test = client is None
        if not reference.controls.flag("quoting_enabled"):
            await self._reply(message, test, texts.NOT_QUOTING)
            return
        if not reference.calendar.is_open(now):
            await self._reply(message, test, texts.market_closed(reference.calendar.next_open(now), self.zone))
            return
        if command.volume is not None:
            refusal = self._amount_refusal(command.volume, reference)
            if refusal is not None:
                await self._reply(message, test, refusal)
                return
        key = session_key(message.channel, message.chat_id)
        session = BotSession(
            id=uuid.uuid4().hex, channel=message.channel, chat_id=message.chat_id,
            client_id=None if client is None else str(client.id), client_name=None if client is None else client.name,
            tier=(TEST_TIER if client is None else Tier(client.tier)).value, currency=command.currency.value,
            settlement=command.settlement.value, volume=command.volume, started_by=message.sender, started_at=now,
            state=BotState.QUOTING, due_at=now,
        )
        if not await self._create(key, session):
            await self._reply(message, test, texts.BUSY)
            return
        await self._index_add(key)
        if client is not None:
            await record("BOT_REF", actor=message.sender, source=AuditSource.BOT, session_id=session.id,
                         client_id=client.id, detail={**_origin(message), "currency": session.currency,
                                                      "settlement": session.settlement,
                                                      "volume": None if command.volume is None else str(command.volume)})
        self._changed(session)
        self.session_started()

    async def _stop(self, message: InboundMessage, test: bool) -> None:
        key = session_key(message.channel, message.chat_id)
        session, changed = await self._update(
            key, lambda s: s.ending(EndReason.CLIENT_OFF, f"/off by {message.sender}")
            if s.state in (BotState.QUOTING, BotState.CLOSING_WINDOW) else None)
        if session is None or not changed:
            await self._reply(message, test, texts.NOTHING_TO_STOP)
            return
        self._changed(session)
        await self._flush(session)

    async def _close(self, message: InboundMessage, command: Command, client: Client | None, reference: Reference,
                     now: datetime) -> None:
        test = client is None
        key = session_key(message.channel, message.chat_id)
        raw = await self.store.get(key)
        session = None if raw is None else BotSession.from_json(raw)
        refusal = self._close_refusal(session, now)
        if refusal is not None:
            await self._reply(message, test, refusal)
            return
        assert session is not None
        amount = command.volume if command.volume is not None else session.volume
        if amount is None:
            await self._reply(message, test, texts.NEED_VOLUME)
            return
        refusal = self._amount_refusal(amount, reference)
        if refusal is None and client is not None:
            refusal = await self._risk_refusal(client, amount, reference, now)
        if refusal is not None:
            await self._reply(message, test, refusal)
            return
        chosen = session.closing_price()
        trade = BotTrade(amount=amount, price=chosen.price, total_brl=total_brl(amount, chosen.price), quote_n=chosen.n,
                         closed_by=message.sender)
        window = session.id

        def claim(current: BotSession) -> BotSession | None:
            if current.id != window or self._close_refusal(current, now) is not None:
                return None
            if current.test_mode:
                return replace(current, trade=trade).ending(EndReason.CLOSED)
            return replace(current, state=BotState.CLOSING, trade=trade,
                           due_at=now + timedelta(seconds=RECONCILE_SECONDS))

        claimed, changed = await self._update(key, claim)
        if claimed is None or not changed:
            await self._reply(message, test, self._close_refusal(claimed, now) or texts.NOTHING_TO_CLOSE)
            return
        if not claimed.test_mode:
            claimed = await self._book(claimed, chosen, trade, message, reference, now)
        self._changed(claimed)
        await self._flush(claimed)

    async def _book(self, session: BotSession, chosen: BotQuote, trade: BotTrade, message: InboundMessage,
                    reference: Reference, now: datetime) -> BotSession:
        """Write the closing of a claimed window; the session as it ends (closed, or failed)."""
        assert session.client_id is not None and session.client_name is not None
        quoted = replace(chosen.quote_session(), session_id=session.id, amount=trade.amount, total_brl=trade.total_brl)
        oid = f"bot-{session.id}"
        closing, hedge = self.desk.prepare(quoted, oid, Channel.BOT, reference, now)
        detail = {"price": str(closing.price), "totalBrl": str(closing.total_brl)}
        rows = [
            AuditRow("CLOSE_SUCCESS", session.client_name, AuditSource.BOT.value, session.id, oid, closing.id,
                     closing.client_id, None, detail, now),
            AuditRow("BOT_CLOSE", message.sender, AuditSource.BOT.value, session.id, oid, closing.id, closing.client_id,
                     None, {**detail, **_origin(message), "quote": chosen.n,
                            "quotes": [str(q.price) for q in session.quotes]}, now),
        ]
        try:
            await repository.insert_with_audit(closing, rows, hedge)
        except IntegrityError:
            settled, _ = await self._settle_claim(session)
            return settled
        except Exception:
            database_error("closings.insert")
            log.exception("bot closing could not be recorded", extra={"session_id": session.id})
            ended, _ = await self._update(
                session.key, lambda s: s.ending(EndReason.FAILED, "the closing could not be recorded")
                if s.id == session.id and s.state is BotState.CLOSING else None)
            return ended or session
        booked = replace(trade, closing_id=str(closing.id), oid=oid, settlement_date=closing.settlement_date.isoformat())
        ended, _ = await self._update(session.key, lambda s: replace(s, trade=booked).ending(EndReason.CLOSED)
                                      if s.id == session.id else None)
        self.desk.announce(closing, reference)
        return ended or replace(session, trade=booked).ending(EndReason.CLOSED)

    async def _settle_claim(self, session: BotSession) -> tuple[BotSession, bool]:
        """A CLOSING whose outcome this process does not know: the database says. The session
        as it now stands, and whether this call ended it."""
        found = await repository.find(session_id=session.id)
        if found is None:
            change: Callable[[BotSession], BotSession | None] = (
                lambda s: s.ending(EndReason.FAILED, "the closing was not recorded")
                if s.id == session.id and s.state is BotState.CLOSING else None)
        else:
            assert session.trade is not None
            booked = replace(session.trade, closing_id=str(found.id), oid=found.oid,
                             settlement_date=found.settlement_date.isoformat())
            change = (lambda s: replace(s, trade=booked).ending(EndReason.CLOSED)
                      if s.id == session.id and s.state is not BotState.TERMINATED else None)
        ended, changed = await self._update(session.key, change)
        return ended or session, changed

    def _close_refusal(self, session: BotSession | None, now: datetime) -> str | None:
        """Why a /fecha cannot close ``session`` now; ``None`` when it can."""
        if session is None:
            return texts.NOTHING_TO_CLOSE
        if session.state is BotState.QUOTING:
            return texts.WAIT_FOR_OFF
        if session.state is BotState.CLOSING:
            return texts.ALREADY_CLOSING
        if session.state is BotState.TERMINATED:
            if session.ended is EndReason.CLIENT_OFF:
                return texts.BLOCKED_BY_OFF
            if session.ended is EndReason.CLOSED and session.trade is not None:
                return texts.closed(session, session.trade)
            return texts.WINDOW_OVER if session.ended is EndReason.TIMEOUT else texts.NOTHING_TO_CLOSE
        if session.due_at is not None and now >= session.due_at:
            return texts.WINDOW_OVER
        return None

    def _amount_refusal(self, amount: Decimal, reference: Reference) -> str | None:
        minimum = reference.controls.decimal("min_order_amount")
        maximum = reference.controls.decimal("max_order_amount")
        try:
            check_amount(amount, minimum, maximum)
        except ValidationFailed:
            return texts.below_minimum(minimum) if amount < minimum else (
                texts.above_maximum(maximum) if amount > maximum else texts.NEED_VOLUME)
        return None

    async def _risk_refusal(self, client: Client, amount: Decimal, reference: Reference, now: datetime) -> str | None:
        try:
            await self.desk.risk.check(ClientRecord.from_row(client), amount, reference, now)
        except QuotingDisabled:
            return texts.NOT_QUOTING
        except ValidationFailed:
            return "Volume acima do seu limite diário; fale com a mesa."
        return None

    async def _refuse(self, message: InboundMessage, client: Client, command: Command) -> None:
        await record("BOT_REFUSED", actor=message.sender, source=AuditSource.BOT, client_id=client.id,
                     detail={**_origin(message), "command": command.kind.value,
                             "alternates": list(message.sender_alternates)})
        self.feed.emit(EventType.BOT_REFUSED, {**_origin(message), "clientId": str(client.id),
                                               "clientName": client.name, "command": command.kind.value})
        who = min(identities(message.sender) or {message.sender})
        first = await self.store.set_if_absent(refused_key(message.channel, message.chat_id, who), "1",
                                               ttl=self.config.session_ttl_seconds)
        if first:
            await self._reply(message, False, texts.refused(message.sender_name))

    # -- timed steps (leased) --------------------------------------------------------------

    async def step(self) -> None:
        raw_index = await self.store.get(INDEX_KEY)
        keys: list[str] = json.loads(raw_index) if raw_index else []
        if not keys:
            return
        gone = []
        now = self.clock()
        for key, raw in zip(keys, await self.store.get_many(keys), strict=True):
            if raw is None:
                gone.append(key)
                continue
            session = BotSession.from_json(raw)
            try:
                if session.due_at is not None and session.due_at <= now:
                    session = await self._advance(session, now)
                await self._flush(session)
            except Exception:  # one broken session must not stop the others
                log.exception("bot session step failed", extra={"session_id": session.id})
                continue
            if not session.live:
                gone.append(key)
        if gone:
            await self._index_remove(gone)

    async def _advance(self, session: BotSession, now: datetime) -> BotSession:
        if session.state is BotState.CLOSING:
            settled, changed = await self._settle_claim(session)
            if changed:
                self._changed(settled)
            return settled
        reference, _ = await self.reference.current()
        advanced, changed = await self._update(session.key, lambda s: self._next(s, reference, now)
                                               if s.id == session.id else None)
        if advanced is None:
            return session
        if changed:
            self._changed(advanced)
        return advanced

    def _next(self, session: BotSession, reference: Reference, now: datetime) -> BotSession | None:
        """The session after its due step; ``None`` when nothing is due."""
        if session.due_at is None or session.due_at > now:
            return None
        config = self.config
        if session.state is BotState.CLOSING_WINDOW:
            return session.ending(EndReason.TIMEOUT)
        if session.state is not BotState.QUOTING:
            return None
        if len(session.quotes) >= config.max_quotes_per_session:
            return replace(session, state=BotState.CLOSING_WINDOW,
                           due_at=now + timedelta(seconds=config.closing_window_seconds))
        if not reference.calendar.is_open(now):
            return session.ending(EndReason.FAILED, texts.market_closed(reference.calendar.next_open(now), self.zone))
        try:
            quote = self._price(session, reference, now)
        except ProblemError as exc:
            log.warning("bot quote could not be priced", extra={"session_id": session.id, "code": exc.code})
            return session.ending(EndReason.FAILED, texts.PRICE_UNAVAILABLE)
        last = quote.n >= config.max_quotes_per_session
        wait = config.off_delay_seconds if last else config.quote_interval_seconds
        return session.with_quote(quote, now + timedelta(seconds=wait))

    def _price(self, session: BotSession, reference: Reference, now: datetime) -> BotQuote:
        priced = self.pricing.quote(Tier(session.tier), Currency(session.currency), Settlement(session.settlement),
                                    reference, now)
        amount = session.volume or Decimal(0)
        quoted = QuoteSession.of(
            session.id, _Holder(session), amount, total_brl(amount, priced.price), priced, now,
            now + timedelta(seconds=priced.validity_seconds),
        )
        return BotQuote(n=len(session.quotes) + 1, price=priced.price, at=now, snapshot=quoted.to_dict())

    # -- replies ---------------------------------------------------------------------------

    def _wanted(self, session: BotSession) -> list[Reply]:
        """The replies ``session``'s state implies, each under a key of its own."""
        config = self.config

        def reply(name: str, text: str, expires_in: float | None) -> Reply:
            return Reply(session.channel, session.chat_id, text, dedup_key=f"bot:{session.id}:{name}",
                         session_id=session.id, expires_in=expires_in)

        if session.state is BotState.QUOTING:
            # A quote still undelivered when the one after the next is due is stale: it expires
            # unsent, so a transport back from an outage does not flood the group with old prices.
            fresh_for = max(MIN_FRESH_SECONDS, 2 * config.quote_interval_seconds)
            return [reply(f"quote:{q.n}", texts.quote(session, q.n, q.price, config.max_quotes_per_session),
                          fresh_for) for q in session.quotes]
        if session.state is BotState.CLOSING_WINDOW:
            return [reply("off", texts.off(session, config.closing_window_seconds),
                          max(MIN_FRESH_SECONDS, config.closing_window_seconds))]
        if session.ended is EndReason.CLIENT_OFF:
            return [reply("off", texts.stopped(session), None)]
        if session.ended is EndReason.CLOSED and session.trade is not None:
            return [reply("closed", texts.closed(session, session.trade), None)]
        if session.ended is EndReason.FAILED:
            # A failed close says nothing was traded; a failed quote says why quoting stopped.
            text = texts.NOT_RECORDED if session.trade is not None else session.end_detail or texts.PRICE_UNAVAILABLE
            return [reply("failed", texts.prefixed(session, text), None)]
        return []

    async def _flush(self, session: BotSession) -> None:
        """Queue the replies of ``session`` not queued yet, then note them as queued."""
        replies = [r for r in self._wanted(session) if r.dedup_key not in session.queued]
        if not replies:
            return
        await outbox.enqueue(replies, self.clock())
        names = tuple(r.dedup_key for r in replies if r.dedup_key is not None)
        await self._update(session.key, lambda s: replace(s, queued=(*s.queued, *names))
                           if s.id == session.id else None)
        self.replies_queued()

    async def _reply(self, message: InboundMessage, test: bool, text: str) -> None:
        """Answer one inbound message (once: the key is the message's own id)."""
        await outbox.enqueue([Reply(message.channel, message.chat_id, texts.prefixed(test, text),
                                    dedup_key=f"bot:reply:{message.channel}:{message.message_id}",
                                    expires_in=REPLY_EXPIRES_SECONDS)], self.clock())
        self.replies_queued()

    # -- the store -------------------------------------------------------------------------

    async def _create(self, key: str, session: BotSession) -> bool:
        """Start ``session`` unless the group has a live one (``False`` then)."""
        ttl = self.config.session_ttl_seconds
        for _ in range(CAS_ATTEMPTS):
            if await self.store.set_if_absent(key, session.to_json(), ttl=ttl):
                return True
            raw = await self.store.get(key)
            if raw is None:
                continue
            if BotSession.from_json(raw).live:
                return False
            if await self.store.replace(key, raw, session.to_json(), ttl=ttl):
                return True
        raise StoreError("bot session: too much contention")

    async def _update(self, key: str, change: Callable[[BotSession], BotSession | None]
                      ) -> tuple[BotSession | None, bool]:
        """Apply ``change`` with compare-and-set, retrying on a concurrent write. The session
        as it now stands (``None`` when absent) and whether this call changed it."""
        for _ in range(CAS_ATTEMPTS):
            raw = await self.store.get(key)
            if raw is None:
                return None, False
            current = BotSession.from_json(raw)
            changed = change(current)
            if changed is None:
                return current, False
            if await self.store.replace(key, raw, changed.to_json(), ttl=self.config.session_ttl_seconds):
                return changed, True
        raise StoreError("bot session: too much contention")

    async def _index_add(self, key: str) -> None:
        await self._edit_index(lambda keys: keys if key in keys else [*keys, key])

    async def _index_remove(self, gone: Sequence[str]) -> None:
        await self._edit_index(lambda keys: [k for k in keys if k not in gone])

    async def _edit_index(self, change: Callable[[list[str]], list[str]]) -> None:
        for _ in range(CAS_ATTEMPTS):
            raw = await self.store.get(INDEX_KEY)
            if raw is None:
                if await self.store.set_if_absent(INDEX_KEY, json.dumps(change([]))):
                    return
                continue
            if await self.store.replace(INDEX_KEY, raw, json.dumps(change(json.loads(raw)))):
                return
        raise StoreError("bot index: too much contention")

    async def live_sessions(self) -> list[BotSession]:
        """Every session the timed loop follows (live, or just ended), for operators."""
        raw_index = await self.store.get(INDEX_KEY)
        keys: list[str] = json.loads(raw_index) if raw_index else []
        return [BotSession.from_json(raw) for raw in await self.store.get_many(keys) if raw is not None]

    def _changed(self, session: BotSession) -> None:
        if session.state is BotState.TERMINATED and session.ended is not None:
            BOT_SESSIONS.labels(ended=session.ended.value).inc()
        self.feed.emit(EventType.BOT_SESSION_CHANGED, session_view(session))


class _Holder:
    """The client fields ``QuoteSession.of`` reads, for a bot session (test mode has no client)."""

    def __init__(self, session: BotSession) -> None:
        self.id = session.client_id or ""
        self.name = session.client_name or ""
        self.group_id: str | None = session.chat_id


def _origin(message: InboundMessage) -> dict[str, Any]:
    return {"channel": message.channel, "chatId": message.chat_id, "participant": message.sender,
            "messageId": message.message_id}
