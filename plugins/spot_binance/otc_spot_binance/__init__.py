"""Binance USDT/BRL and USDC/BRL spot source, a plugin of the OTC desk framework (entry point
``spot_binance``)."""

from otc_spot_binance.client import BinanceSpotSource
from otc_spot_binance.config import BinanceConfig

__all__ = ["BinanceConfig", "BinanceSpotSource"]
