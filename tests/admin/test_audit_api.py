"""The audit log API (SPEC §14): filtered, paged newest first, and read-only over HTTP."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from otc_framework.storage.models import AuditLog
from tests.admin.support import act, make_closing, refused
from tests.desk import Desk, bearer

AUDIT = "/v1/admin/audit-logs"


async def listed(desk: Desk, admin: str, **params: Any) -> list[dict[str, Any]]:
    response = await desk.http.get(AUDIT, params=params, headers=bearer(admin))
    assert response.status_code == 200, (params, response.text)
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def test_filters_and_pages(desk: Desk) -> None:
    _, admin = await desk.admin("operator")
    client_id, token = await desk.client("acme")
    closing_id = await make_closing(desk, token)
    assert (await act(desk, admin, closing_id, "advance", "pending")).status_code == 200
    other_id = await make_closing(desk, token)
    every = await AuditLog.all().order_by("-created_at", "-id")

    items = await listed(desk, admin)
    assert [i["id"] for i in items] == [r.id for r in every]
    assert set(items[0]) == {"id", "action", "actor", "source", "sessionId", "oid", "closingId", "clientId",
                             "ipAddress", "detail", "createdAt"}

    advance = await listed(desk, admin, action="closing.advance")
    assert len(advance) == 1
    row = advance[0]
    assert (row["closingId"], row["clientId"], row["actor"], row["source"]) == (closing_id, client_id, "operator",
                                                                               "Admin")
    assert row["detail"] == {"before": {"status": "pending"}, "after": {"status": "funded"}}
    assert row["ipAddress"] is not None

    assert [i["action"] for i in await listed(desk, admin, closingId=closing_id)] == ["closing.advance",
                                                                                    "CLOSE_SUCCESS"]
    closed = (await listed(desk, admin, closingId=other_id))[0]
    assert [i["action"] for i in await listed(desk, admin, oid=closed["oid"])] == ["CLOSE_SUCCESS"]
    assert [i["action"] for i in await listed(desk, admin, sessionId=closed["sessionId"])] == ["CLOSE_SUCCESS",
                                                                                              "SESSION_CREATED"]
    assert {i["source"] for i in await listed(desk, admin, source="API")} == {"API"}
    assert len(await listed(desk, admin, source="API")) == 4
    assert {i["action"] for i in await listed(desk, admin, source="Admin")} == {"client.create", "closing.advance"}
    assert {i["clientId"] for i in await listed(desk, admin, clientId=client_id)} == {client_id}
    assert [i["action"] for i in await listed(desk, admin, actor="operator")] == ["closing.advance"]

    pivot = next(r for r in every if r.action == "closing.advance").created_at
    assert [i["id"] for i in await listed(desk, admin, since=pivot.isoformat())] == [
        r.id for r in every if r.created_at >= pivot]
    assert [i["id"] for i in await listed(desk, admin, until=pivot.isoformat())] == [
        r.id for r in every if r.created_at < pivot]
    today = datetime.now(ZoneInfo("America/Sao_Paulo")).date()
    assert len(await listed(desk, admin, since=(today - timedelta(days=1)).isoformat())) == len(every)
    assert await listed(desk, admin, since=(today + timedelta(days=1)).isoformat()) == []

    seen, cursor = [], None
    while True:
        page = (await desk.http.get(AUDIT, params={"limit": 2, **({"cursor": cursor} if cursor else {})},
                                    headers=bearer(admin))).json()
        seen += [i["id"] for i in page["items"]]
        cursor = page["nextCursor"]
        if cursor is None:
            break
    assert seen == [r.id for r in every]

    for params, field in (({"source": "Robot"}, "source"), ({"clientId": "x"}, "clientId"),
                          ({"closingId": "42"}, "closingId"), ({"since": "soon"}, "since"),
                          ({"until": "2026-11-21T10:00"}, "until"), ({"limit": 201}, "limit"),
                          ({"cursor": "%%%"}, "cursor"), ({"level": "high"}, "level")):
        await refused(desk, "GET", AUDIT, admin, 400, "VALIDATION_ERROR", field, params=params)
    await refused(desk, "GET", AUDIT, token, 403, "FORBIDDEN")
    await refused(desk, "GET", AUDIT, None, 401, "UNAUTHORIZED")


async def test_rows_cannot_be_changed_over_http(desk: Desk) -> None:
    _, admin = await desk.admin()
    _, token = await desk.client("acme")
    await make_closing(desk, token)
    before = [(r.id, r.action, r.detail) for r in await AuditLog.all().order_by("id")]
    first = before[0][0]
    for path in (AUDIT, f"{AUDIT}/{first}"):
        for method in ("PUT", "PATCH", "DELETE"):
            response = await desk.http.request(method, path, headers=bearer(admin), json={"action": "forged"})
            assert response.status_code in (404, 405), (method, path, response.status_code)
            assert response.headers["content-type"].startswith("application/problem+json")
            assert response.json()["code"] in ("NOT_FOUND", "METHOD_NOT_ALLOWED")
    assert [(r.id, r.action, r.detail) for r in await AuditLog.all().order_by("id")] == before
