"""Running a plugin's fake venue on loopback, for its tests and for ``otc demo``.

A fake is an ordinary Sanic app speaking the venue's protocol. ``LoopbackServer`` serves any
Sanic app (a fake, or the desk's own app under test) on an ephemeral loopback port inside the
running event loop, so several can run side by side without threads or subprocesses.

Every fake also answers three test routes (``install_test_routes``), so tests and a curious
operator can see what it received and make it misbehave (DESIGN.md, Talking to venues):

- ``GET /_inbox``: ``{"items": [...]}``, what it received, newest last (fakes that receive
  messages record them with ``Inbox.add``; the last ``Inbox.LIMIT`` are kept).
- ``POST /_fault`` ``{"status"?, "retryAfter"?, "delay"?, "drop"?, "count"?, "match"?,
  "after"?}``: the next ``count`` (default 1) requests to the venue's own routes wait
  ``delay`` seconds, then are answered with ``status`` (the fake's own error body for it,
  ``retryAfter`` where the venue sends one) or dropped (the connection closed with no
  answer) when ``drop`` is true, the venue never acting on them; or, when neither is given,
  are answered normally.

  ``match`` narrows a fault to the requests it matches: a path starting with it (a socket
  fake: a received frame whose ``type`` is it). Others pass untouched and leave it pending;
  each request takes the first pending fault that matches it, in the order they were added.

  ``"after": true`` lets the venue act on the request first (a confirm or an order executes)
  and then applies the fault to the answer: ``delay`` holds it back; ``drop`` closes the
  connection instead (with ``delay``: a hang, the connection closed when it ends; a socket
  fake leaves the frame unanswered); ``status`` answers that error instead (a venue that
  lies). Without any of them it changes nothing.

  ``DELETE /_fault`` clears what is pending; ``GET /_fault`` shows it. With ``"stream":
  true`` a fault is kept apart for what a streaming venue pushes on its own (market data
  over a socket): a fake that streams takes one at each push (``drop`` closes the socket),
  and requests never see it (nor can it have ``match`` or ``after``).
- ``GET /_orders``: ``{"received", "distinct", "repeated", "executed"}``, the orders the
  fake received by the desk's order id (``Orders``): how many order requests arrived
  (faulted ones included), how many distinct ids, the ids seen more than once with their
  count, and how many orders the venue executed.
"""

from __future__ import annotations

import asyncio
import json as json_text
import random
import socket
import sys
from abc import ABC, abstractmethod
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from sanic import Request, Sanic
from sanic.response import HTTPResponse, json


def plugin_toml(sections: dict[str, dict[str, Any]]) -> str:
    """The ``[plugins.<name>]`` tables of a deployment file for these sections (what ``start`` returns)."""
    return "".join(f"[plugins.{name}]\n" + "".join(f"{key} = {json_text.dumps(value)}\n" for key, value in section.items())
                   for name, section in sections.items())


