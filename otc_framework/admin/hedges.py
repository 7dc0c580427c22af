"""Hedges for operators (SPEC §9, §10): find them, and the three things an operator may do to
one: retry a failed hedge, release a held one, mark one filled by hand. The admin API and
``otc hedges`` both act through the functions here.

Every action is a compare-and-set on the status the operator saw (``from``), like the closing
lifecycle (``admin.closings``): ``from`` is first checked against ``ALLOWED_FROM`` (an action
it never allows is ILLEGAL_TRANSITION, without reading the row), then the change applies only
if the hedge is still in ``from`` (otherwise STATUS_CONFLICT with the status it has now), in
one transaction with its audit row. After the commit the change is reported through the
``HedgeRecorder`` without an alert: the operator is the one acting.
"""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Protocol
from uuid import UUID
from zoneinfo import ZoneInfo

from tortoise.queryset import QuerySet
from tortoise.transactions import in_transaction

from otc_framework.admin.access import Actor
from otc_framework.calendar import MarketCalendar
from otc_framework.errors import IllegalTransition, NotFound, StatusConflict, ValidationFailed
from otc_framework.execution import repository
from otc_framework.execution.recorder import HedgeRecorder
from otc_framework.execution.repository import Audit
from otc_framework.ports import LpExecution
from otc_framework.risk.business_day import business_day
from otc_framework.storage.models import AuditLog, Hedge, HedgeExecution, HedgeStatus


class HedgeAction(StrEnum):
    RETRY = "retry"
    RELEASE = "release"
    MARK_FILLED = "mark-filled"

    @property
    def audit_action(self) -> str:
        return f"hedge.{self.value.replace('-', '_')}"


_S = HedgeStatus
# Retry only what is known to have failed: an unknown outcome may still have executed, and
# sending it again could hedge twice (SPEC §10, "Exactly once").
ALLOWED_FROM: dict[HedgeAction, tuple[HedgeStatus, ...]] = {
    HedgeAction.RETRY: (_S.FAILED,),
    HedgeAction.RELEASE: (_S.HELD,),
    HedgeAction.MARK_FILLED: (_S.UNKNOWN, _S.FAILED, _S.HELD),
}


def hedge_key(hedge_id: str) -> UUID:
    """The hedge id of a path; NOT_FOUND for anything that cannot be one."""
    try:
        return UUID(hedge_id)
    except ValueError:
        raise NotFound("no such hedge") from None


