"""Store-backed token buckets (SPEC §7): one function for every limited action."""

from __future__ import annotations

import math

from otc_framework.errors import RateLimited
from otc_framework.storage.store import RateDecision, Store


async def enforce(store: Store, key: str, burst: int, per_second: float, what: str) -> None:
    refuse_if_spent(await store.rate_limit(key, capacity=burst, refill_per_second=per_second), what)


def refuse_if_spent(decision: RateDecision, what: str) -> None:
    """RATE_LIMITED, with the seconds until a token, when ``decision`` found the bucket empty."""
    if not decision.allowed:
        raise RateLimited(math.ceil(decision.retry_after), f"too many {what}; retry later")
