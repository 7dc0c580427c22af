"""A ``Backoffice`` outside the app: what ``otc`` operator commands change the desk through.

It opens the deployment's database and store, so a change made from a shell refreshes the
same caches, reaches every running worker on its next request and shows on the admin stream,
exactly like the same change made through the admin API. With the embedded in-process store
(``memory://``) the store lives inside the server process, so a running demo only sees the
database change after a restart: operate a running demo through the admin API instead.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from otc_framework.admin.access import Backoffice
from otc_framework.admin.feed import AdminFeed
from otc_framework.config import DeploymentConfig
from otc_framework.plugins import build_plugin_host
from otc_framework.reference import ReferenceCache
from otc_framework.storage.database import close_database, open_database
from otc_framework.storage.store import open_store


@asynccontextmanager
async def open_backoffice(config: DeploymentConfig) -> AsyncIterator[Backoffice]:
    plugins = build_plugin_host(config)
    definitions = plugins.controls()
    await open_database(config.database.url.get_secret_value())
    try:
        store = open_store(config.store.url.get_secret_value(), namespace=config.store.namespace)
        feed = AdminFeed(store)
        feed.start()
        try:
            reference = ReferenceCache(store, definitions, config.market_hours)
            yield Backoffice(store, reference, feed, plugins.hook, {d.key: d for d in definitions})
        finally:
            await feed.stop()
            await store.close()
    finally:
        await close_database()
