"""The admin closings API (SPEC §9): filtered pages, the detail with its trail and hedge, and the
lifecycle as a compare-and-set on the status the operator saw, audited and announced."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import uuid4
from zoneinfo import ZoneInfo

from otc_framework.storage.models import AuditLog, Closing, Hedge, HedgeStatus
from tests.admin.support import CLOSINGS, act, make_closing, refused
from tests.desk import Desk, bearer

SNAPSHOT = ("referenceMode", "referencePrice", "spotAtQuote", "binanceAtQuote", "lpSpreadPctUsed",
            "tierSpreadPctUsed", "spreadAdjustmentUsed", "validityAdderUsed", "usdtUsdcRatioUsed")


async def page_ids(desk: Desk, admin: str, **params: Any) -> list[str]:
    response = await desk.http.get(CLOSINGS, params=params, headers=bearer(admin))
    assert response.status_code == 200, (params, response.text)
    return [item["id"] for item in response.json()["items"]]


async def test_list_filters_and_pages(desk: Desk) -> None:
    _, admin = await desk.admin()
    alice_id, alice = await desk.client("alice")
    _, bob = await desk.client("bob")
    a0 = await make_closing(desk, alice)
    a1 = await make_closing(desk, alice, currency="USDC", settlement="D1")
    b0 = await make_closing(desk, bob, settlement="D2")
    b1 = await make_closing(desk, bob)
    assert (await act(desk, admin, a1, "advance", "pending")).status_code == 200
    newest_first = [b1, b0, a1, a0]

    assert await page_ids(desk, admin) == newest_first
    assert await page_ids(desk, admin, status="funded") == [a1]
    assert await page_ids(desk, admin, status="pending") == [b1, b0, a0]
    assert await page_ids(desk, admin, clientId=alice_id) == [a1, a0]
    assert await page_ids(desk, admin, currency="USDC") == [a1]
    assert await page_ids(desk, admin, settlement="D2") == [b0]
    assert await page_ids(desk, admin, clientId=alice_id, currency="USDT", settlement="D0") == [a0]

    # since inclusive, until exclusive; plain dates are desk days in São Paulo.
    b0_at = (await Closing.get(id=b0)).created_at
    assert await page_ids(desk, admin, since=b0_at.isoformat()) == [b1, b0]
    assert await page_ids(desk, admin, until=b0_at.isoformat()) == [a1, a0]
    assert await page_ids(desk, admin, since=b0_at.astimezone(ZoneInfo("America/Sao_Paulo")).isoformat()) == [b1, b0]
    today = datetime.now(ZoneInfo("America/Sao_Paulo")).date()
    yesterday, tomorrow = (today - timedelta(days=1)).isoformat(), (today + timedelta(days=1)).isoformat()
    assert await page_ids(desk, admin, since=yesterday, until=tomorrow) == newest_first
    assert await page_ids(desk, admin, since=tomorrow) == []
    assert await page_ids(desk, admin, until=yesterday) == []
    assert await page_ids(desk, admin, since=tomorrow, until=yesterday) == []  # a window holding no instant

    first = (await desk.http.get(CLOSINGS, params={"limit": 3}, headers=bearer(admin))).json()
    assert [i["id"] for i in first["items"]] == newest_first[:3] and first["nextCursor"]
    assert set(first["items"][0]) >= {"tier", "clientName", "side", *SNAPSHOT}
    second = (await desk.http.get(CLOSINGS, params={"limit": 3, "cursor": first["nextCursor"]},
                                  headers=bearer(admin))).json()
    assert [i["id"] for i in second["items"]] == [a0] and second["nextCursor"] is None

    for params, field in (({"status": "nope"}, "status"), ({"clientId": "x"}, "clientId"),
                          ({"currency": "BTC"}, "currency"), ({"settlement": "D5"}, "settlement"),
                          ({"since": "yesterday"}, "since"), ({"since": "2026-11-21T12:00:00"}, "since"),
                          ({"until": "2026-02-30"}, "until"),
                          ({"limit": 0}, "limit"), ({"cursor": "garbage"}, "cursor"), ({"page": 2}, "page")):
        await refused(desk, "GET", CLOSINGS, admin, 400, "VALIDATION_ERROR", field, params=params)
    await refused(desk, "GET", CLOSINGS, alice, 403, "FORBIDDEN")
    await refused(desk, "GET", CLOSINGS, None, 401, "UNAUTHORIZED")


async def test_detail_has_the_snapshot_the_trail_and_the_hedge(desk: Desk) -> None:
    _, admin = await desk.admin()
    client_id, token = await desk.client("acme")
    closing_id = await make_closing(desk, token, amount="100000")
    closing = await Closing.get(id=closing_id)

    detail = (await desk.http.get(f"{CLOSINGS}/{closing_id}", headers=bearer(admin))).json()
    hedge_id = str((await Hedge.get(closing_id=closing_id)).id)
    assert (detail["hedge"]["id"], detail["hedge"]["status"]) == (hedge_id, "skipped")  # exec_mode off
    shown = detail["closing"]
    assert (shown["id"], shown["clientId"], shown["clientName"], shown["tier"]) == (closing_id, client_id, "acme", "T1")
    assert (shown["side"], shown["status"], shown["amount"], shown["price"], shown["totalBrl"]) == (
        "SELL", "pending", "100000", "5.0150", "501500.00")
    assert shown["referenceMode"] == "spot" and Decimal(shown["spotAtQuote"]) == Decimal("5.0000")
    assert Decimal(shown["tierSpreadPctUsed"]) == Decimal("0.30") and shown["lpSpreadPctUsed"] is None
    assert all(name in shown for name in SNAPSHOT)
    assert [row["action"] for row in detail["audit"]] == ["SESSION_CREATED", "CLOSE_SUCCESS"]
    close_row = detail["audit"][1]
    assert (close_row["closingId"], close_row["clientId"], close_row["oid"], close_row["source"]) == (
        closing_id, client_id, closing.oid, "API")
    assert close_row["detail"] == {"price": "5.0150", "totalBrl": "501500.00"}

    assert (await act(desk, admin, closing_id, "advance", "pending")).status_code == 200
    await Hedge.filter(id=hedge_id).update(
        provider="nonco", status=HedgeStatus.FILLED, attempt=1, client_order_id="ord-1", chunks=1,
        filled_amount=Decimal("100000"), fill_price=Decimal("5.01300000"), spread_capture_bps=Decimal("4.0"))
    detail = (await desk.http.get(f"{CLOSINGS}/{closing_id}", headers=bearer(admin))).json()
    assert [row["action"] for row in detail["audit"]] == ["SESSION_CREATED", "CLOSE_SUCCESS", "closing.advance"]
    hedge = detail["hedge"]
    assert (hedge["id"], hedge["closingId"], hedge["provider"], hedge["status"], hedge["amount"]) == (
        hedge_id, closing_id, "nonco", "filled", "100000")
    assert (hedge["side"], hedge["attempt"], hedge["clientOrderId"], hedge["chunks"], hedge["filledAmount"]) == (
        "BUY", 1, "ord-1", 1, "100000")
    assert (hedge["clientPrice"], hedge["fillPrice"], hedge["spreadCaptureBps"], hedge["venueReference"]) == (
        "5.0150", "5.01300000", "4.0", None)

    for path in (f"{CLOSINGS}/{uuid4()}", f"{CLOSINGS}/not-a-uuid"):
        await refused(desk, "GET", path, admin, 404, "NOT_FOUND")
    await refused(desk, "GET", f"{CLOSINGS}/{closing_id}", token, 403, "FORBIDDEN")
    await refused(desk, "GET", f"{CLOSINGS}/{closing_id}", None, 401, "UNAUTHORIZED")


async def test_the_lifecycle_walk_is_audited_and_announced(desk: Desk) -> None:
    _, admin = await desk.admin("operator")
    client_id, token = await desk.client("acme")
    closing_id = await make_closing(desk, token)
    oid = (await Closing.get(id=closing_id)).oid
    steps = [("advance", "pending", "funded"), ("advance", "funded", "paid"), ("revert", "paid", "funded"),
             ("revert", "funded", "pending"), ("advance", "pending", "funded"), ("advance", "funded", "paid"),
             ("advance", "paid", "settled")]
    sub = await desk.runtime.store.subscribe("admin")
    try:
        for action, seen, to in steps:
            moved = await act(desk, admin, closing_id, action, seen)
            assert moved.status_code == 200, moved.text
            assert (moved.json()["id"], moved.json()["status"]) == (closing_id, to)
            event = json.loads(await asyncio.wait_for(anext(aiter(sub)), 5))
            assert event["type"] == "closing.status_changed"
            assert (event["data"]["action"], event["data"]["previousStatus"], event["data"]["actor"]) == (
                action, seen, "operator")
            assert event["data"]["closing"] == moved.json()
    finally:
        await sub.close()
    assert (await Closing.get(id=closing_id)).status == "settled"

    rows = await AuditLog.filter(closing_id=closing_id, action__startswith="closing.").order_by("id")
    assert [(r.action, r.detail) for r in rows] == [
        (f"closing.{a}", {"before": {"status": s}, "after": {"status": t}}) for a, s, t in steps]
    for row in rows:
        assert (row.actor, row.source, str(row.client_id), row.oid) == ("operator", "Admin", client_id, oid)
        assert row.ip_address is not None

    # Cancel reaches cancelled from each non-final status.
    walk = ["pending", "funded", "paid"]
    for steps_before in range(3):
        other = await make_closing(desk, token)
        for seen in walk[:steps_before]:
            assert (await act(desk, admin, other, "advance", seen)).status_code == 200
        cancelled = await act(desk, admin, other, "cancel", walk[steps_before])
        assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled", cancelled.text
        last = await AuditLog.filter(closing_id=other).order_by("-id").first()
        assert last is not None and last.action == "closing.cancel" and last.detail["after"] == {"status": "cancelled"}


async def test_refusals_change_nothing(desk: Desk) -> None:
    _, admin = await desk.admin()
    _, token = await desk.client("acme")
    settled = await make_closing(desk, token)
    for seen in ("pending", "funded", "paid"):
        assert (await act(desk, admin, settled, "advance", seen)).status_code == 200
    cancelled = await make_closing(desk, token)
    assert (await act(desk, admin, cancelled, "cancel", "pending")).status_code == 200
    fresh = await make_closing(desk, token)

    async def snapshot() -> tuple[Any, ...]:
        rows = await Closing.filter(id__in=[settled, cancelled, fresh]).order_by("id")
        return tuple((r.status, r.updated_at) for r in rows), await AuditLog.all().count()

    before = await snapshot()
    illegal = [("advance", "settled"), ("advance", "cancelled"), ("revert", "pending"), ("revert", "settled"),
               ("revert", "cancelled"), ("cancel", "settled"), ("cancel", "cancelled")]
    for action, seen in illegal:
        problem = await refused(desk, "POST", f"{CLOSINGS}/{fresh}/{action}", admin, 409, "ILLEGAL_TRANSITION",
                                json={"from": seen})
        assert f"cannot {action} a {seen} closing" in problem["detail"]

    # A stale "from": the operator saw another status than the closing has now.
    for closing_id, action, seen, current in ((settled, "cancel", "paid", "settled"),
                                              (cancelled, "advance", "pending", "cancelled"),
                                              (fresh, "revert", "funded", "pending"),
                                              (fresh, "advance", "paid", "pending")):
        problem = await refused(desk, "POST", f"{CLOSINGS}/{closing_id}/{action}", admin, 409, "STATUS_CONFLICT",
                                json={"from": seen})
        assert problem["current"] == current, problem

    path = f"{CLOSINGS}/{fresh}/advance"
    for body, field in (({"from": "nope"}, "from"), ({}, "from"), ({"from": "pending", "to": "paid"}, "to"),
                        ({"status": "pending"}, "from")):
        await refused(desk, "POST", path, admin, 400, "VALIDATION_ERROR", field, json=body)
    await refused(desk, "POST", path, admin, 400, "VALIDATION_ERROR", "body")
    for missing in (uuid4(), "not-a-uuid"):
        await refused(desk, "POST", f"{CLOSINGS}/{missing}/advance", admin, 404, "NOT_FOUND", json={"from": "pending"})
    await refused(desk, "POST", path, token, 403, "FORBIDDEN", json={"from": "pending"})
    await refused(desk, "POST", path, None, 401, "UNAUTHORIZED", json={"from": "pending"})
    assert await snapshot() == before


async def test_concurrent_advances_move_one_step(desk: Desk) -> None:
    _, admin = await desk.admin()
    _, token = await desk.client("acme")
    closing_id = await make_closing(desk, token)
    answers = await asyncio.gather(*(act(desk, admin, closing_id, "advance", "pending") for _ in range(20)))
    assert sorted(a.status_code for a in answers) == [200] + [409] * 19
    conflicts = [a.json() for a in answers if a.status_code == 409]
    assert {(c["code"], c["current"]) for c in conflicts} == {("STATUS_CONFLICT", "funded")}
    assert (await Closing.get(id=closing_id)).status == "funded"
    assert await AuditLog.filter(closing_id=closing_id, action="closing.advance").count() == 1
