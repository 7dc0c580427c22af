"""The latest LP prices, in every worker.

The same shape as the spot feed (``otc_framework.spot.feed``): the poller publishes each
provider's poll outcome on ``CHANNEL`` and keeps that provider's last state (its last good
prices and last error) under ``last_key(provider)``, so a worker that starts or reconnects
later begins from the current state. Readers (LP quote mode, best-LP execution, health) read
memory, never the store.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from otc_framework.liquidity.codec import decode_event, instrument
from otc_framework.ports import LpPrice
from otc_framework.storage.store import Store
from otc_framework.storage.store.follow import ChannelFollower

log = logging.getLogger(__name__)

CHANNEL = "lp"
# SPEC §4: LP quote mode uses a tick at most this old.
FRESH_SECONDS = 10.0


def last_key(provider: str) -> str:
    return f"lp:last:{provider}"


@dataclass
class ProviderStatus:
    prices: dict[tuple[str, str], LpPrice] = field(default_factory=dict)
    last_error: str | None = None
    last_polled_at: datetime | None = None


class LpFeed(ChannelFollower):
    def __init__(self, store: Store, providers: Iterable[str]) -> None:
        providers = list(providers)
        super().__init__(store, CHANNEL, [last_key(name) for name in providers])
        self.status: dict[str, ProviderStatus] = {name: ProviderStatus() for name in providers}

    def apply(self, message: str) -> None:
        provider, prices, error, at = decode_event(message)
        status = self.status.get(provider)
        if status is None:
            return
        if status.last_polled_at is not None and at < status.last_polled_at:
            return  # an older event delivered late must not roll the price back
        status.last_polled_at = at
        status.last_error = error
        for price in prices:
            status.prices[(price.currency, price.settlement)] = price

    def latest(self, provider: str, currency: str, settlement: str) -> LpPrice | None:
        status = self.status.get(provider)
        return None if status is None else status.prices.get((currency, settlement))

    def snapshot(self, now: datetime | None = None) -> dict[str, dict[str, Any]]:
        """Per provider: every latest price with its age, when it was last polled, its last error."""
        now = now or datetime.now(UTC)
        return {
            provider: {
                "prices": [(price, (now - price.received_at).total_seconds()) for price in status.prices.values()],
                "last_polled_at": status.last_polled_at,
                "last_error": status.last_error,
            }
            for provider, status in self.status.items()
        }

    def report(self, now: datetime | None = None) -> dict[str, Any]:
        """For health: per provider, fresh or not, its newest price's age, each price's age, last error."""
        now = now or datetime.now(UTC)
        report: dict[str, Any] = {}
        for provider, status in self.status.items():
            ages = {instrument(c, s): round((now - p.received_at).total_seconds(), 3)
                    for (c, s), p in status.prices.items()}
            newest = min(ages.values()) if ages else None
            report[provider] = {
                "fresh": newest is not None and newest <= FRESH_SECONDS and status.last_error is None,
                "ageSeconds": newest,
                "prices": ages,
                "lastError": status.last_error,
            }
        return report
