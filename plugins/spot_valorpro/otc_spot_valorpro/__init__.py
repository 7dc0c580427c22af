"""ValorPro USD/BRL spot source, a plugin of the OTC desk framework (entry point
``spot_valorpro``)."""

from otc_spot_valorpro.client import ValorProSpotSource
from otc_spot_valorpro.config import ValorProConfig

__all__ = ["ValorProConfig", "ValorProSpotSource"]
