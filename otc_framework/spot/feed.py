"""The latest spot rates, in every worker.

A worker reads rates from memory: the hot path (pricing a quote) must not pay a store round
trip for them. The poller publishes each poll's outcome on ``CHANNEL`` and also keeps it
under ``last_key(source)``, so a worker that starts (or reconnects) later begins from the
current state instead of waiting for the next poll.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from otc_framework.ports import SpotQuote
from otc_framework.spot.codec import decode_event
from otc_framework.storage.store import Store
from otc_framework.storage.store.follow import ChannelFollower

log = logging.getLogger(__name__)

CHANNEL = "spot"


def last_key(source: str) -> str:
    return f"spot:last:{source}"


@dataclass
class SourceStatus:
    quotes: dict[str, SpotQuote] = field(default_factory=dict)
    last_error: str | None = None
    last_polled_at: datetime | None = None


class SpotFeed(ChannelFollower):
    def __init__(self, store: Store, sources: Iterable[str]) -> None:
        sources = list(sources)
        super().__init__(store, CHANNEL, [last_key(name) for name in sources])
        self.status: dict[str, SourceStatus] = {name: SourceStatus() for name in sources}

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
