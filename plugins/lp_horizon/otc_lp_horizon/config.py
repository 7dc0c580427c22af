"""The ``[plugins.lp_horizon]`` config section.

``chunk_size`` and ``quote_validity_seconds`` are the adapter's fallbacks for the runtime
controls ``exec_horizon_chunk_size`` and ``exec_horizon_validity_sec`` (``plugin.otc_controls``,
with the same defaults), whose live values the execution engine passes to each
``request_quote``.
"""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field, SecretStr

# The runtime controls this plugin defines (``plugin.otc_controls``) and its adapter reads.
CONTROL_CHUNK_SIZE = "exec_horizon_chunk_size"
CONTROL_VALIDITY = "exec_horizon_validity_sec"

DEFAULT_CHUNK_SIZE = Decimal("500000")
DEFAULT_VALIDITY_SECONDS = 8
MAX_VALIDITY_SECONDS = 60


class HorizonConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    base_url: str = Field(min_length=1, description="Scheme and host of Horizon's FX API.")
    api_key: SecretStr = Field(min_length=1, description='API key; resolve it with {"$env" = "NAME"}.')
    timeout_seconds: float = Field(default=5.0, gt=0)
    chunk_size: Decimal = Field(
        default=DEFAULT_CHUNK_SIZE, gt=0, allow_inf_nan=False,
        description="Largest amount quoted and confirmed at once; larger orders are split.",
    )
    quote_validity_seconds: int = Field(
        default=DEFAULT_VALIDITY_SECONDS, ge=1, le=MAX_VALIDITY_SECONDS,
        description="Validity the desk asks for each tradable quote.",
    )
