"""The ``[plugins.channel_whatsapp]`` config section: one Evolution API instance."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, SecretStr, field_validator

DEFAULT_CHANNEL_NAME = "whatsapp"


class EvolutionConfig(BaseModel):
    # A rejected value may be a secret itself: keep inputs out of validation errors.
    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    base_url: HttpUrl = Field(description="Where Evolution API listens (scheme, host, optional path prefix).")
    api_key: SecretStr = Field(
        min_length=1,
        description='The instance token or the global AUTHENTICATION_API_KEY; write {"$env" = "EVOLUTION_API_KEY"}.',
    )
    instance: str = Field(min_length=1, max_length=200, description="The Evolution instance name.")
    version: Literal[1, 2] = Field(default=2, description="Evolution's major version: it selects the sendText body.")
    webhook_secret: SecretStr = Field(
        min_length=16, description="The secret path segment of the webhook URL given to Evolution."
    )
    # RFC 7518 §3.2 wants an HS256 key of at least 32 bytes (PyJWT warns below that).
    jwt_key: SecretStr | None = Field(
        default=None,
        min_length=32,
        description="Evolution 2.3's webhook jwt_key header: a Bearer JWT signed with it is accepted too.",
    )
    timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    per_minute: int = Field(default=120, ge=1, le=600, description="Sends a minute over the whole channel.")
    per_chat_per_minute: int = Field(default=20, ge=1, le=120, description="Sends a minute to one chat.")
    channel_name: str = Field(
        default=DEFAULT_CHANNEL_NAME, min_length=1, max_length=64, pattern=r"^[a-z][a-z0-9_-]*$"
    )

    @field_validator("version", mode="before")
    @classmethod
    def _version_from_text(cls, value: Any) -> Any:
        # An environment override arrives as text; "2" means 2.
        if isinstance(value, str) and value.strip() in ("1", "2"):
            return int(value.strip())
        return value

    @property
    def api_base(self) -> str:
        """``base_url`` without its trailing slash, ready for a path to be appended."""
        return str(self.base_url).rstrip("/")
