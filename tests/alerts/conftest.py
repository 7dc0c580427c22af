"""A served desk with two scripted alert sinks (``alpha``, ``beta``) on every backend."""

from __future__ import annotations

from typing import Any

import pytest

from otc_framework.plugins import build_plugin_host
from otc_framework.web import create_app
from tests import scripted_plugin, scripted_sinks
from tests.conftest import make_config
from tests.desk import Desk


@pytest.fixture
def alerts_tree() -> dict[str, Any]:
    """The ``[alerts]`` section a test module overrides."""
    return {}


@pytest.fixture
async def alert_desk(migrated_database_url: str, store_url: str, store_namespace: str, serve: Any,
                     alerts_tree: dict[str, Any]) -> Desk:
    config = make_config(
        migrated_database_url, store_url, store_namespace,
        plugins={"enabled": ["scripted", "scripted_sinks"], "scripted": {"name": "vp", "rate": "5.0000"}},
        pricing={"spot_source": "vp", "second_source": None},
        market_hours={"always_open": True},
        alerts={"dedup_seconds": 60, **alerts_tree},
    )
    modules = {"scripted": scripted_plugin.plugin, "scripted_sinks": scripted_sinks.plugin}
    plugins = build_plugin_host(config, modules=modules, env={})
    desk = Desk(await serve(create_app(config, plugins, unique_name=True)))
    await desk.wait_for_spot()
    return desk


def sink(name: str) -> scripted_sinks.ScriptedSink:
    return scripted_sinks.SINKS[name]
