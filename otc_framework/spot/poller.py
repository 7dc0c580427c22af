"""Polls every enabled spot source; runs in one process per deployment (``LeasedLoop``).

Each poll's outcome is published to every worker's ``SpotFeed`` and kept in the store as the
source's last state. A source that asks to back off (``VenueRateLimited``) is not called
again before its time. Operators hear of a source going bad and of its recovery once each, as
an alert (critical for the source that prices quotes, a warning for the others; recovery is
info), and plugins through the ``otc_spot_status_changed`` notification.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from otc_framework.alerts import kinds
from otc_framework.errors import VenueError, VenueRateLimited
from otc_framework.ports import SpotQuote, SpotSource
from otc_framework.spot.codec import encode_event
from otc_framework.spot.feed import CHANNEL, last_key
from otc_framework.storage.store import Store

if TYPE_CHECKING:
    from otc_framework.alerts.service import AlertService

log = logging.getLogger(__name__)

# The last state outlives a dead poller long enough to show how old the rate is.
LAST_STATE_TTL_SECONDS = 24 * 3600


class SpotPoller:
    def __init__(
        self,
        sources: Sequence[SpotSource],
        store: Store,
        *,
        notify: Callable[..., Any] | None = None,
        alerts: AlertService | None = None,
        critical: frozenset[str] = frozenset(),
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        """``critical`` names the sources whose failure stops quoting (the pricing source)."""
        self.sources = list(sources)
        self.store = store
        self.notify = notify
        self.alerts = alerts
        self.critical = critical
        self.clock = clock
        self._retry_at: dict[str, datetime] = {}
        self._healthy: dict[str, bool] = {}
        self._last_good: dict[str, list[SpotQuote]] = {}

    async def poll_all(self) -> None:
        await asyncio.gather(*(self.poll(source) for source in self.sources))

    async def poll(self, source: SpotSource) -> None:
        now = self.clock()
        retry_at = self._retry_at.get(source.name)
        if retry_at is not None and now < retry_at:
            return
        quotes: list[SpotQuote] = []
        error: str | None = None
        try:
            quotes = list(await source.fetch())
            self._retry_at.pop(source.name, None)
        except VenueRateLimited as exc:
            error = exc.message
            self._retry_at[source.name] = now + timedelta(seconds=exc.retry_after)
        except VenueError as exc:
            error = exc.message
        except Exception as exc:  # an adapter bug must not stop the other sources
            log.exception("spot source raised an unexpected error", extra={"source": source.name})
            error = f"unexpected {type(exc).__name__}"
        if not quotes and error is None:
            error = "no rate returned"
        if quotes:
            self._last_good[source.name] = quotes
        # Workers keep their last good rates when a poll fails; the stored state must too,
        # so a worker starting during an outage still sees how old the last rate is.
        last = encode_event(source.name, self._last_good.get(source.name, []), error, now)
        await self.store.set(last_key(source.name), last, LAST_STATE_TTL_SECONDS)
        await self.store.publish(CHANNEL, encode_event(source.name, quotes, error, now))
        self._report(source.name, error)

    def _report(self, source: str, error: str | None) -> None:
        healthy = error is None
        previous = self._healthy.get(source)
        self._healthy[source] = healthy
        if previous == healthy or (previous is None and healthy):
            return
        if healthy:
            log.info("spot source recovered", extra={"source": source})
        else:
            log.warning("spot source failing", extra={"source": source, "error": error})
        if self.alerts is not None:
            if healthy:
                self.alerts.raise_soon(kinds.SPOT_RECOVERED, f"Spot source {source} recovered",
                                       f"{source} answers again with fresh rates.", severity="info",
                                       key=f"spot:{source}:recovered")
            else:
                impact = "Quotes are refused until it recovers." if source in self.critical else (
                    "Quotes go on; closings record no rate from it meanwhile.")
                self.alerts.raise_soon(kinds.SPOT_FAILING, f"Spot source {source} failing", f"{error}. {impact}",
                                       severity="critical" if source in self.critical else "warning",
                                       key=f"spot:{source}:failing")
        if self.notify is not None:
            self.notify(source=source, fresh=healthy, detail=error or "recovered")
