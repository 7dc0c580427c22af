"""Quote-lock-confirm (SPEC §6): the desk's hot path.

``quote`` checks the risk limits (``risk.limits``), prices a request, locks it in the store for
its TTL and audits SESSION_CREATED.
``close`` takes the session atomically (``Store.take_owned``: exactly one caller wins,
whatever the concurrency), writes the closing, its CLOSE_SUCCESS row and its hedge intent
(``execution.intent``) in one statement, then sets the OID key; a trade of at least ``alert_large_trade_amount`` raises an alert in the
background after the commit. The database's unique ``session_id`` and ``oid`` columns are the last
word: if the store and the database ever disagree, no session trades twice.

A failure after the take (the database unreachable, an OID clash) puts the session back for
the time it has left, so the client can retry the close; a retry with the same OID after an
ambiguous failure finds the committed closing and answers it.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, cast

from tortoise.exceptions import IntegrityError

from otc_framework.admin.feed import AdminFeed, EventType
from otc_framework.alerts import kinds
from otc_framework.alerts.service import AlertService
from otc_framework.announce import announce
from otc_framework.audit import AuditRow, record
from otc_framework.auth.guard import Caller
from otc_framework.auth.rate_limits import refuse_if_spent
from otc_framework.closings import repository
from otc_framework.closings.repository import ClosingRow
from otc_framework.closings.schemas import closing_answer_text, closing_view
from otc_framework.config import RateLimitsConfig
from otc_framework.errors import (
    MarketClosed,
    NotFound,
    NotReady,
    ProblemError,
    QuotingDisabled,
    SessionAlreadyClosed,
    SessionExpired,
    ValidationFailed,
)
from otc_framework.execution.intent import HedgeRow, intent
from otc_framework.metrics import CLOSINGS_CREATED, count, database_error
from otc_framework.pricing.pipeline import PricingPipeline, total_brl
from otc_framework.reference import Reference
from otc_framework.risk import RiskLimits
from otc_framework.sessions.session import QuoteSession, new_session_id, session_key
from otc_framework.storage.models import AuditSource, Channel, ClosingStatus, Currency, JsonText, Settlement, Side
from otc_framework.storage.store import Bucket, RateDecision, Store, TakeOutcome

log = logging.getLogger(__name__)

# How long a taken session remembers it was taken (to answer 409 rather than 410), and how
# long an OID answers from the store before the database takes over as the fallback.
TOMBSTONE_TTL_SECONDS = 3600
OID_TTL_SECONDS = 86400
AMOUNT_PLACES = 6


def oid_key(client_id: str, oid: str) -> str:
    return f"oid:{client_id}:{oid}"


@dataclass(frozen=True, slots=True)
class CloseResult:
    # The ``ClosingAnswer`` as JSON: the same text the OID key holds, written once.
    answer: str
    created: bool  # False: an OID replay answering the first closing


class TradingDesk:
    def __init__(
        self, store: Store, pipeline: PricingPipeline, limits: RateLimitsConfig, notify: Any, feed: AdminFeed,
        alerts: AlertService, hedging_modes: Collection[str], risk: RiskLimits,
    ) -> None:
        self.store = store
        self.risk = risk
        # The exec_mode values whose closings are owed a hedge (the others record it skipped).
        self.hedging_modes = frozenset(hedging_modes)
        self.pipeline = pipeline
        self.limits = limits
        # ``otc_closing_created`` of the plugin host; called after commit, never fails a trade.
        self.notify = notify
        self.feed = feed
        self.alerts = alerts

    # -- quote ---------------------------------------------------------------------------

    def quote_bucket(self, client_id: str) -> Bucket:
        """The client's quote bucket: the quote route spends it in the round trip that
        authenticates the request, so a quote costs one store round trip less."""
        return Bucket(f"quote:{client_id}", self.limits.quote_burst, self.limits.quote_per_second)

    async def quote(
        self, caller: Caller, currency: Currency, settlement: Settlement, amount: Decimal,
        validity_seconds: int | None,
    ) -> QuoteSession:
        """Price and lock a quote for ``caller`` as the store has just admitted it (its quote
        bucket spent: ``caller.spent``)."""
        assert caller.spent is not None, "the quote route spends quote_bucket as it authenticates"
        session = await self.price(caller, currency, settlement, amount, validity_seconds)
        stored = session.to_json()
        await self.store.set_owned(session_key(session.session_id), caller.client.id, stored,
                                   ttl=session.validity_seconds)
        await self._audit_created(caller, session, stored)
        return session

    async def quote_if_current(
        self, caller: Caller, view: list[tuple[str, str | None]], currency: Currency, settlement: Settlement,
        amount: Decimal, validity_seconds: int | None,
    ) -> QuoteSession | tuple[list[str | None], RateDecision] | None:
        """``quote`` in one store round trip, for ``caller`` as this worker last saw it
        (``auth.guard.last_view``): priced from that view, and locked only if the store still
        holds ``view`` and the quote bucket allows, in one atomic step
        (``Store.set_owned_if_current``). The session, when it was; otherwise what the store
        read and decided (the bucket is spent either way: ``quote`` the caller admitted from
        them); ``None`` when the view itself refuses the quote, before anything is spent."""
        try:
            session = await self.price(caller, currency, settlement, amount, validity_seconds)
        except ProblemError:
            return None
        stored = session.to_json()
        values, decision, locked = await self.store.set_owned_if_current(
            view, self.quote_bucket(caller.client.id), session_key(session.session_id), caller.client.id, stored,
            ttl=session.validity_seconds,
        )
        if not locked:
            return values, decision
        await self._audit_created(caller, session, stored)
        return session

    async def price(
        self, caller: Caller, currency: Currency, settlement: Settlement, amount: Decimal,
        validity_seconds: int | None,
    ) -> QuoteSession:
        """Every check of a quote, in the order it answers, and its session (not yet locked).
        The quote bucket is checked when the store has spent it already (``caller.spent``)."""
        data = caller.reference
        now = datetime.now(UTC)
        if not data.controls.flag("quoting_enabled"):
            raise QuotingDisabled("quoting is switched off; try again later")
        if not data.calendar.is_open(now):
            next_open = data.calendar.next_open(now)
            raise MarketClosed("the market is closed", nextOpen=next_open.isoformat() if next_open else None)
        if caller.spent is not None:
            refuse_if_spent(caller.spent, "quotes")
        check_amount(amount, data.controls.decimal("min_order_amount"), data.controls.decimal("max_order_amount"))
        await self.risk.check(caller.client, amount, data, now)
        priced = self.pipeline.quote(caller.client.tier, currency, settlement, data, now, validity_seconds)
        expires_at = now + timedelta(seconds=priced.validity_seconds)
        return QuoteSession.of(new_session_id(), caller.client, amount, total_brl(amount, priced.price), priced,
                               now, expires_at)

    async def _audit_created(self, caller: Caller, session: QuoteSession, stored: str) -> None:
        """SESSION_CREATED, after the lock: one after the other, not gathered (the two tasks a
        gather makes cost the worker more CPU than the Redis round trip costs in latency). Its
        detail is the session as the store holds it (``stored``): every pricing input, and
        whom it was for."""
        try:
            await record("SESSION_CREATED", actor=caller.client.name, source=AuditSource.API,
                         session_id=session.session_id, client_id=caller.client.id, ip_address=caller.ip,
                         detail=JsonText(stored))
        except BaseException:
            # An unaudited quote must not be tradable.
            await self.store.delete(session_key(session.session_id))
            raise

    # -- close ---------------------------------------------------------------------------

    async def close(self, caller: Caller, session_id: str, oid: str | None, replay: str | None) -> CloseResult:
        """``replay`` is what the store holds under the OID key (fetched with the caller's
        record); when set, the first closing answers and nothing else happens."""
        if replay is not None:
            return CloseResult(replay, created=False)
        if not caller.reference.controls.flag("quoting_enabled"):
            raise QuotingDisabled("trading is switched off; the quote stays open until it expires")
        taken = await self.store.take_owned(session_key(session_id), caller.client.id, TOMBSTONE_TTL_SECONDS)
        return await self._book(caller, session_id, oid, *taken)

    async def close_if_current(
        self, caller: Caller, view: list[tuple[str, str | None]], session_id: str, oid: str | None,
    ) -> CloseResult | list[str | None] | None:
        """``close`` in one store round trip before the database, for ``caller`` as this
        worker last saw it (``auth.guard.last_view``): the session is taken only if the store
        still holds ``view`` and no answer under ``oid`` (``Store.take_owned_if_current``). The
        result, when it was taken; otherwise what the store read (``view``'s keys, then the
        OID key when there is an OID: ``close`` the caller admitted from them); ``None`` when
        the view itself refuses the close, before anything is taken."""
        if not caller.reference.controls.flag("quoting_enabled"):
            return None
        expected = [*view, (oid_key(caller.client.id, oid), None)] if oid is not None else view
        values, taken = await self.store.take_owned_if_current(
            expected, session_key(session_id), caller.client.id, TOMBSTONE_TTL_SECONDS)
        if taken is None:
            return values
        return await self._book(caller, session_id, oid, *taken)

    async def _book(self, caller: Caller, session_id: str, oid: str | None, outcome: TakeOutcome,
                    payload: str | None) -> CloseResult:
        """What follows the take: the closing booked, or the refusal the take calls for."""
        client_id = caller.client.id
        if outcome is not TakeOutcome.TAKEN:
            if outcome is not TakeOutcome.NOT_OWNER:
                # The database, not the store, says whether this session traded: a tombstone
                # lost in a Redis failover, or expired, must not make a recorded trade "expired".
                existing = await repository.find(client_id=client_id, session_id=session_id)
                if existing is not None:
                    if oid is not None and existing.oid == oid:
                        return await self._replayed(caller, existing)
                    outcome = TakeOutcome.TAKEN_BEFORE
            await self._refuse(caller, session_id, oid, _refusal(outcome))
        assert payload is not None
        session = QuoteSession.from_json(payload)
        oid = oid or uuid.uuid4().hex
        now = datetime.now(UTC)
        closing, hedge = self.prepare(session, oid, Channel.API, caller.reference, now)
        audit = AuditRow("CLOSE_SUCCESS", caller.client.name, AuditSource.API.value, session_id, oid, closing.id,
                         closing.client_id, caller.ip, {"price": str(closing.price), "totalBrl": str(closing.total_brl)},
                         now)
        try:
            await repository.insert_with_audit(closing, [audit], hedge)
        except IntegrityError:
            return await self._clash(caller, session, oid)
        except Exception:
            database_error("closings.insert")
            await self._put_back(session)
            log.exception("closing could not be recorded", extra={"session_id": session_id})
            raise NotReady("the trade could not be recorded; the quote stays open until it expires, retry") from None
        answer = closing_answer_text(closing)
        await self.store.set(oid_key(client_id, oid), answer, ttl=OID_TTL_SECONDS)
        self.announce(closing, caller.reference)
        return CloseResult(answer, created=True)

    def prepare(self, session: QuoteSession, oid: str, source: Channel, reference: Reference,
                now: datetime) -> tuple[ClosingRow, HedgeRow]:
        """The closing row of ``session`` and its hedge intent, as every channel books them
        (``repository.insert_with_audit`` writes them with the channel's audit rows)."""
        closing = closing_row(session, oid, reference.calendar.settlement_date(now, Settlement(session.settlement)),
                              now, source)
        controls = reference.controls
        hedge = intent(
            closing_id=closing.id, client_name=closing.client_name, side=closing.side, currency=closing.currency,
            settlement=closing.settlement, amount=closing.amount, price=closing.price, mode=str(controls["exec_mode"]),
            hedging_modes=self.hedging_modes, enabled_clients=cast(tuple[str, ...], controls["exec_enabled_clients"]),
            at=now,
        )
        return closing, hedge

    async def _clash(self, caller: Caller, session: QuoteSession, oid: str) -> CloseResult:
        """The insert hit a unique column: the session or the OID has a closing already."""
        same_session = await repository.find(session_id=session.session_id)
        if same_session is not None:
            if same_session.oid == oid:  # a retry after an ambiguous failure
                return await self._replayed(caller, same_session)
            await self._refuse(caller, session.session_id, oid, SessionAlreadyClosed("session already closed"))
        await self._put_back(session)
        same_oid = await repository.find(oid=oid)
        if same_oid is not None and str(same_oid.client_id) == caller.client.id:
            return await self._replayed(caller, same_oid)
        await self._refuse(caller, session.session_id, oid, ValidationFailed("oid: already used", field="oid"))
        raise AssertionError("unreachable")

    async def _replayed(self, caller: Caller, closing: Any) -> CloseResult:
        answer = closing_answer_text(closing)
        await self.store.set(oid_key(caller.client.id, closing.oid), answer, ttl=OID_TTL_SECONDS)
        return CloseResult(answer, created=False)

    async def _put_back(self, session: QuoteSession) -> None:
        left = (session.expires_at - datetime.now(UTC)).total_seconds()
        if left > 0:
            await self.store.set_owned(session_key(session.session_id), session.client_id, session.to_json(), ttl=left)

    async def _refuse(self, caller: Caller, session_id: str, oid: str | None, problem: ProblemError) -> None:
        await record("CLOSE_FAILED", actor=caller.client.name, source=AuditSource.API, session_id=session_id, oid=oid,
                     client_id=caller.client.id, ip_address=caller.ip, detail={"code": problem.code})
        raise problem

    def announce(self, closing: ClosingRow, reference: Reference) -> None:
        """After the commit: count it, tell plugins and operators, alert a large trade."""
        large_trade = reference.controls.decimal("alert_large_trade_amount")
        count(CLOSINGS_CREATED, closing.currency, closing.settlement, closing.source)
        view = closing_view(closing)
        announce(self.notify, closing=view)
        self.feed.emit(EventType.CLOSING_CREATED, view)
        if large_trade > 0 and closing.amount >= large_trade:
            self.alerts.raise_soon(
                kinds.TRADE_LARGE, f"Large trade: {closing.amount.normalize():,f} {closing.currency} {closing.settlement}",
                f"{closing.client_name} bought {closing.amount.normalize():,f} {closing.currency} {closing.settlement} at "
                f"{closing.price} (R$ {closing.total_brl:,.2f}); closing {closing.id}, OID {closing.oid}.",
                key=f"trade:{closing.id}",
            )


def _refusal(outcome: TakeOutcome) -> ProblemError:
    if outcome is TakeOutcome.TAKEN_BEFORE:
        return SessionAlreadyClosed("session already closed")
    if outcome is TakeOutcome.NOT_OWNER:
        return NotFound("no such session")
    return SessionExpired("session expired or unknown; request a new quote")


def check_amount(amount: Decimal, minimum: Decimal, maximum: Decimal) -> None:
    if not amount.is_finite() or amount <= 0:
        raise ValidationFailed("amount: must be a positive number", field="amount")
    exponent = amount.normalize().as_tuple().exponent
    if isinstance(exponent, int) and exponent < -AMOUNT_PLACES:
        raise ValidationFailed(f"amount: at most {AMOUNT_PLACES} decimal places", field="amount")
    if amount < minimum:
        raise ValidationFailed(f"amount: the minimum order is {minimum}", field="amount")
    if amount > maximum:
        raise ValidationFailed(f"amount: the maximum order is {maximum}", field="amount")


def closing_row(session: QuoteSession, oid: str, settlement_date: Any, now: datetime,
                source: Channel = Channel.API) -> ClosingRow:
    return ClosingRow(
        id=uuid.uuid4(), oid=oid, session_id=session.session_id, client_id=uuid.UUID(session.client_id),
        client_name=session.client_name, tier=session.tier, source=source.value, side=Side.SELL.value,
        currency=session.currency, settlement=session.settlement, amount=session.amount, price=session.price,
        total_brl=session.total_brl, status=ClosingStatus.PENDING.value, settlement_date=settlement_date,
        group_id=session.group_id, reference_mode=session.reference_mode, reference_price=session.reference_price,
        spot_at_quote=session.spot_at_quote, binance_at_quote=session.binance_at_quote,
        lp_spread_pct_used=session.lp_spread_pct_used, tier_spread_pct_used=session.tier_spread_pct_used,
        spread_adjustment_used=session.spread_adjustment_used, validity_adder_used=session.validity_adder_used,
        usdt_usdc_ratio_used=session.usdt_usdc_ratio_used, validity_seconds=session.validity_seconds,
        quoted_at=session.quoted_at, created_at=now, updated_at=now,
    )
