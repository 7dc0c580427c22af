"""The API document states what the server enforces, and the server takes what the document
allows: a request that looks valid by the document is not refused for a rule it never stated.
Each case here was a request the fuzzer (or a new user reading the document) had refused or
answered with a 500."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

from otc_framework.admin.audit_schemas import _instant
from otc_framework.web.pages import CURSOR_PATTERN, decode_cursor, encode_cursor
from tests.desk import Desk, bearer

AUDIT, CLOSINGS, CLIENTS = "/v1/admin/audit-logs", "/v1/admin/closings", "/v1/admin/clients"


def assert_problem(response: Any, status: int, code: str, field: str | None = None) -> None:
    assert response.status_code == status, response.text
    problem = response.json()
    assert problem["code"] == code and (field is None or problem["field"] == field), problem


async def document(desk: Desk) -> dict[str, Any]:
    body: dict[str, Any] = (await desk.http.get("/openapi.json")).json()
    return body


def parameter(operation: dict[str, Any], name: str) -> dict[str, Any]:
    found: dict[str, Any] = next(p for p in operation["parameters"] if p["name"] == name)
    return found


async def test_an_empty_or_reversed_window_is_no_rows_not_an_error(desk: Desk) -> None:
    _, admin = await desk.admin()
    for path in (AUDIT, CLOSINGS):
        for since, until in (("2026-11-21T12:00:00Z", "2026-11-21T12:00:00Z"), ("2026-11-22", "2026-11-21")):
            response = await desk.http.get(path, params={"since": since, "until": until}, headers=bearer(admin))
            assert response.status_code == 200 and response.json()["items"] == [], response.text
    # Instants the document allows whose UTC falls outside what a date-time holds: were 500s.
    for since, until in (("0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"), ("0001-01-01", "9999-12-31")):
        response = await desk.http.get(AUDIT, params={"since": since, "until": until}, headers=bearer(admin))
        assert response.status_code == 200, response.text
    for bad in ("2026-11-21 12:00:00Z", " 2026-11-21", "20261121T120000Z", "2026-W47-6"):
        assert_problem(await desk.http.get(AUDIT, params={"since": bad}, headers=bearer(admin)), 400,
                       "VALIDATION_ERROR", "since")
    assert _instant("2026-11-21t12:00:00z") == _instant("2026-11-21T12:00:00Z")  # RFC 3339 allows either case


async def test_a_cursor_of_the_documented_form_pages(desk: Desk) -> None:
    _, admin = await desk.admin()
    listed = (await document(desk))["paths"][CLIENTS]["get"]
    assert parameter(listed, "cursor")["schema"]["pattern"] == CURSOR_PATTERN
    first = (await desk.http.get(CLIENTS, params={"limit": 1}, headers=bearer(admin))).json()
    assert first["nextCursor"] is None or decode_cursor(first["nextCursor"])
    # Well formed but never handed out, of either id kind: a position, so a page (was a 400).
    for cursor in ("0" * 17 + "_" + "0" * 32, "99999999999999999_" + "f" * 32, "1_1", "99999999999999999_" + "9" * 18):
        response = await desk.http.get(CLIENTS, params={"cursor": cursor}, headers=bearer(admin))
        assert response.status_code == 200, response.text
        response = await desk.http.get(AUDIT, params={"cursor": cursor}, headers=bearer(admin))
        assert response.status_code == 200, response.text
    for cursor in ("garbage", "1_" + "0" * 31, "1_-5", "x" * 200):
        assert_problem(await desk.http.get(CLIENTS, params={"cursor": cursor}, headers=bearer(admin)), 400,
                       "VALIDATION_ERROR", "cursor")


def test_a_cursor_names_its_row() -> None:
    at, row = datetime(2026, 11, 21, 12, 0, 0, 123456, tzinfo=UTC), uuid4()
    assert decode_cursor(encode_cursor(at, row)) == (at, row)
    assert decode_cursor(encode_cursor(at, 42)) == (at, 42)


async def test_query_values_are_exactly_what_the_document_says(desk: Desk) -> None:
    _, admin = await desk.admin()
    # A blank value is a value: it was dropped, so `closingId=` (not a UUID) was taken as "no filter".
    for path, params, field in ((AUDIT, {"closingId": ""}, "closingId"), (AUDIT, {"limit": ""}, "limit"),
                                ("/v1/admin/holidays", {"year": ""}, "year"),
                                (CLIENTS, {"active": "1"}, "active"), (CLIENTS, {"active": "yes"}, "active")):
        assert_problem(await desk.http.get(path, params=params, headers=bearer(admin)), 400, "VALIDATION_ERROR", field)
    for active in ("true", "false"):
        assert (await desk.http.get(CLIENTS, params={"active": active}, headers=bearer(admin))).status_code == 200
    assert (await desk.http.get(CLIENTS, params={"search": ""}, headers=bearer(admin))).status_code == 200
    year = parameter((await document(desk))["paths"]["/v1/admin/holidays"]["get"], "year")["schema"]
    assert year["type"] == "integer" and "anyOf" not in year and "default" not in year  # a query value is never null


async def test_texts_follow_their_documented_rules(desk: Desk) -> None:
    _, admin = await desk.admin()
    schemas = (await document(desk))["components"]["schemas"]
    assert schemas["ClientPatch"]["minProperties"] == 1
    assert schemas["NewClient"]["properties"]["name"]["maxLength"] == 200
    holiday = {"date": "2031-01-02", "market": "BR"}
    for label in ("", "   ", "\x1f", "x" * 201):  # \x1f: whitespace to Python, not to every regex engine
        response = await desk.http.post("/v1/admin/holidays", json={**holiday, "label": label}, headers=bearer(admin))
        assert_problem(response, 400, "VALIDATION_ERROR", "label")
    for date in ("2031-01-02T00:00:00", "20310102"):
        response = await desk.http.post("/v1/admin/holidays", json={**holiday, "date": date, "label": "x"},
                                        headers=bearer(admin))
        assert_problem(response, 400, "VALIDATION_ERROR", "date")
    response = await desk.http.post("/v1/admin/holidays", json={**holiday, "label": "x" * 200}, headers=bearer(admin))
    assert response.status_code == 201, response.text
    imported = schemas["HolidayImport"]["properties"]["year"]
    assert (imported["minimum"], imported["maximum"]) == (2000, 2100)


async def test_path_parameters_list_their_values(desk: Desk) -> None:
    paths = (await document(desk))["paths"]
    cell = {p["name"]: p["schema"] for p in paths["/v1/admin/spreads/{tier}/{currency}/{settlement}"]["put"]["parameters"]}
    assert cell["tier"]["enum"] == [f"T{i}" for i in range(1, 8)] and cell["settlement"]["enum"] == ["D0", "D1", "D2"]
    keys = parameter(paths["/v1/admin/controls/{key}"]["put"], "key")["schema"]["enum"]
    assert set(keys) == set(desk.runtime.control_definitions) and "quoting_enabled" in keys
    close = paths["/v1/sessions/{session_id}/close"]["post"]
    assert parameter(close, "session_id")["schema"]["pattern"] == "^[0-9a-f]{32}$"
    _, token = await desk.client()
    assert_problem(await desk.close(token, "not-a-session"), 404, "NOT_FOUND")
    assert_problem(await desk.close(token, "f" * 32), 410, "SESSION_EXPIRED")


async def test_bodies_a_route_may_go_without_are_documented_optional(desk: Desk) -> None:
    paths = (await document(desk))["paths"]
    rotate = paths["/v1/admin/clients/{client_id}/rotate-key"]["post"]
    assert rotate["requestBody"]["required"] is False
    assert paths["/v1/sessions/{session_id}/close"]["post"]["requestBody"]["required"] is False
    assert paths["/v1/admin/holidays"]["post"]["requestBody"]["required"] is True
    _, admin = await desk.admin()
    client_id, _ = await desk.client("rotated")
    path = f"{CLIENTS}/{client_id}/rotate-key"
    json_type = {**bearer(admin), "content-type": "application/json"}
    for response in (await desk.http.post(path, headers=bearer(admin)), await desk.http.post(path, headers=json_type),
                     await desk.http.post(path, json={}, headers=bearer(admin))):
        assert response.status_code == 200 and response.json()["apiKey"].startswith("otc_"), response.text
    chosen = await desk.http.post(path, json={"apiKey": "chosen-by-hand-0123456789"}, headers=bearer(admin))
    assert chosen.json()["apiKey"] == "chosen-by-hand-0123456789"
    assert_problem(await desk.http.post(path, json={"colour": "red"}, headers=bearer(admin)), 400,
                   "VALIDATION_ERROR", "colour")
