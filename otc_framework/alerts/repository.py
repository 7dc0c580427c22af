"""The alert queue's SQL: alerts as raised, one delivery row per alert and sink.

The delivery rows are the durable outbound queue: an alert is queued by committing its rows,
so it survives a restart, and the delivery loop drains each sink's rows oldest first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from tortoise.queryset import QuerySet
from tortoise.transactions import in_transaction

from otc_framework.ports import Alert
from otc_framework.storage.models import AlertDelivery, AlertDeliveryStatus, AlertRecord

PENDING = (AlertDeliveryStatus.QUEUED, AlertDeliveryStatus.RETRYING)


def matching(kind: str | None = None, severity: str | None = None, since: datetime | None = None,
             until: datetime | None = None) -> QuerySet[AlertRecord]:
    """The alerts an operator's filters select, unordered (page them with ``web.pages.newest_first``)."""
    query = AlertRecord.all()
    if kind is not None:
        query = query.filter(kind=kind)
    if severity is not None:
        query = query.filter(severity=severity)
    if since is not None:
        query = query.filter(created_at__gte=since)
    if until is not None:
        query = query.filter(created_at__lt=until)
    return query


async def deliveries_of(alerts: Sequence[AlertRecord]) -> dict[int, list[AlertDelivery]]:
    """The deliveries of ``alerts``, by alert id, in one query."""
    found: dict[int, list[AlertDelivery]] = {alert.id: [] for alert in alerts}
    if found:
        for delivery in await AlertDelivery.filter(alert_id__in=list(found)):
            found[delivery.alert_id].append(delivery)
    return found


async def insert(alert: Alert, sinks: Sequence[str]) -> AlertRecord:
    """Record ``alert`` with a queued delivery for each of ``sinks``, in one transaction."""
    async with in_transaction() as connection:
        record = await AlertRecord.create(
            kind=alert.kind, severity=alert.severity, title=alert.title, detail=alert.detail,
            dedup_key=alert.dedup_key, using_db=connection,
        )
        if sinks:
            await AlertDelivery.bulk_create(
                [AlertDelivery(alert_id=record.id, sink=sink, next_attempt_at=record.created_at) for sink in sinks],
                using_db=connection,
            )
    return record


def as_alert(record: AlertRecord) -> Alert:
    return Alert(
        kind=record.kind, title=record.title, detail=record.detail, dedup_key=record.dedup_key,
        severity=record.severity,  # type: ignore[arg-type]  # written from a Severity
        raised_at=record.created_at,
    )


@dataclass(frozen=True, slots=True)
class Due:
    """The head of one sink's queue: the oldest delivery not yet final, and its alert."""

    delivery: AlertDelivery
    alert: Alert


async def head(sink: str) -> Due | None:
    """The oldest pending delivery of ``sink``. Later ones wait behind it even when it is not
    due yet, so a sink receives alerts in the order they were raised."""
    delivery = (
        await AlertDelivery.filter(sink=sink, status__in=PENDING).order_by("alert_id").select_related("alert").first()
    )
    if delivery is None:
        return None
    return Due(delivery, as_alert(delivery.alert))


async def mark_sent(delivery: AlertDelivery, now: datetime) -> None:
    await _update(delivery, status=AlertDeliveryStatus.SENT, attempts=delivery.attempts + 1, sent_at=now,
                  last_error=None)


async def mark_retry(delivery: AlertDelivery, error: str, retry_at: datetime) -> None:
    await _update(delivery, status=AlertDeliveryStatus.RETRYING, attempts=delivery.attempts + 1, last_error=error,
                  next_attempt_at=retry_at)


async def mark_failed(delivery: AlertDelivery, error: str, *, attempted: bool = True) -> None:
    attempts = delivery.attempts + 1 if attempted else delivery.attempts
    await _update(delivery, status=AlertDeliveryStatus.FAILED, attempts=attempts, last_error=error)


async def fail_pending(sink: str, error: str, now: datetime) -> int:
    """Give up every pending delivery of a stopped sink; how many there were."""
    return await AlertDelivery.filter(sink=sink, status__in=PENDING).update(
        status=AlertDeliveryStatus.FAILED, last_error=error, updated_at=now
    )


async def _update(delivery: AlertDelivery, **changes: object) -> None:
    for name, value in changes.items():
        setattr(delivery, name, value)
    await delivery.save(update_fields=[*changes, "updated_at"])
