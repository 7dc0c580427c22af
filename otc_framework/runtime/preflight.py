"""Checks ``otc serve`` runs once, before forking workers, so a deployment that cannot work
fails with one line instead of N workers crashing in a loop."""

from __future__ import annotations

from otc_framework.config import DeploymentConfig
from otc_framework.errors import ConfigError
from otc_framework.storage.database import pending_migrations
from otc_framework.storage.store import open_store


async def preflight(config: DeploymentConfig) -> None:
    store = open_store(
        config.store.url.get_secret_value(), namespace=config.store.namespace, workers=config.server.workers
    )
    try:
        await store.ping()
    finally:
        await store.close()
    pending = await pending_migrations(config.database.url.get_secret_value())
    if pending:
        raise ConfigError(f"database: {len(pending)} migration(s) pending ({', '.join(pending)}); run `otc migrate`")
