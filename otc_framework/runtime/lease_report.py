"""Who runs each background loop, for ``/health/ready`` and ``/metrics`` (SPEC §18).

Read from the store, not from this worker's memory: the answer is the same whichever worker
of whichever host is asked, and it names the holder (``host:pid:nonce``) an operator would
kill or drain.
"""

from __future__ import annotations

import asyncio
from typing import TypedDict

from otc_framework.errors import OtcError
from otc_framework.runtime.leased_loop import LeasedLoop
from otc_framework.storage.store import Store

READ_TIMEOUT_SECONDS = 1.0


class LeaseState(TypedDict):
    holder: str | None
    here: bool
    known: bool


async def lease_states(store: Store, loops: list[LeasedLoop]) -> dict[str, LeaseState]:
    """Each loop's holder; ``known`` is false (holder null) when the store cannot say."""
    names = [loop.name for loop in loops]
    try:
        holders = await asyncio.wait_for(store.lease_holders(names), READ_TIMEOUT_SECONDS)
    except (TimeoutError, OtcError):
        return {loop.name: {"holder": None, "here": False, "known": False} for loop in loops}
    return {
        loop.name: {"holder": holders[loop.name], "here": holders[loop.name] == loop.holder, "known": True}
        for loop in loops
    }
