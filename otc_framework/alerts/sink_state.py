"""Whether a sink is stopped, kept in the store so every worker's health report shows it.

A sink that refused for good (a bad token, an unknown chat or webhook) is stopped rather than
retried forever. The stop is tied to the sink's configuration by a fingerprint: after the
operator fixes the deployment file and restarts, the sink is active again, while a restart
with the same broken configuration keeps it stopped.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import asdict, dataclass
from datetime import datetime

from otc_framework.errors import StoreError
from otc_framework.storage.store import Store

REPORT_TIMEOUT_SECONDS = 1.0


def _key(sink: str) -> str:
    return f"alerts:sink:{sink}"


@dataclass(frozen=True, slots=True)
class SinkStop:
    error: str
    since: str
    fingerprint: str


async def stop(store: Store, sink: str, error: str, at: datetime, fingerprint: str) -> None:
    await store.set(_key(sink), json.dumps(asdict(SinkStop(error, at.isoformat(), fingerprint))))


async def stopped(store: Store, sinks: dict[str, str]) -> dict[str, SinkStop]:
    """The stops in force among ``sinks`` (name → current fingerprint); a stop recorded for
    another configuration no longer applies."""
    names = list(sinks)
    found: dict[str, SinkStop] = {}
    for name, raw in zip(names, await store.get_many([_key(n) for n in names]), strict=True):
        if raw is None:
            continue
        try:
            state = SinkStop(**json.loads(raw))
        except (ValueError, TypeError):
            continue
        if state.fingerprint == sinks[name]:
            found[name] = state
    return found


async def report(store: Store, sinks: dict[str, str]) -> dict[str, dict[str, str | None]]:
    """Each sink's state for ``/health/ready``: active, or stopped with why and since when."""
    try:
        stops = await asyncio.wait_for(stopped(store, sinks), REPORT_TIMEOUT_SECONDS)
    except (StoreError, TimeoutError) as exc:
        reason = str(exc) or f"no answer within {REPORT_TIMEOUT_SECONDS:g} s"
        return {name: {"state": "unknown", "error": reason, "since": None} for name in sinks}
    return {
        name: ({"state": "stopped", "error": stops[name].error, "since": stops[name].since} if name in stops
               else {"state": "active", "error": None, "since": None})
        for name in sinks
    }
