"""The store contract on both adapters, plus what only one backend can show: the refusals of
``open_store``, several RedisStore instances acting as several workers, and failures."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator, Callable
from urllib.parse import urlsplit

import pytest
from redis.asyncio import Redis

from otc_framework.errors import ConfigError, StoreError
from otc_framework.storage.store import Store, open_store
from otc_framework.storage.store.memory import MemoryStore
from otc_framework.storage.store.redis import RedisStore
from otc_framework.testing.pytest_plugin import REDIS_URL, purge, require_service
from otc_framework.testing.store_contract import StoreContract, ends, receive


async def dispose(store: Store, url: str, namespace: str) -> None:
    if store.backend == "redis":
        await purge(url, namespace)
    await store.close()


@pytest.fixture
async def make_store(store_url: str) -> AsyncIterator[Callable[[str], Store]]:
    opened: list[tuple[Store, str]] = []

    def make(namespace: str) -> Store:
        new = open_store(store_url, namespace=namespace, workers=1)
        opened.append((new, namespace))
        return new

    yield make
    for new, namespace in opened:
        await dispose(new, store_url, namespace)


class TestStoreContract(StoreContract):
    """Both adapters against the one contract."""


# -- open_store --------------------------------------------------------------------------


def test_memory_store_refuses_several_workers() -> None:
    with pytest.raises(ConfigError) as refused:
        open_store("memory://", workers=3)
    message = str(refused.value)
    assert "\n" not in message
    assert "memory://" in message
    assert "redis://" in message
    assert "3 workers" in message


async def test_memory_store_for_one_worker() -> None:
    store = open_store("memory://", workers=1)
    try:
        assert isinstance(store, MemoryStore)
        assert store.backend == "memory"
    finally:
        await store.close()


def test_unknown_scheme_is_named_without_the_url() -> None:
    with pytest.raises(ConfigError) as refused:
        open_store("postgres://admin:hunter2@db.internal/otc")
    message = str(refused.value)
    assert "postgres://" in message
    assert "hunter2" not in message
    assert "db.internal" not in message


@pytest.mark.parametrize("url", ["redis://127.0.0.1:6379/3", "rediss://:pw@redis.example:6380"])
async def test_redis_urls_open_a_redis_store(url: str) -> None:
    store = open_store(url, workers=8)
    try:
        assert isinstance(store, RedisStore)
        assert store.backend == "redis"
    finally:
        await store.close()


def test_malformed_redis_url_is_a_config_error() -> None:
    with pytest.raises(ConfigError) as refused:
        open_store("redis://:s3cret@127.0.0.1:port/0")
    assert "s3cret" not in str(refused.value)


# -- unreachable Redis -------------------------------------------------------------------

UNREACHABLE = "redis://:s3cret@127.0.0.1:1/0"


async def test_unreachable_redis_raises_store_error_without_password() -> None:
    store = open_store(UNREACHABLE)
    try:
        with pytest.raises(StoreError) as failed:
            await store.ping()
        assert "s3cret" not in str(failed.value)
        assert "127.0.0.1:1" in str(failed.value)
        for attempt in (store.get("k"), store.set("k", "v"), store.subscribe("events")):
            with pytest.raises(StoreError) as failed:
                await attempt
            assert "s3cret" not in str(failed.value)
    finally:
        await store.close()


# -- several RedisStore instances: several workers ---------------------------------------


@pytest.fixture
async def workers() -> AsyncIterator[tuple[Store, Store]]:
    require_service("Redis", REDIS_URL)
    namespace = f"otctest:{uuid.uuid4().hex[:12]}"
    first = open_store(REDIS_URL, namespace=namespace, workers=2)
    second = open_store(REDIS_URL, namespace=namespace, workers=2)
    try:
        yield first, second
    finally:
        await purge(REDIS_URL, namespace)
        await first.close()
        await second.close()


async def test_pubsub_crosses_workers(workers: tuple[Store, Store]) -> None:
    first, second = workers
    on_first = await first.subscribe("admin")
    on_second = await second.subscribe("admin")
    try:
        await second.publish("admin", "from second")
        await first.publish("admin", "from first")
        assert await receive(on_first, 2) == ["from second", "from first"]
        assert await receive(on_second, 2) == ["from second", "from first"]
    finally:
        await on_first.close()
        await on_second.close()


async def test_take_is_exactly_once_across_workers(workers: tuple[Store, Store]) -> None:
    first, second = workers
    await first.set("oid", "v")
    results = await asyncio.gather(*(w.take("oid") for w in (first, second) * 25))
    assert results.count("v") == 1


async def test_set_if_absent_is_exactly_once_across_workers(workers: tuple[Store, Store]) -> None:
    first, second = workers
    results = await asyncio.gather(
        *(w.set_if_absent("dedup", "x", ttl=30) for w in (first, second) * 25)
    )
    assert results.count(True) == 1


async def test_lease_is_exclusive_across_workers(workers: tuple[Store, Store]) -> None:
    first, second = workers
    assert await first.acquire_lease("feed", "worker-1", ttl=30)
    assert not await second.acquire_lease("feed", "worker-2", ttl=30)
    await second.release_lease("feed", "worker-2")
    assert await first.acquire_lease("feed", "worker-1", ttl=30)
    await first.release_lease("feed", "worker-1")
    assert await second.acquire_lease("feed", "worker-2", ttl=30)


async def test_bucket_is_shared_across_workers(workers: tuple[Store, Store]) -> None:
    first, second = workers
    assert (await first.rate_limit("client", 2, refill_per_second=0.1)).allowed
    assert (await second.rate_limit("client", 2, refill_per_second=0.1)).allowed
    assert not (await first.rate_limit("client", 2, refill_per_second=0.1)).allowed


# -- Redis specifics ---------------------------------------------------------------------


@pytest.fixture
def redis_namespace() -> str:
    require_service("Redis", REDIS_URL)
    return f"otctest:{uuid.uuid4().hex[:12]}"


async def test_blocking_pool_waits_instead_of_failing(redis_namespace: str) -> None:
    store = RedisStore(REDIS_URL, redis_namespace, max_connections=2)
    try:
        await store.set("k", "v")
        assert await asyncio.gather(*(store.get("k") for _ in range(40))) == ["v"] * 40
    finally:
        await purge(REDIS_URL, redis_namespace)
        await store.close()


async def test_bucket_state_expires_in_redis(redis_namespace: str) -> None:
    store = RedisStore(REDIS_URL, redis_namespace)
    client = Redis.from_url(REDIS_URL)
    try:
        await store.rate_limit("client", 5, refill_per_second=1)
        left = await client.pttl(f"{redis_namespace}:ratelimit:client")
        assert 0 < left <= 1001
    finally:
        await client.aclose()
        await purge(REDIS_URL, redis_namespace)
        await store.close()


@pytest.mark.parametrize("protocol", ["2", "3"])
async def test_pubsub_under_each_resp_protocol(redis_namespace: str, protocol: str) -> None:
    joiner = "&" if "?" in REDIS_URL else "?"
    store = RedisStore(f"{REDIS_URL}{joiner}protocol={protocol}", redis_namespace)
    try:
        early = await store.subscribe("events")
        await store.publish("events", "one")
        late = await store.subscribe("events")
        await store.publish("events", "two")
        assert await receive(early, 2) == ["one", "two"]
        assert await receive(late, 1) == ["two"]
    finally:
        await store.close()


async def test_pubsub_survives_a_dropped_connection(redis_namespace: str) -> None:
    store = RedisStore(REDIS_URL, redis_namespace)
    client = Redis.from_url(REDIS_URL)
    try:
        sub = await store.subscribe("events")
        host, port = store._pubsub.connection._writer.get_extra_info("sockname")[:2]
        assert await client.client_kill_filter(_type=None, addr=f"{host}:{port}") == 1

        async def publish_until_received() -> str:
            while True:
                await store.publish("events", "again")
                try:
                    return await asyncio.wait_for(sub.__anext__(), 0.2)
                except TimeoutError:
                    continue

        assert await asyncio.wait_for(publish_until_received(), 10) == "again"
        await sub.close()
    finally:
        await client.aclose()
        await store.close()


class Outage:
    """A TCP relay to Redis that the test can cut and restore, as a network outage would."""

    def __init__(self) -> None:
        self.port = 0
        self._server: asyncio.Server | None = None
        self._links: set[asyncio.Task[None]] = set()
        self._transports: set[asyncio.BaseTransport] = set()

    async def restore(self) -> None:
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def cut(self) -> None:
        assert self._server is not None
        self._server.close()
        for transport in self._transports:
            transport.abort()
        await asyncio.gather(*self._links, return_exceptions=True)
        await self._server.wait_closed()

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._links.add(asyncio.current_task())  # type: ignore[arg-type]
        target = urlsplit(REDIS_URL)
        up_reader, up_writer = await asyncio.open_connection(target.hostname, target.port or 6379)
        self._transports.update((writer.transport, up_writer.transport))

        async def pump(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            try:
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            except ConnectionError:
                pass
            finally:
                sink.transport.abort()

        await asyncio.gather(pump(reader, up_writer), pump(up_reader, writer))


async def test_pubsub_survives_an_outage(redis_namespace: str) -> None:
    outage = Outage()
    await outage.restore()
    store = RedisStore(f"redis://:s3cret@127.0.0.1:{outage.port}/15", redis_namespace)
    try:
        sub = await store.subscribe("events")
        await outage.cut()
        with pytest.raises(StoreError) as failed:
            await store.publish("events", "lost")
        assert "s3cret" not in str(failed.value)
        await asyncio.sleep(0.3)
        await outage.restore()

        async def publish_until_received() -> str:
            while True:
                try:
                    await store.publish("events", "back")
                    return await asyncio.wait_for(sub.__anext__(), 0.2)
                except (StoreError, TimeoutError):
                    await asyncio.sleep(0.1)

        assert await asyncio.wait_for(publish_until_received(), 10) == "back"
        await sub.close()
    finally:
        await store.close()
        await outage.cut()


# -- behaviour with small queues / sweeps ------------------------------------------------


def small_queue_store(url: str, namespace: str) -> Store:
    if url.startswith("memory"):
        return MemoryStore(namespace, queue_size=2)
    return RedisStore(url, namespace, queue_size=2)


async def test_dropped_subscriber_is_logged(
    store_url: str, store_namespace: str, caplog: pytest.LogCaptureFixture
) -> None:
    store = small_queue_store(store_url, store_namespace)
    caplog.set_level(logging.WARNING, logger="otc_framework.storage.store")
    try:
        slow = await store.subscribe("flood")
        fast = await store.subscribe("flood")
        for i in range(3):
            await store.publish("flood", str(i))
            assert await receive(fast, 1) == [str(i)]
        assert await ends(slow) == []
        assert any("dropped a subscriber" in r.getMessage() for r in caplog.records)
        await fast.close()
    finally:
        await store.close()


async def test_memory_store_sweeps_expired_keys() -> None:
    store = MemoryStore(sweep_interval=0.05)
    try:
        for i in range(100):
            await store.set(f"k{i}", "v", ttl=0.05)
        await store.rate_limit("client", 1, refill_per_second=100)
        await asyncio.sleep(0.1)
        await store.set("keep", "v")
        assert list(store._entries) == ["otc:keep"]
        assert store._buckets == {}
    finally:
        await store.close()
