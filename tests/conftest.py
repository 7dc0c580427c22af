"""Core test fixtures: a deployment config on each backend, a served app, a served desk."""

from __future__ import annotations

from typing import Any

import pytest

from otc_framework.config import DeploymentConfig, build_config

JWT_SECRET = "test-secret-0123456789-abcdefghijklmnop"


def make_config(database_url: str, store_url: str = "memory://", namespace: str = "otc", **tree: Any) -> DeploymentConfig:
    base: dict[str, Any] = {
        "name": "otc-test",
        "database": {"url": database_url},
        "store": {"url": store_url, "namespace": namespace},
        "auth": {"jwt_secret": JWT_SECRET},
        "spot": {"poll_interval_seconds": 0.05},
    }
    for key, value in tree.items():
        base[key] = {**base.get(key, {}), **value} if isinstance(value, dict) else value
    return build_config(base, env={})


class LiveApp:
    """The app served on loopback for the whole test, with one runtime (Sanic's ASGI test
    client restarts the app around every request, which loses in-memory state)."""

    def __init__(self, app: Any, http: Any) -> None:
        self.app = app
        self.http = http

    async def get(self, path: str, **kwargs: Any) -> Any:
        return await self.http.get(path, **kwargs)

    async def post(self, path: str, **kwargs: Any) -> Any:
        return await self.http.post(path, **kwargs)


@pytest.fixture
async def serve(loopback: Any, http: Any) -> Any:
    """``await serve(app)`` starts ``app`` on loopback and returns a ``LiveApp``."""

    async def start(app: Any) -> LiveApp:
        server = await loopback(app)
        http.base_url = server.base_url
        return LiveApp(app, http)

    return start


@pytest.fixture
def desk_tree() -> dict[str, Any]:
    """Config sections a test module overrides (e.g. market hours, rate limits)."""
    return {}


@pytest.fixture
async def desk(migrated_database_url: str, store_url: str, store_namespace: str, serve: Any,
               desk_tree: dict[str, Any]) -> Any:
    """A served desk (``tests.desk.Desk``) on the parametrized database and store backends."""
    from otc_framework.plugins import build_plugin_host
    from otc_framework.web import create_app
    from tests import scripted_plugin
    from tests.desk import Desk, desk_config

    config = desk_config(migrated_database_url, store_url, store_namespace, **desk_tree)
    plugins = build_plugin_host(config, modules={"scripted": scripted_plugin.plugin}, env={})
    live = await serve(create_app(config, plugins, unique_name=True))
    desk = Desk(live)
    await desk.wait_for_spot()
    return desk