@dataclass(frozen=True, slots=True)
class DemoSettings:
    """What the demo tells every fake venue. ``sandbox_spot`` pins the USD/BRL rate
    (``OTC_SANDBOX_SPOT``); ``None`` lets a fake drift like a market. ``desk_url`` is where the
    desk itself listens (``http://host:port``), for fakes that call the desk (webhooks)."""

    sandbox_spot: Decimal | None = None
    desk_url: str | None = None


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
    """What ``POST /_fault`` asks of the next ``count`` requests it matches (module docstring)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    status: int | None = Field(default=None, ge=400, le=599)
    retry_after: float = Field(default=1, ge=0, le=3600, alias="retryAfter")
    delay: float = Field(default=0, ge=0, le=3600)
    drop: bool = False
    stream: bool = False
    count: int = Field(default=1, ge=1, le=100_000)
    match: str | None = Field(default=None, min_length=1, max_length=200)
    after: bool = False

    @model_validator(mode="after")
    def _requests_only(self) -> Fault:
        # A push answers no request: there is nothing to match and nothing to act on first.
        if self.stream and (self.match is not None or self.after):
            raise ValueError("match and after apply to requests, not to stream pushes")
        return self

    def matches_path(self, path: str) -> bool:
        return self.match is None or path.startswith(self.match)

    def matches_frame(self, frame_type: str) -> bool:
        return self.match is None or frame_type == self.match


# Compared by identity: the one taken is the one removed, whatever equal ones are queued.
@dataclass(slots=True, eq=False)
class _Pending:
    fault: Fault
    left: int


class Faults:
    """Faults pending for a fake's next requests (and, apart, its next pushes), in order.

    A request takes the first pending fault that matches it; one added with ``count`` n is
    kept once with n uses left, so ``{"count": 100000}`` stays cheap to hold and to scan.
    """

    def __init__(self) -> None:
        self._pending: deque[_Pending] = deque()
        self._stream: deque[_Pending] = deque()

    def add(self, fault: Fault) -> None:
        queue = self._stream if fault.stream else self._pending
        queue.append(_Pending(fault, fault.count))

    def clear(self) -> None:
        self._pending.clear()
        self._stream.clear()

    def next(self, path: str = "") -> Fault | None:
        """The fault for the next request to ``path``, taken; a caller that knows no path
        (a mock) sees only the faults without ``match``."""
        return _take(self._pending, lambda fault: fault.matches_path(path))

    def next_frame(self, frame_type: str) -> Fault | None:
        """The fault for the next frame of ``frame_type`` a socket fake received, taken."""
        return _take(self._pending, lambda fault: fault.matches_frame(frame_type))

    def next_push(self) -> Fault | None:
        """The fault for a streaming fake's next push, if any."""
        return _take(self._stream, lambda fault: True)

    def peek(self, limit: int) -> list[dict[str, Any]]:
        pending = [*self._pending, *self._stream][:limit]
        return [{**p.fault.model_dump(by_alias=True), "count": p.left} for p in pending]

    def __len__(self) -> int:
        return sum(p.left for p in self._pending) + sum(p.left for p in self._stream)


def _take(queue: deque[_Pending], matches: Callable[[Fault], bool]) -> Fault | None:
    for pending in queue:
        if matches(pending.fault):
            pending.left -= 1
            if not pending.left:
                queue.remove(pending)
            return pending.fault
    return None


class Inbox:
    """What a fake received, newest last, for ``GET /_inbox``."""

    LIMIT = 1000

    def __init__(self) -> None:
        self.items: deque[dict[str, Any]] = deque(maxlen=self.LIMIT)

    def add(self, item: dict[str, Any]) -> None:
        self.items.append({**item, "receivedAt": datetime.now(UTC).isoformat()})

    def __len__(self) -> int:
        return len(self.items)


class Orders:
    """The orders a fake received, by the desk's order id, for ``GET /_orders``.

    Unlike the inbox it forgets none (a benchmark sends thousands and asks whether any was
    sent twice), so it keeps counts only. ``executed`` tells how many orders the venue's book
    executed; the book knows that better than a second tally would.
    """

    def __init__(self, executed: Callable[[], int] = lambda: 0) -> None:
        self._ids: Counter[str] = Counter()
        self._received = 0
        self._executed = executed

    def add(self, order_id: str) -> None:
        self._ids[order_id] += 1
        self._received += 1

    def summary(self) -> dict[str, Any]:
        return {
            "received": self._received,
            "distinct": len(self._ids),
            "repeated": {order_id: n for order_id, n in self._ids.items() if n > 1},
            "executed": self._executed(),
        }


# A fake's error answer for a forced status: ``(status, retry_after) -> response``.
FaultAnswer = Callable[[int, float], HTTPResponse]
# The desk's order id of a request that places an order, ``None`` for any other request.
OrderIdOf = Callable[[Request], str | None]


def _plain_fault_answer(status: int, retry_after: float) -> HTTPResponse:
    headers = {"Retry-After": f"{retry_after:g}"} if status == 429 else None
    return json({"error": "forced failure"}, status=status, headers=headers)


