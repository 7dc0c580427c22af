"""The in-process store: the single-process embedded default, and the local fan-out that the
Redis adapter reuses for its subscribers.

Every ``MemoryStore`` method runs without an ``await`` between reading and writing its state,
so on one event loop each call is atomic by construction. State lives in the instance: two
instances never share anything, which is why ``open_store`` refuses ``memory://`` for more
than one worker. Keys carry the ``"{namespace}:"`` prefix anyway, so both adapters lay keys
out identically (leases under ``lease:``, token buckets under ``ratelimit:``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence

from otc_framework.errors import StoreError
from otc_framework.storage.store.base import (
    OWNER_SEPARATOR,
    TOMBSTONE_SUFFIX,
    Bucket,
    RateDecision,
    Store,
    Subscription,
    TakeOutcome,
)

log = logging.getLogger(__name__)

LEASE_PREFIX = "lease:"
RATE_PREFIX = "ratelimit:"
DEFAULT_QUEUE_SIZE = 1000

_END = object()


def check_ttl(ttl: float | None) -> None:
    """Refuse a TTL that Redis would reject, so both adapters fail the same way."""
    if ttl is not None and not ttl > 0:
        raise StoreError(f"store: ttl must be a positive number of seconds, got {ttl!r}")


def check_bucket(capacity: int, refill_per_second: float, cost: int) -> None:
    # A cost above capacity could never be served: answering "retry later" would be a lie.
    if capacity < 1 or not refill_per_second > 0 or not 0 <= cost <= capacity:
        raise StoreError(
            "store: token bucket needs capacity >= 1, refill_per_second > 0 and "
            f"0 <= cost <= capacity (got {capacity}, {refill_per_second}, {cost})"
        )


class LocalSubscription(Subscription):
    """One subscriber's bounded inbox. Iteration ends when it is closed or dropped."""

    def __init__(
        self,
        channel: str,
        queue_size: int,
        release: Callable[[LocalSubscription], Awaitable[None]],
    ) -> None:
        self.channel = channel
        self.closed = False
        self.queue_size = max(1, queue_size)
        self._queue: asyncio.Queue[object] = asyncio.Queue(self.queue_size)
        self._release = release

    def offer(self, message: str) -> bool:
        """Queue ``message``; ``False`` when the inbox is full (the caller drops us)."""
        if self.closed:
            return True
        try:
            self._queue.put_nowait(message)
        except asyncio.QueueFull:
            return False
        return True

    def end(self) -> None:
        """Stop delivery now; buffered messages are discarded, a waiting reader wakes up."""
        if self.closed:
            return
        self.closed = True
        while not self._queue.empty():
            self._queue.get_nowait()
        self._queue.put_nowait(_END)

    def __aiter__(self) -> LocalSubscription:
        return self

    async def __anext__(self) -> str:
        if self.closed and self._queue.empty():
            raise StopAsyncIteration
        item = await self._queue.get()
        if item is _END:
            # Put it back so any other task iterating this subscription ends too.
            self._queue.put_nowait(_END)
            raise StopAsyncIteration
        assert isinstance(item, str)
        return item

    async def close(self) -> None:
        if self.closed:
            return
        self.end()
        await self._release(self)


class Fanout:
    """Channel name → attached subscribers, delivering without ever awaiting.

    A subscriber whose inbox is full is dropped instead of holding back the others: a
    publisher must never wait for the slowest reader.
    """

    def __init__(self) -> None:
        self._subscribers: dict[str, set[LocalSubscription]] = {}

    def attach(self, sub: LocalSubscription) -> None:
        self._subscribers.setdefault(sub.channel, set()).add(sub)

    def detach(self, sub: LocalSubscription) -> None:
        subs = self._subscribers.get(sub.channel)
        if subs is not None:
            subs.discard(sub)
            if not subs:
                del self._subscribers[sub.channel]

    def has(self, channel: str) -> bool:
        return channel in self._subscribers

    def deliver(self, channel: str, message: str) -> bool:
        """Hand ``message`` to every subscriber; ``True`` if a drop left the channel empty."""
        subs = self._subscribers.get(channel)
        if not subs:
            return False
        for sub in tuple(subs):
            if not sub.offer(message):
                log.warning(
                    "store: dropped a subscriber of %r whose queue of %d messages was full",
                    channel, sub.queue_size,
                )
                sub.end()
                self.detach(sub)
        return not self.has(channel)

    def end_all(self) -> None:
        for subs in self._subscribers.values():
            for sub in subs:
                sub.end()
        self._subscribers.clear()


