"""The admin hedges API (SPEC §9, §10): the list (today by default), the detail with executions
and trail, and retry / release / mark-filled as a compare-and-set on the status the operator
saw, audited and reported on the admin stream."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import uuid4

from otc_framework.audit import record
from otc_framework.execution import repository
from otc_framework.execution.repository import Audit, client_order_id
from otc_framework.ports import LpExecution
from otc_framework.storage.models import AuditLog, AuditSource, Hedge, HedgeExecution, HedgeStatus
from tests.admin.support import assert_by_operator, next_event, refused
from tests.desk import Desk, bearer
from tests.risk.support import DESK_ZONE, hedge

HEDGES = "/v1/admin/hedges"
VIEW = {"id", "closingId", "status", "reason", "side", "currency", "settlement", "amount", "clientPrice", "provider",
        "attempt", "clientOrderId", "quoteId", "quotePrice", "filledAmount", "fillPrice", "chunks",
        "spreadCaptureBps", "venueReference", "createdAt", "updatedAt", "filledAt"}


async def claimed(client_id: str, amount: str, status: HedgeStatus, **columns: Any) -> Hedge:
    """A hedge the engine claimed once (attempt 1, its order id) and left in ``status``."""
    row = await hedge(client_id, amount, status, **columns)
    await Hedge.filter(id=row.id).update(attempt=1, client_order_id=client_order_id(row.id, 1))
    return await Hedge.get(id=row.id)


async def page(desk: Desk, admin: str, **params: Any) -> list[str]:
    response = await desk.http.get(HEDGES, params=params, headers=bearer(admin))
    assert response.status_code == 200, (params, response.text)
    return [item["id"] for item in response.json()["items"]]


async def act(desk: Desk, admin: str, row: Hedge | str, action: str, **body: Any) -> Any:
    key = row if isinstance(row, str) else row.id
    return await desk.http.post(f"{HEDGES}/{key}/{action}", json=body, headers=bearer(admin))


async def test_list_is_today_by_default_filtered_and_paged(desk: Desk) -> None:
    _, admin = await desk.admin()
    client_id, token = await desk.client("acme")
    failed = await claimed(client_id, "1000", HedgeStatus.FAILED, provider="nonco")
    held = await claimed(client_id, "2000", HedgeStatus.HELD)
    filled = await claimed(client_id, "3000", HedgeStatus.FILLED, provider="horizon")
    old = await claimed(client_id, "4000", HedgeStatus.FILLED, provider="nonco")
    ten_days_ago = datetime.now(UTC) - timedelta(days=10)
    await Hedge.filter(id=old.id).update(created_at=ten_days_ago)
    # Distinct instants, so newest first is the order they were made in whatever the clock's grain.
    now = datetime.now(UTC)
    for seconds, row in enumerate((filled, held, failed)):
        await Hedge.filter(id=row.id).update(created_at=now - timedelta(seconds=seconds))
    today = [str(filled.id), str(held.id), str(failed.id)]
    day = ten_days_ago.astimezone(DESK_ZONE).date()

    assert await page(desk, admin) == today
    assert await page(desk, admin, status="failed") == [str(failed.id)]
    assert await page(desk, admin, provider="nonco") == [str(failed.id)]
    assert await page(desk, admin, provider="nonco", since=day.isoformat()) == [
        str(failed.id), str(old.id)]
    assert await page(desk, admin, closingId=str(old.closing_id)) == [str(old.id)]  # any day
    assert await page(desk, admin, until=(now - timedelta(days=1)).isoformat()) == [str(old.id)]
    assert await page(desk, admin, since=day.isoformat(), until=(day + timedelta(days=1)).isoformat()) == [
        str(old.id)]

    first = (await desk.http.get(HEDGES, params={"limit": 2}, headers=bearer(admin))).json()
    assert [i["id"] for i in first["items"]] == today[:2] and first["nextCursor"]
    assert set(first["items"][0]) == VIEW
    assert (first["items"][0]["status"], first["items"][0]["amount"], first["items"][0]["provider"]) == (
        "filled", "3000", "horizon")
    second = (await desk.http.get(HEDGES, params={"limit": 2, "cursor": first["nextCursor"]},
                                  headers=bearer(admin))).json()
    assert [i["id"] for i in second["items"]] == today[2:] and second["nextCursor"] is None

    for params, field in (({"status": "nope"}, "status"), ({"closingId": "x"}, "closingId"),
                          ({"provider": "p" * 65}, "provider"), ({"since": "yesterday"}, "since"),
                          ({"limit": 0}, "limit"), ({"cursor": "garbage"}, "cursor"), ({"page": 2}, "page")):
        await refused(desk, "GET", HEDGES, admin, 400, "VALIDATION_ERROR", field, params=params)
    await refused(desk, "GET", HEDGES, token, 403, "FORBIDDEN")
    await refused(desk, "GET", HEDGES, None, 401, "UNAUTHORIZED")


async def test_detail_has_the_executions_and_the_hedge_trail(desk: Desk) -> None:
    _, admin = await desk.admin()
    client_id, token = await desk.client("acme")
    row = await claimed(client_id, "1000", HedgeStatus.UNKNOWN, provider="nonco")
    at = datetime.now(UTC)
    await repository.record_executions(
        row.id, 1, "nonco", row.client_order_id, [LpExecution("x-1", Decimal("400"), Decimal("5.25"), at)],
        complete_from=[HedgeStatus.UNKNOWN], audited=Audit("hedge.filled"))
    await record("closing.advance", actor="operator", source=AuditSource.ADMIN, closing_id=row.closing_id)
    assert (await act(desk, admin, row, "mark-filled", **{"from": "unknown", "venueReference": "x-2",
                                                           "fillPrice": "5.2600"})).status_code == 200

    detail = (await desk.http.get(f"{HEDGES}/{row.id}", headers=bearer(admin))).json()
    assert set(detail) == {"hedge", "executions", "audit"}
    assert (detail["hedge"]["id"], detail["hedge"]["status"], detail["hedge"]["filledAmount"],
            detail["hedge"]["chunks"], detail["hedge"]["fillPrice"]) == (str(row.id), "filled", "1000", 2, "5.25600000")
    assert [(e["executionId"], e["amount"], e["price"], e["provider"], e["attempt"], e["clientOrderId"])
            for e in detail["executions"]] == [
        ("x-1", "400", "5.25000000", "nonco", 1, row.client_order_id),
        ("x-2", "600", "5.26000000", "nonco", 1, row.client_order_id)]
    assert [a["action"] for a in detail["audit"]] == ["hedge.mark_filled"]  # not the closing's own rows
    assert detail["audit"][0]["closingId"] == str(row.closing_id)

    for path in (f"{HEDGES}/{uuid4()}", f"{HEDGES}/not-a-uuid"):
        await refused(desk, "GET", path, admin, 404, "NOT_FOUND")
    await refused(desk, "GET", f"{HEDGES}/{row.id}", token, 403, "FORBIDDEN")
    await refused(desk, "GET", f"{HEDGES}/{row.id}", None, 401, "UNAUTHORIZED")


async def test_retry_sends_a_failed_hedge_back_to_the_engine(desk: Desk) -> None:
    _, admin = await desk.admin("operator")
    client_id, token = await desk.client("acme")
    row = await claimed(client_id, "1000", HedgeStatus.FAILED, provider="nonco", reason="nonco: refused")
    sub = await desk.runtime.store.subscribe("admin")
    try:
        retried = await act(desk, admin, row, "retry", **{"from": "failed"})
        assert retried.status_code == 200, retried.text
        assert (retried.json()["id"], retried.json()["status"], retried.json()["attempt"]) == (
            str(row.id), "pending", 1)
        assert await next_event(sub, "hedge.changed") == retried.json()
    finally:
        await sub.close()
    audit = await AuditLog.get(action="hedge.retry")
    assert_by_operator(audit)
    assert (audit.closing_id, audit.detail["from"], audit.detail["status"]) == (row.closing_id, "failed", "pending")

    # The engine's next claim is a new attempt under a new order id: the failed order is never re-sent.
    [again] = await repository.claim_pending(10)
    assert (again.attempt, again.client_order_id) == (2, client_order_id(row.id, 2))
    assert again.client_order_id != row.client_order_id

    conflict = await refused(desk, "POST", f"{HEDGES}/{row.id}/retry", admin, 409, "STATUS_CONFLICT",
                             json={"from": "failed"})
    assert conflict["current"] == "quoting"
    for seen in ("pending", "held", "quoting", "executing", "unknown", "filled", "skipped"):
        problem = await refused(desk, "POST", f"{HEDGES}/{row.id}/retry", admin, 409, "ILLEGAL_TRANSITION",
                                json={"from": seen})
        assert (problem["action"], problem["from"]) == ("retry", seen)
    await refused(desk, "POST", f"{HEDGES}/{row.id}/retry", admin, 400, "VALIDATION_ERROR", "from",
                  json={"from": "nope"})
    await refused(desk, "POST", f"{HEDGES}/{row.id}/retry", admin, 400, "VALIDATION_ERROR", "body")
    await refused(desk, "POST", f"{HEDGES}/{uuid4()}/retry", admin, 404, "NOT_FOUND", json={"from": "failed"})
    await refused(desk, "POST", f"{HEDGES}/nope/retry", admin, 404, "NOT_FOUND", json={"from": "failed"})
    await refused(desk, "POST", f"{HEDGES}/{row.id}/retry", token, 403, "FORBIDDEN", json={"from": "failed"})
    await refused(desk, "POST", f"{HEDGES}/{row.id}/retry", None, 401, "UNAUTHORIZED", json={"from": "failed"})
    assert await AuditLog.filter(action="hedge.retry").count() == 1


async def test_release_lets_a_held_hedge_go_and_names_the_operator(desk: Desk) -> None:
    _, admin = await desk.admin("operator")
    client_id, _ = await desk.client("acme")
    row = await claimed(client_id, "900000", HedgeStatus.HELD, reason="above exec_max_order_amount")
    await refused(desk, "POST", f"{HEDGES}/{row.id}/release", admin, 409, "ILLEGAL_TRANSITION",
                  json={"from": "failed"})
    await refused(desk, "POST", f"{HEDGES}/{row.id}/retry", admin, 409, "STATUS_CONFLICT", json={"from": "failed"})
    released = await act(desk, admin, row, "release", **{"from": "held"})
    assert released.status_code == 200, released.text
    assert released.json()["status"] == "pending"
    assert (await Hedge.get(id=row.id)).released_by == "operator"
    audit = await AuditLog.get(action="hedge.release")
    assert_by_operator(audit)
    assert (audit.closing_id, audit.detail["from"]) == (row.closing_id, "held")
    problem = await refused(desk, "POST", f"{HEDGES}/{row.id}/release", admin, 409, "STATUS_CONFLICT",
                            json={"from": "held"})
    assert problem["current"] == "pending"


async def test_mark_filled_records_the_venue_execution_once(desk: Desk) -> None:
    _, admin = await desk.admin("operator")
    client_id, _ = await desk.client("acme")
    row = await claimed(client_id, "100000", HedgeStatus.UNKNOWN, provider="nonco", client_price="5.2531")
    path = f"{HEDGES}/{row.id}/mark-filled"
    good = {"from": "unknown", "venueReference": "T-77", "fillPrice": "5.2510"}
    for change, field in (({"amount": "50000"}, "amount"), ({"amount": "100001"}, "amount"),
                          ({"fillPrice": "0"}, "fillPrice"), ({"fillPrice": "-5.2510"}, "fillPrice"),
                          ({"fillPrice": "abc"}, "fillPrice"), ({"fillPrice": 5.251000001}, "fillPrice"),
                          ({"venueReference": ""}, "venueReference"), ({"venueReference": " "}, "venueReference"),
                          ({"provider": ""}, "provider"), ({"extra": 1}, "extra"), ({"from": "nope"}, "from")):
        await refused(desk, "POST", path, admin, 400, "VALIDATION_ERROR", field, json={**good, **change})
    await refused(desk, "POST", path, admin, 400, "VALIDATION_ERROR", "fillPrice",
                  json={k: v for k, v in good.items() if k != "fillPrice"})
    await refused(desk, "POST", path, admin, 400, "VALIDATION_ERROR", "body",
                  content=b'{"from": "unknown", "venueReference": "T-77", "fillPrice": 1e400}')
    await refused(desk, "POST", path, admin, 409, "STATUS_CONFLICT", json={**good, "from": "failed"})
    await refused(desk, "POST", path, admin, 409, "ILLEGAL_TRANSITION", json={**good, "from": "pending"})
    unchanged = await Hedge.get(id=row.id)
    assert (unchanged.status, unchanged.venue_reference, unchanged.filled_amount) == (HedgeStatus.UNKNOWN, None, 0)
    assert not await HedgeExecution.filter(hedge_id=row.id).exists()
    assert not await AuditLog.filter(action="hedge.mark_filled").exists()

    marked = await act(desk, admin, row, "mark-filled", **good)
    assert marked.status_code == 200, marked.text
    shown = marked.json()
    assert (shown["status"], shown["filledAmount"], shown["fillPrice"], shown["spreadCaptureBps"]) == (
        "filled", "100000", "5.25100000", "4.0")
    assert (shown["venueReference"], shown["chunks"], shown["provider"]) == ("T-77", 1, "nonco")
    assert shown["filledAt"] is not None
    [execution] = await HedgeExecution.filter(hedge_id=row.id)
    assert (execution.execution_id, execution.amount, execution.price, execution.provider, execution.attempt,
            execution.client_order_id) == ("T-77", Decimal("100000"), Decimal("5.2510"), "nonco", 1,
                                           row.client_order_id)
    audit = await AuditLog.get(action="hedge.mark_filled")
    assert_by_operator(audit)
    assert (audit.closing_id, audit.detail["from"], audit.detail["venueReference"], audit.detail["status"],
            audit.detail["spreadCaptureBps"]) == (row.closing_id, "unknown", "T-77", "filled", "4.0")

    # The engine finding the same trade at the venue later does not count it again.
    hedge_now, filled_now = await repository.record_executions(
        row.id, 1, "nonco", row.client_order_id,
        [LpExecution("T-77", Decimal("100000"), Decimal("5.2510"), datetime.now(UTC))],
        complete_from=[HedgeStatus.UNKNOWN], audited=Audit("hedge.filled"))
    assert (filled_now, hedge_now.filled_amount, hedge_now.chunks) == (False, Decimal("100000"), 1)

    await refused(desk, "POST", path, admin, 409, "STATUS_CONFLICT", json=good)
    await refused(desk, "POST", path, admin, 409, "ILLEGAL_TRANSITION", json={**good, "from": "filled"})


async def test_mark_filled_takes_the_rest_and_needs_a_provider(desk: Desk) -> None:
    _, admin = await desk.admin("operator")
    client_id, _ = await desk.client("acme")
    held = await claimed(client_id, "1000", HedgeStatus.HELD, client_price="5.0150")
    body = {"from": "held", "venueReference": "H-1", "fillPrice": "5.0100"}
    await refused(desk, "POST", f"{HEDGES}/{held.id}/mark-filled", admin, 400, "VALIDATION_ERROR", "provider",
                  json=body)
    assert (await Hedge.get(id=held.id)).venue_reference is None
    marked = await act(desk, admin, held, "mark-filled", **body, provider="horizon", amount="1000.000")
    assert marked.status_code == 200, marked.text
    assert (marked.json()["status"], marked.json()["provider"]) == ("filled", "horizon")
    assert (await HedgeExecution.get(hedge_id=held.id)).provider == "horizon"

    # A failed hedge that filled part-way: the manual fill is the rest, and the VWAP covers both.
    failed = await claimed(client_id, "1000", HedgeStatus.FAILED, provider="nonco", client_price="5.0150")
    await repository.record_executions(
        failed.id, 1, "nonco", failed.client_order_id,
        [LpExecution("F-1", Decimal("400"), Decimal("5.0000"), datetime.now(UTC))],
        complete_from=[], audited=Audit("hedge.filled"))
    await refused(desk, "POST", f"{HEDGES}/{failed.id}/mark-filled", admin, 400, "VALIDATION_ERROR", "amount",
                  json={"from": "failed", "venueReference": "F-2", "fillPrice": "5.0100", "amount": "1000"})
    # An id the venue already reported for this hedge cannot be marked as the rest of it.
    await refused(desk, "POST", f"{HEDGES}/{failed.id}/mark-filled", admin, 400, "VALIDATION_ERROR",
                  "venueReference", json={"from": "failed", "venueReference": "F-1", "fillPrice": "5.0100"})
    assert (await Hedge.get(id=failed.id)).venue_reference is None
    marked = await act(desk, admin, failed, "mark-filled",
                       **{"from": "failed", "venueReference": "F-2", "fillPrice": "5.0100", "amount": "600"})
    assert marked.status_code == 200, marked.text
    assert (marked.json()["filledAmount"], marked.json()["fillPrice"], marked.json()["chunks"]) == (
        "1000", "5.00600000", 2)
