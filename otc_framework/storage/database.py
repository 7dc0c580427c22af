"""The relational database: configuration, lifecycle, migrations, health.

One URL picks the backend: ``postgres://user@host:5432/db`` (asyncpg, production) or
``sqlite:///abs/path/otc.sqlite3`` (aiosqlite, the embedded default). The same migration
files serve both, because Tortoise's native migrations render SQL per dialect when they run.

``open_database`` makes the connection visible to every task of the process (Sanic serves
requests in tasks other than the listener that opened it). ``migrate`` and
``pending_migrations`` run in a private Tortoise context with their own connection, so they
work the same whether or not the application has the database open.

A database that cannot be reached raises ``DatabaseUnavailable``; a URL Tortoise cannot use
raises ``ConfigError``. Both messages name the target without credentials.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from tortoise import Tortoise
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.backends.base.config_generator import expand_db_url
from tortoise.backends.base.executor import EXECUTOR_CACHE
from tortoise.connection import get_connection
from tortoise.context import TortoiseContext
from tortoise.exceptions import ConfigurationError, DBConnectionError
from tortoise.migrations.executor import MigrationExecutor, MigrationTarget

from otc_framework.errors import ConfigError, OtcError
from otc_framework.metrics import database_error
from otc_framework.storage.urls import split_url

APP_LABEL = "models"
MODELS_MODULE = "otc_framework.storage.models"
MIGRATIONS_MODULE = "otc_framework.storage.migrations"
ZERO = "zero"

# Tortoise's own names for "latest" and "before the first migration".
_LATEST = "__latest__"
_FIRST = "__first__"


class DatabaseUnavailable(OtcError):
    """The database cannot be reached or is not open in this process."""


def tortoise_config(url: str) -> dict[str, Any]:
    """The Tortoise configuration for ``url``: one ``default`` connection, app ``models``."""
    return {
        "connections": {"default": _connection(url)},
        "apps": {
            APP_LABEL: {
                "models": [MODELS_MODULE],
                "default_connection": "default",
                "migrations": MIGRATIONS_MODULE,
            }
        },
        "use_tz": True,
        "timezone": "UTC",
    }


async def rollback_only(connection: Any) -> None:
    """What an asyncpg pool does to a connection handed back, instead of ``Connection.reset``.

    The default reset is a query (``pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET
    ALL``) after every statement run outside a transaction: a round trip and server work on
    every audit row. The desk's connections hold no session state (no advisory locks, LISTEN,
    cursors or SET), so only an open transaction, which a cancelled request can leave, is
    undone.
    """
    if connection.is_in_transaction():
        await connection.execute("ROLLBACK")


def _hosts(netloc: str) -> list[tuple[str, int]]:
    """The servers of a multi-host PostgreSQL URL's ``h1:5432,h2:5432`` (after any login), in order."""
    hosts = []
    for item in netloc.split(","):
        if item.startswith("["):  # [IPv6]:port
            host, _, rest = item[1:].partition("]")
            port = rest.removeprefix(":")
        else:
            host, _, port = item.partition(":")
        try:
            hosts.append((host, int(port) if port else 5432))
        except ValueError:
            raise ConfigurationError(f"bad port in {item!r}") from None
    return hosts


def _connection(url: str) -> str | dict[str, Any]:
    # Expanding validates the URL now: Tortoise cannot clean up a context whose
    # connection failed to be configured.
    parts = split_url(url)
    login, at, servers = parts.netloc.rpartition("@")
    hosts = _hosts(servers) if "," in servers else []
    if hosts:
        # Tortoise reads one host (the list replaces it below); asyncpg tries each in turn.
        first, port = hosts[0]
        url = parts._replace(netloc=f"{login}{at}{f'[{first}]' if ':' in first else first}:{port}").geturl()
    connection = expand_db_url(url)
    if connection["engine"] == "tortoise.backends.asyncpg":
        credentials = connection["credentials"]
        credentials["reset"] = rollback_only
        if hosts:
            connection["engine"] = "otc_framework.storage.multihost"
            credentials["host"] = [host for host, _ in hosts]
            credentials["ports"] = [port for _, port in hosts]
            # Of several servers, the one that takes writes (a promoted standby after a
            # failover); asyncpg's own default would take any.
            credentials.setdefault("target_session_attrs", "read-write")
        return connection
    if hosts:
        raise ConfigurationError("several hosts are for PostgreSQL only")
    if connection["engine"] != "tortoise.backends.sqlite":
        return url
    # Tortoise sets these by default today; they are stated here because RESTRICT on
    # trading rows means nothing on SQLite without foreign_keys, and WAL lets readers
    # (health checks, the admin) proceed while a closing is being written.
    connection["credentials"].update(journal_mode="WAL", foreign_keys="ON")
    return connection


async def open_database(url: str) -> None:
    """Connect the process to ``url``; re-opening replaces the previous connection."""
    config = _checked_config(url)
    await close_database()
    _forget_cached_sql()
    try:
        async with _reaching(url):
            await Tortoise.init(config=config, _enable_global_fallback=True)
            await _select_one(get_connection("default"))
    except OtcError:
        await close_database()
        raise


