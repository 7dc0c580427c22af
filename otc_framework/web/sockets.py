"""What every authenticated WebSocket does the same way: take a token, refuse with a close
code that names the problem, and recheck the caller while the socket stays open.

A request to a WebSocket route without the upgrade (a browser, ``curl``, an API fuzzer) is
checked like any API request first, so it learns what a socket would: 401 without a valid
token, 403 for a client's token on an admin stream, 503 when the API or the store is off;
a caller that passes is answered 426 UPGRADE_REQUIRED with ``Upgrade: websocket``. Each
WebSocket blueprint installs ``plain_request_guard`` for that.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Awaitable, Callable

from sanic import Request, Websocket
from websockets.protocol import State

from otc_framework.auth.guard import Caller, authenticate_token, bearer_token
from otc_framework.errors import NotReady, ProblemError, StoreError, Unauthorized, UpgradeRequired
from otc_framework.pricing.stream import StreamError

TOKEN_WAIT_SECONDS = 5.0
# Below asyncio's default high-water mark: a socket holding more unsent bytes is not keeping up.
DIRECT_WRITE_LIMIT = 16 * 1024
RECHECK_SECONDS = 5.0
RECHECK_JITTER = 0.2  # each interval is RECHECK_SECONDS ± 20 %


def close_code(problem: ProblemError) -> int:
    return 4000 + problem.status


async def refuse(ws: Websocket, problem: ProblemError) -> None:
    """One error message, then the close code that names the refusal."""
    message = StreamError(code=problem.code, detail=problem.detail or problem.title)
    try:
        await asyncio.wait_for(ws.send(message.model_dump_json(by_alias=True)), TOKEN_WAIT_SECONDS)
        await asyncio.wait_for(ws.close(code=close_code(problem), reason=problem.code), TOKEN_WAIT_SECONDS)
    except Exception:  # the peer left or stalled; the close below still ends the connection
        ws.fail_connection(close_code(problem), problem.code)


async def first_message_token(ws: Websocket) -> str:
    raw = await ws.recv(timeout=TOKEN_WAIT_SECONDS)
    if raw is None:
        raise Unauthorized('no token: pass ?token= or send {"token": "..."} first, within 5 s')
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        body = None
    if not isinstance(body, dict) or set(body) != {"token"} or not isinstance(body["token"], str) or not body["token"]:
        raise Unauthorized('the first message must be {"token": "<JWT>"}')
    return body["token"]


def sent_token(request: Request) -> str | None:
    """The token of ``?token=``, else of an ``Authorization: Bearer`` header, if either was sent."""
    query = request.args.get("token")
    if query:
        return query
    return bearer_token(request) if "authorization" in request.headers else None


async def socket_token(request: Request, ws: Websocket) -> str:
    """The token the upgrade request carried, else the one of the first message."""
    return sent_token(request) or await first_message_token(ws)


async def check(request: Request, token: str, *, admin: bool = False) -> Caller:
    """The per-request check of every route; a store outage is NOT_READY, not a crash."""
    try:
        return await authenticate_token(request, token, admin=admin)
    except StoreError:
        raise NotReady("cannot check the token now; try again shortly") from None


def plain_request_guard(*, admin: bool = False) -> Callable[[Request], Awaitable[None]]:
    """The request middleware of a WebSocket blueprint (see the module docstring)."""

    async def guard(request: Request) -> None:
        if request.headers.get("upgrade", "").lower() == "websocket":
            return
        token = sent_token(request)
        if token is None:
            raise Unauthorized("missing token: send it as a bearer header or ?token=")
        await check(request, token, admin=admin)
        raise UpgradeRequired("this route speaks WebSocket only: connect with a WebSocket client")

    return guard


def first_recheck_delay() -> float:
    """A random phase, so sockets that connected together do not recheck together."""
    return random.uniform(0, RECHECK_SECONDS)


def next_interval() -> float:
    return RECHECK_SECONDS * random.uniform(1 - RECHECK_JITTER, 1 + RECHECK_JITTER)


class BroadcastSocket:
    """A Sanic websocket as a broadcast uses it (the price fan-out's ``Socket``): ``send`` and
    ``close`` as usual, and ``write_frame`` to hand it a frame made once for many sockets.

    The frame goes straight to the transport, as Sanic's own ``send`` would write it (a
    whole frame per write, so it never interleaves with a ping or a close), but without a
    task, a lock and a wait per socket: a tick to a thousand sockets is a thousand writes.
    """

    __slots__ = ("ws",)

    def __init__(self, ws: Websocket) -> None:
        self.ws = ws

    async def send(self, message: str) -> None:
        await self.ws.send(message)

    async def close(self, code: int = 1000, reason: str = "") -> None:
        await self.ws.close(code=code, reason=reason)

    def fail_connection(self, code: int, reason: str) -> None:
        self.ws.fail_connection(code, reason)

    def write_frame(self, frame: bytes) -> bool:
        io = self.ws.io_proto
        transport = io.transport if io is not None else None
        if self.ws.ws_proto.state is not State.OPEN or transport is None or transport.is_closing():
            return False
        if transport.get_write_buffer_size() > DIRECT_WRITE_LIMIT:
            return False
        transport.write(frame)
        return True

