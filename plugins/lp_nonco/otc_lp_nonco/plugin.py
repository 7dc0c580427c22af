"""Hook implementations of the ``lp_nonco`` plugin."""

from __future__ import annotations

from decimal import Decimal

import httpx

from otc_framework.controls import ControlDefinition, ControlKind
from otc_framework.hookspecs import hookimpl
from otc_lp_nonco.client import NoncoProvider
from otc_lp_nonco.config import CONTROL_VALIDITY, DEFAULT_VALIDITY_SECONDS, MAX_VALIDITY_SECONDS, NoncoConfig
from otc_lp_nonco.fake import NoncoDemoVenue


@hookimpl
def otc_config_model() -> type[NoncoConfig]:
    return NoncoConfig


@hookimpl
def otc_liquidity_providers(config: NoncoConfig, http: httpx.AsyncClient) -> list[NoncoProvider]:
    # The adapter opens its own WebSocket; the shared HTTP client is not used.
    return [NoncoProvider(config)]


@hookimpl
def otc_controls() -> list[ControlDefinition]:
    # The execution engine passes its live value to NoncoProvider.request_quote (see
    # client.py), which falls back to the config's, whose default is the same.
    return [
        ControlDefinition(
            CONTROL_VALIDITY, ControlKind.INT, DEFAULT_VALIDITY_SECONDS,
            "Validity asked for each Nonco quote, in seconds",
            minimum=Decimal(1), maximum=Decimal(MAX_VALIDITY_SECONDS),
        ),
    ]


@hookimpl
def otc_demo_venue() -> NoncoDemoVenue:
    return NoncoDemoVenue()
