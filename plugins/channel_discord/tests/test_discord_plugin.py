"""The plugin as the core loads it: entry point, hooks, config section and demo venue."""

from __future__ import annotations

from importlib.metadata import entry_points

import httpx
import pytest
from pydantic import SecretStr, ValidationError

from otc_channel_discord import plugin
from otc_channel_discord.client import DiscordAlertSink
from otc_channel_discord.config import DiscordConfig
from otc_channel_discord.fake import DiscordDemoVenue
from otc_framework.errors import ConfigError
from otc_framework.testing.alert_sink_contract import make_alert
from otc_framework.testing.fake_venue import DemoSettings
from otc_framework.testing.plugin_host import plugin_host, plugin_manager

NAME = "channel_discord"
TOKEN = "plugin-webhook-token_0123456789abcdefABCDEF"
WEBHOOK_URL = f"https://discord.com/api/webhooks/1122334455667788990/{TOKEN}"


def test_entry_point_names_the_plugin_module() -> None:
    [ep] = entry_points(group="otc_framework", name=NAME)
    assert ep.load() is plugin


def test_config_model_hook() -> None:
    assert plugin_manager(NAME, plugin).hook.otc_config_model() == [DiscordConfig]


async def test_alert_sinks_hook_builds_the_sink() -> None:
    async with httpx.AsyncClient() as http:
        [sinks] = plugin_manager(NAME, plugin).hook.otc_alert_sinks(config=DiscordConfig(webhook_url=SecretStr(WEBHOOK_URL)), http=http)
    [sink] = sinks
    assert isinstance(sink, DiscordAlertSink)
    assert (sink.name, sink.per_minute, sink.retry_backoff_seconds) == ("discord", 30, 1.0)


async def test_env_secret_is_resolved_and_never_shown() -> None:
    host = plugin_host(NAME, plugin, {"webhook_url": {"$env": "OTC_DISCORD_WEBHOOK"}, "use_embed": False}, {"OTC_DISCORD_WEBHOOK": WEBHOOK_URL})
    config = host.configs[NAME]
    assert isinstance(config, DiscordConfig)
    assert config.webhook_url.get_secret_value() == WEBHOOK_URL
    assert config.use_embed is False
    assert WEBHOOK_URL in host.secrets()
    assert TOKEN not in repr(config)
    assert TOKEN not in str(host.masked_configs())
    async with httpx.AsyncClient() as http:
        [sink] = host.collect("otc_alert_sinks", http=http)
    assert TOKEN not in repr(sink)


def test_missing_env_secret_names_the_variable() -> None:
    with pytest.raises(ConfigError, match="OTC_DISCORD_WEBHOOK is not set"):
        plugin_host(NAME, plugin, {"webhook_url": {"$env": "OTC_DISCORD_WEBHOOK"}}, {})


@pytest.mark.parametrize(
    "url",
    [
        WEBHOOK_URL,
        f"https://discordapp.com/api/webhooks/1/{TOKEN}",
        f"https://ptb.discord.com/api/v10/webhooks/1/{TOKEN}?thread_id=5",
        f"http://127.0.0.1:8123/api/webhooks/1/{TOKEN}",
        f"http://localhost:8123/api/webhooks/1/{TOKEN}",
    ],
)
def test_webhook_urls_that_are_accepted(url: str) -> None:
    assert DiscordConfig(webhook_url=SecretStr(url)).webhook_url.get_secret_value() == url


@pytest.mark.parametrize(
    "url",
    [
        f"http://discord.com/api/webhooks/1/{TOKEN}",
        f"https://discord.com/api/channels/1/{TOKEN}",
        f"https://discord.com/api/webhooks/abc/{TOKEN}",
        "https://discord.com/api/webhooks/1",
        f"discord.com/api/webhooks/1/{TOKEN}",
        "not a url",
    ],
)
def test_webhook_urls_that_are_refused_without_being_quoted(url: str) -> None:
    with pytest.raises(ConfigError, match=rf"^plugin {NAME}: config plugins\.{NAME}\.webhook_url: ") as caught:
        plugin_host(NAME, plugin, {"webhook_url": url}, {})
    assert TOKEN not in str(caught.value)
    with pytest.raises(ValidationError) as raw:
        DiscordConfig(webhook_url=SecretStr(url))
    assert TOKEN not in str(raw.value)


@pytest.mark.parametrize("username", ["", "Discord alerts", "clyde", "x" * 81])
def test_usernames_discord_refuses(username: str) -> None:
    with pytest.raises(ConfigError, match=rf"plugins\.{NAME}\.username"):
        plugin_host(NAME, plugin, {"webhook_url": WEBHOOK_URL, "username": username}, {})


async def test_demo_venue_takes_an_alert_end_to_end() -> None:
    [venue] = plugin_manager(NAME, plugin).hook.otc_demo_venue()
    assert isinstance(venue, DiscordDemoVenue)
    section = await venue.start("127.0.0.1", DemoSettings())
    try:
        config = DiscordConfig.model_validate(section)
        async with httpx.AsyncClient() as http:
            await DiscordAlertSink(config, http).send(make_alert())
            [item] = (await http.get(f"{venue.url}/_inbox")).json()["items"]
        assert item["embeds"][0]["title"] == "Spot source failing"
    finally:
        await venue.stop()
