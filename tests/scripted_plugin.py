"""A test plugin whose spot source answers from a script: rates, failures, back-off.

It stands in for an outside venue (never for core code), so core tests can drive the spot
path without a network."""

from __future__ import annotations

import sys
from collections import deque
from datetime import UTC, datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict

from otc_framework.controls import ControlDefinition, ControlKind
from otc_framework.errors import VenueError
from otc_framework.hookspecs import hookimpl
from otc_framework.ports import USD_BRL, SpotQuote, SpotSource


class ScriptedConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = "scripted"
    rate: Decimal = Decimal("5.0000")


class ScriptedSource(SpotSource):
    instruments = (USD_BRL,)

    def __init__(self, name: str, rate: Decimal) -> None:
        self.name = name
        self.rate = rate
        self.script: deque[Exception | Decimal] = deque()
        self.calls = 0

    async def fetch(self) -> list[SpotQuote]:
        self.calls += 1
        step = self.script.popleft() if self.script else self.rate
        if isinstance(step, Exception):
            raise step
        return [SpotQuote(self.name, USD_BRL, step, step + Decimal("0.0010"), step, None, datetime.now(UTC))]


SOURCES: list[ScriptedSource] = []


@hookimpl
def otc_config_model() -> type[BaseModel]:
    return ScriptedConfig


@hookimpl
def otc_spot_sources(config: ScriptedConfig, http: object) -> list[SpotSource]:
    source = ScriptedSource(config.name, config.rate)
    SOURCES.append(source)
    return [source]


@hookimpl
def otc_controls() -> list[ControlDefinition]:
    return [ControlDefinition("scripted_validity_sec", ControlKind.INT, 17, "Scripted venue quote validity, in seconds",
                              minimum=Decimal(1), maximum=Decimal(60))]


CLOSINGS: list[dict] = []


@hookimpl
def otc_closing_created(closing: dict) -> None:
    CLOSINGS.append(closing)


def failing(message: str = "venue down") -> VenueError:
    return VenueError("scripted", message)


plugin = sys.modules[__name__]
