"""Waking the engine as soon as there is work: every worker follows the admin feed's work
channel (``admin.feed.WORK_CHANNEL``: a closing committed, a hedge sent back to pending) and
wakes its execution loop (only the lease holder's turn does anything). Missing a message costs
one poll interval, nothing more."""

from __future__ import annotations

from collections.abc import Callable

from otc_framework.admin.feed import WORK_CHANNEL
from otc_framework.storage.store import Store
from otc_framework.storage.store.follow import ChannelFollower


class Wakeup(ChannelFollower):
    def __init__(self, store: Store, wake: Callable[[], None]) -> None:
        super().__init__(store, WORK_CHANNEL, [])
        self.wake = wake

    def apply(self, message: str) -> None:
        self.wake()
