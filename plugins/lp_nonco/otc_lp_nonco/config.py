"""The ``[plugins.lp_nonco]`` config section.

``quote_validity_seconds`` is the adapter's fallback for the runtime control
``exec_nonco_validity_sec`` (``plugin.otc_controls``, with the same default), whose live value
the execution engine passes to each ``NoncoProvider.request_quote(..., controls=)``.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, SecretStr

UAT_HOST = "noncouat.com"
PRODUCTION_HOST = "noncotrading.com"
# The runtime control this plugin defines (``plugin.otc_controls``) and its adapter reads.
CONTROL_VALIDITY = "exec_nonco_validity_sec"

DEFAULT_VALIDITY_SECONDS = 17
MAX_VALIDITY_SECONDS = 120


class NoncoConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    host: str = Field(
        default=UAT_HOST, min_length=1, pattern=r"^[A-Za-z0-9.-]+$",
        description=f"Nonco's host: {UAT_HOST} (UAT) or {PRODUCTION_HOST} (production).",
    )
    url: str | None = Field(
        default=None, pattern=r"^wss?://",
        description="Full WebSocket URL overriding wss://{host}/ws/v1 (the fake, the demo).",
    )
    api_key: SecretStr = Field(min_length=1, description='API key; resolve it with {"$env" = "NAME"}.')
    api_secret: SecretStr = Field(min_length=1, description='HMAC secret; resolve it with {"$env" = "NAME"}.')
    request_timeout_seconds: float = Field(default=5.0, gt=0, description="Longest wait for one answer.")
    silence_seconds: float = Field(
        default=15.0, gt=0, description="A socket with no frame for this long is treated as dropped."
    )
    quote_validity_seconds: int = Field(
        default=DEFAULT_VALIDITY_SECONDS, ge=1, le=MAX_VALIDITY_SECONDS,
        description="Validity the desk asks for each tradable quote.",
    )
