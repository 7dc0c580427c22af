"""Nonco liquidity provider, a plugin of the OTC desk framework (entry point ``lp_nonco``)."""

from otc_lp_nonco.client import NoncoProvider
from otc_lp_nonco.config import NoncoConfig

__all__ = ["NoncoConfig", "NoncoProvider"]
