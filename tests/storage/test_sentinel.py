"""The Redis store through Sentinel (``store.sentinel``): the URL, and a real failover that
the store follows without being reopened."""

from __future__ import annotations

import asyncio
import time

import pytest

from otc_framework.errors import ConfigError, StoreError
from otc_framework.storage.store import open_store
from otc_framework.storage.store.redis import RedisStore
from otc_framework.storage.store.sentinel import parse
from tests.redis_sentinel import SentinelCluster, sentinel_cluster  # noqa: F401 (the fixture)


def test_the_url_names_sentinels_service_database_and_secrets() -> None:
    target = parse("redis+sentinel://:s%40cret@10.0.0.1:26379,10.0.0.2,[::1]:26380/desk/3?sentinel_password=sp")
    assert target.sentinels == (("10.0.0.1", 26379), ("10.0.0.2", 26379), ("::1", 26380))
    assert (target.service, target.db, target.password, target.sentinel_password) == ("desk", 3, "s@cret", "sp")
    assert target.server_url() == "redis://:s%40cret@sentinel-master/3"
    assert "s@cret" not in target.location and "sp" not in target.location.split()


@pytest.mark.parametrize("url", [
    "redis+sentinel://10.0.0.1:26379",            # no service
    "redis+sentinel://10.0.0.1:x/desk",           # bad port
    "redis+sentinel://10.0.0.1/desk/zero",        # bad database
    "redis+sentinel://10.0.0.1/desk?timeout=1",   # unknown option
])
def test_a_bad_sentinel_url_is_a_config_error(url: str) -> None:
    with pytest.raises(ConfigError):
        open_store(url)


async def test_the_store_follows_a_failover_without_a_restart(sentinel_cluster: SentinelCluster) -> None:  # noqa: F811
    store = open_store(sentinel_cluster.url, namespace="failover")
    assert isinstance(store, RedisStore)
    try:
        await store.set("kept", "before")
        subscription = await store.subscribe("news")
        messages = aiter(subscription)
        await store.publish("news", "one")
        assert await asyncio.wait_for(anext(messages), 5) == "one"
        await asyncio.to_thread(sentinel_cluster.replicated)

        promoted_after = await asyncio.to_thread(sentinel_cluster.fail_over)
        # Until a new connection finds the promoted replica, commands fail at once and say so.
        failures: list[float] = []
        recovered = None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            started = time.monotonic()
            try:
                recovered = await store.get("kept")
                break
            except StoreError as exc:
                assert "sentinel" in str(exc)
                failures.append(time.monotonic() - started)
                await asyncio.sleep(0.05)
        assert recovered == "before", "a write acknowledged by both servers was lost"
        await store.set("after", "failover")
        assert await store.get("after") == "failover"

        # Pub/sub reconnects to the new master and re-subscribes by itself.
        async def delivered() -> bool:
            await store.publish("news", "two")
            try:
                return await asyncio.wait_for(anext(messages), 0.5) == "two"
            except TimeoutError:
                return False

        deadline = time.monotonic() + 30
        while not await delivered():
            assert time.monotonic() < deadline, "pub/sub never came back"
        print(f"promoted after {promoted_after:.2f} s; {len(failures)} failed commands, "
              f"the slowest in {max(failures, default=0):.3f} s")

        # The old master returns as a replica; the store stays on the promoted one.
        await asyncio.to_thread(sentinel_cluster.restart_old_master)
        await store.set("later", "still")
        assert await store.get("later") == "still"
    finally:
        await store.close()
