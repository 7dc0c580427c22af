"""Pytest fixtures for the core's and plugins' tests: a fresh database and a clean store on
each backend.

Backends: SQLite and the in-process store always run. PostgreSQL and Redis run when reachable
(``OTC_TEST_POSTGRES_URL``, default ``postgres://postgres@127.0.0.1:5432/postgres``;
``OTC_TEST_REDIS_URL``, default ``redis://127.0.0.1:6379/15``) and are skipped otherwise,
unless ``OTC_TEST_REQUIRE_SERVICES=1`` (as in CI), which turns an unreachable service into a
failure so a green run always means both backends were exercised.

``migrated_database_url`` is ``database_url`` with every migration applied (copied from a
template migrated once per run).

Also: ``http`` (an ``httpx.AsyncClient``, closed after the test) and ``loopback``
(``await loopback(app)`` serves a Sanic app, a fake venue or the desk itself, on a loopback
port until the test ends).

Load it with ``-p otc_framework.testing.pytest_plugin`` (the core's pytest config does).
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest

POSTGRES_URL = os.environ.get("OTC_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("OTC_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def services_required() -> bool:
    return os.environ.get("OTC_TEST_REQUIRE_SERVICES", "") not in ("", "0", "false")


@cache
def _reachable(url: str) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 0), timeout=1):
            return True
    except OSError:
        return False


def require_service(name: str, url: str) -> None:
    """Skip the calling test when ``url`` is unreachable, or fail when services are required."""
    if _reachable(url):
        return
    message = f"{name} is not reachable at {urlsplit(url).netloc}"
    if services_required():
        pytest.fail(f"{message} and OTC_TEST_REQUIRE_SERVICES is set", pytrace=False)
    pytest.skip(message)


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


async def _postgres_admin(sql: str) -> None:
    import asyncpg

    parts = urlsplit(POSTGRES_URL)
    conn = await asyncpg.connect(
        host=parts.hostname, port=parts.port or 5432, user=parts.username or "postgres",
        password=parts.password, database=parts.path.lstrip("/") or "postgres",
    )
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@asynccontextmanager
async def _postgres_database(template: str | None = None) -> AsyncIterator[str]:
    """A new PostgreSQL database (a copy of ``template`` when given), dropped afterwards."""
    name = f"otc_test_{uuid.uuid4().hex[:12]}"
    await _postgres_admin(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
    try:
        yield _with_database(POSTGRES_URL, name)
    finally:
        from tortoise import Tortoise

        await Tortoise.close_connections()
        await _postgres_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgres"])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """URL of a new, empty database on each backend, dropped after the test."""
    if request.param == "sqlite":
        yield f"sqlite://{tmp_path / 'otc.sqlite3'}"
        return
    require_service("PostgreSQL", POSTGRES_URL)
    async with _postgres_database() as url:
        yield url


# Migrated once per test session and per backend, then copied for every test that wants a
# migrated database: a PostgreSQL ``CREATE DATABASE … TEMPLATE`` or a file copy costs a
# fraction of running the migrations again.
_TEMPLATES: dict[str, str] = {}


async def _postgres_template() -> str:
    if "postgres" not in _TEMPLATES:
        from otc_framework.storage.database import migrate

        name = f"otc_test_template_{uuid.uuid4().hex[:12]}"
        await _postgres_admin(f'CREATE DATABASE "{name}"')
        _TEMPLATES["postgres"] = name
        await migrate(_with_database(POSTGRES_URL, name))
    return _TEMPLATES["postgres"]


async def _sqlite_template(directory: Path) -> Path:
    if "sqlite" not in _TEMPLATES:
        from otc_framework.storage.database import migrate

        path = directory / "template.sqlite3"
        await migrate(f"sqlite://{path}")
        _TEMPLATES["sqlite"] = str(path)
    return Path(_TEMPLATES["sqlite"])


@pytest.fixture(params=["sqlite", "postgres"])
async def migrated_database_url(
    request: pytest.FixtureRequest, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[str]:
    """URL of a new database with every migration applied, on each backend, dropped after."""
    if request.param == "sqlite":
        import shutil

        template = await _sqlite_template(tmp_path_factory.mktemp("otc-template"))
        target = tmp_path / "otc.sqlite3"
        shutil.copyfile(template, target)
        yield f"sqlite://{target}"
        return
    require_service("PostgreSQL", POSTGRES_URL)
    async with _postgres_database(template=await _postgres_template()) as url:
        yield url


def pytest_sessionfinish(session: pytest.Session) -> None:
    name = _TEMPLATES.pop("postgres", None)
    if name is not None:
        import asyncio

        asyncio.run(_postgres_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    _stop_leaked_sqlite_threads()


def _stop_leaked_sqlite_threads() -> None:
    """Stop the worker thread of every SQLite connection a test left open.

    aiosqlite (0.22) runs each connection on a non-daemon thread, so one connection left open
    by a test whose app failed to stop would keep the interpreter from exiting after the run:
    CI would hang instead of reporting. Each such thread is sent aiosqlite's own stop, and the
    count is reported so the leak stays visible.
    """
    import gc
    import sys

    try:
        from aiosqlite import core
    except ImportError:
        return
    # ``type(obj)``, not ``isinstance``: a dead weak proxy among the objects raises on the latter.
    leaked = [obj for obj in gc.get_objects()
              if type(obj) is core.Connection and obj._thread.is_alive()]  # noqa: SLF001
    for connection in leaked:
        connection._tx.put_nowait((None, lambda: core._STOP_RUNNING_SENTINEL))  # noqa: SLF001
    if leaked:
        print(f"\notc: stopped {len(leaked)} SQLite connection(s) a test left open", file=sys.stderr)


@pytest.fixture(params=["memory", "redis"])
def store_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """URL of a store on each backend. Pair it with ``store_namespace`` so Redis keys of
    parallel or earlier runs never meet."""
    if request.param == "memory":
        yield "memory://"
        return
    require_service("Redis", REDIS_URL)
    yield REDIS_URL


async def purge(url: str, namespace: str) -> None:
    """Delete every Redis key of ``namespace``, so Redis keeps nothing from a test."""
    from redis.asyncio import Redis

    client = Redis.from_url(url)
    try:
        keys = [key async for key in client.scan_iter(match=f"{namespace}:*", count=500)]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


@pytest.fixture
async def store_namespace(store_url: str) -> AsyncIterator[str]:
    """A namespace of this test's own; on Redis its keys are deleted afterwards, whoever
    wrote them (the test, or an app it served)."""
    namespace = f"otctest:{uuid.uuid4().hex[:12]}"
    yield namespace
    if not store_url.startswith("memory://"):
        await purge(store_url, namespace)


@pytest.fixture
async def store(store_url: str, store_namespace: str) -> AsyncIterator[Any]:
    """An open store on each backend, in the test's namespace."""
    from otc_framework.storage.store import open_store

    opened = open_store(store_url, namespace=store_namespace, workers=1)
    try:
        yield opened
    finally:
        await opened.close()


@pytest.fixture
async def http() -> AsyncIterator[Any]:
    import httpx

    async with httpx.AsyncClient() as client:
        yield client


@pytest.fixture
async def loopback() -> AsyncIterator[Any]:
    from otc_framework.testing.fake_venue import LoopbackServer

    servers: list[LoopbackServer] = []

    async def start(app: Any) -> LoopbackServer:
        server = LoopbackServer(app)
        await server.start()
        servers.append(server)
        return server

    yield start
    for server in reversed(servers):
        await server.stop()
