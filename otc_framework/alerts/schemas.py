"""How alerts are asked for and shown to operators (``GET /v1/admin/alerts``, the admin stream)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Literal

from pydantic import Field

from otc_framework.admin.audit_schemas import TimeWindowQuery
from otc_framework.ports import Severity
from otc_framework.storage.models import AlertDelivery, AlertDeliveryStatus, AlertRecord
from otc_framework.web.bodies import AnswerModel


class AlertQuery(TimeWindowQuery):
    kind: str | None = Field(None, max_length=64, description="Exact kind, e.g. spot.failing")
    severity: Literal["info", "warning", "critical"] | None = None


class DeliveryView(AnswerModel):
    sink: str
    status: AlertDeliveryStatus = Field(description="queued, retrying (see nextAttemptAt), sent or failed")
    attempts: int
    last_error: str | None
    next_attempt_at: datetime | None = Field(description="When the next try is due; null once final")
    sent_at: datetime | None

    @classmethod
    def of(cls, row: AlertDelivery) -> DeliveryView:
        final = row.status in (AlertDeliveryStatus.SENT, AlertDeliveryStatus.FAILED)
        return cls(sink=row.sink, status=row.status, attempts=row.attempts, last_error=row.last_error,
                   next_attempt_at=None if final else row.next_attempt_at, sent_at=row.sent_at)


class AlertView(AnswerModel):
    id: int
    kind: str
    severity: Severity
    title: str
    detail: str
    dedup_key: str
    created_at: datetime
    deliveries: list[DeliveryView] = Field(description="One per sink the alert was routed to, by sink name")

    @classmethod
    def of(cls, record: AlertRecord, deliveries: Sequence[AlertDelivery]) -> AlertView:
        return cls(
            id=record.id, kind=record.kind, severity=record.severity,
            title=record.title, detail=record.detail, dedup_key=record.dedup_key, created_at=record.created_at,
            deliveries=[DeliveryView.of(d) for d in sorted(deliveries, key=lambda d: d.sink)],
        )

    @classmethod
    def raised(cls, record: AlertRecord, sinks: Sequence[str]) -> AlertView:
        """The view of an alert just queued: every delivery queued, none tried."""
        return cls.of(record, [AlertDelivery(alert_id=record.id, sink=s, next_attempt_at=record.created_at)
                               for s in sinks])


class AlertPage(AnswerModel):
    items: list[AlertView]
    next_cursor: str | None = Field(None, description="Pass as `cursor` for the next (older) page; null at the end")
