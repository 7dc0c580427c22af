"""Exactly once across engines and processes: two engines working the same table never take
the same hedge, and an engine killed between sending an order and its answer is replaced by
one that reconciles it with the venue, never re-sending it, neither losing nor doubling it."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from tortoise.transactions import in_transaction

from otc_framework.admin.access import Actor
from otc_framework.admin.clients import create_client
from otc_framework.controls.repository import save
from otc_framework.execution.repository import executions_of
from otc_framework.storage.database import close_database, open_database
from otc_framework.storage.models import AuditLog, AuditSource, Hedge, HedgeStatus, Tier
from otc_framework.testing.pytest_plugin import REDIS_URL, purge
from otc_framework.web import create_app
from tests.conftest import LiveApp
from tests.desk import Desk
from tests.execution.conftest import HORIZON_ORDER, Venues, hedging_config, trade
from tests.liquidity.conftest import until
from tests.risk.support import hedge as fixture_hedge
from tests.served import otc_serve

HEDGES = 12


async def _all_filled() -> bool:
    return await Hedge.filter(status=HedgeStatus.FILLED).count() == HEDGES


async def test_two_engines_never_work_on_the_same_hedge(
    migrated_database_url: str, store_url: str, store_namespace: str, loopback: Any, venues: Venues
) -> None:
    """Both engines step at once, whoever holds the lease: the claims (``FOR UPDATE SKIP
    LOCKED`` on PostgreSQL, compare-and-set everywhere) give each hedge to one of them."""
    desks = []
    for _ in range(2):
        config, plugins = hedging_config(migrated_database_url, store_url, store_namespace, venues)
        server = await loopback(create_app(config, plugins, unique_name=True))
        desks.append(Desk(LiveApp(server.app, httpx.AsyncClient(base_url=server.base_url))))
    try:
        for desk in desks:
            await desk.wait_for_spot()
            await desk.runtime.engine_loop.stop()
        first = desks[0]
        await first.set_control("exec_mode", "auto_manual")
        await first.set_control("exec_lp_override", "nonco")
        _, token = await first.client()
        for _ in range(HEDGES):
            await trade(first, token)
        engines = [desk.runtime.engine for desk in desks]
        for engine in engines:
            engine.lease_taken()

        async def both_step() -> bool:
            await asyncio.gather(*(engine.step() for engine in engines))
            await asyncio.gather(*(engine.drain() for engine in engines))
            return await _all_filled()

        await until(both_step, 30)
        orders = await venues.orders("nonco")
        assert (orders["received"], orders["distinct"], orders["repeated"]) == (HEDGES, HEDGES, {})
        for hedge in await Hedge.all():
            # An engine may take back a hedge the other was still quoting (it reconciles what it
            # finds in flight); that costs an attempt, never an order.
            executions = await executions_of(hedge.id)
            assert [e.client_order_id for e in executions] == [hedge.client_order_id]
    finally:
        for desk in desks:
            await desk.http.aclose()


# -- a real process, killed mid-order -------------------------------------------------------


def _toml(venues: Venues) -> str:
    horizon = venues.sections["lp_horizon"]
    return (
        '[market_hours]\nalways_open = true\n'
        '[execution]\ncheck_first_seconds = 0.2\ncheck_max_seconds = 1.0\nnot_found_grace_seconds = 0.2\n'
        f'[plugins.lp_horizon]\nbase_url = "{horizon["base_url"]}"\napi_key = "{horizon["api_key"]}"\n'
        # Long enough that a process waiting on a hung order is still waiting when it is killed.
        'timeout_seconds = 30.0\n'
    )


async def _ready(url: str) -> None:
    """Readiness without blocking this loop: the fake venues the process talks to run in it."""
    async with httpx.AsyncClient(timeout=2) as http:
        for _ in range(600):
            try:
                if (await http.get(f"{url}/health/ready")).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.1)
    raise AssertionError("never ready")


def _kill(process: Any) -> None:
    """As a crash would: no signal handler runs, nothing is flushed or released."""
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()


async def _status(hedge_id: Any, *statuses: HedgeStatus, seconds: float = 60) -> None:
    async def reached() -> bool:
        return (await Hedge.get(id=hedge_id)).status in statuses

    await until(reached, seconds)


async def _owed_hedge(database_url: str) -> Any:
    """A committed closing's pending hedge, and the controls that send it to Horizon."""
    await open_database(database_url)
    created = await create_client(Actor("test", AuditSource.ADMIN), "acme", Tier.T1)
    async with in_transaction() as conn:
        for key, value in (("exec_mode", "auto_manual"), ("exec_lp_override", "horizon")):
            await save(key, value, "test", conn)
    return (await fixture_hedge(str(created.client.id), "100000", HedgeStatus.PENDING, currency="USDC")).id


