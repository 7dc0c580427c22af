"""Deployment config: TOML, environment overrides, secret references, one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from otc_framework.config import build_config, load_config
from otc_framework.errors import ConfigError

SECRET = "x" * 40
BASE = {
    "database": {"url": "sqlite:///tmp/otc.sqlite3"},
    "store": {"url": "memory://"},
    "auth": {"jwt_secret": SECRET},
}


def test_env_reference_is_resolved_and_masked_when_dumped() -> None:
    config = build_config({**BASE, "auth": {"jwt_secret": {"$env": "JWT"}}}, env={"JWT": SECRET})
    assert config.auth.jwt_secret.get_secret_value() == SECRET
    assert SECRET not in str(config.model_dump(mode="json"))


def test_missing_env_reference_names_field_and_variable() -> None:
    with pytest.raises(ConfigError) as error:
        build_config({**BASE, "store": {"url": {"$env": "OTC_REDIS_URL"}}}, env={})
    assert str(error.value) == "config: store.url: environment variable OTC_REDIS_URL is not set"


def test_environment_overrides_nest_and_validate() -> None:
    config = build_config(BASE, env={"OTC__SERVER__PORT": "9001", "OTC__SERVER__WORKERS": "3"})
    assert (config.server.port, config.server.workers) == (9001, 3)
    with pytest.raises(ConfigError, match=r"^config: server.port: Input should be a valid integer"):
        build_config(BASE, env={"OTC__SERVER__PORT": "eighty"})


def test_jwt_secret_is_required_outside_the_demo() -> None:
    with pytest.raises(ConfigError, match="auth.jwt_secret: required outside the demo"):
        build_config({**BASE, "auth": {}}, env={})
    assert build_config({**BASE, "auth": {}, "demo": True}, env={}).demo


def test_unknown_field_is_refused_by_name() -> None:
    with pytest.raises(ConfigError, match=r"^config: server.prot: Extra inputs are not permitted$"):
        build_config({**BASE, "server": {"prot": 1}}, env={})


def test_errors_are_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[server\nport = 1")
    with pytest.raises(ConfigError) as error:
        load_config(bad)
    assert "\n" not in str(error.value)
    with pytest.raises(ConfigError, match="file not found"):
        load_config(tmp_path / "absent.toml")


def test_shipped_production_file_resolves_from_environment() -> None:
    env = {
        "OTC_DATABASE_URL": "postgres://otc:pw@db:5432/otc",
        "OTC_REDIS_URL": "redis://:pw@cache:6379/0",
        "OTC_JWT_SECRET": SECRET,
        "VALORPRO_BASE_URL": "https://valorpro.example",
        "VALORPRO_TOKEN": "vp-token-123456",
    }
    config = load_config(Path(__file__).parents[1] / "deployments/production/otc.toml", env=env)
    assert config.server.workers == 2
    assert config.plugins.enabled == ["spot_valorpro", "spot_binance", "channel_telegram_alerts", "channel_discord",
                                      "channel_whatsapp"]
    assert config.alerts.routing("telegram").min_severity == "warning"
    assert config.plugins.section("spot_valorpro")["token"] == {"$env": "VALORPRO_TOKEN"}
