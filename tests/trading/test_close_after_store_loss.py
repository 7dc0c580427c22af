"""The database, not the store, has the last word on whether a session traded: when a Redis
failover (or time) takes away the tombstone and the OID answer of a recorded close, asking
again still answers that trade, never "expired"."""

from __future__ import annotations

from otc_framework.sessions.service import oid_key
from otc_framework.sessions.session import session_key
from otc_framework.storage.models import Closing
from otc_framework.storage.store.base import TOMBSTONE_SUFFIX
from tests.desk import Desk


async def test_a_recorded_close_is_found_after_the_store_forgot_it(desk: Desk) -> None:
    client_id, token = await desk.client("forgotten")
    quoted = await desk.quote(token)
    session_id = quoted.json()["sessionId"]
    first = await desk.close(token, session_id, oid="order-1")
    assert first.status_code == 201, first.text
    store = desk.runtime.store
    # What a failover to a replica that missed the last writes leaves: no tombstone, no OID answer.
    await store.delete(session_key(session_id) + TOMBSTONE_SUFFIX)
    await store.delete(oid_key(client_id, "order-1"))

    again = await desk.close(token, session_id, oid="order-1")
    assert again.status_code == 200 and again.json()["closingId"] == first.json()["closingId"]
    other = await desk.close(token, session_id, oid="order-2")
    assert other.status_code == 409 and other.json()["code"] == "SESSION_ALREADY_CLOSED"
    blind = await desk.close(token, session_id)
    assert blind.status_code == 409 and blind.json()["code"] == "SESSION_ALREADY_CLOSED"
    assert await Closing.filter(session_id=session_id).count() == 1
