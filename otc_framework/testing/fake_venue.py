"""Running a plugin's fake venue on loopback, for its tests and for ``otc demo``.

A fake is an ordinary Sanic app speaking the venue's protocol. ``LoopbackServer`` serves any
Sanic app (a fake, or the desk's own app under test) on an ephemeral loopback port inside the
running event loop, so several can run side by side without threads or subprocesses.

Every fake also answers two test routes (``install_test_routes``), so tests and a curious
operator can see what it received and make it misbehave (DESIGN.md, Talking to venues):

- ``GET /_inbox``: ``{"items": [...]}``, what it received, newest last (fakes that receive
  messages record them with ``Inbox.add``).
- ``POST /_fault`` ``{"status"?, "retryAfter"?, "delay"?, "drop"?, "count"?}``: the next
  ``count`` (default 1) requests to the venue's own routes wait ``delay`` seconds, then are
  answered with ``status`` (the fake's own error body for it, ``retryAfter`` where the venue
  sends one), or dropped (the connection closed with no answer) when ``drop`` is true, or
  answered normally when neither is given. ``DELETE /_fault`` clears what is pending;
  ``GET /_fault`` shows it. With ``"stream": true`` a fault is kept apart for what a
  streaming venue pushes on its own (market data over a socket): a fake that streams takes
  one at each push (``drop`` closes the socket), and requests never see it.
"""

from __future__ import annotations

import asyncio
import random
import socket
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sanic import Request, Sanic
from sanic.response import HTTPResponse, json


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


class Fault(BaseModel):
    """What ``POST /_fault`` asks of the next ``count`` requests."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    status: int | None = Field(default=None, ge=400, le=599)
    retry_after: float = Field(default=1, ge=0, le=3600, alias="retryAfter")
    delay: float = Field(default=0, ge=0, le=3600)
    drop: bool = False
    stream: bool = False
    count: int = Field(default=1, ge=1, le=100_000)


class Faults:
    """Faults queued for a fake's next requests (and, apart, its next pushes), in order."""

    def __init__(self) -> None:
        self._pending: deque[Fault] = deque()
        self._stream: deque[Fault] = deque()

    def add(self, fault: Fault) -> None:
        queue = self._stream if fault.stream else self._pending
        queue.extend([fault.model_copy(update={"count": 1})] * fault.count)

    def clear(self) -> None:
        self._pending.clear()
        self._stream.clear()

    def next(self) -> Fault | None:
        return self._pending.popleft() if self._pending else None

    def next_push(self) -> Fault | None:
        """The fault for a streaming fake's next push, if any."""
        return self._stream.popleft() if self._stream else None

    def peek(self, limit: int) -> list[dict[str, Any]]:
        return [fault.model_dump(by_alias=True) for fault in [*self._pending, *self._stream][:limit]]

    def __len__(self) -> int:
        return len(self._pending) + len(self._stream)


class Inbox:
    """What a fake received, newest last, for ``GET /_inbox``."""

    LIMIT = 1000

    def __init__(self) -> None:
        self.items: deque[dict[str, Any]] = deque(maxlen=self.LIMIT)

    def add(self, item: dict[str, Any]) -> None:
        self.items.append({**item, "receivedAt": datetime.now(UTC).isoformat()})

    def __len__(self) -> int:
        return len(self.items)


# A fake's error answer for a forced status: ``(status, retry_after) -> response``.
FaultAnswer = Callable[[int, float], HTTPResponse]


def _plain_fault_answer(status: int, retry_after: float) -> HTTPResponse:
    headers = {"Retry-After": f"{retry_after:g}"} if status == 429 else None
    return json({"error": "forced failure"}, status=status, headers=headers)


def install_test_routes(app: Sanic, answer: FaultAnswer = _plain_fault_answer) -> tuple[Inbox, Faults]:
    """Add ``/_inbox`` and ``/_fault`` (module docstring) to a fake; ``answer`` renders a
    forced status the way the venue would. Returns the fake's inbox and fault queue (also on
    ``app.ctx.inbox`` and ``app.ctx.faults``)."""
    inbox, faults = Inbox(), Faults()
    app.ctx.inbox, app.ctx.faults = inbox, faults

    @app.get("/_inbox")
    async def _inbox(request: Request) -> HTTPResponse:
        return json({"items": list(inbox.items)})

    @app.post("/_fault")
    async def _add_fault(request: Request) -> HTTPResponse:
        try:
            fault = Fault.model_validate(request.json or {})
        except (ValidationError, ValueError) as exc:
            return json({"error": str(exc)}, status=400)
        faults.add(fault)
        return json({"pending": len(faults)})

    @app.delete("/_fault")
    async def _clear_faults(request: Request) -> HTTPResponse:
        faults.clear()
        return json({"pending": 0})

    @app.get("/_fault")
    async def _show_faults(request: Request) -> HTTPResponse:
        return json({"pending": len(faults), "next": faults.peek(10)})

    @app.on_request
    async def _apply_fault(request: Request) -> HTTPResponse | None:
        if request.path.startswith("/_"):
            return None
        fault = faults.next()
        if fault is None:
            return None
        if fault.delay:
            await asyncio.sleep(fault.delay)
        if fault.drop:
            if request.transport is not None:
                request.transport.close()
            # Nothing reaches the caller; the handler never runs.
            return HTTPResponse(status=204)
        if fault.status is not None:
            return answer(fault.status, fault.retry_after)
        return None

    return inbox, faults


class DemoVenue(ABC):
    """A plugin's fake venue as the demo drives it. ``start`` sets ``server``; ``url`` is
    then where the fake listens (listed in the demo's ``credentials.json``)."""

    server: LoopbackServer | None = None

    @property
    def url(self) -> str | None:
        return self.server.base_url if self.server is not None else None

    @abstractmethod
    async def start(self, host: str, settings: DemoSettings) -> dict[str, Any]:
        """Start serving on ``host`` (setting ``server``) and return the plugin config
        section pointing at it."""

    async def stop(self) -> None:
        """Stop serving."""
        if self.server is not None:
            await self.server.stop()
            self.server = None


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
