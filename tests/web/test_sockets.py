"""A WebSocket route asked without the upgrade (a browser, curl, an API fuzzer) is checked like
any API request before it is told to upgrade: 401 without a good token, 403 for a client on the
admin stream, 503 with the API off, then 426 UPGRADE_REQUIRED with ``Upgrade: websocket``. The
sockets themselves still take the token as ``?token=``, as the first message, or now as the
bearer header the API document declares."""

from __future__ import annotations

import json
from typing import Any

from websockets.asyncio.client import connect

from tests.desk import Desk, bearer

PRICES, CLOSINGS = "/v1/ws/prices", "/v1/ws/closings"


def assert_problem(response: Any, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == code


def ws_url(desk: Desk, path: str) -> str:
    return str(desk.http.base_url).rstrip("/").replace("http", "ws", 1) + path


async def test_a_plain_request_is_authenticated_then_told_to_upgrade(desk: Desk) -> None:
    _, client = await desk.client()
    _, admin = await desk.admin()
    for path in (PRICES, CLOSINGS):
        assert_problem(await desk.http.get(path), 401, "UNAUTHORIZED")
        assert_problem(await desk.http.get(path, headers=bearer("not-a-jwt")), 401, "UNAUTHORIZED")
        assert_problem(await desk.http.get(path, params={"token": "not-a-jwt"}), 401, "UNAUTHORIZED")
    assert_problem(await desk.http.get(CLOSINGS, headers=bearer(client)), 403, "FORBIDDEN")
    for path, token in ((PRICES, client), (CLOSINGS, admin)):
        for sent in ({"headers": bearer(token)}, {"params": {"token": token}}):
            response = await desk.http.get(path, **sent)
            assert_problem(response, 426, "UPGRADE_REQUIRED")
            assert response.headers["upgrade"] == "websocket"


async def test_a_plain_request_hears_the_api_is_off(desk: Desk) -> None:
    _, client = await desk.client()
    await desk.set_control("api_enabled", False)
    assert_problem(await desk.http.get(PRICES, headers=bearer(client)), 503, "API_DISABLED")


async def test_a_broken_handshake_is_a_problem(desk: Desk) -> None:
    _, admin = await desk.admin()
    headers = {**bearer(admin), "Upgrade": "websocket", "Connection": "Upgrade"}  # no Sec-WebSocket-Key
    assert_problem(await desk.http.get(CLOSINGS, headers=headers), 400, "VALIDATION_ERROR")


async def test_the_socket_takes_the_bearer_header_too(desk: Desk) -> None:
    _, client = await desk.client()
    _, admin = await desk.admin()
    async with connect(ws_url(desk, PRICES), additional_headers=bearer(client), open_timeout=10) as ws:
        assert json.loads(await ws.recv())["type"] == "prices"
    async with connect(ws_url(desk, CLOSINGS), additional_headers=bearer(admin), open_timeout=10) as ws:
        assert json.loads(await ws.recv())["type"] == "subscribed"
    async with connect(ws_url(desk, CLOSINGS), additional_headers=bearer(client), open_timeout=10) as ws:
        assert json.loads(await ws.recv())["code"] == "FORBIDDEN"
