"""Hook implementations of the ``channel_telegram_alerts`` plugin."""

from __future__ import annotations

import httpx

from otc_channel_telegram_alerts.client import TelegramAlertSink
from otc_channel_telegram_alerts.config import TelegramAlertsConfig
from otc_channel_telegram_alerts.fake import TelegramDemoVenue
from otc_framework.hookspecs import hookimpl


@hookimpl
def otc_config_model() -> type[TelegramAlertsConfig]:
    return TelegramAlertsConfig


@hookimpl
def otc_alert_sinks(config: TelegramAlertsConfig, http: httpx.AsyncClient) -> list[TelegramAlertSink]:
    return [TelegramAlertSink(config, http)]


@hookimpl
def otc_demo_venue() -> TelegramDemoVenue:
    return TelegramDemoVenue()
