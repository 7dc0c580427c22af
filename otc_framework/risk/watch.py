"""The open exposure, in every worker.

The same shape as the LP feed (``otc_framework.liquidity.feed``): the publisher
(``risk.publisher``) sends each figure on ``CHANNEL`` and keeps it under ``LAST_KEY``, so a
worker that starts or reconnects later begins from the current figure. The quote path reads
``latest`` from memory and never pays a database query for it.
"""

from __future__ import annotations

from otc_framework.risk.exposure import Exposure
from otc_framework.storage.store import Store
from otc_framework.storage.store.follow import ChannelFollower

CHANNEL = "risk"
LAST_KEY = "risk:last:exposure"


class ExposureWatch(ChannelFollower):
    def __init__(self, store: Store) -> None:
        super().__init__(store, CHANNEL, [LAST_KEY])
        # None until the first figure arrives (a desk that never published one).
        self.latest: Exposure | None = None

    def apply(self, message: str) -> None:
        exposure = Exposure.from_json(message)
        if self.latest is not None and exposure.computed_at < self.latest.computed_at:
            return  # a figure delivered late must not replace a newer one
        self.latest = exposure
