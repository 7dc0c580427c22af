"""The ``[plugins.spot_binance]`` config section. Binance's market-data host needs no key."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from otc_spot_binance.venue import (
    DEFAULT_BASE_URL,
    REQUEST_WEIGHT,
    SYMBOL_INSTRUMENTS,
    WEIGHT_LIMIT_PER_MINUTE,
)

# Below one full read's weight the adapter could never call at all.
MIN_WEIGHT_CEILING = REQUEST_WEIGHT * len(SYMBOL_INSTRUMENTS)


class BinanceConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    base_url: str = Field(default=DEFAULT_BASE_URL, min_length=1)
    symbols: tuple[str, ...] = Field(default=("USDTBRL", "USDCBRL"), min_length=1)
    timeout_seconds: float = Field(default=2.0, gt=0)
    unlisted_recheck_seconds: float = Field(default=600, ge=0)
    weight_ceiling: int = Field(default=5000, ge=MIN_WEIGHT_CEILING, le=WEIGHT_LIMIT_PER_MINUTE)

    @field_validator("symbols")
    @classmethod
    def _known_unique_symbols(cls, symbols: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [s for s in symbols if s not in SYMBOL_INSTRUMENTS]
        if unknown:
            known = ", ".join(SYMBOL_INSTRUMENTS)
            raise ValueError(f"unknown symbol(s) {', '.join(unknown)}; known: {known}")
        if len(set(symbols)) != len(symbols):
            raise ValueError("symbols must not repeat")
        return symbols
