"""A background loop that runs in one process at a time per deployment.

Every worker runs a ``LeasedLoop``; only the holder of the store lease ``name`` executes the
step. The holder renews the lease at each turn, so when its process dies the lease lapses
after ``lease_ttl`` and another worker's loop takes over (DESIGN.md, Runtime). ``wake``
cuts the wait short when there is work; ``on_taken`` tells the step's owner it just became the
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
        lease_ttl: float,
        holder: str | None = None,
        on_taken: Callable[[], None] | None = None,
    ) -> None:
        if lease_ttl <= interval:
            raise ValueError("lease_ttl must exceed the interval, or the lease lapses between turns")
        self.store = store
        self.name = name
        self.step = step
        self.interval = interval
        self.lease_ttl = lease_ttl
        self.holder = holder or holder_id()
        # Called when this process takes the lease, before its first step as the holder.
        self.on_taken = on_taken
        self.leading = False
        self._woken = asyncio.Event()
        self._held = LEASES_HELD.labels(loop=name)  # 0 until taken: "nobody runs it" is visible
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"leased-loop:{self.name}")

    async def stop(self) -> None:
        if self._task is not None:
            await cancel_and_wait(self._task)
            self._task = None
        if self.leading:
            try:
                await self.store.release_lease(self.name, self.holder)
            except StoreError:
                log.warning("could not release lease", extra={"lease": self.name})
            self._lead(False)

    async def turn(self) -> bool:
        """One turn: take or renew the lease, and step when held. ``True`` if it stepped."""
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
        try:
            await self.step()
        except Exception:  # the loop must outlive any single failing turn
            log.exception("leased loop step failed", extra={"lease": self.name})
        return True

    def _lead(self, leading: bool) -> None:
        self.leading = leading
        # A step, not a set: loops of one name in one process (tests) add up like workers do.
        self._held.inc(1 if leading else -1)

    def wake(self) -> None:
        """Turn now rather than at the end of the interval (there is work)."""
        self._woken.set()

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            started = loop.time()
            self._woken.clear()
            await self.turn()
            try:
                await asyncio.wait_for(self._woken.wait(), max(0.0, self.interval - (loop.time() - started)))
            except TimeoutError:
                pass
