"""Computes the open exposure and tells every worker; the step of one leased loop per deployment.

Each turn reads the figure from the database (one aggregate statement), keeps it as the last
state, publishes it to every worker's ``ExposureWatch`` and sets the ``otc_open_exposure``
gauge. When the database cannot answer, the turn is skipped: workers keep the last figure,
which beats refusing or allowing quotes on a guess.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

from otc_framework.metrics import OPEN_EXPOSURE, database_error
from otc_framework.risk.exposure import open_exposure
from otc_framework.risk.watch import CHANNEL, LAST_KEY
from otc_framework.storage.store import Store

log = logging.getLogger(__name__)

LEASE = "loop:risk"
TURN_SECONDS = 1.0
# The last figure outlives a dead publisher long enough for a restarted desk to start from it.
LAST_STATE_TTL_SECONDS = 24 * 3600


class ExposurePublisher:
    def __init__(self, store: Store, *, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.store = store
        self.clock = clock

    async def step(self) -> None:
        try:
            exposure = await open_exposure(self.clock())
        except Exception as exc:
            database_error("risk.exposure")
            log.warning("open exposure could not be read", extra={"error": str(exc)})
            return
        message = exposure.to_json()
        await self.store.set(LAST_KEY, message, LAST_STATE_TTL_SECONDS)
        await self.store.publish(CHANNEL, message)
        for currency, amount in exposure.by_currency.items():
            # A Prometheus sample is a float by definition; the figure itself stays Decimal.
            OPEN_EXPOSURE.labels(currency=currency).set(float(amount))
