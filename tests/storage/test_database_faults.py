"""PostgreSQL faults: a multi-host URL writes to the server that takes writes, and a desk whose
database restarts answers NOT_READY meanwhile and serves again by itself."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from tortoise.connection import get_connection

from otc_framework.storage.database import close_database, migrate, open_database, tortoise_config
from otc_framework.storage.models import Closing
from otc_framework.web import create_app
from tests.desk import Desk, scripted_desk
from tests.postgres_cluster import PostgresServer, private_postgres, require_postgres_binaries  # noqa: F401


def test_a_multi_host_url_lists_every_server_and_targets_writes() -> None:
    connection = tortoise_config("postgres://otc:pw@10.0.0.1:5432,[fd00::2]:5433,db3/otc")["connections"]["default"]
    credentials = connection["credentials"]
    assert credentials["host"] == ["10.0.0.1", "fd00::2", "db3"] and credentials["ports"] == [5432, 5433, 5432]
    assert credentials["target_session_attrs"] == "read-write"
    assert (credentials["user"], credentials["password"], credentials["database"]) == ("otc", "pw", "otc")


async def test_writes_go_to_the_server_that_takes_them() -> None:
    require_postgres_binaries()
    standby, primary = PostgresServer(read_only=True).start(), PostgresServer().start()
    try:
        url = (f"postgres://postgres@127.0.0.1:{standby.port},127.0.0.1:{primary.port},127.0.0.1:1/postgres")
        await migrate(url)
        await open_database(url)
        try:
            rows = await get_connection("default").execute_query_dict("SELECT inet_server_port() AS port")
            assert rows[0]["port"] == primary.port
        finally:
            await close_database()
    finally:
        standby.remove()
        primary.remove()


@pytest.mark.parametrize("store_url", ["redis"], indirect=True)
async def test_a_database_restart_answers_not_ready_then_recovers(
        private_postgres: PostgresServer, store_url: str, store_namespace: str, serve: Any) -> None:  # noqa: F811
    url = f"{private_postgres.url}/postgres"
    await migrate(url)
    config, plugins = scripted_desk(url, store_url, store_namespace)
    desk = Desk(await serve(create_app(config, plugins, unique_name=True)))
    await desk.wait_for_spot()
    _, token = await desk.client("restart")
    assert (await desk.trade(token)).status_code == 201

    answers = await desk.trades_during(token, asyncio.create_task(asyncio.to_thread(private_postgres.restart, 1.0)))
    during = {(status, code) for status, code, _ in answers}
    assert during <= {(503, "NOT_READY"), (201, "")}, during
    assert (503, "NOT_READY") in during
    await desk.serving_again(token)
    assert (await desk.http.get("/health/ready")).status_code == 200
    assert await Closing.all().count() == 2 + sum(1 for status, _, _ in answers if status == 201)
    print(f"{len(answers)} trades tried during the restart, the slowest answer {max(s for *_, s in answers):.3f} s")
