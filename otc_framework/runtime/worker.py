"""What one worker process holds open, from start to stop.

The same object serves the Sanic app (``app.ctx.runtime``, opened in a listener), the CLI
and the benchmark, so nothing about start-up order lives in web code.
"""

from __future__ import annotations

import logging

import httpx

from otc_framework.config import DeploymentConfig
from otc_framework.controls import CORE_CONTROLS
from otc_framework.plugins import PluginHost
from otc_framework.ports import SpotSource
from otc_framework.runtime.leased_loop import LeasedLoop
from otc_framework.spot import SpotFeed, SpotPoller
from otc_framework.storage.database import close_database, open_database
from otc_framework.storage.store import Store, open_store

log = logging.getLogger(__name__)

SPOT_LEASE = "loop:spot-poller"
_SPOT_MAX_AGE_DEFAULT = next(c.default for c in CORE_CONTROLS if c.key == "spot_max_age_seconds")


class Runtime:
    def __init__(self, config: DeploymentConfig, plugins: PluginHost) -> None:
        self.config = config
        self.plugins = plugins
        self.store: Store | None = None
        self.http: httpx.AsyncClient | None = None
        self.spot_sources: list[SpotSource] = []
        self.spot_feed: SpotFeed | None = None
        self.spot_loop: LeasedLoop | None = None

    @property
    def spot_max_age_seconds(self) -> int:
        """Until the controls read path serves it per request, the control's default."""
        return int(_SPOT_MAX_AGE_DEFAULT)

    async def start(self) -> None:
        await open_database(self.config.database.url.get_secret_value())
        self.store = open_store(
            self.config.store.url.get_secret_value(),
            namespace=self.config.store.namespace,
            workers=self.config.server.workers,
        )
        self.http = httpx.AsyncClient(timeout=httpx.Timeout(5.0), follow_redirects=False)
        self.spot_sources = self.plugins.spot_sources(self.http)
        self.spot_feed = SpotFeed(self.store, [s.name for s in self.spot_sources])
        await self.spot_feed.start()
        poller = SpotPoller(self.spot_sources, self.store, notify=self.plugins.hook.otc_spot_status_changed)
        interval = self.config.spot.poll_interval_seconds
        self.spot_loop = LeasedLoop(
            self.store, SPOT_LEASE, poller.poll_all, interval=interval, lease_ttl=max(5.0, 3 * interval)
        )
        self.spot_loop.start()

    async def stop(self) -> None:
        if self.spot_loop is not None:
            await self.spot_loop.stop()
        if self.spot_feed is not None:
            await self.spot_feed.stop()
        for source in self.spot_sources:
            await source.aclose()
        if self.http is not None:
            await self.http.aclose()
        if self.store is not None:
            await self.store.close()
        await close_database()
