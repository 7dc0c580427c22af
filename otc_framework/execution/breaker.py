"""A circuit breaker per LP (SPEC §10 "Risk").

After ``failures`` consecutive failures (a quote or an order that failed) the LP is skipped for
``cooldown`` seconds and operators are alerted; then one order may try it again (half-open):
a success closes the breaker, a failure opens it for another cool-down. An unknown outcome
counts as a failure (the venue did not answer), but an open breaker never turns an unknown
outcome into a re-send: reconciliation asks the venue whatever the breaker says.

Only the engine's process changes breakers; it keeps their state in the store
(``state_key``) so every worker's health report shows them, and on ``/metrics``.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from otc_framework.alerts import kinds
from otc_framework.alerts.service import AlertService
from otc_framework.errors import StoreError
from otc_framework.metrics import LP_BREAKER_OPEN
from otc_framework.storage.store import Store

log = logging.getLogger(__name__)


def state_key(provider: str) -> str:
    return f"exec:breaker:{provider}"


@dataclass
class _Breaker:
    failures: int = 0
    open_until: float | None = None  # monotonic
    last_error: str | None = None


class CircuitBreakers:
    def __init__(
        self, store: Store, providers: Iterable[str], alerts: AlertService, *, failures: int, cooldown: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.alerts = alerts
        self.threshold = failures
        self.cooldown = cooldown
        self.clock = clock
        self._breakers = {name: _Breaker() for name in providers}
        for name in self._breakers:
            LP_BREAKER_OPEN.labels(provider=name).set(0)

    def available(self, provider: str) -> bool:
        """Closed, or open with its cool-down over (one order may try it)."""
        breaker = self._breakers[provider]
        return breaker.open_until is None or self.clock() >= breaker.open_until

    async def succeeded(self, provider: str) -> None:
        breaker = self._breakers[provider]
        was_open = breaker.open_until is not None
        if breaker.failures == 0 and not was_open:
            return
        self._breakers[provider] = _Breaker()
        LP_BREAKER_OPEN.labels(provider=provider).set(0)
        await self._save(provider)
        if was_open:
            self.alerts.raise_soon(kinds.LP_BREAKER_CLOSED, f"LP {provider} is taking orders again",
                                   f"An order on {provider} succeeded after its circuit breaker opened.",
                                   severity="info", key=f"breaker:{provider}:closed")

    async def failed(self, provider: str, error: str) -> None:
        breaker = self._breakers[provider]
        breaker.failures += 1
        breaker.last_error = error[:300]
        half_open = breaker.open_until is not None
        if breaker.failures < self.threshold and not half_open:
            await self._save(provider)
            return
        breaker.open_until = self.clock() + self.cooldown
        LP_BREAKER_OPEN.labels(provider=provider).set(1)
        await self._save(provider)
        log.warning("LP circuit breaker open", extra={"provider": provider, "failures": breaker.failures})
        self.alerts.raise_soon(
            kinds.LP_BREAKER_OPEN, f"LP {provider} skipped: circuit breaker open",
            f"{breaker.failures} consecutive failures on {provider}; hedges skip it for {self.cooldown:g} s. "
            f"Last error: {breaker.last_error}",
            severity="warning", key=f"breaker:{provider}:open",
        )

    def state(self, provider: str) -> dict[str, Any]:
        """``openUntil`` is wall-clock (epoch seconds), so any process can tell whether it still holds."""
        breaker = self._breakers[provider]
        open_until = None if breaker.open_until is None else time.time() + (breaker.open_until - self.clock())
        return {"failures": breaker.failures, "openUntil": open_until, "lastError": breaker.last_error}

    async def _save(self, provider: str) -> None:
        try:
            await self.store.set(state_key(provider), json.dumps(self.state(provider)),
                                 ttl=max(self.cooldown * 2, 60.0))
        except StoreError:
            log.warning("could not share an LP breaker's state", extra={"provider": provider})


async def shared_states(store: Store, providers: Iterable[str]) -> dict[str, dict[str, Any]]:
    """Every LP's breaker as the engine last shared it (for health on any worker); an LP the
    engine never saw fail reads closed."""
    names = list(providers)
    raw = await store.get_many([state_key(name) for name in names])
    now = time.time()
    states = {}
    for name, value in zip(names, raw, strict=True):
        state = json.loads(value) if value else {"failures": 0, "openUntil": None, "lastError": None}
        state["open"] = state["openUntil"] is not None and now < state["openUntil"]
        states[name] = state
    return states
