"""The plugin as the core loads it: entry point, hooks, config section and demo venue."""

from __future__ import annotations

import socket
from importlib.metadata import entry_points
from typing import Any

import httpx
import pytest
from sanic import Blueprint

from otc_channel_whatsapp import plugin
from otc_channel_whatsapp.client import EvolutionChannel
from otc_channel_whatsapp.config import EvolutionConfig
from otc_channel_whatsapp.fake import DEMO_INSTANCE, EvolutionDemoVenue
from otc_framework.errors import ConfigError
from otc_framework.testing.channel_contract import RecordingInbox, wait_until, webhook_desk_app
from otc_framework.testing.fake_venue import DemoSettings, LoopbackServer
from otc_framework.testing.plugin_host import plugin_host, plugin_manager

NAME = "channel_whatsapp"
API_KEY = "PLUGIN-EVOLUTION-KEY-0123456789"
SECRET = "plugin-webhook-secret-0123"
SECTION: dict[str, Any] = {"base_url": "https://evolution.example.com", "api_key": API_KEY, "instance": "desk",
                           "webhook_secret": SECRET}


def test_entry_point_names_the_plugin_module() -> None:
    [ep] = entry_points(group="otc_framework", name=NAME)
    assert ep.load() is plugin


def test_config_model_hook() -> None:
    assert plugin_manager(NAME, plugin).hook.otc_config_model() == [EvolutionConfig]


def test_defaults() -> None:
    config = EvolutionConfig.model_validate(SECTION)
    assert (config.version, config.timeout_seconds, config.per_minute, config.per_chat_per_minute) == (2, 10, 120, 20)
    assert (config.channel_name, config.jwt_key, config.api_base) == ("whatsapp", None, "https://evolution.example.com")


async def test_channels_hook_builds_one_channel() -> None:
    config = EvolutionConfig.model_validate(SECTION)
    async with httpx.AsyncClient() as http:
        [channels] = plugin_manager(NAME, plugin).hook.otc_channels(config=config, http=http)
    [channel] = channels
    assert isinstance(channel, EvolutionChannel)
    assert (channel.name, channel.per_minute, channel.per_chat_per_minute) == ("whatsapp", 120, 20)


def test_routes_hook_gives_the_webhook_blueprint() -> None:
    config = EvolutionConfig.model_validate(SECTION)
    [[bp]] = plugin_manager(NAME, plugin).hook.otc_routes(config=config)
    assert isinstance(bp, Blueprint)


async def test_env_secrets_are_resolved_and_never_shown() -> None:
    section = {**SECTION, "api_key": {"$env": "EVOLUTION_API_KEY"}, "webhook_secret": {"$env": "EVOLUTION_WEBHOOK_SECRET"},
               "version": "1"}
    host = plugin_host(NAME, plugin, section, {"EVOLUTION_API_KEY": API_KEY, "EVOLUTION_WEBHOOK_SECRET": SECRET})
    config = host.configs[NAME]
    assert isinstance(config, EvolutionConfig)
    assert config.api_key.get_secret_value() == API_KEY and config.version == 1
    assert {API_KEY, SECRET} <= set(host.secrets())
    for secret in (API_KEY, SECRET):
        assert secret not in repr(config) and secret not in str(host.masked_configs())
    async with httpx.AsyncClient() as http:
        [channel] = host.collect("otc_channels", http=http)
    assert API_KEY not in repr(channel)
    [bp] = host.routes()
    assert isinstance(bp, Blueprint)


def test_missing_env_secret_names_the_variable() -> None:
    with pytest.raises(ConfigError, match="EVOLUTION_API_KEY is not set"):
        plugin_host(NAME, plugin, {**SECTION, "api_key": {"$env": "EVOLUTION_API_KEY"}}, {})


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"webhook_secret": "short"}, "webhook_secret"),
        ({"jwt_key": "too-short-for-hs256"}, "jwt_key"),
        ({"version": 3}, "version"),
        ({"base_url": "not a url"}, "base_url"),
        ({"timeout_seconds": 0}, "timeout_seconds"),
        ({"apikey": API_KEY}, "apikey"),
        ({"channel_name": "What's App"}, "channel_name"),
        ({"instance": ""}, "instance"),
    ],
)
def test_bad_section_names_the_field_without_the_secret(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(ConfigError, match=rf"^plugin {NAME}: config plugins\.{NAME}\.{field}") as caught:
        plugin_host(NAME, plugin, {**SECTION, **changes}, {})
    assert API_KEY not in str(caught.value)


def test_missing_fields_are_named() -> None:
    for field in ("base_url", "api_key", "instance", "webhook_secret"):
        section = {k: v for k, v in SECTION.items() if k != field}
        with pytest.raises(ConfigError, match=rf"plugins\.{NAME}\.{field}"):
            plugin_host(NAME, plugin, section, {})


async def test_demo_venue_needs_the_desk_url() -> None:
    with pytest.raises(ConfigError, match="^plugin channel_whatsapp: .*desk_url"):
        await EvolutionDemoVenue().start("127.0.0.1", DemoSettings())


class PortServer(LoopbackServer):
    """A loopback server on a port chosen beforehand: the demo tells the fakes the desk's URL
    before the desk (whose routes need the fake's secret) starts."""

    def __init__(self, app: Any, port: int) -> None:
        super().__init__(app)
        self._fixed_port = port

    async def start(self, host: str = "127.0.0.1") -> str:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, self._fixed_port))
        self.host, self.port = host, self._fixed_port
        self._server = await self.app.create_server(sock=sock, return_asyncio_server=True, access_log=False)
        await self._server.startup()
        await self._server.before_start()
        await self._server.after_start()
        return self.base_url


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def test_demo_venue_section_listing_and_a_conversation(http: httpx.AsyncClient) -> None:
    port = _free_port()
    desk_url = f"http://127.0.0.1:{port}"
    [venue] = plugin_manager(NAME, plugin).hook.otc_demo_venue()
    assert isinstance(venue, EvolutionDemoVenue)
    section = await venue.start("127.0.0.1", DemoSettings(desk_url=desk_url))
    inbox = RecordingInbox()
    config = EvolutionConfig.model_validate(section)
    desk = PortServer(webhook_desk_app(plugin.otc_routes(config), inbox), port)
    await desk.start()
    try:
        assert (config.instance, config.version, config.api_base) == (DEMO_INSTANCE, 2, venue.url)
        secret = config.webhook_secret.get_secret_value()
        assert venue.listing() == {"url": venue.url, "instance": DEMO_INSTANCE,
                                   "webhook": f"{desk_url}/webhook/evolution/{secret}"}
        said = await http.post(f"{venue.url}/_say", json={"group": "120363041234567890", "participant": "5511965525438",
                                                           "text": "/ref 10k"})

        async def arrived() -> bool:
            return len(inbox.messages) == 1

        await wait_until(arrived, what="the demo message")
        assert inbox.messages[0].message_id == said.json()["id"]
        assert inbox.messages[0].chat_id == "120363041234567890@g.us"
        await EvolutionChannel(config, http).send_text("120363041234567890@g.us", "USDT 5,4321")
        [item] = (await http.get(f"{venue.url}/_inbox")).json()["items"]
        assert (item["number"], item["text"], item["instance"]) == ("120363041234567890@g.us", "USDT 5,4321", DEMO_INSTANCE)
    finally:
        await venue.stop()
        await desk.stop()
