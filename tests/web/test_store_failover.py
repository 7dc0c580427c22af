"""The desk on Redis through Sentinel, while the master dies: requests that need the store
answer NOT_READY at once, nothing committed is lost, and the desk serves again from the
promoted replica without a restart."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from otc_framework.plugins import build_plugin_host
from otc_framework.storage.models import Closing
from otc_framework.web import create_app
from tests import scripted_plugin
from tests.desk import Desk, desk_config
from tests.redis_sentinel import SentinelCluster, sentinel_cluster  # noqa: F401 (the fixture)


async def trade(desk: Desk, token: str) -> Any:
    quoted = await desk.quote(token)
    if quoted.status_code != 201:
        return quoted
    return await desk.close(token, quoted.json()["sessionId"])


@pytest.mark.parametrize("migrated_database_url", ["postgres"], indirect=True)
async def test_a_redis_failover_answers_not_ready_then_recovers(
        migrated_database_url: str, sentinel_cluster: SentinelCluster, serve: Any) -> None:  # noqa: F811
    # The cluster comes first so that it outlives the desk (fixtures end in reverse order).
    config = desk_config(migrated_database_url, sentinel_cluster.url, "failover")
    plugins = build_plugin_host(config, modules={"scripted": scripted_plugin.plugin}, env={})
    desk = Desk(await serve(create_app(config, plugins, unique_name=True)))
    await desk.wait_for_spot()
    _, token = await desk.client("failover")
    assert (await trade(desk, token)).status_code == 201

    await asyncio.to_thread(sentinel_cluster.kill_master)
    outage: list[tuple[int, str, float]] = []
    promoted = asyncio.create_task(asyncio.to_thread(sentinel_cluster.wait_promoted))
    while not promoted.done():
        started = time.monotonic()
        answer = await trade(desk, token)
        outage.append((answer.status_code, answer.json().get("code", ""), time.monotonic() - started))
        await asyncio.sleep(0.1)
    await promoted
    promoted_at = time.monotonic()
    during = [(status, code) for status, code, _ in outage]
    assert during and set(during) <= {(503, "NOT_READY"), (201, "")}, during
    assert (503, "NOT_READY") in during
    ready = await desk.http.get("/health/ready")
    answers = [ready]

    async def serving() -> bool:
        answer = await trade(desk, token)
        answers.append(answer)
        return answer.status_code == 201

    deadline = time.monotonic() + 30
    while not await serving():
        assert answers[-1].status_code == 503 and answers[-1].json()["code"] == "NOT_READY", answers[-1].text
        assert time.monotonic() < deadline, "the desk never served again"
        await asyncio.sleep(0.1)
    recovered_after = time.monotonic() - promoted_at
    assert (await desk.http.get("/health/ready")).status_code == 200
    closed = 2 + sum(1 for status, _ in during if status == 201)
    assert await Closing.all().count() == closed
    print(f"{len(outage)} trades tried during the failover, the slowest answer "
          f"{max(seconds for *_, seconds in outage):.3f} s; serving again {recovered_after:.2f} s after the promotion")
