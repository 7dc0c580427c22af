"""Telegram admin-chat alert sink, a plugin of the OTC desk framework (entry point
``channel_telegram_alerts``)."""

from otc_channel_telegram_alerts.client import TelegramAlertSink
from otc_channel_telegram_alerts.config import TelegramAlertsConfig

__all__ = ["TelegramAlertSink", "TelegramAlertsConfig"]
