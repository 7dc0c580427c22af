"""``WS /v1/ws/prices``: the caller's price grid, pushed every second (SPEC §6).

A socket is checked like any client request (token, then the cached client record, and the
``api_enabled`` control), and checked again every ``RECHECK_SECONDS`` while it stays open:
deactivation, key rotation or the API switched off close it, and a tier change moves it to
its new tier's grid. The rechecks of a worker's sockets are spread over time (each socket
starts at a random phase, and each interval is jittered), so a thousand sockets that
connected together do not hit the store together.
"""

from __future__ import annotations

import asyncio
import logging

from sanic import Blueprint, Request, Websocket
from sanic.exceptions import WebsocketClosed

from otc_framework.errors import ApiDisabled, NotReady, ProblemError
from otc_framework.pricing.stream import PriceFanout, PriceMessage, StreamError, Subscriber
from otc_framework.web.endpoint import endpoint
from otc_framework.web.sockets import (
    BroadcastSocket,
    check,
    first_recheck_delay,
    next_interval,
    plain_request_guard,
    refuse,
    socket_token,
)

log = logging.getLogger(__name__)

bp = Blueprint("price_stream")
bp.on_request(plain_request_guard())

DESCRIPTION = """\
Authenticate with `?token=<JWT>` or an `Authorization: Bearer <JWT>` header, or, without
either, send `{"token": "<JWT>"}` as the first message within 5 s. Then the server sends the
latest grid at once (when it has one) and a new one every second:

    {"type": "prices", "at": "2026-01-05T12:00:00.123456Z", "marketOpen": true, "nextOpen": null,
     "prices": [{"currency": "USDT", "settlement": "D0", "price": "5.0150"}, ...]}

When no fresh spot rate exists, `prices` is empty and `"unavailable": "SPOT_UNAVAILABLE"` is
added: the stream never repeats an old price. Messages sent by the client after the token are
ignored. The client record is checked again about every 5 s: a tier change switches the grid,
deactivation or key rotation closes the socket.

A refusal is one message `{"type": "error", "code": …, "detail": …}`, then a close with code
4000 + the HTTP status of the problem:

- 4401 `UNAUTHORIZED`: missing, invalid or expired token; client deactivated or key rotated;
- 4503 `API_DISABLED`: the client API is switched off (`NOT_READY` when the desk cannot check).

Other close codes: 1013 when the client reads too slowly to keep up (sends stalled past 1 s;
reconnect), 1001 when the server shuts down.

A request without the WebSocket upgrade is checked like an API request (401, 503) and, when
the token is good, answered 426 `UPGRADE_REQUIRED`.
"""


async def watch(request: Request, ws: Websocket, token: str, fanout: PriceFanout, subscriber: Subscriber) -> None:
    """Keep the socket open, ignoring what the client sends, and recheck its client record."""
    loop = asyncio.get_running_loop()
    due = loop.time() + first_recheck_delay()
    while not subscriber.closed:
        try:
            await ws.recv(timeout=max(0.0, due - loop.time()))
        except WebsocketClosed:
            return
        if subscriber.closed or loop.time() < due:
            continue
        due = loop.time() + next_interval()
        try:
            caller = await check(request, token)
        except NotReady:
            log.warning("price stream could not recheck a client; keeping the socket")
            continue
        except ProblemError as problem:
            fanout.leave(subscriber)
            await refuse(ws, problem)
            return
        fanout.move(subscriber, caller.client.tier)


@bp.websocket("/v1/ws/prices")
@endpoint(
    "Live price grid",
    auth="client",
    websocket=True,
    responses={200: PriceMessage, 401: StreamError},
    errors=(ApiDisabled, NotReady),
    description=DESCRIPTION,
    tags=("trading",),
)
async def price_stream(request: Request, ws: Websocket) -> None:
    fanout: PriceFanout = request.app.ctx.runtime.price_fanout
    try:
        token = await socket_token(request, ws)
        caller = await check(request, token)
    except ProblemError as problem:
        await refuse(ws, problem)
        return
    subscriber = fanout.join(BroadcastSocket(ws), caller.client.tier)
    try:
        await watch(request, ws, token, fanout, subscriber)
    finally:
        fanout.leave(subscriber)
