"""The ``[plugins.spot_valorpro]`` config section."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, SecretStr


class ValorProConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    base_url: str = Field(min_length=1, description="Scheme and host of ValorPro's quote API.")
    token: SecretStr = Field(
        min_length=1, description='Bearer token; resolve it with {"$env" = "NAME"}.'
    )
    timeout_seconds: float = Field(default=2.0, gt=0)
