"""Per-worker copies of the reference data, kept exact by version tokens in the store.

Each area (controls, spreads, holidays) has a version key in the store holding a random
token. A writer commits to the database, then sets a new token (``changed``). Every request
reads the tokens, in the same round trip as its own keys (``current(extra_keys)``), and a
worker whose copy carries an older token reloads that area from the database before
answering. So a change is visible to every worker on its next request, and the hot path pays
no extra round trip for it.

Tokens are random rather than counters: if the store loses its keys (a Redis restart), a
token never comes back to a value a stale copy was loaded under. Reading the token before
loading means a copy is at worst tagged older than its content, which only costs a reload.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from otc_framework.calendar import MarketCalendar, load_holidays
from otc_framework.config import MarketHoursConfig
from otc_framework.controls.definition import ControlDefinition
from otc_framework.controls.repository import load_stored
from otc_framework.controls.values import Controls
from otc_framework.pricing.spreads import SpreadGrid, load_spreads
from otc_framework.storage.store import Bucket, RateDecision, Store

AREAS = ("controls", "spreads", "holidays")


def version_key(area: str) -> str:
    return f"ver:{area}"


VERSION_KEYS = tuple(version_key(area) for area in AREAS)


@dataclass(frozen=True, slots=True)
class Reference:
    controls: Controls
    spreads: SpreadGrid
    calendar: MarketCalendar


class ReferenceCache:
    def __init__(self, store: Store, definitions: Sequence[ControlDefinition], hours: MarketHoursConfig) -> None:
        self.store = store
        self.definitions = list(definitions)
        self._loaders: dict[str, Callable[[], Awaitable[Any]]] = {
            "controls": self._load_controls,
            "spreads": load_spreads,
            "holidays": self._load_calendar,
        }
        self._hours = hours
        self._tokens: dict[str, str | None] = {}
        self._values: dict[str, Any] = {}
        self._reference: Reference | None = None
        self._lock = asyncio.Lock()

    async def current(self, extra_keys: Sequence[str] = ()) -> tuple[Reference, list[str | None]]:
        """The reference data in force, and the values of ``extra_keys``, in one round trip."""
        values = await self.store.get_many([*VERSION_KEYS, *extra_keys])
        return await self._in_force(values), values[len(AREAS):]

    async def current_spending(
        self, extra_keys: Sequence[str], bucket: Bucket
    ) -> tuple[Reference, list[str | None], RateDecision]:
        """``current``, with ``bucket`` spent in the same round trip."""
        values, decision = await self.store.get_many_spending([*VERSION_KEYS, *extra_keys], bucket)
        return await self._in_force(values), values[len(AREAS):], decision

    async def of_values(self, values: list[str | None]) -> tuple[Reference, list[str | None]]:
        """What ``current`` answers, for values already read (``VERSION_KEYS``, then the extra
        keys) by another store operation."""
        return await self._in_force(values), values[len(AREAS):]

    def known(self) -> tuple[Reference, list[tuple[str, str | None]]] | None:
        """The reference data this worker holds, with each version key and the token it was
        loaded under; ``None`` before the first load."""
        if self._reference is None:
            return None
        return self._reference, [(key, self._tokens.get(area)) for key, area in zip(VERSION_KEYS, AREAS, strict=True)]

    async def changed(self, area: str) -> None:
        """Call after committing a change to ``area``: every worker reloads it."""
        if area not in self._loaders:
            raise ValueError(f"unknown reference area {area!r}")
        await self.store.set(version_key(area), uuid.uuid4().hex)

    async def _in_force(self, values: list[str | None]) -> Reference:
        """The reference data under the version tokens that lead ``values``."""
        tokens = dict(zip(AREAS, values[: len(AREAS)], strict=True))
        if self._reference is None or tokens != self._tokens:
            await self._refresh(tokens)
        assert self._reference is not None
        return self._reference

    async def _refresh(self, tokens: dict[str, str | None]) -> None:
        async with self._lock:
            stale = [a for a in AREAS if a not in self._values or self._tokens.get(a) != tokens[a]]
            for area in stale:
                self._values[area] = await self._loaders[area]()
                self._tokens[area] = tokens[area]
            if stale or self._reference is None:
                self._reference = Reference(self._values["controls"], self._values["spreads"], self._values["holidays"])

    async def _load_controls(self) -> Controls:
        return Controls(self.definitions, await load_stored())

    async def _load_calendar(self) -> MarketCalendar:
        return MarketCalendar(self._hours, await load_holidays())
