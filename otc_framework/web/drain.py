"""SIGTERM drains a host (SPEC §18; issue 15): nothing it accepted is cut off, and what comes
after goes to another host.

1. The main process closes its copy of the listening socket before telling the workers to stop.
   The workers' copies keep it open while they drain; when the last one stops accepting, the
   port is closed, so a load balancer's next connection is refused at once and goes to
   another host instead of waiting in a backlog nobody reads.
2. Each worker, before it stops accepting, closes its WebSockets with 1001 (going away: the
   clients reconnect, through the load balancer, to another host; Sanic itself would cut them
   with 1000 right after), then hands its loops' leases over: a step under way finishes (up
   to ``HAND_OVER_GRACE_SECONDS``), the lease is released, and another host takes it at its
   next turn without waiting for the TTL.
3. Sanic then closes idle connections and gives in-flight requests up to ``[server]
   drain_seconds`` before it cuts them; the store and the database stay open until then.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import socket
import weakref
from typing import Any

from sanic import Request, Sanic
from sanic.server.websockets.impl import WebsocketImplProtocol

log = logging.getLogger(__name__)

HAND_OVER_GRACE_SECONDS = 5.0
GOING_AWAY = 1001
CLOSE_SECONDS = 2.0


def _close_listening(manager: Any) -> None:
    sock = manager._server_settings.get("sock")
    if isinstance(sock, socket.socket) and sock.fileno() != -1:
        sock.close()  # this process's descriptor only: the workers' copies stay open


def close_port_on_stop(app: Sanic) -> None:
    """In the main process: the port closes with the last worker's drain (step 1 above)."""

    def ready(app: Sanic) -> None:
        manager = app.manager
        sanic_handler = manager.shutdown_signal

        def on_signal(signum: int, frame: Any) -> None:
            if not manager._shutting_down:
                _close_listening(manager)
            sanic_handler(signum, frame)

        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, on_signal)

    app.main_process_ready(ready)


def drain_workers(app: Sanic) -> None:
    """In each worker: follow its WebSockets, and drain before it stops accepting (step 2 above)."""
    app.ctx.websockets = weakref.WeakSet()

    @app.signal("websocket.handler.before")
    async def opened(request: Request, websocket: WebsocketImplProtocol) -> None:
        app.ctx.websockets.add(websocket)

    @app.before_server_stop
    async def drain(app: Sanic) -> None:
        sockets = list(app.ctx.websockets)
        if sockets:
            await asyncio.wait([asyncio.ensure_future(ws.close(GOING_AWAY)) for ws in sockets], timeout=CLOSE_SECONDS)
        await app.ctx.runtime.hand_over(HAND_OVER_GRACE_SECONDS)
