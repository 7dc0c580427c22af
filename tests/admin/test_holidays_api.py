"""Holidays through the admin API (SPEC §5, §9, §14): listed by year and market, added and
removed with an audit row each, imported from the official calendars once, and used by
market hours on the next request."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from otc_framework.storage.models import AuditLog, Holiday
from tests.admin.support import assert_by_operator, next_event, refused
from tests.desk import Desk, bearer

HOLIDAYS = "/v1/admin/holidays"
IMPORT = f"{HOLIDAYS}/import"


async def listed(desk: Desk, token: str, query: str = "") -> list[dict[str, Any]]:
    response = await desk.http.get(f"{HOLIDAYS}{query}", headers=bearer(token))
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


@pytest.mark.parametrize("desk_tree", [{"market_hours": {"always_open": False}}])
async def test_a_holiday_added_for_today_closes_the_market_until_removed(desk: Desk) -> None:
    _, admin = await desk.admin()
    _, client = await desk.client()
    today = datetime.now(ZoneInfo("America/Sao_Paulo")).date()
    body = {"date": today.isoformat(), "label": "  Desk closure  ", "market": "US"}
    for sent, field in (
        ({**body, "date": f"{today.year}-02-30"}, "date"),
        ({**body, "date": 20260101}, "date"),
        ({**body, "label": "   "}, "label"),
        ({**body, "label": "x" * 201}, "label"),
        ({**body, "market": "EU"}, "market"),
        ({**body, "id": 7}, "id"),
    ):
        await refused(desk, "POST", HOLIDAYS, admin, 400, "VALIDATION_ERROR", field, json=sent)
    await refused(desk, "POST", HOLIDAYS, client, 403, "FORBIDDEN", json=body)
    await refused(desk, "GET", HOLIDAYS, None, 401, "UNAUTHORIZED")
    await refused(desk, "GET", f"{HOLIDAYS}?year=soon", admin, 400, "VALIDATION_ERROR", "year")
    assert await Holiday.all().count() == 0 and await AuditLog.filter(action__startswith="holiday").count() == 0

    sub = await desk.runtime.store.subscribe("admin")
    try:
        made = await desk.http.post(HOLIDAYS, headers=bearer(admin), json=body)
        created = await next_event(sub, "holidays.changed")
        assert made.status_code == 201, made.text
        row = made.json()
        gone = await desk.http.delete(f"{HOLIDAYS}/{row['id']}", headers=bearer(admin))
        deleted = await next_event(sub, "holidays.changed")
    finally:
        await sub.close()
    assert row == {"id": row["id"], "date": today.isoformat(), "label": "Desk closure", "market": "US"}
    assert created == {"action": "create", "holidays": [row], "actor": "operator"}
    assert deleted == {"action": "delete", "holidays": [row], "actor": "operator"}
    assert gone.status_code == 204 and gone.content == b""

    # Added again, it closes the market on the next request: prices still answer, quotes do not.
    again = (await desk.http.post(HOLIDAYS, headers=bearer(admin), json=body)).json()
    await refused(desk, "POST", HOLIDAYS, admin, 400, "VALIDATION_ERROR", "date", json={**body, "label": "Twice"})
    board = (await desk.http.get("/v1/prices", headers=bearer(client))).json()
    assert board["marketOpen"] is False and datetime.fromisoformat(board["nextOpen"]).date() > today
    quote = await desk.quote(client)
    assert (quote.status_code, quote.json()["code"]) == (409, "MARKET_CLOSED")
    assert await listed(desk, admin) == [again]  # the year defaults to this one
    assert await listed(desk, admin, f"?year={today.year}&market=BR") == []
    assert await listed(desk, admin, f"?year={today.year - 1}") == []

    assert (await desk.http.delete(f"{HOLIDAYS}/{again['id']}", headers=bearer(admin))).status_code == 204
    for missing in (again["id"], "abc", "99999999999", "-1"):
        await refused(desk, "DELETE", f"{HOLIDAYS}/{missing}", admin, 404, "NOT_FOUND")
    await refused(desk, "DELETE", f"{HOLIDAYS}/{again['id']}", client, 403, "FORBIDDEN")
    reference, _ = await desk.runtime.reference.current()
    assert reference.calendar.is_business_day(today) is (today.weekday() < 5)

    rows = await AuditLog.filter(action__startswith="holiday").order_by("id")
    for audit in rows:
        assert_by_operator(audit)
    assert [(r.action, r.detail) for r in rows] == [
        ("holiday.create", {"after": row}), ("holiday.delete", {"before": row}),
        ("holiday.create", {"after": again}), ("holiday.delete", {"before": again}),
    ]


async def test_import_adds_the_official_calendars_once_and_keeps_operator_rows(desk: Desk) -> None:
    _, admin = await desk.admin()
    _, client = await desk.client()
    for year in (1999, 2101, "soon", None):
        await refused(desk, "POST", IMPORT, admin, 400, "VALIDATION_ERROR", "year", json={"year": year})
    await refused(desk, "POST", IMPORT, client, 403, "FORBIDDEN", json={"year": 2026})
    own = (await desk.http.post(HOLIDAYS, headers=bearer(admin),
                                json={"date": "2026-02-16", "label": "Carnaval (desk)", "market": "BR"})).json()

    sub = await desk.runtime.store.subscribe("admin")
    try:
        first = await desk.http.post(IMPORT, headers=bearer(admin), json={"year": 2026})
        event = await next_event(sub, "holidays.changed")
    finally:
        await sub.close()
    assert first.status_code == 200, first.text
    result = first.json()
    assert (result["year"], len(result["added"]), result["skipped"]) == (2026, 25, 1)
    assert event == {"action": "import", "holidays": result["added"], "actor": "operator"}
    assert ("2026-06-04", "BR") in {(h["date"], h["market"]) for h in result["added"]}  # Corpus Christi
    audits = await AuditLog.filter(action="holiday.create").order_by("id")
    assert len(audits) == 26 and all(a.detail["importedYear"] == 2026 for a in audits[1:])
    assert [a.detail["after"] for a in audits[1:]] == result["added"]

    again = (await desk.http.post(IMPORT, headers=bearer(admin), json={"year": 2026})).json()
    assert (again["added"], again["skipped"]) == ([], 26)
    assert await AuditLog.filter(action="holiday.create").count() == 26

    brazil = await listed(desk, admin, "?year=2026&market=BR")
    assert brazil[1] == own  # the operator's label wins
    assert [h["date"] for h in brazil] == sorted(h["date"] for h in brazil) and len(brazil) == 15
    both = await listed(desk, admin, "?year=2026")
    assert [(h["date"], h["market"]) for h in both[:3]] == [("2026-01-01", "BR"), ("2026-01-01", "US"),
                                                           ("2026-01-19", "US")]
    reference, _ = await desk.runtime.reference.current()
    assert not reference.calendar.is_business_day(date(2026, 11, 26))  # Thanksgiving: USD does not settle
    assert reference.calendar.is_business_day(date(2026, 11, 27))
