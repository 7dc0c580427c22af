"""Closings for the desk (SPEC §9): find them, move them through settlement, send them on.

Lifecycle actions are a compare-and-set: ``UPDATE closings SET status = to WHERE id = ? AND
status = from``, where ``from`` is the status the operator saw, in one transaction with its
audit row. Whatever the concurrency (a double click, two operators, two workers) one
request moves the trade one step; the others answer STATUS_CONFLICT with the status it has
now, and write nothing. ``from`` itself is checked against the transition table first, so an
action that could never apply answers ILLEGAL_TRANSITION without reading the row.

Send-to-desk changes no status and is allowed from ``paid`` only. Decisions:

- a store lock per closing (``desk-send:<id>``) stops a second concurrent send; it lives at
  least as long as the slowest possible call, so it never lapses mid-call;
- every call that was made is audited (``closing.send_to_desk``, accepted or failed) in its
  own transaction after it; a refusal before any call (not paid, no counterparty, no desk
  endpoint, a send in progress) is not, since nothing left the desk;
- the call and its audit row run shielded from the request's cancellation: an operator who
  closes the console mid-call must not leave a trade sent but unaudited, nor the lock held;
- a paid closing may be sent again (say after a failure, or when the desk asks): the
  idempotency key is the closing id, so the desk can tell a re-send from a new trade.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import httpx
from tortoise.queryset import QuerySet
from tortoise.timezone import now
from tortoise.transactions import in_transaction

from otc_framework.admin import desk_endpoint, lifecycle
from otc_framework.admin.access import Actor, Backoffice
from otc_framework.admin.desk_endpoint import Delivery
from otc_framework.admin.feed import EventType
from otc_framework.admin.lifecycle import Action
from otc_framework.announce import announce
from otc_framework.audit import record
from otc_framework.audit.query import closing_trail
from otc_framework.closings.schemas import closing_view
from otc_framework.config import DeskConfig
from otc_framework.errors import NotFound, NotReady, StatusConflict, ValidationFailed
from otc_framework.storage.models import AuditLog, Client, Closing, ClosingStatus, Currency, Hedge, Settlement

SEND_LOCK_MIN_SECONDS = 60.0


def closing_key(closing_id: str) -> UUID:
    """The closing id of a path; NOT_FOUND for anything that cannot be one."""
    try:
        return UUID(closing_id)
    except ValueError:
        raise NotFound("no such closing") from None


def matching(
    *,
    status: ClosingStatus | None = None,
    client_id: UUID | None = None,
    currency: Currency | None = None,
    settlement: Settlement | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> QuerySet[Closing]:
    """Closings matching every given filter (``createdAt`` in ``[since, until)``), unordered:
    page them with ``web.pages.newest_first``."""
    exact = {"status": status, "client_id": client_id, "currency": currency, "settlement": settlement}
    query = Closing.filter(**{k: v for k, v in exact.items() if v is not None})
    if since is not None:
        query = query.filter(created_at__gte=since)
    if until is not None:
        query = query.filter(created_at__lt=until)
    return query


@dataclass(frozen=True, slots=True)
class ClosingRecord:
    closing: Closing
    trail: list[AuditLog]
    hedge: Hedge | None


async def closing_record(closing_id: str) -> ClosingRecord:
    key = closing_key(closing_id)
    closing = await Closing.filter(id=key).first()
    if closing is None:
        raise NotFound("no such closing")
    trail = await closing_trail(key, closing.session_id)
    return ClosingRecord(closing, trail, await Hedge.filter(closing_id=key).first())


def _moved_meanwhile(current: str, seen: ClosingStatus) -> StatusConflict:
    return StatusConflict(f"the closing is {current} now, not {seen.value}: reload it and decide again",
                          current=str(current))


async def transition(closing_id: str, action: Action, seen: ClosingStatus, *, office: Backoffice,
                     actor: Actor) -> Closing:
    """Apply ``action`` to a closing the operator saw in ``seen``; the closing as it is now."""
    key = closing_key(closing_id)
    to = lifecycle.target(action, seen)
    async with in_transaction() as conn:
        moved = await Closing.filter(id=key, status=seen).using_db(conn).update(status=to, updated_at=now())
        closing = await Closing.filter(id=key).using_db(conn).first()
        if closing is None:
            raise NotFound("no such closing")
        if not moved:
            raise _moved_meanwhile(closing.status, seen)
        await record(
            action.audit_action, **actor.audit(), closing_id=key, client_id=closing.client_id, oid=closing.oid,
            detail={"before": {"status": seen.value}, "after": {"status": to.value}}, using_db=conn,
        )
    view = closing_view(closing)
    announce(office.hooks.otc_closing_status_changed, closing=view, previous_status=seen.value, actor=actor.name)
    office.feed.emit(EventType.CLOSING_STATUS_CHANGED,
                     {"closing": view, "previousStatus": seen.value, "action": action.value, "actor": actor.name})
    return closing


async def send_to_desk(closing_id: str, seen: ClosingStatus, *, office: Backoffice, actor: Actor,
                       desk: DeskConfig, http: httpx.AsyncClient) -> tuple[Closing, Delivery]:
    """POST a paid closing to the desk endpoint; the closing and the accepted delivery, or
    NOT_READY saying why the desk did not take it (the audit row records it either way)."""
    key = closing_key(closing_id)
    lifecycle.check_sendable(seen)
    desk_endpoint.endpoint_url(desk)
    lock = f"desk-send:{key}"
    if not await office.store.set_if_absent(lock, actor.name, ttl=_lock_seconds(desk)):
        raise StatusConflict("this closing is already being sent to the desk; wait for that send to finish")
    closing, delivery = await asyncio.shield(_send_locked(key, seen, lock, office, actor, desk, http))
    if not delivery.accepted:
        raise NotReady(
            f"send-to-desk failed: {delivery.error} ({delivery.attempts} attempt(s)); "
            "nothing changed, the closing can be sent again",
            desk={"outcome": delivery.outcome, "httpStatus": delivery.http_status, "attempts": delivery.attempts},
        )
    office.feed.emit(EventType.CLOSING_SENT_TO_DESK, {
        "closing": closing_view(closing), "actor": actor.name,
        "desk": {"outcome": delivery.outcome, "httpStatus": delivery.http_status, "attempts": delivery.attempts},
    })
    return closing, delivery


async def _send_locked(key: UUID, seen: ClosingStatus, lock: str, office: Backoffice, actor: Actor,
                       desk: DeskConfig, http: httpx.AsyncClient) -> tuple[Closing, Delivery]:
    try:
        closing = await Closing.filter(id=key).first()
        if closing is None:
            raise NotFound("no such closing")
        if closing.status != seen:
            raise _moved_meanwhile(closing.status, seen)
        client = await Client.get(id=closing.client_id)
        counterparty = (client.counterparty_id or "").strip()
        if not counterparty:
            raise ValidationFailed(
                f"counterpartyId: client {client.name!r} has no counterparty id; set it on the client first",
                field="counterpartyId",
            )
        notice = desk_endpoint.trade_notice(closing, counterparty)
        delivery = await desk_endpoint.deliver(http, desk, notice, str(key))
        async with in_transaction() as conn:
            await record(
                "closing.send_to_desk", **actor.audit(), closing_id=key, client_id=closing.client_id,
                oid=closing.oid, using_db=conn,
                detail={"outcome": delivery.outcome, "httpStatus": delivery.http_status,
                        "attempts": delivery.attempts, "flow": notice["flow"], "counterparty": counterparty,
                        "error": delivery.error},
            )
        return closing, delivery
    finally:
        await office.store.delete(lock)


def _lock_seconds(desk: DeskConfig) -> float:
    """Long enough for the slowest call ``desk`` allows, so the lock never lapses mid-send."""
    waits = sum(max(desk.retry_backoff_seconds * a, desk_endpoint.RETRY_AFTER_CAP_SECONDS)
                for a in range(1, desk.attempts))
    return max(SEND_LOCK_MIN_SECONDS, desk.attempts * desk.timeout_seconds + waits + 1)
