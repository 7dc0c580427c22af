"""Raising an alert (SPEC §13): the one call every part of the desk makes.

``raise_alert`` drops a repeat (the same dedup key within ``[alerts] dedup_seconds``, across
workers through the store), then commits the alert with one queued delivery per sink whose
routing accepts it. That commit is the whole cost to the caller: no sink is called here. The
delivery loop (``alerts.dispatcher``) sends it later, in the one process holding its lease.

``raise_soon`` does the same in the background, for callers that must not wait even for
that write (a trade that has just committed) or that are not async (notification hooks).

Alerts are not audited (the audit trail records what people and the desk did); they are
listed from their own tables. If the database cannot take the alert, it is logged in full
at ERROR so the log still holds it, and the caller carries on.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

from otc_framework.admin.feed import AdminFeed, EventType
from otc_framework.alerts import repository
from otc_framework.alerts.schemas import AlertView
from otc_framework.config import AlertsConfig
from otc_framework.errors import StoreError
from otc_framework.metrics import ALERTS_RAISED, ALERTS_SUPPRESSED, database_error
from otc_framework.ports import Alert, Severity
from otc_framework.storage.models import AlertRecord
from otc_framework.storage.store import Store

log = logging.getLogger(__name__)

DRAIN_SECONDS = 5.0


def dedup_key(key: str) -> str:
    return f"alerts:dedup:{key}"


class AlertService:
    def __init__(self, store: Store, feed: AdminFeed, config: AlertsConfig, sinks: Sequence[str]) -> None:
        self.store = store
        self.feed = feed
        self.config = config
        self.sinks = list(sinks)
        self._background: set[asyncio.Task[Any]] = set()

    async def raise_alert(
        self, kind: str, title: str, detail: str, *, severity: Severity = "warning", key: str | None = None,
        every_sink: bool = False,
    ) -> AlertRecord | None:
        """Queue an alert; ``None`` when it was a repeat or could not be recorded.

        ``key`` defaults to ``kind``; ``every_sink`` skips routing and deduplication (the
        operator's test alert must reach every sink, every time).
        """
        alert = Alert(kind=kind, title=title[:200], detail=detail, dedup_key=(key or kind)[:200], severity=severity)
        if not every_sink and await self._repeated(alert):
            ALERTS_SUPPRESSED.labels(kind=kind).inc()
            return None
        sinks = self.sinks if every_sink else [s for s in self.sinks if self.config.routing(s).accepts(kind, severity)]
        try:
            record = await repository.insert(alert, sinks)
        except Exception:
            database_error("alerts.raise")
            log.exception("alert could not be recorded", extra={"kind": kind, "title": alert.title,
                                                                 "detail": alert.detail, "severity": severity})
            return None
        ALERTS_RAISED.labels(kind=kind, severity=severity).inc()
        self.feed.emit(EventType.ALERT_RAISED, AlertView.raised(record, sinks).model_dump(mode="json", by_alias=True))
        return record

    def raise_soon(self, kind: str, title: str, detail: str, *, severity: Severity = "warning",
                   key: str | None = None) -> None:
        """``raise_alert`` in the background; never blocks, never raises."""
        task = asyncio.create_task(self.raise_alert(kind, title, detail, severity=severity, key=key),
                                   name=f"alert:{kind}")
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def stop(self) -> None:
        """Let alerts being raised in the background reach the database before shutting down."""
        if self._background:
            await asyncio.wait(list(self._background), timeout=DRAIN_SECONDS)

    async def _repeated(self, alert: Alert) -> bool:
        window = self.config.dedup_seconds
        if window <= 0:
            return False
        try:
            return not await self.store.set_if_absent(dedup_key(alert.dedup_key), "1", ttl=window)
        except StoreError:
            # A repeat delivered beats an alert lost while the store is down.
            return False
