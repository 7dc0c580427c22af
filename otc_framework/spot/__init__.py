"""Spot rates: one process polls every enabled source (``SpotPoller``, under a lease) and
every worker keeps the latest rate per source and instrument (``SpotFeed``)."""

from otc_framework.spot.feed import SourceStatus, SpotFeed
from otc_framework.spot.poller import SpotPoller

__all__ = ["SourceStatus", "SpotFeed", "SpotPoller"]
