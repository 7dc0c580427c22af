"""The latest spot rates, in every worker.

A worker reads rates from memory: the hot path (pricing a quote) must not pay a store round
trip for them. The poller publishes each poll's outcome on ``CHANNEL`` and also keeps it
under ``last_key(source)``, so a worker that starts (or reconnects) later begins from the
current state instead of waiting for the next poll.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from otc_framework.errors import StoreError
from otc_framework.ports import SpotQuote
from otc_framework.spot.codec import decode_event
from otc_framework.storage.store import Store
from otc_framework.tasks import cancel_and_wait

log = logging.getLogger(__name__)

CHANNEL = "spot"


def last_key(source: str) -> str:
    return f"spot:last:{source}"


@dataclass
class SourceStatus:
    quotes: dict[str, SpotQuote] = field(default_factory=dict)
    last_error: str | None = None
    last_polled_at: datetime | None = None


class SpotFeed:
    def __init__(self, store: Store, sources: Iterable[str]) -> None:
        self.store = store
        self.status: dict[str, SourceStatus] = {name: SourceStatus() for name in sources}
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        subscription = await self._subscribe()
        self._task = asyncio.create_task(self._follow(subscription), name="spot-feed")

    async def stop(self) -> None:
        if self._task is not None:
            await cancel_and_wait(self._task)
            self._task = None

    def apply(self, message: str) -> None:
        source, quotes, error, at = decode_event(message)
        status = self.status.get(source)
        if status is None:
            return
        if status.last_polled_at is not None and at < status.last_polled_at:
            return  # an older event delivered late must not roll the rate back
        status.last_polled_at = at
        status.last_error = error
        for quote in quotes:
            status.quotes[quote.instrument] = quote

    def latest(self, source: str, instrument: str) -> SpotQuote | None:
        status = self.status.get(source)
        return None if status is None else status.quotes.get(instrument)

    def fresh(self, source: str, instrument: str, max_age_seconds: float, now: datetime | None = None) -> SpotQuote | None:
        """The latest rate if it is at most ``max_age_seconds`` old, else ``None``."""
        quote = self.latest(source, instrument)
        if quote is None:
            return None
        age = ((now or datetime.now(UTC)) - quote.received_at).total_seconds()
        return quote if age <= max_age_seconds else None

    def report(self, max_age_seconds: float, now: datetime | None = None) -> dict[str, Any]:
        """Per source: fresh or not, age of its newest rate, each instrument's age, last error."""
        now = now or datetime.now(UTC)
        report: dict[str, Any] = {}
        for source, status in self.status.items():
            ages = {i: round((now - q.received_at).total_seconds(), 3) for i, q in status.quotes.items()}
            newest = min(ages.values()) if ages else None
            report[source] = {
                "fresh": newest is not None and newest <= max_age_seconds and status.last_error is None,
                "ageSeconds": newest,
                "instruments": ages,
                "lastError": status.last_error,
            }
        return report

    async def _subscribe(self) -> Any:
        # Subscribe before reading the last state, so nothing published in between is lost.
        subscription = await self.store.subscribe(CHANNEL)
        for source in self.status:
            message = await self.store.get(last_key(source))
            if message is not None:
                self.apply(message)
        return subscription

    async def _follow(self, subscription: Any) -> None:
        while True:
            try:
                async for message in subscription:
                    self.apply(message)
            except StoreError as exc:
                log.warning("spot feed lost its subscription", extra={"error": str(exc)})
            finally:
                await subscription.close()
            subscription = await self._resubscribe()

    async def _resubscribe(self) -> Any:
        # The store dropped us (overflow, reconnect): back off, then catch up and follow again.
        while True:
            await asyncio.sleep(1)
            try:
                return await self._subscribe()
            except StoreError as exc:
                log.warning("spot feed cannot resubscribe", extra={"error": str(exc)})
