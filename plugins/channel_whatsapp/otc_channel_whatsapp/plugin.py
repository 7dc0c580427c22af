"""Hook implementations of the ``channel_whatsapp`` plugin."""

from __future__ import annotations

import httpx
from sanic import Blueprint

from otc_channel_whatsapp.client import EvolutionChannel
from otc_channel_whatsapp.config import EvolutionConfig
from otc_channel_whatsapp.fake import EvolutionDemoVenue
from otc_channel_whatsapp.routes import blueprint
from otc_framework.hookspecs import hookimpl


@hookimpl
def otc_config_model() -> type[EvolutionConfig]:
    return EvolutionConfig


@hookimpl
def otc_channels(config: EvolutionConfig, http: httpx.AsyncClient) -> list[EvolutionChannel]:
    return [EvolutionChannel(config, http)]


@hookimpl
def otc_routes(config: EvolutionConfig) -> list[Blueprint]:
    return [blueprint(config)]


@hookimpl
def otc_demo_venue() -> EvolutionDemoVenue:
    return EvolutionDemoVenue()