async def test_an_engine_killed_between_send_and_answer_is_reconciled_by_the_next(
    tmp_path: Path, venues: Venues, migrated_database_url: str
) -> None:
    """SQLite with the in-process store (one process at a time), PostgreSQL with Redis (the
    dead process's lease must lapse first)."""
    database_url = migrated_database_url
    store_url = "memory://" if database_url.startswith("sqlite") else REDIS_URL
    namespace = f"kill-{time.monotonic_ns()}"
    hedge_id = await _owed_hedge(database_url)
    for name in ("first", "second"):
        (tmp_path / name).mkdir()
    try:
        # The venue executes the order and never answers: the process dies waiting.
        await venues.fault("horizon", match=HORIZON_ORDER, after=True, drop=True, delay=120)
        with otc_serve(tmp_path / "first", database_url, namespace, workers=1, toml=_toml(venues),
                       plugins=["lp_horizon"], store_url=store_url) as first:
            await _ready(first.url)
            await _status(hedge_id, HedgeStatus.EXECUTING)
            await until(lambda: _executed(venues), 30)
            _kill(first.process)
        assert (await Hedge.get(id=hedge_id)).status is HedgeStatus.EXECUTING
        with otc_serve(tmp_path / "second", database_url, namespace, workers=1, toml=_toml(venues),
                       plugins=["lp_horizon"], store_url=store_url) as second:
            await _ready(second.url)
            await _status(hedge_id, HedgeStatus.FILLED)
        orders = await venues.orders("horizon")
        assert (orders["received"], orders["executed"], orders["repeated"]) == (1, 1, {})
        hedge = await Hedge.get(id=hedge_id)
        assert (hedge.attempt, hedge.filled_amount, hedge.chunks) == (1, hedge.amount, 1)
        actions = await AuditLog.filter(closing_id=hedge.closing_id).order_by("id").values_list("action", flat=True)
        assert list(actions) == ["hedge.unknown", "hedge.filled"]
    finally:
        await close_database()
        if store_url != "memory://":
            await purge(store_url, namespace)


async def _executed(venues: Venues) -> bool:
    return (await venues.orders("horizon"))["executed"] == 1


# Two processes need the production backends: SQLite and the in-process store serve one.
@pytest.mark.parametrize("migrated_database_url", ["postgres"], indirect=True)
async def test_when_the_engines_process_dies_the_lease_moves_and_the_other_reconciles(
    tmp_path: Path, venues: Venues, migrated_database_url: str
) -> None:
    """Two deployments' processes share PostgreSQL and Redis; the one driving a hedge dies
    mid-order, the other takes the lease once it lapses and finishes the hedge from the venue."""
    namespace = f"move-{time.monotonic_ns()}"
    hedge_id = await _owed_hedge(migrated_database_url)
    for name in ("first", "second"):
        (tmp_path / name).mkdir()
    try:
        await venues.fault("horizon", match=HORIZON_ORDER, after=True, drop=True, delay=120)
        with otc_serve(tmp_path / "first", migrated_database_url, namespace, workers=1, toml=_toml(venues),
                       plugins=["lp_horizon"]) as first:
            await _ready(first.url)
            await _status(hedge_id, HedgeStatus.EXECUTING)
            with otc_serve(tmp_path / "second", migrated_database_url, namespace, workers=1, toml=_toml(venues),
                           plugins=["lp_horizon"]) as second:
                await _ready(second.url)
                await until(lambda: _executed(venues), 30)
                _kill(first.process)
                await _status(hedge_id, HedgeStatus.FILLED)
        taken = [line for line in second.log_lines() if line["msg"] == "lease taken" and line.get("lease") == "loop:execution"]
        assert len(taken) == 1
        orders = await venues.orders("horizon")
        assert (orders["received"], orders["executed"], orders["repeated"]) == (1, 1, {})
    finally:
        await close_database()
        await purge(REDIS_URL, namespace)