async def close_database() -> None:
    await Tortoise.close_connections()


# What a database that went away (restarting, failing over, unreachable) raises, as opposed to
# a query it refused: connection-level failures of the driver and of the sockets under it.
_GONE: tuple[type[BaseException], ...] = (
    ConnectionError, TimeoutError, asyncpg.PostgresConnectionError, asyncpg.InterfaceError,
    asyncpg.exceptions.OperatorInterventionError,  # shutting down, admin shutdown, cannot connect now
    DBConnectionError, DatabaseUnavailable,
)


def unavailable(exc: BaseException) -> bool:
    """Whether ``exc``, or what it was raised from, says the database cannot be reached now."""
    seen: BaseException | None = exc
    for _ in range(8):  # a chain of causes, bounded
        if seen is None:
            return False
        if isinstance(seen, _GONE):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


async def ping() -> None:
    """Run ``SELECT 1``; raise ``DatabaseUnavailable`` when that is not possible."""
    try:
        await _select_one(get_connection("default"))
    except Exception as exc:
        database_error("ping")
        # Driver messages can carry the DSN; the class name is enough to diagnose.
        raise DatabaseUnavailable(f"database unavailable ({type(exc).__name__})") from exc


async def migrate(url: str, target: str | None = None) -> list[str]:
    """Bring the schema to ``target`` and return the migrations applied or rolled back.

    ``None`` applies everything pending; a migration name applies up to it, or rolls back
    everything after it when it is already applied; ``"zero"`` rolls everything back.
    """
    done: list[str] = []

    def progress(event: str, _app_label: str, name: str) -> None:
        if event in {"apply_done", "rollback_done"}:
            done.append(name)

    async with _executor(url) as executor:
        targets = await _targets(executor, target)
        await executor.migrate(targets, progress=progress)
    return done


async def pending_migrations(url: str) -> list[str]:
    """Names of the migrations not yet applied to ``url``, in the order they would run."""
    async with _executor(url) as executor:
        plan = await executor.plan([MigrationTarget(APP_LABEL, _LATEST)])
    return [step.migration.name for step in plan if not step.backward]


@asynccontextmanager
async def _executor(url: str) -> AsyncIterator[MigrationExecutor]:
    config = _checked_config(url)
    _forget_cached_sql()
    try:
        async with TortoiseContext() as ctx:
            async with _reaching(url):
                await ctx.init(config=config)
                connection = ctx.db("default")
                await _select_one(connection)
            yield MigrationExecutor(connection, {APP_LABEL: config["apps"][APP_LABEL]})
    finally:
        _forget_cached_sql()


async def _targets(executor: MigrationExecutor, target: str | None) -> list[MigrationTarget]:
    if target is None:
        return [MigrationTarget(APP_LABEL, _LATEST)]
    if target == ZERO:
        return [MigrationTarget(APP_LABEL, _FIRST)]
    await executor.loader.build_graph()
    known = sorted(key.name for key in executor.loader.graph.nodes if key.app_label == APP_LABEL)
    if target not in known:
        raise ValueError(f"unknown migration {target!r}; known: {', '.join(known)} or {ZERO}")
    return [MigrationTarget(APP_LABEL, target)]


async def _select_one(connection: BaseDBAsyncClient) -> None:
    await connection.execute_query("SELECT 1")


def _checked_config(url: str) -> dict[str, Any]:
    try:
        return tortoise_config(url)
    except ConfigurationError as exc:
        raise ConfigError(f"database url {_describe(url)}: {exc}") from exc


@asynccontextmanager
async def _reaching(url: str) -> AsyncIterator[None]:
    """Turn a failure to connect into ``DatabaseUnavailable``. Only wraps connecting: an
    error inside a migration is a bug and keeps its own type and traceback."""
    try:
        yield
    except Exception as exc:
        # Drivers fail here in many ways (refused, DNS, auth, timeout, missing file).
        raise DatabaseUnavailable(
            f"cannot reach the database at {_describe(url)} ({type(exc).__name__})"
        ) from exc


def _describe(url: str) -> str:
    parts = split_url(url)
    if parts.scheme == "sqlite":
        return f"sqlite://{parts.netloc}{parts.path}"
    if "," in parts.netloc:
        return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}{parts.path}"
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        port = ""
    return f"{parts.scheme}://{parts.hostname or ''}{port}{parts.path}"


def _forget_cached_sql() -> None:
    # Tortoise caches each table's INSERT/DELETE SQL by connection *name* and table for
    # the life of the process, whatever dialect or model class is behind the name. Without
    # this, reopening "default" on another backend reuses SQL of the previous dialect
    # (SQLite "?" placeholders sent to PostgreSQL), and the historical models of a data
    # migration share cache entries with the application's current models.
    EXECUTOR_CACHE.clear()


__all__ = [
    "DatabaseUnavailable",
    "close_database",
    "migrate",
    "open_database",
    "pending_migrations",
    "ping",
    "tortoise_config",
]
