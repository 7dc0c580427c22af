"""Horizon Fund liquidity provider, a plugin of the OTC desk framework (entry point
``lp_horizon``)."""

from otc_lp_horizon.client import HorizonProvider
from otc_lp_horizon.config import HorizonConfig

__all__ = ["HorizonConfig", "HorizonProvider"]
