"""The plugin as the core loads it: entry point, hooks, config section and demo venue."""

from __future__ import annotations

from importlib.metadata import entry_points
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from otc_channel_telegram_alerts import plugin
from otc_channel_telegram_alerts.client import TelegramAlertSink
from otc_channel_telegram_alerts.config import TelegramAlertsConfig
from otc_channel_telegram_alerts.fake import TelegramDemoVenue
from otc_framework.errors import ConfigError
from otc_framework.testing.alert_sink_contract import make_alert
from otc_framework.testing.fake_venue import DemoSettings
from otc_framework.testing.plugin_host import plugin_host, plugin_manager

NAME = "channel_telegram_alerts"
TOKEN = "555000111:AAE-plugin-secret-token-value"


def test_entry_point_names_the_plugin_module() -> None:
    [ep] = entry_points(group="otc_framework", name=NAME)
    assert ep.load() is plugin


def test_config_model_hook() -> None:
    assert plugin_manager(NAME, plugin).hook.otc_config_model() == [TelegramAlertsConfig]


async def test_alert_sinks_hook_builds_the_sink() -> None:
    config = TelegramAlertsConfig(bot_token=SecretStr(TOKEN), chat_id=-100123)
    async with httpx.AsyncClient() as http:
        [sinks] = plugin_manager(NAME, plugin).hook.otc_alert_sinks(config=config, http=http)
    [sink] = sinks
    assert isinstance(sink, TelegramAlertSink)
    assert (sink.name, sink.per_minute, sink.retry_backoff_seconds) == ("telegram", 20, 1.0)


async def test_env_secret_is_resolved_and_never_shown() -> None:
    host = plugin_host(NAME, plugin, {"bot_token": {"$env": "OTC_TELEGRAM_TOKEN"}, "chat_id": "-100123"}, {"OTC_TELEGRAM_TOKEN": TOKEN})
    config = host.configs[NAME]
    assert isinstance(config, TelegramAlertsConfig)
    assert config.bot_token.get_secret_value() == TOKEN
    assert config.chat_id == -100123
    assert TOKEN in host.secrets()
    assert TOKEN not in repr(config)
    assert TOKEN not in str(host.masked_configs())
    async with httpx.AsyncClient() as http:
        [sink] = host.collect("otc_alert_sinks", http=http)
    assert TOKEN not in repr(sink)


def test_missing_env_secret_names_the_variable() -> None:
    with pytest.raises(ConfigError, match="OTC_TELEGRAM_TOKEN is not set"):
        plugin_host(NAME, plugin, {"bot_token": {"$env": "OTC_TELEGRAM_TOKEN"}, "chat_id": -100123}, {})


@pytest.mark.parametrize(
    ("section", "field"),
    [
        ({"bot_token": TOKEN, "chat_id": "desk"}, "chat_id"),
        ({"bot_token": TOKEN, "chat_id": -1, "timeout_seconds": 0}, "timeout_seconds"),
        ({"bot_token": TOKEN, "chat_id": -1, "token": TOKEN}, "token"),
        ({"chat_id": -1}, "bot_token"),
    ],
)
def test_bad_section_names_the_field_without_the_secret(section: dict[str, Any], field: str) -> None:
    with pytest.raises(ConfigError, match=rf"^plugin {NAME}: config plugins\.{NAME}\.{field}") as caught:
        plugin_host(NAME, plugin, section, {})
    assert TOKEN not in str(caught.value)


def test_chat_username_is_kept_as_text() -> None:
    assert TelegramAlertsConfig(bot_token=SecretStr(TOKEN), chat_id="@desk_alerts").chat_id == "@desk_alerts"


async def test_demo_venue_takes_an_alert_end_to_end() -> None:
    [venue] = plugin_manager(NAME, plugin).hook.otc_demo_venue()
    assert isinstance(venue, TelegramDemoVenue)
    section = await venue.start("127.0.0.1", DemoSettings())
    try:
        config = TelegramAlertsConfig.model_validate(section)
        async with httpx.AsyncClient() as http:
            await TelegramAlertSink(config, http).send(make_alert())
            [item] = (await http.get(f"{venue.url}/_inbox")).json()["items"]
        assert item["chat_id"] == section["chat_id"]
    finally:
        await venue.stop()
