"""Bad input answers 4xx, never 500: a body past the size cap, JSON nested past the depth cap,
numbers too long to be money or to convert, NUL in a text; and the API document states each
limit (``web.limits``)."""

from __future__ import annotations

import json
from typing import Any

from otc_framework.web import limits
from tests.desk import Desk, bearer

JSON = {"content-type": "application/json"}


def assert_problem(response: Any, status: int, code: str, field: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem: dict[str, Any] = response.json()
    assert (problem["status"], problem["code"]) == (status, code)
    if field is not None:
        assert problem["field"] == field, problem
    return problem


async def send(desk: Desk, path: str, raw: str, token: str, method: str = "POST") -> Any:
    return await desk.http.request(method, path, content=raw.encode(), headers={**bearer(token), **JSON})


async def test_a_body_past_the_cap_is_413(desk: Desk) -> None:
    _, admin = await desk.admin()
    label = "x" * limits.MAX_BODY_BYTES
    body = json.dumps({"date": "2031-01-02", "label": label, "market": "BR"})
    problem = assert_problem(await send(desk, "/v1/admin/holidays", body, admin), 413, "PAYLOAD_TOO_LARGE")
    assert "64 KiB" in problem["detail"]
    headers = {**bearer(admin), "X-Padding": "x" * limits.MAX_HEADER_BYTES}
    assert_problem(await desk.http.get("/v1/admin/holidays", headers=headers), 413, "PAYLOAD_TOO_LARGE")
    fits = json.dumps({"date": "2031-01-02", "label": "x" * 200, "market": "BR"})
    assert (await send(desk, "/v1/admin/holidays", fits, admin)).status_code == 201


async def test_json_nested_past_the_cap_is_refused_before_parsing(desk: Desk) -> None:
    _, admin = await desk.admin()
    path = "/v1/admin/controls/exec_enabled_clients"

    async def nested(levels: int) -> Any:
        return await send(desk, path, '{"value": ' + "[" * levels + "]" * levels + "}", admin, "PUT")

    # Was a 500 (RecursionError in the parser); now past the size cap.
    assert_problem(await nested(100_000), 413, "PAYLOAD_TOO_LARGE")
    assert_problem(await nested(30_000), 400, "VALIDATION_ERROR", "body")  # within the size cap, as deadly
    assert_problem(await nested(limits.MAX_JSON_DEPTH), 400, "VALIDATION_ERROR", "body")  # the object is one level
    # Deep, but parsed: the model refuses it.
    assert_problem(await nested(limits.MAX_JSON_DEPTH - 1), 400, "VALIDATION_ERROR", "value")


async def test_numbers_too_long_to_be_money_are_refused(desk: Desk) -> None:
    _, token = await desk.client()
    quote = '{"currency": "USDT", "settlement": "D0", "amount": %s}'
    millions = "1" * 3_000_000  # was a 500: decimal.Overflow in the order-limit check; now past the size cap
    assert_problem(await send(desk, "/v1/sessions", quote % millions, token), 413, "PAYLOAD_TOO_LARGE")
    digits = "1" * 60_000  # within the size cap, enough to overflow the same check
    for amount, field in ((digits, "body"), (f'"{digits}"', "amount"), ("1e999999", "body"),
                          ('"1e999999"', "amount"), ("1" * (limits.MAX_NUMBER_CHARS + 1), "body"),
                          ("NaN", "body"), ("-Infinity", "body")):
        response = await send(desk, "/v1/sessions", quote % amount, token)
        assert_problem(response, 400, "VALIDATION_ERROR", field)
    assert (await send(desk, "/v1/sessions", quote % "100000.5", token)).status_code == 201
    _, admin = await desk.admin()
    # Python refuses to convert integer literals of more than 4300 digits (a ValueError).
    huge = await send(desk, "/v1/admin/holidays/import", '{"year": %s}' % ("9" * 5000), admin)
    assert_problem(huge, 400, "VALIDATION_ERROR", "body")


async def test_controls_take_bounded_numbers(desk: Desk) -> None:
    _, admin = await desk.admin()
    for key, value in (("session_ttl_seconds", "²"), ("session_ttl_seconds", "9" * 4000),
                       ("max_order_amount", "1e999999"), ("max_order_amount", "1" * 41)):
        response = await desk.http.put(f"/v1/admin/controls/{key}", json={"value": value}, headers=bearer(admin))
        assert_problem(response, 400, "VALIDATION_ERROR", "value")
    # A text long enough to be read as the integer it spells is refused, not converted.
    response = await desk.http.put("/v1/admin/controls/session_ttl_seconds", json={"value": "0" * 5000},
                                   headers=bearer(admin))
    assert_problem(response, 400, "VALIDATION_ERROR", "value")


async def test_nul_in_a_text_is_refused(desk: Desk) -> None:
    _, admin = await desk.admin()
    holiday = {"date": "2031-01-02", "label": "New\x00Year", "market": "BR"}  # PostgreSQL: was a 500
    response = await desk.http.post("/v1/admin/holidays", json=holiday, headers=bearer(admin))
    assert_problem(response, 400, "VALIDATION_ERROR", "label")
    client = {"name": "Acme", "tier": "T1", "botParticipants": ["a\x00b"]}
    response = await desk.http.post("/v1/admin/clients", json=client, headers=bearer(admin))
    assert_problem(response, 400, "VALIDATION_ERROR", "botParticipants")
    response = await desk.http.get("/v1/admin/audit-logs", params={"actor": "op\x00"}, headers=bearer(admin))
    assert_problem(response, 400, "VALIDATION_ERROR", "actor")


async def test_the_document_states_the_limits(desk: Desk) -> None:
    document = (await desk.http.get("/openapi.json")).json()
    assert "64 KiB" in document["info"]["description"] and "32 levels" in document["info"]["description"]
    for item in document["paths"].values():
        for operation in item.values():
            assert operation["responses"]["413"] == {"$ref": "#/components/responses/PAYLOAD_TOO_LARGE"}
    label = document["components"]["schemas"]["HolidayCreate"]["properties"]["label"]
    assert (label["minLength"], label["maxLength"]) == (1, 200) and "\\x00" in label["pattern"]
    amount = document["components"]["schemas"]["CreateSession"]["properties"]["amount"]["anyOf"]
    assert amount[0] == {"type": "number", "exclusiveMinimum": 0, "maximum": 10**15, "multipleOf": 1e-06}
    assert amount[1]["maxLength"] == limits.MAX_NUMBER_CHARS
