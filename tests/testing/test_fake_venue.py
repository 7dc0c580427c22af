"""Every fake's test routes: ``/_fault`` makes the next N requests (those it matches) fail,
hang or drop, in order, before or after the venue acted; ``/_inbox`` shows what arrived;
``/_orders`` counts the orders; ``DELETE /_fault`` clears what is pending."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest
from sanic import Request, Sanic
from sanic.response import HTTPResponse, json

from otc_framework.testing.fake_venue import Fault, Faults, Orders, install_test_routes

ORDER_HEADER = "X-Order"


@pytest.fixture
async def venue(loopback: Any) -> str:
    """A venue that echoes ``/echo``, books each ``/order`` (by its ``X-Order`` header) and
    answers ``/slow`` late."""
    app = Sanic(f"fake_echo_{uuid.uuid4().hex[:8]}")
    booked: list[str] = []
    inbox, _ = install_test_routes(
        app, order_id=lambda request: request.headers.get(ORDER_HEADER) if request.path == "/order" else None,
        executed=lambda: len(booked),
    )

    @app.post("/echo")
    async def echo(request: Request) -> HTTPResponse:
        inbox.add({"body": request.json})
        return json({"ok": True})

    @app.post("/order")
    async def order(request: Request) -> HTTPResponse:
        booked.append(request.headers[ORDER_HEADER])
        return json({"booked": len(booked)})

    return (await loopback(app)).base_url


async def _booked(http: httpx.AsyncClient, venue: str) -> int:
    executed: int = (await http.get(f"{venue}/_orders")).json()["executed"]
    return executed


async def _order(http: httpx.AsyncClient, venue: str, order_id: str, timeout: float = 5) -> httpx.Response:
    return await http.post(f"{venue}/order", headers={ORDER_HEADER: order_id}, timeout=timeout)


async def test_faults_apply_to_the_next_requests_in_order(venue: str, http: httpx.AsyncClient) -> None:
    assert (await http.post(f"{venue}/_fault", json={"status": 429, "retryAfter": 3, "count": 2})).json() == {
        "pending": 2}
    assert (await http.post(f"{venue}/_fault", json={"status": 503})).json() == {"pending": 3}
    answers = [await http.post(f"{venue}/echo", json={"n": n}) for n in range(4)]
    assert [a.status_code for a in answers] == [429, 429, 503, 200]
    assert answers[0].headers["Retry-After"] == "3"
    # Only what reached the venue's own handler is in the inbox.
    items = (await http.get(f"{venue}/_inbox")).json()["items"]
    assert [i["body"] for i in items] == [{"n": 3}] and items[0]["receivedAt"]


async def test_a_dropped_request_gets_no_answer(venue: str, http: httpx.AsyncClient) -> None:
    await http.post(f"{venue}/_fault", json={"drop": True})
    with pytest.raises(httpx.TransportError):
        await http.post(f"{venue}/echo", json={})
    assert (await http.post(f"{venue}/echo", json={})).status_code == 200


async def test_a_delay_hangs_the_request(venue: str, http: httpx.AsyncClient) -> None:
    await http.post(f"{venue}/_fault", json={"delay": 5})
    with pytest.raises(httpx.TimeoutException):
        await http.post(f"{venue}/echo", json={}, timeout=0.3)


async def test_clearing_and_refusing_bad_faults(venue: str, http: httpx.AsyncClient) -> None:
    await http.post(f"{venue}/_fault", json={"status": 500, "count": 10})
    assert (await http.get(f"{venue}/_fault")).json()["pending"] == 10
    assert (await http.delete(f"{venue}/_fault")).json() == {"pending": 0}
    assert (await http.post(f"{venue}/echo", json={})).status_code == 200
    assert (await http.post(f"{venue}/_fault", json={"status": 200})).status_code == 400
    assert (await http.post(f"{venue}/_fault", json={"bogus": 1})).status_code == 400


async def test_a_matched_fault_waits_for_its_request(venue: str, http: httpx.AsyncClient) -> None:
    await http.post(f"{venue}/_fault", json={"status": 503, "match": "/order"})
    await http.post(f"{venue}/_fault", json={"status": 429})
    # /echo skips the /order fault and takes the unmatched one behind it.
    assert (await http.post(f"{venue}/echo", json={})).status_code == 429
    assert (await http.post(f"{venue}/echo", json={})).status_code == 200
    assert (await http.get(f"{venue}/_fault")).json()["pending"] == 1
    assert (await _order(http, venue, "o-1")).status_code == 503
    assert (await _order(http, venue, "o-1")).status_code == 200
    assert await _booked(http, venue) == 1


async def test_matched_faults_hold_under_load(venue: str, http: httpx.AsyncClient) -> None:
    await http.post(f"{venue}/_fault", json={"status": 503, "match": "/order", "count": 5})
    echoes = [http.post(f"{venue}/echo", json={"n": n}) for n in range(20)]
    orders = [_order(http, venue, f"o-{n}") for n in range(10)]
    answers = await asyncio.gather(*echoes, *orders)
    assert [a.status_code for a in answers[:20]] == [200] * 20
    assert sorted(a.status_code for a in answers[20:]) == [200] * 5 + [503] * 5
    assert await _booked(http, venue) == 5


async def test_dropped_before_the_venue_acted(venue: str, http: httpx.AsyncClient) -> None:
    await http.post(f"{venue}/_fault", json={"drop": True, "match": "/order"})
    with pytest.raises(httpx.RemoteProtocolError):
        await _order(http, venue, "o-1")
    assert await _booked(http, venue) == 0


async def test_dropped_after_the_venue_acted(venue: str, http: httpx.AsyncClient) -> None:
    await http.post(f"{venue}/_fault", json={"drop": True, "after": True, "match": "/order"})
    with pytest.raises(httpx.RemoteProtocolError):
        await _order(http, venue, "o-1")
    assert await _booked(http, venue) == 1


async def test_hung_after_the_venue_acted_then_closed(venue: str, http: httpx.AsyncClient) -> None:
    await http.post(f"{venue}/_fault", json={"drop": True, "delay": 0.5, "after": True, "match": "/order"})
    with pytest.raises(httpx.ReadTimeout):
        await _order(http, venue, "o-1", timeout=0.2)
    assert await _booked(http, venue) == 1
    await http.post(f"{venue}/_fault", json={"drop": True, "delay": 0.3, "after": True, "match": "/order"})
    with pytest.raises(httpx.RemoteProtocolError):
        await _order(http, venue, "o-2", timeout=2)  # closed unanswered once the delay ends
    assert await _booked(http, venue) == 2


async def test_a_venue_that_lies_acts_then_answers_an_error(venue: str, http: httpx.AsyncClient) -> None:
    await http.post(f"{venue}/_fault", json={"status": 500, "after": True, "match": "/order"})
    assert (await _order(http, venue, "o-1")).status_code == 500
    assert await _booked(http, venue) == 1


async def test_after_alone_changes_nothing(venue: str, http: httpx.AsyncClient) -> None:
    await http.post(f"{venue}/_fault", json={"after": True})
    assert (await _order(http, venue, "o-1")).json() == {"booked": 1}
    assert (await http.get(f"{venue}/_fault")).json()["pending"] == 0


async def test_match_and_after_are_for_requests_not_pushes(venue: str, http: httpx.AsyncClient) -> None:
    for body in ({"stream": True, "match": "/order"}, {"stream": True, "after": True}, {"match": ""}):
        assert (await http.post(f"{venue}/_fault", json=body)).status_code == 400


async def test_orders_count_every_arrival_by_id(venue: str, http: httpx.AsyncClient) -> None:
    assert (await http.get(f"{venue}/_orders")).json() == {"received": 0, "distinct": 0, "repeated": {}, "executed": 0}
    await http.post(f"{venue}/_fault", json={"drop": True, "match": "/order"})
    with pytest.raises(httpx.RemoteProtocolError):
        await _order(http, venue, "o-1")
    for order_id in ("o-1", "o-2", "o-3", "o-3", "o-3"):
        await _order(http, venue, order_id)
    await http.post(f"{venue}/echo", json={})
    assert (await http.get(f"{venue}/_orders")).json() == {
        "received": 6, "distinct": 3, "repeated": {"o-1": 2, "o-3": 3}, "executed": 5,
    }


def test_orders_outlive_the_inbox_cap() -> None:
    orders = Orders(executed=lambda: 4999)
    for n in range(5000):
        orders.add(f"o-{n}")
    orders.add("o-7")
    assert orders.summary() == {"received": 5001, "distinct": 5000, "repeated": {"o-7": 2}, "executed": 4999}


def test_a_large_count_is_held_once_and_taken_in_order() -> None:
    faults = Faults()
    faults.add(Fault(status=503, match="/order", count=100_000))
    faults.add(Fault(status=429))
    assert len(faults) == 100_001
    assert faults.next("/echo") == Fault(status=429)
    assert faults.next("/echo") is None
    assert faults.next("/order/1") is not None and len(faults) == 99_999
    assert faults.next() is None  # a caller without a path sees only unmatched faults
    assert faults.peek(10) == [{**Fault(status=503, match="/order").model_dump(by_alias=True), "count": 99_999}]


def test_frames_match_by_type_exactly() -> None:
    faults = Faults()
    faults.add(Fault(drop=True, match="NewOrderSingle"))
    assert faults.next_frame("QuoteRequest") is None
    assert faults.next("/NewOrderSingle") is None
    assert faults.next_frame("NewOrderSingle") is not None
    assert not faults
