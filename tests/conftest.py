"""Core test fixtures: a migrated database and a deployment config on each backend."""

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
