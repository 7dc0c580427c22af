"""Running a plugin's fake venue on loopback, for its tests and for ``otc demo``.

A fake is an ordinary Sanic app speaking the venue's protocol. ``LoopbackServer`` serves any
Sanic app (a fake, or the desk's own app under test) on an ephemeral loopback port inside the
running event loop, so several can run side by side without threads or subprocesses.
"""

from __future__ import annotations

import random
import socket
from abc import ABC, abstractmethod
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sanic import Sanic


@dataclass(frozen=True, slots=True)
class DemoSettings:
    """What the demo tells every fake venue. ``sandbox_spot`` pins the USD/BRL rate
    (``OTC_SANDBOX_SPOT``); ``None`` lets a fake drift like a market."""

    sandbox_spot: Decimal | None = None


class MarketRate:
    """A USD/BRL-like rate for fake venues: ``pinned`` when set (``OTC_SANDBOX_SPOT``, tests),
    else a bounded random walk in 0.0001 steps. The bounds keep a long demo from wandering to
    rates that make every screen look broken."""

    STEP = Decimal("0.0001")
    START = Decimal("5.0000")
    FLOOR = Decimal("4.5000")
    CEILING = Decimal("5.5000")
    MAX_STEPS = 10

    def __init__(self, pinned: Decimal | None = None, seed: int | None = None) -> None:
        self.pinned = pinned
        self.rate = self.START
        self._random = random.Random(seed)

    def next(self) -> Decimal:
        if self.pinned is not None:
            return Decimal(self.pinned).quantize(self.STEP)
        steps = self._random.randint(-self.MAX_STEPS, self.MAX_STEPS)
        self.rate = min(self.CEILING, max(self.FLOOR, self.rate + steps * self.STEP))
        return self.rate


class DemoVenue(ABC):
    """A plugin's fake venue as the demo drives it."""

    @abstractmethod
    async def start(self, host: str, settings: DemoSettings) -> dict[str, Any]:
        """Start serving on ``host`` and return the plugin config section pointing at it."""

    @abstractmethod
    async def stop(self) -> None:
        """Stop serving."""


class LoopbackServer:
    """Serve a Sanic app on ``host`` at a free port in the current event loop."""

    def __init__(self, app: Sanic) -> None:
        # Sanic's TouchUp rewrites its HTTP class once per process; a second app doing it
        # again fails, and a fake has no use for the speed-up.
        app.config.TOUCHUP = False
        app.config.MOTD = False
        self.app = app
        self._server: Any = None
        self.port: int | None = None
        self.host: str | None = None

    @property
    def base_url(self) -> str:
        if self.port is None:
            raise RuntimeError("fake server not started")
        return f"http://{self.host}:{self.port}"

    async def start(self, host: str = "127.0.0.1") -> str:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, 0))
        self.host, self.port = host, sock.getsockname()[1]
        self._server = await self.app.create_server(
            sock=sock, return_asyncio_server=True, access_log=False
        )
        await self._server.startup()
        await self._server.before_start()
        await self._server.after_start()
        return self.base_url

    async def stop(self) -> None:
        if self._server is None:
            return
        await self._server.before_stop()
        await self._server.close()
        await self._server.after_stop()
        self._server = None
