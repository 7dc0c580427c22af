"""LP ticks into ``spot_ticks``, in batches, with a retention.

A row per price: ``source`` is the provider's name, ``instrument`` ``USDC/BRL D1`` (currency,
quote currency, settlement), ``last`` and ``venue_time`` empty (an indicative LP price has
neither). Rows are buffered and written with one INSERT per batch: every poll writing its own
rows would cost a transaction per provider every two seconds. Ticks are history, not the
record of a trade: a batch the database refuses is logged and dropped, never retried into an
unbounded buffer. Retention deletes only the LP providers' rows, so spot rows kept in the same
table by others follow their own rule.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta

from otc_framework.config import LpFeedConfig
from otc_framework.liquidity.codec import instrument
from otc_framework.metrics import DATABASE_ERRORS
from otc_framework.ports import LpPrice
from otc_framework.storage.models import SpotTick

log = logging.getLogger(__name__)

CLEANUP_EVERY = timedelta(hours=1)


class TickWriter:
    def __init__(self, providers: Iterable[str], config: LpFeedConfig) -> None:
        self.providers = list(providers)
        self.config = config
        self._buffer: list[SpotTick] = []
        self._since: datetime | None = None
        self._cleaned_at: datetime | None = None

    def add(self, price: LpPrice, now: datetime) -> None:
        if not self._buffer:
            self._since = now
        self._buffer.append(SpotTick(
            source=price.provider, instrument=instrument(price.currency, price.settlement),
            bid=price.bid, ask=price.ask, last_price=None, venue_time=None, received_at=price.received_at,
        ))

    async def flush_if_due(self, now: datetime) -> None:
        if not self._buffer or self._since is None:
            return
        if len(self._buffer) >= self.config.batch_size or now - self._since >= timedelta(
                seconds=self.config.flush_seconds):
            await self.flush()

    async def flush(self) -> None:
        """Write every buffered tick now (one INSERT per ``batch_size`` rows)."""
        rows, self._buffer, self._since = self._buffer, [], None
        if not rows:
            return
        try:
            await SpotTick.bulk_create(rows, batch_size=self.config.batch_size)
        except Exception as exc:  # the database is down or refused: the feed goes on
            DATABASE_ERRORS.labels(where="lp_ticks").inc()
            log.warning("lp ticks dropped: the database refused them", extra={"ticks": len(rows), "error": str(exc)})

    async def clean_if_due(self, now: datetime) -> None:
        """Delete the providers' ticks older than the retention, at most once an hour."""
        if self._cleaned_at is not None and now - self._cleaned_at < CLEANUP_EVERY:
            return
        self._cleaned_at = now
        cutoff = now - timedelta(days=self.config.retention_days)
        try:
            deleted = await SpotTick.filter(source__in=self.providers, received_at__lt=cutoff).delete()
        except Exception as exc:
            DATABASE_ERRORS.labels(where="lp_ticks").inc()
            log.warning("old lp ticks not deleted", extra={"error": str(exc)})
            return
        if deleted:
            log.info("old lp ticks deleted", extra={"ticks": deleted, "before": cutoff.isoformat()})
