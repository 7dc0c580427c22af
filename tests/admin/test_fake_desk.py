"""The fake desk endpoint the demo runs (SPEC §19): send-to-desk reaches it for real over
loopback, its inbox shows the payload with its Idempotency-Key, a re-send is recognised as a
duplicate, and a forced failure is retried like a real desk's."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from otc_framework.testing.fake_desk import DeskDemoVenue, create_app
from otc_framework.testing.fake_venue import DemoSettings
from tests.admin.test_send_to_desk import paid_closing, send
from tests.desk import Desk

TOKEN = "fake-desk-token-0123456789"


@pytest.fixture
async def fake_desk(loopback: Any) -> str:
    server = await loopback(create_app(TOKEN))
    return server.base_url


@pytest.fixture
def desk_tree(fake_desk: str) -> dict[str, Any]:
    return {"desk": {"url": f"{fake_desk}/otc/notify", "token": TOKEN, "retry_backoff_seconds": 0}}


async def inbox(base_url: str) -> list[dict[str, Any]]:
    async with httpx.AsyncClient() as http:
        items: list[dict[str, Any]] = (await http.get(f"{base_url}/_inbox")).json()["items"]
        return items


async def test_send_to_desk_lands_in_the_fake_desks_inbox(desk: Desk, fake_desk: str) -> None:
    admin, _, closing_id = await paid_closing(desk, settlement="D2", amount="120000")
    first = await send(desk, admin, closing_id)
    assert first.status_code == 200, first.text
    assert first.json()["desk"]["outcome"] == "accepted"
    again = await send(desk, admin, closing_id)
    assert again.status_code == 200
    received = await inbox(fake_desk)
    assert [(r["idempotencyKey"], r["duplicate"]) for r in received] == [(closing_id, False), (closing_id, True)]
    body = received[0]["body"]
    assert (body["counterparty"], body["flow"], body["trade"]["closingId"], body["trade"]["amount"]) == (
        "CP-0042", "D2D2", closing_id, "120000")


async def test_a_failing_fake_desk_is_retried_then_accepts(desk: Desk, fake_desk: str) -> None:
    admin, _, closing_id = await paid_closing(desk)
    async with httpx.AsyncClient() as http:
        assert (await http.post(f"{fake_desk}/_fault", json={"status": 503, "count": 1})).status_code == 200
    sent = await send(desk, admin, closing_id)
    assert sent.json()["desk"] == {"outcome": "accepted", "httpStatus": 200, "attempts": 2}
    assert len(await inbox(fake_desk)) == 1


async def test_the_fake_desk_refuses_a_wrong_token_and_a_request_without_a_key(http: httpx.AsyncClient,
                                                                               fake_desk: str) -> None:
    url = f"{fake_desk}/otc/notify"
    assert (await http.post(url, json={}, headers={"Idempotency-Key": "k"})).status_code == 401
    authorised = {"Authorization": f"Bearer {TOKEN}"}
    assert (await http.post(url, json={"a": 1}, headers=authorised)).status_code == 400
    assert await inbox(fake_desk) == []


async def test_the_demo_venue_gives_the_desk_section() -> None:
    venue = DeskDemoVenue()
    section = await venue.start("127.0.0.1", DemoSettings())
    try:
        assert section["url"] == f"{venue.url}/otc/notify" and len(section["token"]) >= 24
    finally:
        await venue.stop()
    assert venue.url is None
