"""Liveness, and readiness that follows the database and the store but only reports spot."""

from __future__ import annotations

import asyncio

import pytest
from tortoise import Tortoise

from otc_framework.plugins import build_plugin_host
from otc_framework.web import create_app
from tests import scripted_plugin
from tests.conftest import LiveApp, make_config


@pytest.fixture
async def app(migrated_database_url: str, store_url: str, store_namespace: str, serve) -> LiveApp:
    config = make_config(
        migrated_database_url, store_url, store_namespace, plugins={"enabled": ["scripted"], "scripted": {"name": "vp"}}
    )
    plugins = build_plugin_host(config, modules={"scripted": scripted_plugin.plugin}, env={})
    return await serve(create_app(config, plugins, unique_name=True))


async def ready_when_fresh(app: LiveApp) -> dict:
    for _ in range(100):
        response = await app.get("/health/ready")
        if response.status_code == 200 and response.json()["spot"]["vp"]["fresh"]:
            return response.json()
        await asyncio.sleep(0.05)
    raise AssertionError(f"never fresh: {response.status_code} {response.text}")


async def test_liveness(app: LiveApp) -> None:
    response = await app.get("/health")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


async def test_ready_reports_each_spot_source(app: LiveApp) -> None:
    body = await ready_when_fresh(app)
    assert body["status"] == "ready"
    assert body["database"] == {"ok": True} and body["store"] == {"ok": True}
    assert body["spot"]["vp"]["lastError"] is None
    assert body["spot"]["vp"]["ageSeconds"] >= 0
    assert set(body["spot"]["vp"]["instruments"]) == {"USD/BRL"}


async def test_ready_names_the_holder_of_each_lease(app: LiveApp) -> None:
    body = await ready_when_fresh(app)
    runtime = app.app.ctx.runtime
    assert set(body["leases"]) == {loop.name for loop in runtime.leased_loops} >= {"loop:spot-poller", "loop:execution"}
    spot = next(loop for loop in runtime.leased_loops if loop.name == "loop:spot-poller")
    assert body["leases"]["loop:spot-poller"] == {"holder": spot.holder, "here": True, "known": True}


async def test_failing_spot_source_is_visible_but_keeps_ready(app: LiveApp) -> None:
    await ready_when_fresh(app)
    source = scripted_plugin.SOURCES[-1]
    source.script.extend([scripted_plugin.failing("venue down")] * 1000)
    for _ in range(100):
        response = await app.get("/health/ready")
        if response.json()["spot"]["vp"]["lastError"]:
            break
        await asyncio.sleep(0.05)
    assert response.status_code == 200
    assert response.json()["spot"]["vp"] == {**response.json()["spot"]["vp"], "fresh": False, "lastError": "venue down"}
    assert response.json()["spot"]["vp"]["ageSeconds"] is not None  # the last good rate ages visibly


async def test_unreachable_database_is_not_ready(app: LiveApp) -> None:
    await ready_when_fresh(app)
    # The database goes away under the running worker.
    await Tortoise.close_connections()
    response = await app.get("/health/ready")
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "NOT_READY"
    assert response.json()["database"]["ok"] is False
    assert "spot" in response.json()
