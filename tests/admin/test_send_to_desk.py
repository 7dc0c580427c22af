"""Send-to-desk (SPEC §9): a paid trade POSTed to the configured desk endpoint with a stable
idempotency key, retried on transient failures, audited whatever the outcome; refusals send
nothing. The desk is mocked with respx; the app itself is reached for real on loopback."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
import respx

from otc_framework.admin.desk_endpoint import RETRY_AFTER_CAP_SECONDS, deliver, retry_delay
from otc_framework.config import DeskConfig, build_config
from otc_framework.errors import ConfigError
from otc_framework.storage.models import AuditLog, Client, Closing
from tests.admin.support import CLOSINGS, act, make_closing, refused
from tests.conftest import JWT_SECRET
from tests.desk import Desk, bearer

DESK_URL = "https://desk.example/notify"
TOKEN = "t0ken-desk-0123456789abcdef"
CONFIGURED = {"desk": {"url": DESK_URL, "token": TOKEN, "retry_backoff_seconds": 0}}


@contextmanager
def desk_endpoint(desk: Desk) -> Iterator[respx.Route]:
    """The desk's endpoint, mocked; every other request (the app on loopback) goes through."""
    with respx.mock(assert_all_called=False) as mock:
        mock.route(url__startswith=str(desk.http.base_url)).pass_through()
        yield mock.post(DESK_URL)


async def paid_closing(desk: Desk, counterparty: str | None = "CP-0042", **quote: Any) -> tuple[str, str, str]:
    """(admin token, client id, closing id) of a paid closing."""
    _, admin = await desk.admin()
    client_id, token = await desk.client("acme")
    await Client.filter(id=client_id).update(counterparty_id=counterparty)
    closing_id = await make_closing(desk, token, **quote)
    for seen in ("pending", "funded"):
        assert (await act(desk, admin, closing_id, "advance", seen)).status_code == 200
    return admin, client_id, closing_id


async def send(desk: Desk, admin: str, closing_id: str, seen: str = "paid") -> httpx.Response:
    return await desk.http.post(f"{CLOSINGS}/{closing_id}/send-to-desk", json={"from": seen}, headers=bearer(admin))


async def desk_rows(closing_id: str) -> list[AuditLog]:
    return list(await AuditLog.filter(closing_id=closing_id, action="closing.send_to_desk").order_by("id"))


