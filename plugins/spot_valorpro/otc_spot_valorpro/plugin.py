"""Hook implementations of the ``spot_valorpro`` plugin."""

from __future__ import annotations

import httpx

from otc_framework.hookspecs import hookimpl
from otc_spot_valorpro.client import ValorProSpotSource
from otc_spot_valorpro.config import ValorProConfig
from otc_spot_valorpro.fake import ValorProDemoVenue


@hookimpl
def otc_config_model() -> type[ValorProConfig]:
    return ValorProConfig


@hookimpl
def otc_spot_sources(config: ValorProConfig, http: httpx.AsyncClient) -> list[ValorProSpotSource]:
    return [ValorProSpotSource(config, http)]


@hookimpl
def otc_demo_venue() -> ValorProDemoVenue:
    return ValorProDemoVenue()