class MemoryStore(Store):
    """The store of one process. Not shared between workers: see ``open_store``."""

    backend = "memory"

    def __init__(
        self,
        namespace: str = "otc",
        *,
        queue_size: int = DEFAULT_QUEUE_SIZE,
        sweep_interval: float = 30.0,
    ) -> None:
        self._prefix = f"{namespace}:"
        self._queue_size = queue_size
        self._entries: dict[str, tuple[str, float | None]] = {}
        # key → (tokens, at, full_at): once full, a bucket equals an absent one and is swept.
        self._buckets: dict[str, tuple[float, float, float]] = {}
        self._fanout = Fanout()
        self._sweep_interval = sweep_interval
        self._next_sweep = time.monotonic() + sweep_interval
        self._closed = False

    # -- key/value -------------------------------------------------------------------------

    def _live(self, key: str, now: float) -> str | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        value, deadline = entry
        if deadline is not None and deadline <= now:
            del self._entries[key]
            return None
        return value

    def _put(self, key: str, value: str, ttl: float | None, now: float) -> None:
        self._entries[key] = (value, None if ttl is None else now + ttl)

    def _now(self) -> float:
        """The clock, for a store still open, after a sweep when one is due: lazy expiry
        alone would let keys that are never read again pile up."""
        if self._closed:
            raise StoreError("store: the in-process store is closed")
        now = time.monotonic()
        if now >= self._next_sweep:
            self._next_sweep = now + self._sweep_interval
            expired = [k for k, (_, d) in self._entries.items() if d is not None and d <= now]
            for key in expired:
                del self._entries[key]
            full = [k for k, (_, _, full_at) in self._buckets.items() if full_at <= now]
            for key in full:
                del self._buckets[key]
        return now

    async def get(self, key: str) -> str | None:
        return self._live(self._prefix + key, self._now())

    async def get_many(self, keys: Sequence[str]) -> list[str | None]:
        now = self._now()
        return [self._live(self._prefix + key, now) for key in keys]

    async def set(self, key: str, value: str, ttl: float | None = None) -> None:
        check_ttl(ttl)
        self._put(self._prefix + key, value, ttl, self._now())

    async def set_owned(self, key: str, owner: str, value: str, ttl: float) -> None:
        check_ttl(ttl)
        now = self._now()
        self._entries.pop(self._prefix + key + TOMBSTONE_SUFFIX, None)
        self._put(self._prefix + key, owner + OWNER_SEPARATOR + value, ttl, now)

    async def take_owned(self, key: str, owner: str, tombstone_ttl: float) -> tuple[TakeOutcome, str | None]:
        check_ttl(tombstone_ttl)
        now = self._now()
        key = self._prefix + key
        stored = self._live(key, now)
        if stored is not None:
            holder, _, value = stored.partition(OWNER_SEPARATOR)
            if holder != owner:
                return TakeOutcome.NOT_OWNER, None
            del self._entries[key]
            self._put(key + TOMBSTONE_SUFFIX, owner, tombstone_ttl, now)
            return TakeOutcome.TAKEN, value
        taker = self._live(key + TOMBSTONE_SUFFIX, now)
        if taker is None:
            return TakeOutcome.ABSENT, None
        return (TakeOutcome.TAKEN_BEFORE if taker == owner else TakeOutcome.NOT_OWNER), None

    async def take_owned_if_current(
        self, expected: Sequence[tuple[str, str | None]], key: str, owner: str, tombstone_ttl: float,
    ) -> tuple[list[str | None], tuple[TakeOutcome, str | None] | None]:
        check_ttl(tombstone_ttl)
        # No step yields: in one process this is one step, as the Redis script is.
        values = await self.get_many([k for k, _ in expected])
        if values != [v for _, v in expected]:
            return values, None
        return values, await self.take_owned(key, owner, tombstone_ttl)

    async def delete(self, key: str) -> bool:
        now = self._now()
        key = self._prefix + key
        found = self._live(key, now) is not None
        self._entries.pop(key, None)
        return found

    async def take(self, key: str) -> str | None:
        now = self._now()
        key = self._prefix + key
        value = self._live(key, now)
        self._entries.pop(key, None)
        return value

    async def set_if_absent(self, key: str, value: str, ttl: float | None = None) -> bool:
        check_ttl(ttl)
        now = self._now()
        key = self._prefix + key
        if self._live(key, now) is not None:
            return False
        self._put(key, value, ttl, now)
        return True

    async def replace(self, key: str, expected: str, value: str, ttl: float | None = None) -> bool:
        check_ttl(ttl)
        now = self._now()
        key = self._prefix + key
        if self._live(key, now) != expected:
            return False
        self._put(key, value, ttl, now)
        return True

    async def ttl(self, key: str) -> float | None:
        now = self._now()
        key = self._prefix + key
        if self._live(key, now) is None:
            return None
        deadline = self._entries[key][1]
        return None if deadline is None else deadline - now

    # -- token bucket ----------------------------------------------------------------------

    async def get_many_spending(self, keys: Sequence[str], bucket: Bucket) -> tuple[list[str | None], RateDecision]:
        # Neither step yields: in one process the pair is one step, as the Redis script is.
        return (await self.get_many(keys),
                await self.rate_limit(bucket.key, bucket.capacity, bucket.refill_per_second, bucket.cost))

    async def set_owned_if_current(
        self, expected: Sequence[tuple[str, str | None]], bucket: Bucket, key: str, owner: str, value: str, ttl: float,
    ) -> tuple[list[str | None], RateDecision, bool]:
        check_ttl(ttl)
        # No step yields: in one process this is one step, as the Redis script is.
        values, decision = await self.get_many_spending([k for k, _ in expected], bucket)
        current = decision.allowed and values == [v for _, v in expected]
        if current:
            await self.set_owned(key, owner, value, ttl)
        return values, decision, current

    async def rate_limit(
        self, key: str, capacity: int, refill_per_second: float, cost: int = 1
    ) -> RateDecision:
        check_bucket(capacity, refill_per_second, cost)
        now = self._now()
        key = self._prefix + RATE_PREFIX + key
        tokens = float(capacity)
        state = self._buckets.get(key)
        if state is not None:
            tokens = min(tokens, state[0] + max(0.0, now - state[1]) * refill_per_second)
        allowed = tokens >= cost
        retry_after = 0.0
        if allowed:
            tokens -= cost
        else:
            retry_after = (cost - tokens) / refill_per_second
        self._buckets[key] = (tokens, now, now + (capacity - tokens) / refill_per_second)
        return RateDecision(allowed=allowed, retry_after=retry_after, remaining=tokens)

    # -- pub/sub ---------------------------------------------------------------------------

    async def publish(self, channel: str, message: str) -> None:
        self._now()
        self._fanout.deliver(self._prefix + channel, message)
        # Give subscribers a turn, as a network round trip would: otherwise a publishing
        # loop starves every reader and drops even those that keep up.
        await asyncio.sleep(0)

    async def subscribe(self, channel: str) -> Subscription:
        self._now()
        sub = LocalSubscription(self._prefix + channel, self._queue_size, self._release)
        self._fanout.attach(sub)
        return sub

    async def _release(self, sub: LocalSubscription) -> None:
        self._fanout.detach(sub)

    # -- leases ----------------------------------------------------------------------------

    async def acquire_lease(self, name: str, holder: str, ttl: float) -> bool:
        check_ttl(ttl)
        now = self._now()
        key = self._prefix + LEASE_PREFIX + name
        current = self._live(key, now)
        if current is not None and current != holder:
            return False
        self._put(key, holder, ttl, now)
        return True

    async def release_lease(self, name: str, holder: str) -> None:
        now = self._now()
        key = self._prefix + LEASE_PREFIX + name
        if self._live(key, now) == holder:
            del self._entries[key]

    async def lease_holders(self, names: Sequence[str]) -> dict[str, str | None]:
        now = self._now()
        return {name: self._live(self._prefix + LEASE_PREFIX + name, now) for name in names}

    # -- lifecycle -------------------------------------------------------------------------

    async def ping(self) -> None:
        self._now()

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._fanout.end_all()
        self._entries.clear()
        self._buckets.clear()
