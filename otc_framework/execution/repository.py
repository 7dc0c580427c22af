"""The ``hedges`` state machine in the database: every change is a compare-and-set.

A change names the statuses it may start from and applies only if the row is still in one of
them, so two engines, or an engine and an operator, can never both move a hedge: the loser
sees ``None`` and leaves it. A change that matters (filled, failed, unknown, an operator's
action) writes its audit row in the same transaction. Executions are facts the venue
reported: they are recorded whatever the hedge's status, once per venue execution id, and the
hedge's fill (amount, VWAP, chunks, spread capture) is always recomputed from them.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from uuid import UUID

from tortoise.transactions import in_transaction

from otc_framework.audit import trail as audit
from otc_framework.ports import LpExecution, LpFill
from otc_framework.storage.models import AuditSource, Hedge, HedgeExecution, HedgeStatus

# Namespace of the venue order ids: uuid5 of "<hedge id>:<attempt>", so an order id is known,
# stored and reproducible before it is sent, and 36 characters (Talos-style ClOrdID).
ORDER_ID_NAMESPACE = uuid.UUID("6f1d2c1e-9b7a-5c4e-8f3a-0d2b6e8c4a17")
IN_FLIGHT = (HedgeStatus.QUOTING, HedgeStatus.EXECUTING, HedgeStatus.UNKNOWN)
SYSTEM_ACTOR = "execution"
BPS = Decimal(10_000)
PRICE_PLACES = Decimal("0.00000001")
CAPTURE_PLACES = Decimal("0.1")


def client_order_id(hedge_id: UUID | str, attempt: int) -> str:
    return str(uuid.uuid5(ORDER_ID_NAMESPACE, f"{hedge_id}:{attempt}"))


def capture_bps(client_price: Decimal, fill_price: Decimal, side: str) -> Decimal:
    """``(client price − fill) / fill × 10,000`` in full precision for a hedge that buys; a
    hedge that sells captures the other way round."""
    capture = (client_price - fill_price) / fill_price * BPS
    return capture if side == "BUY" else -capture


def spread_capture_bps(client_price: Decimal, fill_price: Decimal, side: str) -> Decimal:
    """``capture_bps`` as a hedge records it: 1 decimal (5.2531 vs 5.2510 → 4.0)."""
    return capture_bps(client_price, fill_price, side).quantize(CAPTURE_PLACES, ROUND_HALF_UP)


@dataclass(frozen=True, slots=True)
class Audit:
    """The audit row a change writes with it."""

    action: str
    actor: str = SYSTEM_ACTOR
    source: AuditSource = AuditSource.SYSTEM
    ip_address: str | None = None
    detail: dict[str, Any] | None = None


def _now() -> datetime:
    return datetime.now(UTC)


async def get(hedge_id: UUID | str) -> Hedge | None:
    return await Hedge.filter(id=hedge_id).first()


async def transition(
    hedge_id: UUID | str, start: Collection[HedgeStatus], to: HedgeStatus, audited: Audit | None = None,
    **changes: Any,
) -> Hedge | None:
    """Move the hedge to ``to`` if it is in one of ``start``; the hedge as it is now, or
    ``None`` when it was not in ``start`` (someone else moved it)."""
    async with in_transaction() as conn:
        moved = await Hedge.filter(id=hedge_id, status__in=list(start)).using_db(conn).update(
            status=to, updated_at=_now(), **changes
        )
        if not moved:
            return None
        hedge = await Hedge.get(id=hedge_id, using_db=conn)
        if audited is not None:
            await _audit(hedge, audited, conn)
        return hedge


async def claim_pending(limit: int) -> list[Hedge]:
    """The oldest pending hedges, each moved to ``quoting`` under its next attempt's order id.

    On PostgreSQL the rows are locked with ``FOR UPDATE SKIP LOCKED``, so a second engine
    (a lease that moved while the first still ran) claims other rows, never the same ones; on
    SQLite (one process) the compare-and-set alone decides.
    """
    claimed: list[Hedge] = []
    async with in_transaction() as conn:
        rows = await (
            Hedge.filter(status=HedgeStatus.PENDING).order_by("created_at").limit(limit)
            .select_for_update(skip_locked=True).using_db(conn)
        )
        for row in rows:
            attempt = row.attempt + 1
            moved = await Hedge.filter(id=row.id, status=HedgeStatus.PENDING).using_db(conn).update(
                status=HedgeStatus.QUOTING, attempt=attempt, client_order_id=client_order_id(row.id, attempt),
                provider=None, quote_id=None, quote_price=None, quote_valid_until=None, reason=None,
                next_check_at=None, checks=0, updated_at=_now(),
            )
            if moved:
                claimed.append(await Hedge.get(id=row.id, using_db=conn))
    return claimed


async def in_flight() -> list[Hedge]:
    return await Hedge.filter(status__in=list(IN_FLIGHT)).order_by("created_at")


async def due_checks(now: datetime, limit: int) -> list[Hedge]:
    """Unknown outcomes whose next look at the venue is due."""
    return await (
        Hedge.filter(status=HedgeStatus.UNKNOWN, next_check_at__lte=now).order_by("next_check_at").limit(limit)
    )


async def record_executions(
    hedge_id: UUID | str, attempt: int, provider: str, order_id: str, executions: Sequence[LpExecution],
    *, complete_from: Collection[HedgeStatus], audited: Audit,
) -> tuple[Hedge, bool]:
    """Record what the venue executed for the hedge (new execution ids only) and recompute its
    fill; when the fill covers the amount and the hedge is in one of ``complete_from``, it
    becomes ``filled`` (audited with ``audited``). The hedge, and whether it became filled now."""
    async with in_transaction() as conn:
        hedge = await Hedge.filter(id=hedge_id).using_db(conn).select_for_update().get()
        rows = await HedgeExecution.filter(hedge_id=hedge.id).using_db(conn).values_list("execution_id", flat=True)
        known = {str(execution_id) for execution_id in rows}
        fresh = [e for e in {e.execution_id: e for e in executions}.values() if e.execution_id not in known]
        if fresh:
            await HedgeExecution.bulk_create(
                [HedgeExecution(hedge_id=hedge.id, attempt=attempt, provider=provider, client_order_id=order_id,
                                execution_id=e.execution_id, amount=e.amount, price=e.price, executed_at=e.executed_at)
                 for e in fresh],
                using_db=conn,
            )
        every = await HedgeExecution.filter(hedge_id=hedge.id).using_db(conn)
        changes = _fill_of(hedge, every)
        filled_now = hedge.status in complete_from and changes["filled_amount"] >= hedge.amount
        if filled_now:
            changes.update(status=HedgeStatus.FILLED, provider=provider, reason=None, next_check_at=None,
                           filled_at=max(e.executed_at for e in every))
        if fresh or filled_now:
            await Hedge.filter(id=hedge.id).using_db(conn).update(updated_at=_now(), **changes)
            hedge = await Hedge.get(id=hedge.id, using_db=conn)
        if filled_now:
            await _audit(hedge, audited, conn)
        return hedge, filled_now


def _fill_of(hedge: Hedge, executions: Sequence[HedgeExecution]) -> dict[str, Any]:
    if not executions:
        return {"filled_amount": Decimal(0), "fill_price": None, "chunks": 0, "spread_capture_bps": None}
    fill = LpFill.aggregate(hedge.provider or "", hedge.quote_id or "", [
        LpExecution(e.execution_id, e.amount, e.price, e.executed_at) for e in executions])
    return {
        "filled_amount": fill.amount, "fill_price": fill.price.quantize(PRICE_PLACES, ROUND_HALF_UP),
        "chunks": fill.chunks, "spread_capture_bps": spread_capture_bps(hedge.client_price, fill.price, hedge.side),
    }


async def executions_of(hedge_id: UUID | str) -> list[HedgeExecution]:
    return await HedgeExecution.filter(hedge_id=hedge_id).order_by("executed_at", "id")


async def _audit(hedge: Hedge, audited: Audit, conn: Any) -> None:
    detail = {
        "hedgeId": str(hedge.id), "status": hedge.status.value, "provider": hedge.provider, "attempt": hedge.attempt,
        "clientOrderId": hedge.client_order_id, "amount": str(hedge.amount), "filledAmount": str(hedge.filled_amount),
        "fillPrice": None if hedge.fill_price is None else str(hedge.fill_price),
        "spreadCaptureBps": None if hedge.spread_capture_bps is None else str(hedge.spread_capture_bps),
        "reason": hedge.reason, **(audited.detail or {}),
    }
    await audit.record(audited.action, actor=audited.actor, source=audited.source, closing_id=hedge.closing_id,
                       ip_address=audited.ip_address, detail=detail, using_db=conn)
