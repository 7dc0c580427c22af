"""Hook implementations of the ``channel_discord`` plugin."""

from __future__ import annotations

import httpx

from otc_channel_discord.client import DiscordAlertSink
from otc_channel_discord.config import DiscordConfig
from otc_channel_discord.fake import DiscordDemoVenue
from otc_framework.hookspecs import hookimpl


@hookimpl
def otc_config_model() -> type[DiscordConfig]:
    return DiscordConfig


@hookimpl
def otc_alert_sinks(config: DiscordConfig, http: httpx.AsyncClient) -> list[DiscordAlertSink]:
    return [DiscordAlertSink(config, http)]


@hookimpl
def otc_demo_venue() -> DiscordDemoVenue:
    return DiscordDemoVenue()
