"""The ``otc`` command: one clear line for every operator mistake, JSON for scripts."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from otc_framework.auth.api_keys import hash_api_key
from otc_framework.cli import main
from otc_framework.storage.database import close_database, open_database
from otc_framework.storage.models import AuditLog, Client

ROOT = Path(__file__).parents[1]
PRODUCTION = ROOT / "deployments/production/otc.toml"
SECRET = "j" * 40
PROD_ENV = {
    "OTC_DATABASE_URL": "postgres://otc:dbpass-123@127.0.0.1:5432/otc",
    "OTC_REDIS_URL": "redis://:redispass-123@127.0.0.1:6379/0",
    "OTC_JWT_SECRET": SECRET,
    "VALORPRO_BASE_URL": "https://valorpro.invalid",
    "VALORPRO_TOKEN": "vp-token-123456",
    "OTC_TELEGRAM_BOT_TOKEN": "123456:telegram-token-abcdef",
    "OTC_TELEGRAM_CHAT_ID": "-1001234567890",
    "OTC_DISCORD_WEBHOOK_URL": "https://discord.com/api/webhooks/123/discord-token-abcdef",
    "EVOLUTION_BASE_URL": "https://evolution.invalid",
    "EVOLUTION_API_KEY": "evolution-key-abcdef",
    "EVOLUTION_WEBHOOK_SECRET": "webhook-secret-abcdef-0123",
}


def otc(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run the real command line, as an operator would."""
    return subprocess.run(
        [sys.executable, "-m", "otc_framework.cli", *args],
        capture_output=True, text=True, cwd=ROOT, env={**os.environ, **(env or {})}, timeout=60,
    )


async def run_main(*args: str) -> int:
    """The command runs its own event loop, as from a shell; keep it off the test's loop."""
    return await asyncio.to_thread(main, list(args))


def write_config(tmp_path: Path, database_url: str, plugins: str = "") -> Path:
    path = tmp_path / "otc.toml"
    path.write_text(
        f'name = "t"\ndemo = true\n[database]\nurl = "{database_url}"\n[store]\nurl = "memory://"\n'
        f"[plugins]\nenabled = []\n{plugins}"
    )
    return path


def test_config_check_masks_every_secret() -> None:
    result = otc("config", "check", str(PRODUCTION), env=PROD_ENV)
    assert result.returncode == 0, result.stderr
    resolved = json.loads(result.stdout)
    assert resolved["plugins"]["enabled"] == ["spot_valorpro", "spot_binance", "channel_telegram_alerts",
                                              "channel_discord", "channel_whatsapp"]
    assert resolved["plugins"]["spot_valorpro"]["token"] == "**********"
    assert resolved["plugins"]["channel_telegram_alerts"]["bot_token"] == "**********"
    assert resolved["plugins"]["channel_discord"]["webhook_url"] == "**********"
    assert resolved["plugins"]["channel_whatsapp"]["api_key"] == "**********"
    for secret in ("dbpass-123", "redispass-123", SECRET, "vp-token-123456", "telegram-token-abcdef",
                   "discord-token-abcdef", "evolution-key-abcdef", "webhook-secret-abcdef-0123"):
        assert secret not in result.stdout


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"VALORPRO_TOKEN": None}, "error: config: plugins.spot_valorpro.token: environment variable VALORPRO_TOKEN is not set"),
        ({"OTC__SERVER__PORT": "http"}, "error: config: server.port: Input should be a valid integer"),
        ({"OTC_JWT_SECRET": "short"}, "error: config: auth.jwt_secret: must be at least 32 characters"),
    ],
)
def test_misconfiguration_is_one_line_without_traceback(env: dict[str, str | None], expected: str) -> None:
    wanted = {**PROD_ENV, **env}
    environment = {k: v for k, v in {**os.environ, **wanted}.items() if wanted.get(k, "") is not None}
    result = subprocess.run(
        [sys.executable, "-m", "otc_framework.cli", "config", "check", str(PRODUCTION)],
        capture_output=True, text=True, cwd=ROOT, env=environment, timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.strip().startswith(expected), result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr


def test_unknown_plugin_is_one_line(tmp_path: Path) -> None:
    path = write_config(tmp_path, "sqlite:///tmp/x.sqlite3")
    path.write_text(path.read_text().replace("enabled = []", 'enabled = ["lp_atlantis"]'))
    result = otc("config", "check", str(path))
    assert result.returncode == 2
    assert result.stderr == "error: plugin lp_atlantis: enabled but not installed (pip install otc-lp-atlantis)\n"


def test_plugins_lists_spot_plugins_enabled_in_the_demo() -> None:
    result = otc("plugins")
    assert result.returncode == 0, result.stderr
    rows = {line.split()[0]: line.split() for line in result.stdout.splitlines()[1:]}
    assert rows["spot_valorpro"][1:] == ["otc-spot-valorpro", "0.1.0", "yes"]
    assert rows["spot_binance"][1:] == ["otc-spot-binance", "0.1.0", "yes"]


def test_serve_refuses_in_process_store_with_several_workers(tmp_path: Path) -> None:
    result = otc("serve", "--config", str(write_config(tmp_path, f"sqlite://{tmp_path}/db.sqlite3")), "--workers", "2")
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert "in-process store" in result.stderr and "Traceback" not in result.stderr


async def test_migrate_then_roll_back_then_again(database_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = str(write_config(tmp_path, database_url))
    assert await run_main("migrate", "--config", path) == 0
    applied = json.loads(capsys.readouterr().out)["migrations"]
    assert applied
    assert await run_main("migrate", "--config", path, "--target", "zero") == 0
    assert json.loads(capsys.readouterr().out)["migrations"] == list(reversed(applied))
    assert await run_main("migrate", "--config", path) == 0
    assert json.loads(capsys.readouterr().out)["migrations"] == applied


async def test_client_create_prints_the_key_once_and_stores_its_hash(
    migrated_database_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = str(write_config(tmp_path, migrated_database_url))
    assert await run_main("client", "create", "--config", path, "--name", "Acme Treasury", "--tier", "T2", "--role", "admin") == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["tier"] == "T2" and printed["role"] == "admin" and printed["active"] is True
    await open_database(migrated_database_url)
    try:
        client = await Client.get(name="Acme Treasury")
        assert client.api_key_hash == hash_api_key(printed["apiKey"])
        audit = await AuditLog.get(action="client.create", client_id=client.id)
        assert printed["apiKey"] not in json.dumps(audit.detail)
    finally:
        await close_database()


def test_migrate_against_an_unreachable_database_is_one_line(tmp_path: Path) -> None:
    path = write_config(tmp_path, "postgres://postgres@127.0.0.1:1/none")
    result = otc("migrate", "--config", str(path))
    assert result.returncode == 1, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
