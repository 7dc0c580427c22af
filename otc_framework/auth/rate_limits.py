"""Store-backed token buckets (SPEC §7): one function for every limited action."""

from __future__ import annotations

import math

from otc_framework.errors import RateLimited
from otc_framework.storage.store import Store


async def enforce(store: Store, key: str, burst: int, per_second: float, what: str) -> None:
    decision = await store.rate_limit(key, capacity=burst, refill_per_second=per_second)
    if not decision.allowed:
        raise RateLimited(math.ceil(decision.retry_after), f"too many {what}; retry later")
