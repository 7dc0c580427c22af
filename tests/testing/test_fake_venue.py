"""Every fake's test routes: ``/_fault`` makes the next N requests fail, hang or drop, in
order; ``/_inbox`` shows what arrived; ``DELETE /_fault`` clears what is pending."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from sanic import Request, Sanic
from sanic.response import HTTPResponse, json

from otc_framework.testing.fake_venue import install_test_routes


@pytest.fixture
async def venue(loopback: Any) -> str:
    app = Sanic(f"fake_echo_{uuid.uuid4().hex[:8]}")
    inbox, _ = install_test_routes(app)

    @app.post("/echo")
    async def echo(request: Request) -> HTTPResponse:
        inbox.add({"body": request.json})
        return json({"ok": True})

    return (await loopback(app)).base_url


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
