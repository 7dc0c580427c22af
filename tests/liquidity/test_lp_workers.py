"""The LP feed across workers: one poller (by lease) feeds every worker's snapshot, and
another worker takes the polling over when the holder stops."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest

from otc_framework.web import create_app
from tests.conftest import LiveApp
from tests.desk import Desk
from tests.liquidity.conftest import FAST_MS, lp_config, until


@asynccontextmanager
async def two_lp_workers(database_url: str, store_url: str, namespace: str,
                         loopback: Any) -> AsyncIterator[tuple[Desk, Desk]]:
    """Two app instances sharing the database and the store, as two worker processes do."""
    desks = []
    try:
        for _ in range(2):
            config, plugins = lp_config(database_url, store_url, namespace)
            server = await loopback(create_app(config, plugins, unique_name=True))
            desks.append(Desk(LiveApp(server.app, httpx.AsyncClient(base_url=server.base_url))))
        for desk in desks:
            await desk.wait_for_spot()
        await desks[0].set_control("exec_poll_interval_ms", FAST_MS)
        yield desks[0], desks[1]
    finally:
        for desk in desks:
            await desk.http.aclose()


def received(desk: Desk) -> Any:
    latest = desk.runtime.lp_feed.latest("horizon", "USDC", "D2")
    return None if latest is None else latest.received_at


@pytest.mark.parametrize("store_url", ["redis"], indirect=True)
async def test_one_poller_feeds_every_worker_and_hands_over(
    migrated_database_url: str, store_url: str, store_namespace: str, loopback: Any
) -> None:
    async with two_lp_workers(migrated_database_url, store_url, store_namespace, loopback) as (first, second):
        await until(lambda: received(first) and received(second))
        loops = [first.runtime.lp_loop, second.runtime.lp_loop]
        await until(lambda: sum(loop.leading for loop in loops) == 1)
        holder, other = (first, second) if first.runtime.lp_loop.leading else (second, first)

        await holder.runtime.lp_loop.stop()  # the holder stops: it releases the lease
        stopped_at = received(other)
        await until(lambda: other.runtime.lp_loop.leading)
        # The new holder's prices reach every worker, the stopped one's feed included.
        await until(lambda: received(other) > stopped_at and received(holder) > stopped_at)
