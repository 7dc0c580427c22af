"""The store port: short-lived state shared by every worker (SPEC §15).

Sessions, OID keys, rate limits, config cache, bot state, message dedup and cross-worker
events live here. Two adapters implement it: Redis (production, any number of workers and
machines) and in-process (the single-process embedded default). Keys are namespaced by the
adapter (``namespace`` argument), so callers use short logical keys.

Values are ``str``; callers serialise (JSON) themselves, which keeps the port free of
encoding choices and lets Decimal stay exact as text.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from enum import StrEnum


@dataclass(frozen=True, slots=True)
class RateDecision:
    """The answer of a token bucket: ``allowed``, and when not, how long until a token."""

    allowed: bool
    retry_after: float
    remaining: float


@dataclass(frozen=True, slots=True)
class Bucket:
    """A token bucket to spend from (``Store.get_many_spending``): ``capacity`` tokens,
    refilled at ``refill_per_second``, ``cost`` taken per use."""

    key: str
    capacity: int
    refill_per_second: float
    cost: int = 1


# An owned value is stored as ``owner + OWNER_SEPARATOR + value``; its tombstone holds the owner.
OWNER_SEPARATOR = "\x1f"
TOMBSTONE_SUFFIX = ":taken"


class TakeOutcome(StrEnum):
    """What ``take_owned`` found."""

    TAKEN = "taken"  # the value is the caller's now; a tombstone remembers it was taken
    ABSENT = "absent"  # never set, or expired, and not taken
    TAKEN_BEFORE = "taken_before"  # the same owner took it already
    NOT_OWNER = "not_owner"  # it (or its tombstone) belongs to another owner


class Subscription(ABC):
    """Messages published on one channel, from the moment of subscribing, in order.

    Iteration ends when the subscription or its store is closed, or when the subscriber fell
    so far behind that its bounded queue overflowed: it is dropped rather than slowing every
    other subscriber, and should subscribe again and resynchronise.
    """

    @abstractmethod
    def __aiter__(self) -> AsyncIterator[str]: ...

    @abstractmethod
    async def close(self) -> None:
        """Stop receiving; idempotent."""


class Store(ABC):
    """Shared short-lived state. Every method is atomic with respect to every worker."""

    backend: str

    @abstractmethod
    async def get(self, key: str) -> str | None:
        """The value, or ``None`` when absent or expired."""

    @abstractmethod
    async def get_many(self, keys: Sequence[str]) -> list[str | None]:
        """The values of ``keys``, in order, in one round trip (``None`` where absent)."""

    @abstractmethod
    async def set(self, key: str, value: str, ttl: float | None = None) -> None:
        """Set a value, expiring after ``ttl`` seconds (> 0) when given, else never."""

    @abstractmethod
    async def delete(self, key: str) -> bool:
        """Remove a key; ``True`` if it existed."""

    @abstractmethod
    async def take(self, key: str) -> str | None:
        """Get and delete in one step: of many concurrent callers, exactly one gets the value."""

    @abstractmethod
    async def set_owned(self, key: str, owner: str, value: str, ttl: float) -> None:
        """Store ``value`` as belonging to ``owner`` for ``ttl`` seconds, clearing any
        tombstone of ``key`` (so a value put back after a failed use can be taken again)."""

    @abstractmethod
    async def take_owned(self, key: str, owner: str, tombstone_ttl: float) -> tuple[TakeOutcome, str | None]:
        """Take a value stored by ``set_owned``, for ``owner`` only, in one atomic step.

        Of many concurrent callers exactly one gets ``TAKEN`` and the value; a tombstone then
        answers ``TAKEN_BEFORE`` to the same owner (``NOT_OWNER`` to anyone else) for
        ``tombstone_ttl`` seconds. A value of another owner is left untouched. This is what
        tells "already used" from "expired" without a race between taking and marking.
        """

    @abstractmethod
    async def take_owned_if_current(
        self, expected: Sequence[tuple[str, str | None]], key: str, owner: str, tombstone_ttl: float,
    ) -> tuple[list[str | None], tuple[TakeOutcome, str | None] | None]:
        """Read ``expected``'s keys and, when every one still holds the value ``expected``
        gives it (``None``: absent), ``take_owned(key, owner, tombstone_ttl)``, all in one
        atomic step and one round trip. The values read, and what the take answered (``None``
        when a value differed and nothing was taken)."""

    @abstractmethod
    async def set_if_absent(self, key: str, value: str, ttl: float | None = None) -> bool:
        """Set only when the key is absent (or expired); ``True`` if this call set it."""

    @abstractmethod
    async def replace(self, key: str, expected: str, value: str, ttl: float | None = None) -> bool:
        """Compare and set: put ``value`` (expiring after ``ttl`` when given, else never) only
        while ``key`` holds exactly ``expected``; ``True`` if this call replaced it. Of many
        callers replacing the same value, exactly one wins; the others read again and retry."""

    @abstractmethod
    async def ttl(self, key: str) -> float | None:
        """Seconds left before ``key`` expires; ``None`` when absent or without expiry."""

    @abstractmethod
    async def rate_limit(
        self, key: str, capacity: int, refill_per_second: float, cost: int = 1
    ) -> RateDecision:
        """Token bucket: ``capacity`` tokens, refilled continuously; take ``cost`` if there.

        ``StoreError`` unless ``capacity >= 1``, ``refill_per_second > 0`` and
        ``0 <= cost <= capacity`` (a larger cost could never be served).
        """

    @abstractmethod
    async def get_many_spending(self, keys: Sequence[str], bucket: Bucket) -> tuple[list[str | None], RateDecision]:
        """``get_many(keys)`` and ``rate_limit`` of ``bucket``, in one round trip: for a route
        that reads its caller's keys and spends its caller's bucket on every request."""

    @abstractmethod
    async def set_owned_if_current(
        self, expected: Sequence[tuple[str, str | None]], bucket: Bucket, key: str, owner: str, value: str, ttl: float,
    ) -> tuple[list[str | None], RateDecision, bool]:
        """``get_many_spending`` of ``expected``'s keys and ``bucket`` and, when the bucket
        allowed and every key still holds the value ``expected`` gives it (``None``: absent),
        ``set_owned(key, owner, value, ttl)``, all in one atomic step and one round trip. The
        values read, the decision, and whether ``key`` was set: a caller that priced ``value``
        from what it read before learns at once whether that is still what holds."""

    @abstractmethod
    async def publish(self, channel: str, message: str) -> None:
        """Send ``message`` to every current subscriber of ``channel``, in every worker."""

    @abstractmethod
    async def subscribe(self, channel: str) -> Subscription:
        """Receive what is published on ``channel`` from now on."""

    @abstractmethod
    async def acquire_lease(self, name: str, holder: str, ttl: float) -> bool:
        """Take or renew the lease ``name`` for ``holder``; ``True`` while ``holder`` has it.

        A lease not renewed within ``ttl`` passes to the next caller, so a loop that must run
        in one process at a time hands over when its process dies.
        """

    @abstractmethod
    async def release_lease(self, name: str, holder: str) -> None:
        """Give the lease up if ``holder`` has it; no effect otherwise."""

    @abstractmethod
    async def lease_holders(self, names: Sequence[str]) -> dict[str, str | None]:
        """Who holds each lease now (``None``: nobody), read in one step."""

    @abstractmethod
    async def ping(self) -> None:
        """Raise ``StoreError`` when the store cannot be reached."""

    @abstractmethod
    async def close(self) -> None:
        """Release connections."""
