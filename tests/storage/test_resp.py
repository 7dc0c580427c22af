"""The store's pipelined Redis connection: many callers on one connection get their own
replies, a server that stops answering fails its callers after the timeout (and nothing is
sent again), a lost connection fails its callers and the next call reconnects, scripts
survive a SCRIPT FLUSH, and the URL's database and password are used."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest

from otc_framework.storage.store.resp import ConnectionLost, PipelinedConnection, ReplyError, Script
from otc_framework.testing.pytest_plugin import REDIS_URL, require_service

ECHO = Script("return {KEYS[1], ARGV[1]}")


@pytest.fixture
async def prefix() -> AsyncIterator[str]:
    require_service("Redis", REDIS_URL)
    name = f"resp-test-{uuid.uuid4().hex}:"
    yield name
    cleaner = PipelinedConnection(REDIS_URL, timeout=5, connect_timeout=5)
    keys = await cleaner.call("KEYS", name + "*")
    if keys:
        await cleaner.call("DEL", *keys)
    await cleaner.close()


class Silent:
    """A TCP server that takes connections and bytes, and never answers (a hung Redis)."""

    def __init__(self) -> None:
        self.received = bytearray()
        self.connections = 0

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return int(self._server.sockets[0].getsockname()[1])

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        while data := await reader.read(65536):
            self.received.extend(data)
        writer.close()

    async def stop(self) -> None:
        self._server.close()


async def test_concurrent_callers_each_get_their_own_reply(prefix: str) -> None:
    conn = PipelinedConnection(REDIS_URL, timeout=5, connect_timeout=5)
    try:
        await asyncio.gather(*(conn.call("SET", f"{prefix}{i}", f"value-{i}") for i in range(500)))
        values = await asyncio.gather(*(conn.call("GET", f"{prefix}{i}") for i in range(500)))
        assert values == [f"value-{i}" for i in range(500)]
        assert await conn.call("MGET", f"{prefix}1", f"{prefix}missing") == ["value-1", None]
        with pytest.raises(ReplyError, match="WRONGTYPE"):
            await conn.call("LPUSH", f"{prefix}1", "x")
        assert await conn.call("GET", f"{prefix}2") == "value-2"  # an error reply keeps the order
    finally:
        await conn.close()


async def test_a_hung_server_fails_its_callers_and_nothing_is_sent_twice() -> None:
    silent = Silent()
    port = await silent.start()
    conn = PipelinedConnection(f"redis://127.0.0.1:{port}/0", timeout=0.3, connect_timeout=1)
    try:
        calls = [asyncio.ensure_future(conn.call("SET", "k", str(i))) for i in range(3)]
        for call in calls:
            with pytest.raises(TimeoutError):
                await call
        assert bytes(silent.received).count(b"SET") == 3  # each sent once, none resent
        with pytest.raises(TimeoutError):
            await conn.call("GET", "k")  # a new connection, which hangs as well
        assert silent.connections == 2
    finally:
        await conn.close()
        await silent.stop()


async def test_a_lost_connection_fails_its_callers_and_the_next_call_reconnects(prefix: str) -> None:
    conn = PipelinedConnection(REDIS_URL, timeout=5, connect_timeout=5)
    try:
        name = f"{prefix}victim"
        await conn.call("CLIENT", "SETNAME", name)
        blocked = asyncio.ensure_future(conn.call("BLPOP", f"{prefix}never", 10))
        await asyncio.sleep(0.1)
        killer = PipelinedConnection(REDIS_URL, timeout=5, connect_timeout=5)
        assert await killer.call("CLIENT", "KILL", "USER", "default", "SKIPME", "no") >= 1
        await killer.close()
        with pytest.raises(ConnectionLost):
            await blocked
        assert await conn.call("PING") == "PONG"
    finally:
        await conn.close()


async def test_a_script_is_loaded_again_after_a_flush(prefix: str) -> None:
    conn = PipelinedConnection(REDIS_URL, timeout=5, connect_timeout=5)
    try:
        assert await conn.script(ECHO, [f"{prefix}k"], ["a"]) == [f"{prefix}k", "a"]
        await conn.call("SCRIPT", "FLUSH")
        assert await conn.script(ECHO, [f"{prefix}k"], ["b"]) == [f"{prefix}k", "b"]
        assert await conn.call("SCRIPT", "EXISTS", ECHO.sha) == [1]  # EVAL loaded it again for EVALSHA
    finally:
        await conn.close()


async def test_the_urls_database_and_a_password_the_server_does_not_need() -> None:
    require_service("Redis", REDIS_URL)
    base = REDIS_URL.rsplit("/", 1)[0].replace("redis://", "redis://:unneeded@")
    conn = PipelinedConnection(f"{base}/14", timeout=5, connect_timeout=5)
    try:
        info = await conn.call("CLIENT", "INFO")
        assert " db=14 " in f" {info} "
    finally:
        await conn.close()


async def test_a_closed_connection_refuses_calls() -> None:
    conn = PipelinedConnection("redis://127.0.0.1:1/0", timeout=1, connect_timeout=1)
    await conn.close()
    with pytest.raises(ConnectionLost):
        await conn.call("PING")
