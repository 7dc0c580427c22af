"""A background loop that runs in one process at a time per deployment.

Every worker runs a ``LeasedLoop``; only the holder of the store lease ``name`` executes the
step. The holder renews the lease at each turn and while a step runs, so when its process dies
the lease lapses after ``lease_ttl`` (3 s) and another worker's loop takes over at its next turn
(DESIGN.md, Runtime); ``stop(grace)`` hands it over at once, after the step under way. ``wake``
cuts the wait short when there is work, but turns come at most every ``wake_gap`` seconds: a
loop woken by every trade would otherwise turn back to back under load, each turn a lease
renewal and its step's queries, and take the CPU the trades need; ``on_taken`` tells the step's owner it just became the
holder (the execution engine reconciles then).
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from collections.abc import Awaitable, Callable

from otc_framework.errors import StoreError
from otc_framework.metrics import LEASES_HELD
from otc_framework.storage.store import Store
from otc_framework.tasks import cancel_and_wait

log = logging.getLogger(__name__)

# Short, for a hand-over within seconds of the holder's death: the holder renews at every turn
# and, during a long step, every third of it (``_keep_during``).
LEASE_TTL_SECONDS = 3.0
RELEASE_TIMEOUT_SECONDS = 1.0


def holder_id() -> str:
    """Identifies this process among every worker on every machine."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class LeasedLoop:
    def __init__(
        self,
        store: Store,
        name: str,
        step: Callable[[], Awaitable[None]],
        *,
        interval: float,
        lease_ttl: float = LEASE_TTL_SECONDS,
        holder: str | None = None,
        on_taken: Callable[[], None] | None = None,
        wake_gap: float = 0.0,
    ) -> None:
        if lease_ttl <= interval:
            raise ValueError("lease_ttl must exceed the interval, or the lease lapses between turns")
        self.store = store
        self.name = name
        self.step = step
        self.interval = interval
        self.wake_gap = wake_gap
        self.lease_ttl = lease_ttl
        self.holder = holder or holder_id()
        # Called when this process takes the lease, before its first step as the holder.
        self.on_taken = on_taken
        self.leading = False
        self._woken = asyncio.Event()
        self._held = LEASES_HELD.labels(loop=name)  # 0 until taken: "nobody runs it" is visible
        self._task: asyncio.Task[None] | None = None
        self._stepping: asyncio.Task[None] | None = None
        self._stopping = False

    def start(self) -> None:
        self._stopping = False
        self._task = asyncio.create_task(self._run(), name=f"leased-loop:{self.name}")

    async def stop(self, grace: float = 0.0) -> None:
        """Stop turning and give the lease up. A step under way gets up to ``grace`` seconds
        to finish (a drain) before it is cut off; the next holder starts from what it left."""
        self._stopping = True
        self._woken.set()
        if grace > 0 and self._stepping is not None and not self._stepping.done():
            await asyncio.wait({self._stepping}, timeout=grace)
        if self._task is not None:
            await cancel_and_wait(self._task)
            self._task = None
        if self.leading:
            try:
                # Bounded: with the store gone a stop must not wait out its timeouts; the lease
                # then lapses after its TTL instead.
                await asyncio.wait_for(self.store.release_lease(self.name, self.holder), RELEASE_TIMEOUT_SECONDS)
            except (StoreError, TimeoutError):
                log.warning("could not release lease", extra={"lease": self.name})
            self._lead(False)

    async def turn(self) -> bool:
        """One turn: take or renew the lease, and step when held. ``True`` if it stepped."""
        taken_at = asyncio.get_running_loop().time()
        try:
            leading = await self.store.acquire_lease(self.name, self.holder, self.lease_ttl)
        except StoreError as exc:
            log.warning("lease check failed", extra={"lease": self.name, "error": str(exc)})
            leading = False
        if leading != self.leading:
            log.info("lease %s", "taken" if leading else "lost", extra={"lease": self.name, "holder": self.holder})
            self._lead(leading)
            if leading and self.on_taken is not None:
                self.on_taken()
        if not leading:
            return False
        self._stepping = asyncio.ensure_future(self.step())
        keeper = asyncio.create_task(self._keep_during(self._stepping, taken_at + self.lease_ttl))
        try:
            await self._stepping
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if current is not None and current.cancelling():
                raise  # stopped from outside, not cut off by a lost lease
        except Exception:  # the loop must outlive any single failing turn
            log.exception("leased loop step failed", extra={"lease": self.name})
        finally:
            await cancel_and_wait(keeper)
            if not self._stepping.done():
                await cancel_and_wait(self._stepping)
        return True

    async def _keep_during(self, step: asyncio.Future[None], held_until: float) -> None:
        """Renew the lease while a step runs, so a step may outlast the TTL (and the TTL stays
        short, for a fast hand-over). A step that can no longer be sure it holds the lease is
        cut off: two holders must never step at once."""
        loop = asyncio.get_running_loop()
        every = self.lease_ttl / 3
        while True:
            await asyncio.sleep(every)
            asked_at = loop.time()
            try:
                if await self.store.acquire_lease(self.name, self.holder, self.lease_ttl):
                    held_until = asked_at + self.lease_ttl
                    continue
                reason = "another worker holds it"
            except StoreError as exc:
                if loop.time() + every < held_until:
                    continue  # it still holds for a while: try again
                reason = f"not renewed in time ({exc})"
            log.warning("lease lost during a step; the step is cut off",
                        extra={"lease": self.name, "holder": self.holder, "reason": reason})
            step.cancel()
            return

    def _lead(self, leading: bool) -> None:
        self.leading = leading
        # A step, not a set: loops of one name in one process (tests) add up like workers do.
        self._held.inc(1 if leading else -1)

    def wake(self) -> None:
        """Turn now rather than at the end of the interval (there is work)."""
        self._woken.set()

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while not self._stopping:
            started = loop.time()
            self._woken.clear()
            await self.turn()
            try:
                await asyncio.wait_for(self._woken.wait(), max(0.0, self.interval - (loop.time() - started)))
            except TimeoutError:
                continue
            # Woken: whatever else comes meanwhile is served by the same turn.
            rest = self.wake_gap - (loop.time() - started)
            if rest > 0 and not self._stopping:
                await asyncio.sleep(rest)
