from __future__ import annotations

from pathlib import Path

import pytest
from tortoise.connection import get_connection

from otc_framework.controls import CORE_CONTROLS
from otc_framework.errors import ConfigError
from otc_framework.storage.database import (
    DatabaseUnavailable,
    close_database,
    migrate,
    open_database,
    pending_migrations,
    ping,
    rollback_only,
    tortoise_config,
)
from otc_framework.storage.models import LpSpread, Spread, SystemControl

ALL = ["0001_initial", "0002_seed_defaults", "0003_audit_append_only", "0004_alerts", "0005_hedge_execution", "0006_chat_outbox"]


async def _tables() -> set[str]:
    conn = get_connection("default")
    if conn.capabilities.dialect == "sqlite":
        _, rows = await conn.execute_query("SELECT name FROM sqlite_master WHERE type = 'table'")
    else:
        _, rows = await conn.execute_query(
            "SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public'"
        )
    return {row["name"] for row in rows} - {"tortoise_migrations", "sqlite_sequence"}


async def test_apply_on_empty_database(database_url: str) -> None:
    assert await pending_migrations(database_url) == ALL
    assert await migrate(database_url) == ALL
    assert await pending_migrations(database_url) == []
    assert await migrate(database_url) == []


async def test_roll_back_to_zero_and_apply_again(database_url: str) -> None:
    await migrate(database_url)
    await open_database(database_url)
    try:
        assert await migrate(database_url, "zero") == list(reversed(ALL))
        assert await _tables() == set()
        assert await pending_migrations(database_url) == ALL
        assert await migrate(database_url) == ALL
        assert await _tables() == {
            "clients", "spreads", "lp_spreads", "system_controls", "holidays",
            "closings", "audit_logs", "hedges", "hedge_executions", "spot_ticks", "alerts", "alert_deliveries", "chat_messages",
        }
        assert await Spread.all().count() == 42
    finally:
        await close_database()


async def test_roll_back_to_a_named_migration_keeps_seeded_rows(database_url: str) -> None:
    await migrate(database_url)
    rolled_back = await migrate(database_url, "0001_initial")
    assert rolled_back == ["0006_chat_outbox", "0005_hedge_execution", "0004_alerts", "0003_audit_append_only", "0002_seed_defaults"]
    assert await pending_migrations(database_url) == ALL[1:]
    await open_database(database_url)
    try:
        assert await Spread.all().count() == 42
    finally:
        await close_database()
    assert await migrate(database_url) == ALL[1:]


async def test_unknown_target_is_refused(database_url: str) -> None:
    with pytest.raises(ValueError, match="unknown migration"):
        await migrate(database_url, "0042_nothing")


async def test_migrate_while_the_database_is_open(database_url: str) -> None:
    await open_database(database_url)
    try:
        await migrate(database_url)
        assert await Spread.all().count() == 42
    finally:
        await close_database()


async def test_grids_and_controls_seeded(db: str) -> None:
    assert await Spread.all().count() == 42
    t1 = {s.settlement: s.spread_pct for s in await Spread.filter(tier="T1", currency="USDT")}
    assert [str(t1[k]) for k in ("D0", "D1", "D2")] == ["0.3000", "0.1500", "0.0500"]
    t3 = await Spread.get(tier="T3", currency="USDT", settlement="D0")
    assert str(t3.spread_pct) == "1.0000"
    assert await LpSpread.all().count() == 14
    stored = dict(await SystemControl.all().values_list("key", "value"))
    assert stored == {d.key: d.to_text(d.default) for d in CORE_CONTROLS}


def test_config_points_at_the_migrations_package() -> None:
    config = tortoise_config("sqlite:///tmp/x.sqlite3")
    app = config["apps"]["models"]
    assert app["migrations"] == "otc_framework.storage.migrations"
    assert app["models"] == ["otc_framework.storage.models"]
    assert config["use_tz"] is True and config["timezone"] == "UTC"
    assert config["connections"]["default"]["credentials"]["file_path"] == "/tmp/x.sqlite3"
    postgres = tortoise_config("postgres://postgres@127.0.0.1:5432/otc")["connections"]["default"]
    assert postgres["engine"] == "tortoise.backends.asyncpg"
    assert postgres["credentials"]["database"] == "otc" and postgres["credentials"]["reset"] is rollback_only


async def test_sqlite_enforces_foreign_keys_in_wal_mode(tmp_path: Path) -> None:
    url = f"sqlite://{tmp_path / 'otc.sqlite3'}"
    await migrate(url)
    await open_database(url)
    try:
        conn = get_connection("default")
        _, rows = await conn.execute_query("PRAGMA foreign_keys")
        assert rows[0][0] == 1
        _, rows = await conn.execute_query("PRAGMA journal_mode")
        assert rows[0][0] == "wal"
    finally:
        await close_database()


async def test_ping(db: str) -> None:
    await ping()
    await close_database()
    with pytest.raises(DatabaseUnavailable):
        await ping()


async def test_unreachable_database_is_reported_without_credentials() -> None:
    url = "postgres://postgres:s3cret@127.0.0.1:1/none"
    for attempt in (migrate(url), pending_migrations(url), open_database(url)):
        with pytest.raises(DatabaseUnavailable, match="127.0.0.1:1/none") as caught:
            await attempt
        assert "s3cret" not in str(caught.value)


async def test_unusable_url_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="nosuchdb://"):
        await migrate("nosuchdb://host/db")
