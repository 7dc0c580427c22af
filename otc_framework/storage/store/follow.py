"""A per-worker copy of what one process publishes (the spot poller, the LP feed poller).

The publisher sends each outcome on a channel and also keeps it under a last-state key per
name; a ``ChannelFollower`` subscribes first, then reads every last state (so nothing
published in between is lost), applies every message in order, and after the store drops
it (overflow, reconnect) backs off, catches up from the last states and follows again.
Readers then read memory: the hot path never pays a store round trip for these values.
"""

from __future__ import annotations

import asyncio
import logging
from abc import ABC, abstractmethod
from collections.abc import Iterable

from otc_framework.errors import StoreError
from otc_framework.storage.store.base import Store, Subscription
from otc_framework.tasks import cancel_and_wait

log = logging.getLogger(__name__)

RESUBSCRIBE_SECONDS = 1.0


class ChannelFollower(ABC):
    def __init__(self, store: Store, channel: str, last_keys: Iterable[str]) -> None:
        self.store = store
        self.channel = channel
        self.last_keys = list(last_keys)
        self._task: asyncio.Task[None] | None = None

    @abstractmethod
    def apply(self, message: str) -> None:
        """Take one published message (or a last state) into memory."""

    async def start(self) -> None:
        subscription = await self._subscribe()
        self._task = asyncio.create_task(self._follow(subscription), name=f"follow:{self.channel}")

    async def stop(self) -> None:
        if self._task is not None:
            await cancel_and_wait(self._task)
            self._task = None

    async def _subscribe(self) -> Subscription:
        subscription = await self.store.subscribe(self.channel)
        for key in self.last_keys:
            message = await self.store.get(key)
            if message is not None:
                self.apply(message)
        return subscription

    async def _follow(self, subscription: Subscription) -> None:
        while True:
            try:
                async for message in subscription:
                    self.apply(message)
            except StoreError as exc:
                log.warning("lost a subscription", extra={"channel": self.channel, "error": str(exc)})
            finally:
                await subscription.close()
            subscription = await self._resubscribe()

    async def _resubscribe(self) -> Subscription:
        while True:
            await asyncio.sleep(RESUBSCRIBE_SECONDS)
            try:
                return await self._subscribe()
            except StoreError as exc:
                log.warning("cannot resubscribe", extra={"channel": self.channel, "error": str(exc)})
