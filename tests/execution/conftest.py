"""A desk that hedges on the real LP plugins (Horizon over REST, Nonco over its WebSocket RFQ),
each talking to its own fake venue on loopback, on every backend.

Faults are asked of the fakes over HTTP (``POST /_fault``), as a test driving a served desk
in another process would, and ``GET /_orders`` tells how many orders each venue received
under each order id.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import httpx
import pytest

from otc_framework.execution.repository import get
from otc_framework.plugins import build_plugin_host
from otc_framework.storage.models import Closing, Hedge, HedgeStatus
from otc_framework.testing.fake_venue import DemoSettings, DemoVenue
from otc_framework.testing.pytest_plugin import REDIS_URL, require_service
from otc_framework.web import create_app
from otc_lp_horizon import plugin as horizon_plugin
from otc_lp_horizon.client import CONFIRM_PATH
from otc_lp_horizon.fake import HorizonDemoVenue
from otc_lp_nonco import plugin as nonco_plugin
from otc_lp_nonco.client import TYPE_NEW_ORDER
from otc_lp_nonco.fake import NoncoDemoVenue
from tests import scripted_plugin
from tests.conftest import make_config
from tests.desk import Desk

# The scripted-LP desk, for the tests of which LP a mode picks.
from tests.liquidity.conftest import lp_desk, lp_tree, until  # noqa: F401

SPOT = Decimal("5.0000")
HORIZON_ORDER = CONFIRM_PATH
NONCO_ORDER = TYPE_NEW_ORDER
# Fast reconciliation, so an unknown outcome resolves within a test's patience.
FAST_EXECUTION = {"check_first_seconds": 0.2, "check_max_seconds": 1.0, "not_found_grace_seconds": 0.2}


@pytest.fixture
def store_url(migrated_database_url: str) -> Iterator[str]:
    """The backends as deployments pair them: SQLite with the in-process store (the embedded
    default), PostgreSQL with Redis (production). The engine's guarantees rest on both at once
    (claims in the database, the lease and wake-ups in the store); mixed pairs add nothing."""
    if migrated_database_url.startswith("sqlite"):
        yield "memory://"
        return
    require_service("Redis", REDIS_URL)
    yield REDIS_URL


@dataclass
class Venues:
    horizon: DemoVenue
    nonco: DemoVenue
    sections: dict[str, dict[str, Any]]
    http: httpx.AsyncClient

    def url(self, venue: str) -> str:
        server = getattr(self, venue).server
        assert server is not None
        return server.base_url

    async def fault(self, venue: str, **fault: Any) -> None:
        response = await self.http.post(f"{self.url(venue)}/_fault", json=fault)
        assert response.status_code == 200, response.text

    async def orders(self, venue: str) -> dict[str, Any]:
        response = await self.http.get(f"{self.url(venue)}/_orders")
        assert response.status_code == 200, response.text
        return response.json()


@pytest.fixture
async def venues() -> AsyncIterator[Venues]:
    horizon, nonco = HorizonDemoVenue(), NoncoDemoVenue()
    settings = DemoSettings(sandbox_spot=SPOT)
    sections = {
        "lp_horizon": {**await horizon.start("127.0.0.1", settings), "timeout_seconds": 1.0},
        "lp_nonco": {**await nonco.start("127.0.0.1", settings), "request_timeout_seconds": 1.0},
    }
    async with httpx.AsyncClient(timeout=5.0) as http:
        yield Venues(horizon, nonco, sections, http)
    for venue in (nonco, horizon):
        assert venue.server is not None
        await venue.server.stop()


@pytest.fixture
def hedging_tree() -> dict[str, Any]:
    """Config sections a test overrides."""
    return {}


def hedging_config(database_url: str, store_url: str, namespace: str, venues: Venues, **tree: Any) -> Any:
    tree.setdefault("market_hours", {"always_open": True})
    tree["execution"] = {**FAST_EXECUTION, **tree.get("execution", {})}
    config = make_config(
        database_url, store_url, namespace,
        plugins={"enabled": ["scripted", "lp_horizon", "lp_nonco"], "scripted": {"name": "vp", "rate": str(SPOT)},
                 **venues.sections},
        pricing={"spot_source": "vp", "second_source": None},
        **tree,
    )
    modules = {"scripted": scripted_plugin.plugin, "lp_horizon": horizon_plugin, "lp_nonco": nonco_plugin}
    return config, build_plugin_host(config, modules=modules, env={})


@pytest.fixture
async def hedging_desk(migrated_database_url: str, store_url: str, store_namespace: str, serve: Any, venues: Venues,
                       hedging_tree: dict[str, Any]) -> Desk:
    config, plugins = hedging_config(migrated_database_url, store_url, store_namespace, venues, **hedging_tree)
    desk = Desk(await serve(create_app(config, plugins, unique_name=True)))
    await desk.wait_for_spot()
    return desk


async def trade(desk: Desk, token: str, **body: Any) -> str:
    """Quote and close; the closing's id."""
    quoted = await desk.quote(token, **body)
    assert quoted.status_code == 201, quoted.text
    closed = await desk.close(token, quoted.json()["sessionId"])
    assert closed.status_code == 201, closed.text
    return str(closed.json()["closingId"])


async def hedge_of(closing_id: str) -> Hedge:
    return await Hedge.get(closing_id=closing_id)


async def settled(closing_id: str, *statuses: HedgeStatus, seconds: float = 20.0) -> Hedge:
    """The closing's hedge once it reached one of ``statuses``."""

    async def reached() -> bool:
        hedge = await Hedge.filter(closing_id=closing_id).first()
        return hedge is not None and hedge.status in statuses

    try:
        await until(reached, seconds)
    except AssertionError:
        hedge = await Hedge.filter(closing_id=closing_id).first()
        found = "no hedge" if hedge is None else f"{hedge.status.value}: {hedge.reason}"
        raise AssertionError(f"hedge never reached {[s.value for s in statuses]} ({found})") from None
    hedge = await get((await hedge_of(closing_id)).id)
    assert hedge is not None
    return hedge


async def closings_count() -> int:
    return await Closing.all().count()