@pytest.mark.parametrize("desk_tree", [CONFIGURED])
async def test_a_paid_trade_reaches_the_desk_once_retried(desk: Desk) -> None:
    admin, client_id, closing_id = await paid_closing(desk, settlement="D1", amount="250000")
    closing = await Closing.get(id=closing_id)
    sub = await desk.runtime.store.subscribe("admin")
    try:
        with desk_endpoint(desk) as route:
            route.side_effect = [httpx.Response(500), httpx.Response(201, json={"booked": True})]
            sent = await send(desk, admin, closing_id)
            event = json.loads(await asyncio.wait_for(anext(aiter(sub)), 5))
    finally:
        await sub.close()
    assert sent.status_code == 200, sent.text
    assert sent.json()["desk"] == {"outcome": "accepted", "httpStatus": 201, "attempts": 2}
    assert (sent.json()["closing"]["id"], sent.json()["closing"]["status"]) == (closing_id, "paid")
    assert (event["type"], event["data"]["desk"], event["data"]["closing"]["id"]) == (
        "closing.sent_to_desk", sent.json()["desk"], closing_id)

    assert route.call_count == 2
    bodies = [json.loads(call.request.content) for call in route.calls]
    assert bodies[0] == bodies[1] == {
        "counterparty": "CP-0042",
        "flow": "D1D1",
        "trade": {
            "closingId": closing_id, "oid": closing.oid, "clientName": "acme", "side": "SELL", "currency": "USDT",
            "amount": "250000", "price": "5.0075", "totalBrl": "1251875.00", "settlement": "D1",
            "settlementDate": closing.settlement_date.isoformat(), "createdAt": closing.created_at.isoformat().replace("+00:00", "Z"),
        },
    }
    for call in route.calls:
        assert call.request.headers["Idempotency-Key"] == closing_id
        assert call.request.headers["Authorization"] == f"Bearer {TOKEN}"
        assert call.request.headers["content-type"] == "application/json"

    [row] = await desk_rows(closing_id)
    assert (row.actor, row.source, str(row.client_id), row.oid) == ("operator", "Admin", client_id, closing.oid)
    assert row.ip_address is not None
    assert row.detail == {"outcome": "accepted", "httpStatus": 201, "attempts": 2, "flow": "D1D1",
                          "counterparty": "CP-0042", "error": None}

    # A send in progress elsewhere holds the lock: a second click is refused, nothing is sent.
    lock = f"desk-send:{closing_id}"
    assert await desk.runtime.store.set_if_absent(lock, "someone", ttl=60)
    with desk_endpoint(desk) as route:
        problem = await refused(desk, "POST", f"{CLOSINGS}/{closing_id}/send-to-desk", admin, 409,
                                "STATUS_CONFLICT", json={"from": "paid"})
        assert "already being sent" in problem["detail"] and not route.called
    await desk.runtime.store.delete(lock)

    # Sent again (the desk asked for it): the same idempotency key, and the lock was released.
    with desk_endpoint(desk) as route:
        route.return_value = httpx.Response(200)
        again = await send(desk, admin, closing_id)
        assert again.status_code == 200 and again.json()["desk"]["attempts"] == 1
        assert route.calls.last.request.headers["Idempotency-Key"] == closing_id
    assert [r.detail["outcome"] for r in await desk_rows(closing_id)] == ["accepted", "accepted"]
    assert TOKEN not in json.dumps([r.detail for r in await AuditLog.all()])


@pytest.mark.parametrize("desk_tree", [CONFIGURED])
async def test_failures_are_audited_and_refusals_send_nothing(desk: Desk) -> None:
    admin, _, closing_id = await paid_closing(desk)
    with desk_endpoint(desk) as route:
        route.return_value = httpx.Response(503)
        failed = await send(desk, admin, closing_id)
        assert route.call_count == 3
    assert failed.status_code == 503, failed.text
    problem = failed.json()
    assert problem["code"] == "NOT_READY" and "HTTP 503" in problem["detail"] and "3 attempt" in problem["detail"]
    assert problem["desk"] == {"outcome": "failed", "httpStatus": 503, "attempts": 3}

    outcomes = [
        (httpx.Response(422), 422, 1, "the desk answered HTTP 422"),
        (httpx.ConnectError("boom"), None, 3, "could not reach the desk (ConnectError)"),
        (httpx.ReadTimeout("slow"), None, 3, "timed out after 5 s"),
    ]
    for effect, _status, attempts, error in outcomes:
        with desk_endpoint(desk) as route:
            route.side_effect = effect
            answered = await send(desk, admin, closing_id)
            assert route.call_count == attempts
        assert answered.status_code == 503 and error in answered.json()["detail"], answered.text
    rows = await desk_rows(closing_id)
    assert [(r.detail["outcome"], r.detail["httpStatus"], r.detail["attempts"], r.detail["error"]) for r in rows] == [
        ("failed", 503, 3, "the desk answered HTTP 503"), *(("failed", s, a, e) for _, s, a, e in outcomes)]
    assert all(DESK_URL not in json.dumps(r.detail) and TOKEN not in json.dumps(r.detail) for r in rows)
    assert (await Closing.get(id=closing_id)).status == "paid"

    # Refusals: nothing reaches the desk, nothing is audited, nothing changes.
    funded = await make_closing(desk, (await desk.client("beta"))[1])
    assert (await act(desk, admin, funded, "advance", "pending")).status_code == 200
    _, loner = await desk.client("loner")
    await Client.filter(name="beta").update(counterparty_id="CP-9")
    unpaired = await make_closing(desk, loner)
    for seen in ("pending", "funded"):
        assert (await act(desk, admin, unpaired, "advance", seen)).status_code == 200
    with desk_endpoint(desk) as route:
        path = f"{CLOSINGS}/{{}}/send-to-desk"
        await refused(desk, "POST", path.format(funded), admin, 409, "ILLEGAL_TRANSITION", json={"from": "funded"})
        conflict = await refused(desk, "POST", path.format(funded), admin, 409, "STATUS_CONFLICT",
                                 json={"from": "paid"})
        assert conflict["current"] == "funded"
        problem = await refused(desk, "POST", path.format(unpaired), admin, 400, "VALIDATION_ERROR",
                                "counterpartyId", json={"from": "paid"})
        assert "set it on the client" in problem["detail"]
        await refused(desk, "POST", path.format("00000000-0000-0000-0000-000000000000"), admin, 404, "NOT_FOUND",
                      json={"from": "paid"})
        await refused(desk, "POST", path.format(closing_id), admin, 400, "VALIDATION_ERROR", "from",
                      json={"from": "sent"})
        await refused(desk, "POST", path.format(closing_id), (await desk.client("gamma"))[1], 403, "FORBIDDEN",
                      json={"from": "paid"})
        assert not route.called
    assert await AuditLog.filter(action="closing.send_to_desk").count() == len(rows)
    assert await desk.runtime.store.get(f"desk-send:{unpaired}") is None


