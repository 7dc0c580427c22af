"""The live LP feed (SPEC §10): one process polls every enabled LP's indicative prices
(``LpPoller``, a step of a leased loop) and every worker keeps the latest price per provider,
currency and settlement (``LpFeed``), which LP quote mode and best-LP execution read."""

from otc_framework.liquidity.feed import LpFeed, ProviderStatus
from otc_framework.liquidity.poller import LpPoller

__all__ = ["LpFeed", "LpPoller", "ProviderStatus"]
