"""Waking the engine as soon as there is work: every worker follows the admin stream and
wakes its execution loop on a committed closing or a hedge sent back to pending (only the
lease holder's turn does anything). Missing a message costs one poll interval, nothing more."""

from __future__ import annotations

from collections.abc import Callable

from otc_framework.admin.feed import CHANNEL
from otc_framework.storage.store import Store
from otc_framework.storage.store.follow import ChannelFollower


class Wakeup(ChannelFollower):
    def __init__(self, store: Store, wanted: Callable[[str], bool], wake: Callable[[], None]) -> None:
        super().__init__(store, CHANNEL, [])
        self.wanted = wanted
        self.wake = wake

    def apply(self, message: str) -> None:
        if self.wanted(message):
            self.wake()
