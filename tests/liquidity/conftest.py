"""A served desk with the scripted spot source and two scripted LPs (``nonco`` 24/7,
``horizon``), polling every 250 ms, on every backend."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable
from typing import Any

import pytest

from otc_framework.config import DeploymentConfig
from otc_framework.plugins import PluginHost, build_plugin_host
from otc_framework.web import create_app
from tests import scripted_plugin
from tests.conftest import make_config
from tests.desk import Desk
from tests.liquidity import scripted_lp

MODULES = {"scripted": scripted_plugin.plugin, "scripted_lp": scripted_lp.plugin}
FAST_MS = 250


@pytest.fixture
def lp_tree() -> dict[str, Any]:
    """Config sections a test overrides (market hours, ``[lp_feed]``)."""
    return {}


def lp_config(database_url: str, store_url: str, namespace: str, **tree: Any) -> tuple[DeploymentConfig, PluginHost]:
    tree.setdefault("market_hours", {"always_open": True})
    config = make_config(
        database_url, store_url, namespace,
        plugins={"enabled": ["scripted", "scripted_lp"], "scripted": {"name": "vp", "rate": "5.0000"}},
        pricing={"spot_source": "vp", "second_source": None},
        **tree,
    )
    return config, build_plugin_host(config, modules=MODULES, env={})


@pytest.fixture
async def lp_desk(migrated_database_url: str, store_url: str, store_namespace: str, serve: Any,
                  lp_tree: dict[str, Any]) -> Desk:
    config, plugins = lp_config(migrated_database_url, store_url, store_namespace, **lp_tree)
    desk = Desk(await serve(create_app(config, plugins, unique_name=True)))
    await desk.wait_for_spot()
    await desk.set_control("exec_poll_interval_ms", FAST_MS)
    return desk


async def until(predicate: Callable[[], Any], seconds: float = 15.0) -> None:
    """Wait for ``predicate`` (sync or async) to hold; generous, a loaded machine polls slowly."""
    for _ in range(int(seconds / 0.02)):
        held = predicate()
        if inspect.isawaitable(held):
            held = await held
        if held:
            return
        await asyncio.sleep(0.02)
    raise AssertionError("condition never held")
