"""The admin event feed: what operators watch live on ``WS /v1/ws/closings``.

Writers (the trading path, the admin services) ``emit`` an event after their change has
committed; every worker's admin sockets receive it through the store's pub/sub channel
``CHANNEL``, so an operator connected to one worker sees what happened on any other.

``emit`` never waits and never fails: events go into a bounded per-worker queue that one task
publishes in order. A trade is never slowed by the feed, and a store outage loses live events
(logged), never a write: the database and its audit trail stay the record, and a console that
reconnects re-reads them. Message shape::

    {"type": "closing.status_changed", "at": "2026-11-21T12:00:00.123456+00:00", "data": {...}}

Events that may leave a hedge to work (a closing committed, a hedge sent back to pending)
are also signalled on ``WORK_CHANNEL``, once for all of them that left the queue together:
every worker's execution loop follows that channel (``execution.wakeup``) rather than this
one, so no worker reads and parses every trade's event, nor Redis sends it to each, unless
an operator is watching.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import Any

from otc_framework.errors import StoreError
from otc_framework.storage.models import HedgeStatus, encode_json
from otc_framework.storage.store import Store
from otc_framework.tasks import cancel_and_wait

log = logging.getLogger(__name__)

CHANNEL = "admin"
WORK_CHANNEL = "admin:work"
QUEUE_LIMIT = 10_000
DRAIN_SECONDS = 2.0


class EventType:
    """The ``type`` of every admin event."""

    CLOSING_CREATED = "closing.created"
    CLOSING_STATUS_CHANGED = "closing.status_changed"
    CLOSING_SENT_TO_DESK = "closing.sent_to_desk"
    CLIENT_CHANGED = "client.changed"
    CONTROL_CHANGED = "control.changed"
    SPREAD_CHANGED = "spread.changed"
    LP_SPREAD_CHANGED = "lp_spread.changed"
    HOLIDAYS_CHANGED = "holidays.changed"
    ALERT_RAISED = "alert.raised"
    LP_TICK = "lp.tick"
    LP_FALLBACK = "lp.fallback"
    HEDGE_CHANGED = "hedge.changed"
    BOT_SESSION_CHANGED = "bot.session"
    BOT_REFUSED = "bot.refused"


def event_message(kind: str, data: dict[str, Any]) -> str:
    return encode_json({"type": kind, "at": datetime.now(UTC).isoformat(), "data": data})


def leaves_work(kind: str, data: dict[str, Any]) -> bool:
    """Whether an event may leave a hedge for the execution engine to work."""
    return kind == EventType.CLOSING_CREATED or (
        kind == EventType.HEDGE_CHANGED and data.get("status") == HedgeStatus.PENDING)


class AdminFeed:
    def __init__(self, store: Store) -> None:
        self.store = store
        # Each event's message, and whether it leaves work (``leaves_work``).
        self._queue: asyncio.Queue[tuple[str, bool]] = asyncio.Queue(QUEUE_LIMIT)
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._publish_all(), name="admin-feed")

    async def stop(self) -> None:
        """Publish what is queued (for at most ``DRAIN_SECONDS``), then stop."""
        if self._task is None:
            return
        try:
            await asyncio.wait_for(self._queue.join(), DRAIN_SECONDS)
        except TimeoutError:
            log.warning("admin feed stopped with events unpublished", extra={"events": self._queue.qsize()})
        await cancel_and_wait(self._task)
        self._task = None

    def emit(self, kind: str, data: dict[str, Any]) -> None:
        """Queue an event for every worker's admin sockets; never blocks, never raises."""
        try:
            self._queue.put_nowait((event_message(kind, data), leaves_work(kind, data)))
        except asyncio.QueueFull:
            log.warning("admin feed queue full; event dropped", extra={"type": kind})

    async def _publish_all(self) -> None:
        while True:
            events = [await self._queue.get()]
            while not self._queue.empty():
                events.append(self._queue.get_nowait())
            try:
                for message, _ in events:
                    await self._publish(CHANNEL, message)
                if any(work for _, work in events):
                    await self._publish(WORK_CHANNEL, "1")
            finally:
                for _ in events:
                    self._queue.task_done()

    async def _publish(self, channel: str, message: str) -> None:
        try:
            await self.store.publish(channel, message)
        except StoreError as exc:
            log.warning("admin feed could not publish an event", extra={"error": str(exc), "channel": channel})

