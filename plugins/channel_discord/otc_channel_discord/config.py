"""The ``[plugins.channel_discord]`` config section."""

from __future__ import annotations

import re

import httpx
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

# "https://discord.com/api/webhooks/{id}/{token}", optionally with an API version
# ("/api/v10/webhooks/…"). Plain http only on loopback, where the fake listens.
WEBHOOK_PATH_PATTERN = re.compile(r"/api(/v\d+)?/webhooks/\d+/[A-Za-z0-9_-]+/?")
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
# Discord refuses webhook names with these words (Create Webhook docs), and over 80 chars.
FORBIDDEN_NAME_WORDS = ("clyde", "discord")


class DiscordConfig(BaseModel):
    # A rejected value may be the webhook URL itself: keep inputs out of validation errors.
    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    webhook_url: SecretStr = Field(
        description='The channel webhook, https://discord.com/api/webhooks/{id}/{token}; its token is a '
        'secret, so resolve it with {"$env" = "NAME"}.'
    )
    username: str = Field(default="OTC desk", min_length=1, max_length=80, description="The name alerts are posted under.")
    use_embed: bool = Field(default=True, description="Post a coloured embed (true) or plain text (false).")
    timeout_seconds: float = Field(default=5.0, gt=0, le=60)

    @field_validator("webhook_url")
    @classmethod
    def _looks_like_a_webhook(cls, value: SecretStr) -> SecretStr:
        # Parsed as the client will send it. The messages never quote it: it carries the token.
        try:
            url = httpx.URL(value.get_secret_value())
        except httpx.InvalidURL:
            raise ValueError("not a URL") from None
        secure = url.scheme == "https" or (url.scheme == "http" and url.host in LOOPBACK_HOSTS)
        if not secure or not url.host or not WEBHOOK_PATH_PATTERN.fullmatch(url.path):
            raise ValueError("expected https://discord.com/api/webhooks/{id}/{token}")
        return value

    @field_validator("username")
    @classmethod
    def _allowed_name(cls, value: str) -> str:
        if any(word in value.lower() for word in FORBIDDEN_NAME_WORDS):
            raise ValueError(f"Discord refuses names containing {' or '.join(FORBIDDEN_NAME_WORDS)}")
        return value
