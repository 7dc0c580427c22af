"""The ``[plugins.channel_telegram_alerts]`` config section."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator


class TelegramAlertsConfig(BaseModel):
    # A rejected value may be the token itself: keep inputs out of validation errors.
    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    bot_token: SecretStr = Field(
        min_length=1, description='The bot token from @BotFather; resolve it with {"$env" = "NAME"}.'
    )
    # Left to right: a numeric string from an environment override becomes the number.
    chat_id: int | str = Field(
        union_mode="left_to_right",
        description='The admin chat: a number (groups are negative, supergroups -100…) or "@channelname".',
    )
    message_thread_id: int | None = Field(default=None, description="The forum topic to post in, if any.")
    api_base: str = Field(default="https://api.telegram.org", min_length=1, description="Scheme and host of the Bot API.")
    timeout_seconds: float = Field(default=5.0, gt=0, le=60)

    @field_validator("chat_id")
    @classmethod
    def _number_or_username(cls, value: int | str) -> int | str:
        if isinstance(value, str) and (not value.startswith("@") or len(value) < 2):
            raise ValueError('expected a chat number or "@channelname"')
        return value