async def test_without_a_desk_endpoint_nothing_is_sent(desk: Desk) -> None:
    admin, _, closing_id = await paid_closing(desk)
    problem = await refused(desk, "POST", f"{CLOSINGS}/{closing_id}/send-to-desk", admin, 503, "NOT_READY",
                            json={"from": "paid"})
    assert "no desk endpoint configured" in problem["detail"]
    assert await desk_rows(closing_id) == []


def test_retry_delay() -> None:
    assert [retry_delay(a, 0.5) for a in (1, 2, 3)] == [0.5, 1.0, 1.5]
    assert retry_delay(1, 0.5, "2") == 2.0
    assert retry_delay(1, 0.5, "3600") == RETRY_AFTER_CAP_SECONDS
    assert retry_delay(2, 0.5, "Wed, 21 Oct 2026 07:28:00 GMT") == 1.0


async def test_deliver_backs_off_on_429_and_sends_no_token_when_none() -> None:
    seen: list[httpx.Request] = []
    answers = iter([httpx.Response(429, headers={"Retry-After": "0"}), httpx.Response(202)])

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return next(answers)

    desk = DeskConfig(url=DESK_URL, retry_backoff_seconds=0)
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
        delivery = await deliver(http, desk, {"flow": "D0D0"}, "key-1")
    assert (delivery.outcome, delivery.http_status, delivery.attempts, delivery.error) == ("accepted", 202, 2, None)
    assert [r.headers["Idempotency-Key"] for r in seen] == ["key-1", "key-1"]
    assert all("Authorization" not in r.headers for r in seen)


def test_the_token_is_a_secret_given_by_reference() -> None:
    tree = {"database": {"url": "sqlite://:memory:"}, "store": {"url": "memory://"}, "auth": {"jwt_secret": JWT_SECRET},
            "desk": {"url": DESK_URL, "token": {"$env": "OTC_DESK_TOKEN"}}}
    config = build_config(tree, env={"OTC_DESK_TOKEN": TOKEN})
    assert config.desk.token is not None and config.desk.token.get_secret_value() == TOKEN
    assert TOKEN in config.secrets() and TOKEN not in repr(config)
    assert (config.desk.timeout_seconds, config.desk.attempts, config.desk.retry_backoff_seconds) == (5, 3, 0.5)
    with pytest.raises(ConfigError, match="desk.token: environment variable OTC_DESK_TOKEN is not set"):
        build_config(tree, env={})
    assert build_config({**tree, "desk": {}}, env={}).desk.url is None
