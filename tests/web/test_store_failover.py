"""The desk on Redis through Sentinel, while the master dies: requests that need the store
answer NOT_READY at once, nothing committed is lost, and the desk serves again from the
promoted replica without a restart."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from otc_framework.storage.models import Closing
from otc_framework.web import create_app
from tests.desk import Desk, scripted_desk
from tests.redis_sentinel import SentinelCluster, sentinel_cluster  # noqa: F401 (the fixture)


@pytest.mark.parametrize("migrated_database_url", ["postgres"], indirect=True)
async def test_a_redis_failover_answers_not_ready_then_recovers(
        migrated_database_url: str, sentinel_cluster: SentinelCluster, serve: Any) -> None:  # noqa: F811
    # The cluster comes first so that it outlives the desk (fixtures end in reverse order).
    config, plugins = scripted_desk(migrated_database_url, sentinel_cluster.url, "failover")
    desk = Desk(await serve(create_app(config, plugins, unique_name=True)))
    await desk.wait_for_spot()
    _, token = await desk.client("failover")
    assert (await desk.trade(token)).status_code == 201

    await asyncio.to_thread(sentinel_cluster.kill_master)
    outage = await desk.trades_during(token, asyncio.create_task(asyncio.to_thread(sentinel_cluster.wait_promoted)))
    during = {(status, code) for status, code, _ in outage}
    assert during <= {(503, "NOT_READY"), (201, "")}, during
    assert (503, "NOT_READY") in during
    recovered_after = await desk.serving_again(token)
    assert (await desk.http.get("/health/ready")).status_code == 200
    assert await Closing.all().count() == 2 + sum(1 for status, _, _ in outage if status == 201)
    print(f"{len(outage)} trades tried during the failover, the slowest answer "
          f"{max(seconds for *_, seconds in outage):.3f} s; serving again {recovered_after:.2f} s after the promotion")
