"""What every outbound delivery loop shares (alerts, chat replies): one try at a venue, told
apart by outcome; the back-off between tries; pacing through the store's token bucket.

The ground floor of the queues: it imports only the error tree, the ports and the store, so
``alerts.dispatcher`` and ``bot.outbox`` both build on it without knowing each other.

A try's outcome (``Attempt``) is one of:

- **ok**: the venue took it;
- **wait** (``wait_for`` seconds): the venue asked us to back off (``VenueRateLimited``);
  this is no failed try, the caller tries again after that long;
- **refused**: ``VenueRefused``, for good; the caller does not try it again;
- **failed**: anything else (``VenueError``, no answer within the timeout, or an adapter's
  unexpected exception, logged with its traceback): a failed try, retried after ``backoff``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Mapping
from dataclasses import dataclass

from otc_framework.errors import VenueError, VenueRateLimited, VenueRefused
from otc_framework.storage.store import Store

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Attempt:
    """How one try at a venue went; ``reason`` says why when it was not ``ok``."""

    ok: bool
    reason: str = ""
    wait_for: float | None = None  # the venue asked us to wait this long: not a failed try
    refused: bool = False  # refused for good: never try this again

    @property
    def counts(self) -> bool:
        """Whether this was a failed try (one of the caller's ``max_attempts``)."""
        return not self.ok and self.wait_for is None


OK = Attempt(ok=True)


async def attempt(call: Awaitable[None], timeout: float, *, what: str = "venue",
                  extra: Mapping[str, object] | None = None) -> Attempt:
    """Await ``call`` for at most ``timeout`` seconds and classify how it went.

    Never raises but for cancellation: an adapter's bug is a failed try (logged at ERROR as
    "``what`` raised an unexpected error", with ``extra``), not a dead delivery loop.
    """
    try:
        await asyncio.wait_for(call, timeout)
    except VenueRateLimited as exc:
        return Attempt(ok=False, reason=exc.message, wait_for=max(0.0, float(exc.retry_after)))
    except VenueRefused as exc:
        return Attempt(ok=False, reason=exc.message, refused=True)
    except VenueError as exc:
        return Attempt(ok=False, reason=exc.message)
    except TimeoutError:
        return Attempt(ok=False, reason=f"no answer within {timeout:g} s")
    except Exception as exc:
        log.exception("%s raised an unexpected error", what, extra=dict(extra or {}))
        return Attempt(ok=False, reason=f"unexpected {type(exc).__name__}")
    return OK


def backoff(base: float, attempt: int, cap: float) -> float:
    """Seconds to wait after the ``attempt``-th failed try: ``base`` × 2^(attempt − 1), at most ``cap``."""
    return float(min(cap, base * 2 ** (max(1, attempt) - 1)))


async def paced(store: Store, key: str, per_minute: int, burst: int) -> float | None:
    """Take a token of the bucket ``key`` (``per_minute`` a minute, bursts of ``burst``):
    ``None`` when the caller may go now, else the seconds until a token is there.

    Raises ``StoreError`` when the store cannot answer; the caller's row then simply waits.
    """
    decision = await store.rate_limit(key, max(1, min(per_minute, burst)), per_minute / 60)
    return None if decision.allowed else decision.retry_after


__all__ = ["OK", "Attempt", "attempt", "backoff", "paced"]