def install_test_routes(
    app: Sanic,
    answer: FaultAnswer = _plain_fault_answer,
    *,
    order_id: OrderIdOf | None = None,
    executed: Callable[[], int] = lambda: 0,
) -> tuple[Inbox, Faults]:
    """Add ``/_inbox``, ``/_fault`` and ``/_orders`` (module docstring) to a fake.

    ``answer`` renders a forced status the way the venue would. ``order_id`` picks the orders
    out of the requests: each is counted as it arrives, before any fault, so an order sent
    twice shows even when the first was dropped (a socket fake counts its frames itself with
    ``app.ctx.orders.add``). ``executed`` says how many orders the venue executed. Returns
    the fake's inbox and fault queue (also on ``app.ctx.inbox`` and ``app.ctx.faults``; the
    counter is ``app.ctx.orders``).
    """
    inbox, faults, orders = Inbox(), Faults(), Orders(executed)
    app.ctx.inbox, app.ctx.faults, app.ctx.orders = inbox, faults, orders

    @app.get("/_inbox")
    async def _inbox(request: Request) -> HTTPResponse:
        return json({"items": list(inbox.items)})

    @app.get("/_orders")
    async def _orders(request: Request) -> HTTPResponse:
        return json(orders.summary())

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

    if order_id is not None:
        # Registered first, so it counts what the fault middleware then drops.
        @app.on_request
        async def _count_order(request: Request) -> None:
            placed = order_id(request)
            if placed is not None:
                orders.add(placed)

    @app.on_request
    async def _apply_fault(request: Request) -> HTTPResponse | None:
        if request.path.startswith("/_"):
            return None
        fault = faults.next(request.path)
        if fault is None:
            return None
        if fault.after:
            request.ctx.fault_after = fault
            return None
        return await _faulted_answer(request, fault, answer)

    @app.on_response
    async def _apply_fault_after(request: Request, response: HTTPResponse) -> HTTPResponse | None:
        fault: Fault | None = getattr(request.ctx, "fault_after", None)
        if fault is None:
            return None
        return await _faulted_answer(request, fault, answer)

    return inbox, faults


async def _faulted_answer(request: Request, fault: Fault, answer: FaultAnswer) -> HTTPResponse | None:
    """What ``fault`` makes of the answer to ``request``: held back ``delay`` seconds, then
    dropped or replaced by a forced status; ``None`` lets the venue answer."""
    if fault.delay:
        await asyncio.sleep(fault.delay)
    if fault.drop:
        if request.transport is not None:
            request.transport.close()
        # Nothing reaches the caller; before the handler, it never runs.
        return HTTPResponse(status=204)
    if fault.status is not None:
        return answer(fault.status, fault.retry_after)
    return None


class DemoVenue(ABC):
    """A plugin's fake venue as the demo drives it. ``start`` sets ``server``; ``url`` is
    then where the fake listens (listed in the demo's ``credentials.json``)."""

    server: LoopbackServer | None = None

    @property
    def url(self) -> str | None:
        return self.server.base_url if self.server is not None else None

    def listing(self) -> Any:
        """What ``credentials.json`` lists under ``venues`` for this fake: its URL, or a JSON
        object when a newcomer needs more to talk to it by hand."""
        return self.url

    @abstractmethod
    async def start(self, host: str, settings: DemoSettings) -> dict[str, Any]:
        """Start serving on ``host`` (setting ``server``) and return the plugin config
        section pointing at it."""

    async def stop(self) -> None:
        """Stop serving."""
        if self.server is not None:
            await self.server.stop()
            self.server = None


STOP_SECONDS = 60.0


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
        """Stop serving, in a bounded time: a shutdown that hangs fails its test, naming the
        app and printing every task still running, rather than holding up a whole run."""
        if self._server is None:
            return
        server, self._server = self._server, None
        try:
            async with asyncio.timeout(STOP_SECONDS):
                await server.before_stop()
                await server.close()
                await server.after_stop()
        except TimeoutError:
            for task in asyncio.all_tasks():
                task.print_stack(file=sys.stderr)
            raise AssertionError(f"{self.app.name} did not stop within {STOP_SECONDS:g} s; "
                                 "its tasks are printed on stderr") from None
