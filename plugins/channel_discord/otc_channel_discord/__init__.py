"""Discord webhook alert sink, a plugin of the OTC desk framework (entry point
``channel_discord``)."""

from otc_channel_discord.client import DiscordAlertSink
from otc_channel_discord.config import DiscordConfig

__all__ = ["DiscordAlertSink", "DiscordConfig"]
