"""Delivering queued alerts (SPEC §13), in the one process per deployment holding the lease
``loop:alert-delivery``.

Each turn of the leased loop starts, for every sink not already busy, a short task that
drains that sink's queue oldest first: a slow or hanging sink holds up only itself, never the
other sinks and never the loop (whose lease keeps being renewed), and nothing here runs in a
request or a trade.

Per sink:

- **Order.** The oldest pending delivery is the head; later alerts wait behind it, so a sink
  receives alerts in the order they were raised, even across retries.
- **Pace.** A token bucket in the store (``per_minute`` of the sink or its routing, with a
  small burst) keeps the desk under the venue's limits; an alert over the pace waits, it is
  not dropped.
- **Retries.** A 429 is retried after the venue's ``retry_after``; any other failure after
  the sink's ``retry_backoff_seconds`` × 2^(attempt − 1), capped at ``max_backoff_seconds``,
  until ``max_attempts`` tries have failed.
- **Permanent refusal.** ``VenueRefused`` fails that delivery, stops the sink (recorded in the
  store, see ``sink_state``, and reported by ``/health/ready``) and fails what it still had
  queued, rather than retrying forever; the other sinks carry on.

Delivery is at least once: a process killed after the venue accepted an alert but before the
row says ``sent`` sends it again after the restart (neither Telegram nor Discord lets a bot
ask whether a message was already posted; a repeated alert is the lesser harm).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta

from otc_framework import delivery
from otc_framework.alerts import repository, sink_state
from otc_framework.alerts.sink_state import SinkStop
from otc_framework.config import AlertsConfig
from otc_framework.metrics import ALERT_DELIVERIES
from otc_framework.ports import AlertSink
from otc_framework.storage.store import Store
from otc_framework.tasks import cancel_and_wait

log = logging.getLogger(__name__)

LEASE = "loop:alert-delivery"
INTERVAL_SECONDS = 0.5
# How long one drain task may keep sending before it yields to the next turn, which checks
# again that this process still holds the lease.
SLICE_SECONDS = 2.0
MAX_BURST = 5


class AlertDispatcher:
    def __init__(
        self,
        sinks: Sequence[AlertSink],
        store: Store,
        config: AlertsConfig,
        fingerprints: Mapping[str, str],
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.sinks = list(sinks)
        self.store = store
        self.config = config
        self.fingerprints = dict(fingerprints)
        self.clock = clock
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._paused_until: dict[str, datetime] = {}
        self._stops: dict[str, SinkStop] = {}

    async def step(self) -> None:
        """One turn of the leased loop: start a drain for every idle sink."""
        if not self.sinks:
            return
        self._stops = await sink_state.stopped(self.store, self.fingerprints)
        for sink in self.sinks:
            task = self._tasks.get(sink.name)
            if task is None or task.done():
                self._tasks[sink.name] = asyncio.create_task(self._drain(sink), name=f"alerts:{sink.name}")

    async def stop(self) -> None:
        for task in self._tasks.values():
            await cancel_and_wait(task)
        self._tasks.clear()

    async def _drain(self, sink: AlertSink) -> None:
        loop = asyncio.get_running_loop()
        started = loop.time()
        try:
            while loop.time() - started < SLICE_SECONDS and await self._deliver_next(sink):
                pass
        except Exception:  # the database or the store failed: the rows wait for the next turn
            log.exception("alert delivery turn failed", extra={"sink": sink.name})

    async def _deliver_next(self, sink: AlertSink) -> bool:
        """Try the head of ``sink``'s queue; ``True`` when the next one may follow at once."""
        now = self.clock()
        stop = self._stops.get(sink.name)
        if stop is not None:
            failed = await repository.fail_pending(sink.name, f"sink stopped: {stop.error}", now)
            if failed:
                ALERT_DELIVERIES.labels(sink=sink.name, outcome="failed").inc(failed)
            return False
        paused = self._paused_until.get(sink.name)
        if paused is not None and now < paused:
            return False
        due = await repository.head(sink.name)
        if due is None or due.delivery.next_attempt_at > now:
            return False
        if not await self._paced(sink, now):
            return False
        outcome = await delivery.attempt(sink.send(due.alert), self.config.send_timeout_seconds,
                                         what="alert sink", extra={"sink": sink.name})
        if outcome.ok:
            await repository.mark_sent(due.delivery, self.clock())
            ALERT_DELIVERIES.labels(sink=sink.name, outcome="sent").inc()
            return True
        if outcome.wait_for is not None:
            return await self._retry(sink, due, outcome.reason, outcome.wait_for, counts=False)
        if outcome.refused:
            await self._refused(sink, due, outcome.reason)
            return True
        return await self._retry(sink, due, outcome.reason, self._backoff(sink, due.delivery.attempts + 1))

    async def _paced(self, sink: AlertSink, now: datetime) -> bool:
        per_minute = self.config.routing(sink.name).per_minute or sink.per_minute
        wait = await delivery.paced(self.store, f"alerts:pace:{sink.name}", per_minute, MAX_BURST)
        if wait is not None:
            self._paused_until[sink.name] = now + timedelta(seconds=wait)
        return wait is None

    def _backoff(self, sink: AlertSink, attempt: int) -> float:
        return delivery.backoff(sink.retry_backoff_seconds, attempt, self.config.max_backoff_seconds)

    async def _retry(self, sink: AlertSink, due: repository.Due, reason: str, delay: float,
                     *, counts: bool = True) -> bool:
        """Schedule the head again after ``delay``, or give it up when its tries are spent
        (``counts`` False: the venue asked us to wait, which is no failed try)."""
        if counts and due.delivery.attempts + 1 >= self.config.max_attempts:
            await repository.mark_failed(due.delivery, f"{reason} (gave up after {self.config.max_attempts} tries)")
            ALERT_DELIVERIES.labels(sink=sink.name, outcome="failed").inc()
            log.error("alert delivery given up", extra={"sink": sink.name, "reason": reason})
            return True
        retry_at = self.clock() + timedelta(seconds=delay)
        await repository.mark_retry(due.delivery, reason, retry_at)
        self._paused_until[sink.name] = retry_at
        ALERT_DELIVERIES.labels(sink=sink.name, outcome="retry").inc()
        log.warning("alert delivery will be retried",
                    extra={"sink": sink.name, "reason": reason, "retryInSeconds": round(delay, 3)})
        return False

    async def _refused(self, sink: AlertSink, due: repository.Due, reason: str) -> None:
        await repository.mark_failed(due.delivery, reason)
        ALERT_DELIVERIES.labels(sink=sink.name, outcome="failed").inc()
        now = self.clock()
        fingerprint = self.fingerprints.get(sink.name, "")
        self._stops[sink.name] = SinkStop(reason, now.isoformat(), fingerprint)
        await sink_state.stop(self.store, sink.name, reason, now, fingerprint)
        log.error("alert sink refused for good and is stopped; fix its configuration and restart",
                  extra={"sink": sink.name, "reason": reason})
