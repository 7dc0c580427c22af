"""How fast one Sanic process can answer the quote request at all (not a test).

    .venv/bin/python bench/floor.py [--seconds 8]

Serves ``POST /v1/sessions`` as ../shared/bench/side_by_side.py's ``quote.lua`` sends it, in
one process on uvloop, four ways, and drives each with wrk at 16 connections:

- ``protocol``: no framework: an asyncio protocol parses the request with httptools (the C
  parser Sanic depends on), reads the JSON body and answers a fixed 201 from a task, as a
  handler would. What an HTTP/1.1 request costs Python on this machine at all.
- ``framing``: Sanic's app, router, request, ``handle_request`` and response objects, as in
  ``bare``, under a minimal HTTP/1.1 framing in place of Sanic's own ``Http``: httptools
  parses, each request is handled in a task of its own, the answer's head is written in one
  piece. It keeps none of what Sanic's framing does besides (timeouts, pipelining order,
  size limits, streamed bodies, upgrades): by difference with ``bare``, an upper bound of
  what any leaner framing could save.
- ``bare``: Sanic reads the JSON body and answers a fixed 201. No desk, no I/O.
- ``io``: the same, after the quote's input and output only: one Lua script round trip on the
  desk's pipelined Redis connection (an 800-byte session set with a TTL) and one
  audit-sized row through the desk's group writer (asyncpg, committed before the answer).

It prints the rate, the process's share of a core and its CPU per request. What the desk's
own work may cost is what lies between these floors and the peer's rate (docs/decisions.md,
"Performance"). Needs PostgreSQL and Redis on 127.0.0.1 and wrk.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import subprocess
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import asyncpg
import httptools
import orjson
import uvloop
from sanic import Request, Sanic
from sanic.compat import Header
from sanic.helpers import STATUS_CODES
from sanic.http.constants import Stage
from sanic.models.server_types import ConnInfo
from sanic.response import BaseHTTPResponse, HTTPResponse
from sanic.server.protocols.http_protocol import HttpProtocol

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT.parent / "shared" / "bench"))
import side_by_side as sbs  # noqa: E402

from bench.cpu_per_request import cpu_seconds  # noqa: E402
from otc_framework.storage.group_commit import GroupWriter  # noqa: E402
from otc_framework.storage.store.resp import PipelinedConnection, Script  # noqa: E402

ANSWER = ('{"sessionId":"0123456789abcdef0123456789abcdef","side":"BUY","currency":"USDT","settlement":"D0",'
          '"amount":"1000","price":"5.0150","totalBrl":"5015.00","expiresAt":"2026-01-01T00:00:00Z"}')
LOCK = Script("redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return {1, 0, 5}")
DETAIL = orjson.dumps({"tier": "T1", "currency": "USDT", "settlement": "D0", "amount": "1000", "price": "5.0150",
                       "totalBrl": "5015.00", "referenceMode": "spot", "referencePrice": "5.0000"}).decode()
INSERT = ("INSERT INTO floor_audit (action, actor, source, session_id, ip_address, detail, created_at) "
          "VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7)")


def serve(mode: str, port: int, database_url: str) -> None:
    app = Sanic(f"floor_{mode}", configure_logging=False)
    app.config.ACCESS_LOG = False

    @app.before_server_start
    async def start(app: Sanic) -> None:
        if mode != "io":
            return
        app.ctx.redis = PipelinedConnection("redis://127.0.0.1:6379/15", timeout=5, connect_timeout=5)
        app.ctx.pool = await asyncpg.create_pool(database_url, min_size=2, max_size=4)
        await app.ctx.pool.execute(
            "CREATE TABLE IF NOT EXISTS floor_audit (id bigserial PRIMARY KEY, action text, actor text, source text, "
            "session_id text, ip_address text, detail jsonb, created_at timestamptz)")

        async def write(rows: Sequence[tuple[object, ...]], connection: asyncpg.Connection) -> None:
            await connection.executemany(INSERT, rows)

        app.ctx.writer = GroupWriter(write, lambda exc: False, hold=app.ctx.pool.acquire)

    @app.get("/ready")
    async def ready(request: Request) -> HTTPResponse:
        return HTTPResponse("ok")

    @app.post("/v1/sessions")
    async def quote(request: Request) -> HTTPResponse:
        request.json  # noqa: B018 (read, as the desk reads it)
        if mode == "io":
            session_id = secrets.token_hex(16)
            await app.ctx.redis.script(LOCK, [f"floor:{session_id}"], ["x" * 800, 7000])
            await app.ctx.writer.add(("SESSION_CREATED", "floor", "API", session_id, "127.0.0.1", DETAIL,
                                      datetime.now(UTC)))
        return HTTPResponse(ANSWER, status=201, content_type="application/json")

    app.run(host="127.0.0.1", port=port, single_process=True, access_log=False,
            protocol=MinimalFraming if mode == "framing" else HttpProtocol)


class MinimalStream:
    """``framing`` mode: what Sanic's request and response objects need of a stream, for one
    complete answer."""

    __slots__ = ("protocol", "response", "stage", "request_body")

    def __init__(self, protocol: MinimalFraming) -> None:
        self.protocol = protocol
        self.response: BaseHTTPResponse | None = None
        self.stage = Stage.HANDLER
        self.request_body = False  # the body is read already

    def respond(self, response: BaseHTTPResponse) -> BaseHTTPResponse:
        self.response, response.stream = response, self  # type: ignore[assignment]
        return response

    @property
    def send(self) -> object:
        return self._send if self.stage is Stage.HANDLER else None

    async def _send(self, data: bytes, end_stream: bool) -> None:
        response = cast(HTTPResponse, self.response)
        data = data or response.body or b""
        head = [b"HTTP/1.1 %d %b\r\n" % (response.status, STATUS_CODES.get(response.status, b"UNKNOWN"))]
        head += [name + b": " + value + b"\r\n" for name, value in response.processed_headers]
        head.append(b"content-length: %d\r\n\r\n" % len(data))
        cast(asyncio.Transport, self.protocol.transport).write(b"".join(head) + data)
        self.stage = Stage.IDLE


class MinimalFraming(HttpProtocol):
    """``framing`` mode: httptools in place of Sanic's ``Http``, Sanic's ``handle_request`` in a
    task per request."""

    __slots__ = ("_parser", "_headers", "_body", "_url")

    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        self.connections.add(self)
        self.conn_info = ConnInfo(transport)
        self._parser = httptools.HttpRequestParser(self)
        self._headers: list[tuple[str, str]] = []
        self._body: list[bytes] = []
        self._url = b""

    def data_received(self, data: bytes) -> None:
        self._parser.feed_data(data)

    def on_url(self, url: bytes) -> None:
        self._url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers.append((name.decode("latin-1").lower(), value.decode("latin-1")))

    def on_body(self, body: bytes) -> None:
        self._body.append(body)

    def on_message_complete(self) -> None:
        request = self.request_class(self._url, Header(self._headers), "1.1", self._parser.get_method().decode(),
                                     cast(Any, self.transport), self.app, head=b"")
        request.conn_info = self.conn_info
        request.body = b"".join(self._body)
        request.stream = MinimalStream(self)
        self._headers, self._body, self._url = [], [], b""
        self.loop.create_task(self.app.handle_request(request))

    def connection_lost(self, exc: Exception | None) -> None:
        self.connections.discard(self)


class Bare(asyncio.Protocol):
    """``protocol`` mode: keep-alive HTTP/1.1 with no framework, a task per request."""

    HEAD = b"HTTP/1.1 %d %s\r\ncontent-type: application/json\r\nconnection: keep-alive\r\ncontent-length: %d\r\n\r\n"

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        self.parser = httptools.HttpRequestParser(self)
        self.body: list[bytes] = []

    def data_received(self, data: bytes) -> None:
        self.parser.feed_data(data)

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        body, self.body = b"".join(self.body), []
        asyncio.get_running_loop().create_task(self.answer(self.parser.get_method(), body))

    async def answer(self, method: bytes, body: bytes) -> None:
        if method == b"POST":
            json.loads(body)
            self.transport.write(self.HEAD % (201, b"Created", len(ANSWER)) + ANSWER.encode())
        else:
            self.transport.write(self.HEAD % (200, b"OK", 2) + b"ok")


def serve_protocol(port: int) -> None:
    async def run() -> None:
        server = await asyncio.get_running_loop().create_server(Bare, "127.0.0.1", port)
        await server.serve_forever()

    uvloop.run(run())


def measure(mode: str, seconds: int, database_url: str) -> None:
    port = sbs.free_port()
    server = subprocess.Popen([sys.executable, __file__, "--serve", mode, "--port", str(port), "--database", database_url],
                              stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        sbs.wait_ready(f"http://127.0.0.1:{port}/ready", server, Path(os.devnull))
        before = cpu_seconds(server.pid)
        answered = sbs.wrk("quote.lua", port, "floor", 16, seconds)
        used = cpu_seconds(server.pid) - before
        rate = answered.get("quotes/s", 0)
        print(f"{mode:8s} {answered['line']}\n{mode:8s} {100 * used / seconds:.0f} % of a core, "
              f"{1e6 * used / max(rate * seconds, 1):.0f} µs a request", flush=True)
    finally:
        sbs.stop(server)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--serve", choices=("protocol", "framing", "bare", "io"), help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--database", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        if args.serve == "protocol":
            serve_protocol(args.port)
        else:
            serve(args.serve, args.port, args.database)
        return
    database = f"floor_{secrets.token_hex(3)}"
    sbs.psql(f"CREATE DATABASE {database}")
    try:
        for mode in ("protocol", "framing", "bare", "io"):
            measure(mode, args.seconds, f"{sbs.PG}/{database}")
    finally:
        subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-c", f"DROP DATABASE IF EXISTS {database} WITH (FORCE)"],
                       capture_output=True)
        subprocess.run(["redis-cli", "-n", "15", "EVAL",
                        "for _, k in ipairs(redis.call('KEYS', 'floor:*')) do redis.call('DEL', k) end", "0"],
                       capture_output=True)


if __name__ == "__main__":
    main()
