"""``WS /v1/ws/closings``: desk events, live, for admins only, from every worker; a socket
that cannot keep up is dropped without holding up the others."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from otc_framework.admin import stream_routes
from otc_framework.storage.models import Tier
from tests.desk import Desk, two_workers

WAIT = 10.0


def stream_url(desk: Desk, token: str | None = None) -> str:
    base = str(desk.http.base_url).rstrip("/").replace("http", "ws", 1)
    return f"{base}/v1/ws/closings" + (f"?token={token}" if token else "")


@asynccontextmanager
async def admin_stream(desk: Desk, token: str | None, **options: Any) -> AsyncIterator[ClientConnection]:
    async with connect(stream_url(desk, token), open_timeout=WAIT, close_timeout=2, max_size=None, **options) as ws:
        if token is not None:
            assert (await next_message(ws))["type"] == "subscribed"
        yield ws


async def stalled_peer(desk: Desk, token: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A WebSocket peer that upgrades, then stops reading: its receive buffer is fixed small
    (Linux would otherwise grow it to tens of megabytes on loopback) and its stream reader
    stops taking bytes once its own 128 kB buffer is full."""
    url = httpx.URL(str(desk.http.base_url))
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect((url.host, url.port))
    sock.setblocking(False)
    reader, writer = await asyncio.open_connection(sock=sock)
    key = base64.b64encode(os.urandom(16)).decode()
    writer.write(
        f"GET /v1/ws/closings?token={token} HTTP/1.1\r\nHost: {url.host}:{url.port}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), WAIT)
    assert head.startswith(b"HTTP/1.1 101"), head
    return reader, writer


async def read_to_end(reader: asyncio.StreamReader) -> bytes:
    """Everything the server sent until it ended the connection."""
    received = b""
    try:
        while chunk := await reader.read(1 << 20):
            received += chunk
    except ConnectionResetError:
        pass
    return received


async def next_message(ws: ClientConnection) -> dict[str, Any]:
    text = await asyncio.wait_for(ws.recv(), WAIT)
    assert isinstance(text, str)
    message: dict[str, Any] = json.loads(text)
    return message


async def until_closed(ws: ClientConnection) -> tuple[int | None, list[dict[str, Any]]]:
    """Read until the server closes; the close code and what came before it."""
    seen = []
    try:
        while True:
            seen.append(await next_message(ws))
    except ConnectionClosed:
        return ws.close_code, seen


async def trade(desk: Desk, token: str) -> str:
    session = (await desk.quote(token)).json()
    closed = await desk.close(token, session["sessionId"])
    assert closed.status_code == 201, closed.text
    return str(closed.json()["closingId"])


async def test_a_closing_reaches_the_admin_stream_with_every_column(desk: Desk) -> None:
    _, admin = await desk.admin()
    _, client = await desk.client("acme", Tier.T1)
    async with admin_stream(desk, admin) as ws:
        closing_id = await trade(desk, client)
        event = await next_message(ws)
    assert event["type"] == "closing.created"
    data = event["data"]
    assert data["id"] == closing_id
    assert (data["clientName"], data["tier"], data["side"], data["price"]) == ("acme", "T1", "SELL", "5.0150")
    assert data["tierSpreadPctUsed"] == "0.3000" and data["referencePrice"].startswith("5.0")


async def test_the_token_may_come_in_the_first_message(desk: Desk) -> None:
    _, admin = await desk.admin()
    _, client = await desk.client()
    async with admin_stream(desk, None) as ws:
        await ws.send(json.dumps({"token": admin}))
        assert (await next_message(ws))["type"] == "subscribed"
        await trade(desk, client)
        assert (await next_message(ws))["type"] == "closing.created"


async def test_only_admins_may_listen(desk: Desk) -> None:
    _, client = await desk.client()
    for token, code, problem in ((client, 4403, "FORBIDDEN"), ("not-a-jwt", 4401, "UNAUTHORIZED")):
        async with connect(stream_url(desk, token), open_timeout=WAIT) as ws:
            closed, seen = await until_closed(ws)
        assert closed == code
        assert seen == [{"type": "error", "code": problem, "detail": seen[0]["detail"]}]


@pytest.mark.parametrize("store_url", ["redis"], indirect=True)
async def test_events_from_another_worker_arrive(
    migrated_database_url: str, store_url: str, store_namespace: str, loopback: Any
) -> None:
    async with two_workers(migrated_database_url, store_url, store_namespace, loopback) as (first, second):
        _, admin = await first.admin()
        _, client = await second.client()
        async with admin_stream(first, admin) as ws:
            closing_id = await trade(second, client)
            assert (await next_message(ws))["data"]["id"] == closing_id


async def test_a_socket_that_does_not_read_is_dropped_and_others_keep_up(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(stream_routes, "SEND_TIMEOUT_SECONDS", 0.5)
    _, admin = await desk.admin()
    blob = "x" * 100_000
    count = 300  # 30 MB: far more than the server's send buffer and the stalled peer's buffers hold
    stalled, stalled_writer = await stalled_peer(desk, admin)
    try:
        async with admin_stream(desk, admin) as reader:
            received: list[int] = []

            async def read_all() -> None:
                while len(received) < count:
                    received.append((await next_message(reader))["data"]["n"])

            reading = asyncio.create_task(read_all())
            for n in range(count):
                desk.runtime.feed.emit("test.blob", {"n": n, "blob": blob})
            await asyncio.wait_for(reading, 60)
        assert received == list(range(count))  # every event, in order, for the reader
        # The stalled peer got what the buffers held, then the server ended its connection (with
        # a 1013 close frame when the frame still fits, else by cutting it).
        got = await asyncio.wait_for(read_to_end(stalled), 60)
        assert 0 < len(got) < count * len(blob)
    finally:
        stalled_writer.close()
