"""What the admin API tests share: refusals, feed events, audit rows, closings made the real way."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from otc_framework.storage.models import AuditLog
from tests.desk import Desk, bearer

CLOSINGS = "/v1/admin/closings"


async def refused(desk: Desk, method: str, path: str, token: str | None, status: int, code: str,
                  field: str | None = None, **kwargs: Any) -> dict[str, Any]:
    """Send a request that must be refused; the problem it answered."""
    response = await desk.http.request(method, path, headers=bearer(token) if token else {}, **kwargs)
    problem: dict[str, Any] = response.json()
    assert (response.status_code, problem["status"], problem["code"]) == (status, status, code), (
        method, path, kwargs, response.text)
    assert response.headers["content-type"].startswith("application/problem+json")
    if field is not None:
        assert problem["field"] == field, response.text
    return problem


async def next_event(sub: Any, kind: str | None = None) -> dict[str, Any]:
    """The next admin feed event (of type ``kind`` when given): the whole event without a kind,
    its data with one."""
    async def read() -> dict[str, Any]:
        async for text in sub:
            message: dict[str, Any] = json.loads(text)
            if kind is None:
                return message
            if message["type"] == kind:
                data: dict[str, Any] = message["data"]
                return data
        raise AssertionError("feed closed")
    return await asyncio.wait_for(read(), 10)


def assert_by_operator(row: AuditLog, actor: str = "operator") -> None:
    assert (row.actor, row.source) == (actor, "Admin") and row.ip_address is not None


async def make_closing(desk: Desk, token: str, **quote: Any) -> str:
    """A closing made the way clients make them; its id."""
    sid = (await desk.quote(token, **quote)).json()["sessionId"]
    closed = await desk.close(token, sid)
    assert closed.status_code == 201, closed.text
    return str(closed.json()["closingId"])


async def act(desk: Desk, admin: str, closing_id: str, action: str, seen: str) -> Any:
    return await desk.http.post(f"{CLOSINGS}/{closing_id}/{action}", json={"from": seen}, headers=bearer(admin))