def matching(
    *,
    status: HedgeStatus | None = None,
    provider: str | None = None,
    closing_id: UUID | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> QuerySet[Hedge]:
    """Hedges matching every given filter (``createdAt`` in ``[since, until)``), unordered:
    page them with ``web.pages.newest_first``."""
    exact = {"status": status, "provider": provider, "closing_id": closing_id}
    query = Hedge.filter(**{k: v for k, v in exact.items() if v is not None})
    if since is not None:
        query = query.filter(created_at__gte=since)
    if until is not None:
        query = query.filter(created_at__lt=until)
    return query


def today(calendar: MarketCalendar, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The current business day's window (``risk.business_day``), where the list looks by default."""
    day = business_day(calendar, zone, datetime.now(UTC))
    return _in_utc(day.start), _in_utc(day.end)


def on_day(day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The window of a calendar day in ``zone``: ``since=D&until=D+1`` in the API's terms."""
    return _in_utc(datetime.combine(day, time(), zone)), _in_utc(datetime.combine(day + timedelta(days=1), time(), zone))


def _in_utc(moment: datetime) -> datetime:
    # Bounds go to the database in UTC, as the API's time filters do: SQLite compares the
    # stored text, which is only in instant order within one offset.
    return moment.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class HedgeRecord:
    hedge: Hedge
    executions: list[HedgeExecution]
    trail: list[AuditLog]


async def hedge_of(hedge_id: str) -> Hedge:
    hedge = await repository.get(hedge_key(hedge_id))
    if hedge is None:
        raise NotFound("no such hedge")
    return hedge


async def hedge_record(hedge_id: str) -> HedgeRecord:
    """A hedge, its venue executions and its audit rows (``hedge.*`` on its closing), oldest first."""
    hedge = await hedge_of(hedge_id)
    trail = await AuditLog.filter(closing_id=hedge.closing_id, action__startswith="hedge.").order_by("created_at", "id")
    return HedgeRecord(hedge, await repository.executions_of(hedge.id), list(trail))


def _check_allowed(action: HedgeAction, seen: HedgeStatus) -> None:
    allowed = ALLOWED_FROM[action]
    if seen not in allowed:
        names = " or ".join(s.value for s in allowed)
        raise IllegalTransition(f"cannot {action.value} a {seen.value} hedge: {action.value} applies to {names}",
                                action=action.value, **{"from": seen.value})


async def _moved_meanwhile(key: UUID, seen: HedgeStatus) -> StatusConflict:
    """STATUS_CONFLICT with the hedge's status now; NOT_FOUND when there is no such hedge."""
    hedge = await repository.get(key)
    if hedge is None:
        raise NotFound("no such hedge")
    return StatusConflict(f"the hedge is {hedge.status.value} now, not {seen.value}: reload it and decide again",
                          current=hedge.status.value)


def _audit(action: HedgeAction, actor: Actor, seen: HedgeStatus, **detail: str) -> Audit:
    return Audit(action.audit_action, actor=actor.name, source=actor.source, ip_address=actor.ip,
                 detail={"from": seen.value, **detail})


async def _back_to_pending(action: HedgeAction, hedge_id: str, seen: HedgeStatus, actor: Actor,
                           recorder: HedgeRecorder, **changes: str) -> Hedge:
    key = hedge_key(hedge_id)
    _check_allowed(action, seen)
    moved = await repository.transition(key, [seen], HedgeStatus.PENDING, _audit(action, actor, seen), **changes)
    if moved is None:
        raise await _moved_meanwhile(key, seen)
    recorder.changed(moved, alert=False)
    return moved


class BackToPending(Protocol):
    """``retry`` and ``release``: the actions that hand a hedge back to the engine."""

    def __call__(self, hedge_id: str, seen: HedgeStatus, *, actor: Actor,
                 recorder: HedgeRecorder) -> Awaitable[Hedge]: ...


async def retry(hedge_id: str, seen: HedgeStatus, *, actor: Actor, recorder: HedgeRecorder) -> Hedge:
    """Send a failed hedge back to ``pending``: the engine claims it again under its next
    attempt, so with a new order id derived from it; the failed order is never re-sent."""
    return await _back_to_pending(HedgeAction.RETRY, hedge_id, seen, actor, recorder)


async def release(hedge_id: str, seen: HedgeStatus, *, actor: Actor, recorder: HedgeRecorder) -> Hedge:
    """Let a held hedge (above ``exec_max_order_amount``) go to the market: back to ``pending``
    with ``released_by`` set, which the engine takes as leave to send it whatever its size."""
    return await _back_to_pending(HedgeAction.RELEASE, hedge_id, seen, actor, recorder, released_by=actor.name)


@dataclass(frozen=True, slots=True)
class ManualFill:
    """What the venue says it executed for a hedge; ``amount`` and ``provider`` default to the
    hedge's unfilled amount and its provider."""

    venue_reference: str
    fill_price: Decimal
    amount: Decimal | None = None
    provider: str | None = None


async def mark_filled(hedge_id: str, seen: HedgeStatus, fill: ManualFill, *, actor: Actor,
                      recorder: HedgeRecorder) -> Hedge:
    """Record that the venue executed what is left of a hedge, and mark it ``filled``.

    The fill is recorded as one venue execution whose id is ``venue_reference``, the venue's own
    trade (execution) id: executions are counted once per id, so if the engine later finds the
    same execution by asking the venue about an unknown outcome, it is not counted again. Only
    the whole unfilled amount can be marked (partial manual fills are not supported: the hedge
    would stay open with nobody driving it). The spread capture is recomputed from the
    executions, as for any fill. A ``venue_reference`` the venue already reported for this hedge
    is refused: it cannot be what is left. Everything happens in one transaction that starts by
    setting ``venue_reference`` where the status is still ``seen`` (which locks the row on
    PostgreSQL), so a refusal or a hedge moved meanwhile changes nothing.
    """
    key = hedge_key(hedge_id)
    _check_allowed(HedgeAction.MARK_FILLED, seen)
    async with in_transaction():
        moved = await Hedge.filter(id=key, status=seen).update(venue_reference=fill.venue_reference,
                                                                updated_at=datetime.now(UTC))
        if not moved:
            raise await _moved_meanwhile(key, seen)
        hedge = await hedge_of(hedge_id)
        execution, provider = _execution_of(hedge, fill)
        # Claimed hedges always carry an order id; the venue's reference stands in for one that
        # was never claimed, since an execution row must name the order it belongs to.
        order_id = hedge.client_order_id or fill.venue_reference
        audited = _audit(HedgeAction.MARK_FILLED, actor, seen, venueReference=fill.venue_reference,
                         price=str(execution.price), executedAmount=str(execution.amount))
        hedge, filled_now = await repository.record_executions(
            key, hedge.attempt, provider, order_id, [execution],
            complete_from=ALLOWED_FROM[HedgeAction.MARK_FILLED], audited=audited,
        )
        if not filled_now:
            raise ValidationFailed(
                f"venueReference: the venue already reported execution {fill.venue_reference!r} for this hedge",
                field="venueReference")
    recorder.changed(hedge, alert=False)
    return hedge


def _execution_of(hedge: Hedge, fill: ManualFill) -> tuple[LpExecution, str]:
    """The execution ``fill`` reports and its provider; VALIDATION_ERROR when it cannot complete
    the hedge or names no provider."""
    unfilled = hedge.amount - hedge.filled_amount
    amount = unfilled if fill.amount is None else fill.amount
    if amount != unfilled:
        raise ValidationFailed(
            f"amount: {unfilled.normalize():f} is unfilled; a manual fill covers all of it "
            "(partial manual fills are not supported)", field="amount")
    provider = fill.provider or hedge.provider
    if provider is None:
        raise ValidationFailed("provider: the hedge has no provider; name the venue that executed it",
                               field="provider")
    return LpExecution(fill.venue_reference, amount, fill.fill_price, datetime.now(UTC)), provider
