"""Hook implementations of the ``spot_binance`` plugin."""

from __future__ import annotations

import httpx

from otc_framework.hookspecs import hookimpl
from otc_spot_binance.client import BinanceSpotSource
from otc_spot_binance.config import BinanceConfig
from otc_spot_binance.fake import BinanceDemoVenue


@hookimpl
def otc_config_model() -> type[BinanceConfig]:
    return BinanceConfig


@hookimpl
def otc_spot_sources(config: BinanceConfig, http: httpx.AsyncClient) -> list[BinanceSpotSource]:
    return [BinanceSpotSource(config, http)]


@hookimpl
def otc_demo_venue() -> BinanceDemoVenue:
    return BinanceDemoVenue()
