"""Hook implementations of the ``lp_horizon`` plugin."""

from __future__ import annotations

from decimal import Decimal

import httpx

from otc_framework.controls import ControlDefinition, ControlKind
from otc_framework.hookspecs import hookimpl
from otc_lp_horizon.client import HorizonProvider
from otc_lp_horizon.config import (
    CONTROL_CHUNK_SIZE,
    CONTROL_VALIDITY,
    DEFAULT_CHUNK_SIZE,
    DEFAULT_VALIDITY_SECONDS,
    MAX_VALIDITY_SECONDS,
    HorizonConfig,
)
from otc_lp_horizon.fake import HorizonDemoVenue


@hookimpl
def otc_config_model() -> type[HorizonConfig]:
    return HorizonConfig


@hookimpl
def otc_liquidity_providers(config: HorizonConfig, http: httpx.AsyncClient) -> list[HorizonProvider]:
    return [HorizonProvider(config, http)]


@hookimpl
def otc_controls() -> list[ControlDefinition]:
    # The execution engine passes their live values to HorizonProvider.request_quote (see
    # client.py), which falls back to the config's, whose defaults are the same.
    return [
        ControlDefinition(
            CONTROL_VALIDITY, ControlKind.INT, DEFAULT_VALIDITY_SECONDS,
            "Validity asked for each Horizon quote, in seconds",
            minimum=Decimal(1), maximum=Decimal(MAX_VALIDITY_SECONDS),
        ),
        ControlDefinition(
            CONTROL_CHUNK_SIZE, ControlKind.DECIMAL, DEFAULT_CHUNK_SIZE,
            "Largest amount Horizon quotes and confirms at once; larger hedges are split into chunks",
            minimum=Decimal(1),
        ),
    ]


@hookimpl
def otc_demo_venue() -> HorizonDemoVenue:
    return HorizonDemoVenue()
