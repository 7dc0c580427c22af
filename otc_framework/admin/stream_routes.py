"""``WS /v1/ws/closings``: what happens on the desk, live, for operators (SPEC §9).

Every socket holds its own subscription to the store's admin channel (``admin.feed``), so
it sees events from every worker. The store bounds each subscription's queue: an operator
whose socket cannot keep up falls behind, is dropped by the store, and this socket is closed
with 1013 (reconnect and re-read the lists); a send that stalls past ``SEND_TIMEOUT_SECONDS``
is dropped the same way. No socket ever slows a trade or another socket, because writers
only queue events (``AdminFeed.emit``) and each socket drains its own subscription.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import Field
from sanic import Blueprint, Request, Websocket
from sanic.exceptions import WebsocketClosed

from otc_framework.admin.feed import CHANNEL, EventType
from otc_framework.errors import Forbidden, NotReady, ProblemError, StoreError
from otc_framework.pricing.stream import SLOW_CLOSE_CODE, StreamError
from otc_framework.storage.store import Subscription
from otc_framework.tasks import cancel_and_wait
from otc_framework.web.bodies import AnswerModel
from otc_framework.web.endpoint import endpoint
from otc_framework.web.sockets import (
    check,
    first_recheck_delay,
    next_interval,
    plain_request_guard,
    refuse,
    socket_token,
)

log = logging.getLogger(__name__)

bp = Blueprint("admin_stream")
bp.on_request(plain_request_guard(admin=True))

SEND_TIMEOUT_SECONDS = 5.0

_EVENTS = "\n".join(f"- `{value}`" for name, value in vars(EventType).items() if name.isupper())

DESCRIPTION = f"""\
Authenticate with an admin token: `?token=<JWT>` or an `Authorization: Bearer <JWT>` header,
or send `{{"token": "<JWT>"}}` as the first message within 5 s. The server answers `{{"type": "subscribed", "at": …}}` once it is listening,
then one message per event, from every worker, in the order each worker produced them:

    {{"type": "closing.status_changed", "at": "2026-11-21T12:00:00.123456+00:00",
     "data": {{"closing": {{…every column…}}, "previousStatus": "pending", "action": "advance",
              "actor": "ops"}}}}

Event types:

{_EVENTS}

Events are live notifications, not a log: a socket that was not connected misses them, and
the lists (`/v1/admin/closings`, `/v1/admin/audit-logs`) are the record to re-read after a
reconnect. The admin's record is checked again about every 5 s.

Close codes: 4401 `UNAUTHORIZED` (bad or expired token, admin deactivated or key rotated),
4403 `FORBIDDEN` (not an admin), 4503 `NOT_READY` (the store cannot be reached), 1013 when
the socket cannot keep up (reconnect), 1001 when the server shuts down.

A request without the WebSocket upgrade is checked like an API request (401, 403, 503) and,
when the token is an admin's, answered 426 `UPGRADE_REQUIRED`.
"""


class AdminEvent(AnswerModel):
    type: str = Field(description="What happened (see the list above)")
    at: datetime
    data: dict[str, Any]


class Subscribed(AnswerModel):
    type: Literal["subscribed"] = "subscribed"
    at: datetime


async def pump(ws: Websocket, subscription: Subscription) -> None:
    """Forward events until the store drops the subscription (it fell behind) or a send stalls."""
    async for message in subscription:
        await asyncio.wait_for(ws.send(message), SEND_TIMEOUT_SECONDS)


async def watch(request: Request, ws: Websocket, token: str) -> ProblemError | None:
    """Wait for the peer to leave (``None``), rechecking the admin's record; the problem that
    must close the socket when the record no longer allows it."""
    loop = asyncio.get_running_loop()
    due = loop.time() + first_recheck_delay()
    while True:
        try:
            await ws.recv(timeout=max(0.0, due - loop.time()))
        except WebsocketClosed:
            return None
        if loop.time() < due:
            continue
        due = loop.time() + next_interval()
        try:
            await check(request, token, admin=True)
        except NotReady:
            log.warning("admin stream could not recheck an admin; keeping the socket")
        except ProblemError as problem:
            return problem


async def close_slow(ws: Websocket) -> None:
    try:
        await asyncio.wait_for(ws.close(code=SLOW_CLOSE_CODE, reason="too slow"), SEND_TIMEOUT_SECONDS)
    except Exception:  # a peer that does not read will not read the close frame either
        ws.fail_connection(SLOW_CLOSE_CODE, "too slow")


@bp.websocket("/v1/ws/closings")
@endpoint(
    "Live desk events",
    auth="admin",
    websocket=True,
    responses={200: AdminEvent, 401: StreamError},
    errors=(Forbidden, NotReady),
    description=DESCRIPTION,
    tags=("admin",),
)
async def admin_stream(request: Request, ws: Websocket) -> None:
    try:
        token = await socket_token(request, ws)
        await check(request, token, admin=True)
        subscription = await request.app.ctx.runtime.store.subscribe(CHANNEL)
    except StoreError:
        await refuse(ws, NotReady("cannot subscribe now; try again shortly"))
        return
    except ProblemError as problem:
        await refuse(ws, problem)
        return
    pumping = asyncio.create_task(pump(ws, subscription))
    watching = asyncio.create_task(watch(request, ws, token))
    done: set[asyncio.Task[Any]] = set()
    try:
        await ws.send(Subscribed(at=datetime.now(UTC)).model_dump_json(by_alias=True))
        done, _ = await asyncio.wait({pumping, watching}, return_when=asyncio.FIRST_COMPLETED)
    except WebsocketClosed:
        return
    finally:
        for task in (pumping, watching):
            await cancel_and_wait(task)
        await subscription.close()
    if watching in done:
        refusal = watching.result()
        if refusal is not None:
            await refuse(ws, refusal)
        return
    failure = pumping.exception()
    if failure is None or isinstance(failure, TimeoutError):
        log.info("admin stream dropped a socket that fell behind")
        await close_slow(ws)
