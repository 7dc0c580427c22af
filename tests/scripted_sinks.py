"""A test plugin whose alert sinks answer from a script: deliveries, 429s, refusals, hangs.

They stand in for outside venues (never for core code), so the core's alert queue and
delivery loop are tested without a network; the real sinks have their own suites."""

from __future__ import annotations

import asyncio
import sys
from collections import deque

from pydantic import BaseModel, ConfigDict

from otc_framework.errors import VenueError
from otc_framework.hookspecs import hookimpl
from otc_framework.ports import Alert, AlertSink


class ScriptedSinksConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    names: list[str] = ["alpha", "beta"]


class ScriptedSink(AlertSink):
    per_minute = 600
    retry_backoff_seconds = 0.05

    def __init__(self, name: str) -> None:
        self.name = name
        # Each step: an exception to raise, a number of seconds to hang first, or None to deliver.
        self.script: deque[Exception | float | None] = deque()
        self.sent: list[Alert] = []
        self.calls = 0

    async def send(self, alert: Alert) -> None:
        self.calls += 1
        step = self.script.popleft() if self.script else None
        if isinstance(step, Exception):
            raise step
        if isinstance(step, float):
            await asyncio.sleep(step)
        self.sent.append(alert)


SINKS: dict[str, ScriptedSink] = {}


@hookimpl
def otc_config_model() -> type[BaseModel]:
    return ScriptedSinksConfig


@hookimpl
def otc_alert_sinks(config: ScriptedSinksConfig, http: object) -> list[AlertSink]:
    made = [ScriptedSink(name) for name in config.names]
    SINKS.update({sink.name: sink for sink in made})
    return list(made)


def down(message: str = "venue down") -> VenueError:
    return VenueError("scripted", message)


plugin = sys.modules[__name__]
