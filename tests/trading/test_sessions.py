"""Quote-lock-confirm (SPEC §6): every failure path, OID replay, expiry, exactly-once."""

from __future__ import annotations

import asyncio
import uuid
from decimal import Decimal

import pytest
from tortoise import connections

from otc_framework.admin.access import Actor
from otc_framework.admin.clients import set_client_active, update_client
from otc_framework.sessions import service
from otc_framework.sessions.service import oid_key
from otc_framework.sessions.session import session_key
from otc_framework.storage.models import AuditLog, AuditSource, Closing, Tier
from otc_framework.storage.store import Store
from tests import scripted_plugin
from tests.desk import Desk, bearer


async def quoted(desk: Desk, token: str, **body) -> str:
    response = await desk.quote(token, **body)
    assert response.status_code == 201, response.text
    return response.json()["sessionId"]


async def test_close_records_every_snapshot_column_and_audits(desk: Desk) -> None:
    client_id, token = await desk.client()
    session_id = await quoted(desk, token, settlement="D1", amount="2500.5")
    response = await desk.close(token, session_id, oid="order-1")
    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == {"closingId", "oid", "side", "currency", "settlement", "amount", "price", "totalBrl",
                         "status", "settlementDate", "createdAt"}
    assert (body["oid"], body["side"], body["price"], body["amount"], body["totalBrl"], body["status"]) == (
        "order-1", "BUY", "5.0075", "2500.5", "12521.25", "pending")
    row = await Closing.get(id=body["closingId"])
    assert row.session_id == session_id and str(row.client_id) == client_id and row.side == "SELL"
    assert row.reference_mode == "spot"
    assert row.reference_price == Decimal("5.0000") and row.spot_at_quote == Decimal("5.0000")
    assert row.binance_at_quote is None and row.lp_spread_pct_used is None
    assert row.tier_spread_pct_used == Decimal("0.15")
    assert row.spread_adjustment_used == Decimal("0") and row.validity_adder_used == Decimal("0")
    assert row.usdt_usdc_ratio_used == Decimal("1") and row.validity_seconds == 7
    # Replaying the price from the row alone gives the price charged.
    replay = row.reference_price * (1 + (row.tier_spread_pct_used + row.spread_adjustment_used
                                         + row.validity_adder_used) / 100)
    assert replay.quantize(Decimal("0.0001")) == row.price
    actions = [a.action for a in await AuditLog.filter(session_id=session_id).order_by("id")]
    assert actions == ["SESSION_CREATED", "CLOSE_SUCCESS"]
    success = await AuditLog.get(action="CLOSE_SUCCESS", session_id=session_id)
    assert success.ip_address == "127.0.0.1" and str(success.closing_id) == body["closingId"]
    assert success.oid == "order-1" and str(success.client_id) == client_id
    created = await AuditLog.get(action="SESSION_CREATED", session_id=session_id)
    assert created.ip_address == "127.0.0.1" and str(created.client_id) == client_id
    # Its detail is the session as quoted: every pricing input, as the closing copied them.
    quoted_as = created.detail
    assert (quoted_as["session_id"], quoted_as["client_id"], quoted_as["reference_mode"]) == (session_id, client_id, "spot")
    assert quoted_as["amount"] == "2500.5" and quoted_as["binance_at_quote"] is None
    for column in ("price", "reference_price", "spot_at_quote", "tier_spread_pct_used", "spread_adjustment_used",
                   "validity_adder_used", "usdt_usdc_ratio_used", "total_brl"):
        assert Decimal(quoted_as[column]) == getattr(row, column), column
    assert scripted_plugin.CLOSINGS[-1]["id"] == body["closingId"]


async def test_a_quote_whose_audit_row_fails_cannot_be_traded(desk: Desk, monkeypatch: pytest.MonkeyPatch) -> None:
    _, token = await desk.client()
    known = uuid.uuid4()
    # So the test knows the session id the failed quote would have had.
    monkeypatch.setattr(service, "new_session_id", lambda: known.hex)
    database = connections.get("default")
    await database.execute_script("ALTER TABLE audit_logs RENAME TO audit_logs_away")
    try:
        refused = await desk.quote(token)
    finally:
        await database.execute_script("ALTER TABLE audit_logs_away RENAME TO audit_logs")
    monkeypatch.undo()
    assert refused.status_code >= 500 and "sessionId" not in refused.text
    assert await desk.runtime.store.get(session_key(known.hex)) is None
    expired = await desk.close(token, known.hex)
    assert expired.status_code == 410 and expired.json()["code"] == "SESSION_EXPIRED"
    assert await Closing.all().count() == 0


async def test_oid_replay_answers_the_first_closing_and_creates_nothing(desk: Desk) -> None:
    _, token = await desk.client()
    first = await desk.close(token, await quoted(desk, token), oid="same")
    assert first.status_code == 201
    # Same OID on a new session: the first closing answers; the new session stays open.
    second_session = await quoted(desk, token)
    replay = await desk.close(token, second_session, oid="same")
    assert replay.status_code == 200 and replay.json() == first.json()
    assert await Closing.all().count() == 1
    assert (await desk.close(token, second_session)).status_code == 201


async def test_oid_replay_falls_back_to_the_database(desk: Desk) -> None:
    client_id, token = await desk.client()
    session_id = await quoted(desk, token)
    first = await desk.close(token, session_id, oid="db-fallback")
    await desk.runtime.store.delete(oid_key(client_id, "db-fallback"))
    replay = await desk.close(token, session_id, oid="db-fallback")
    assert replay.status_code == 200 and replay.json() == first.json()
    other = await desk.close(token, await quoted(desk, token), oid="db-fallback")
    assert other.status_code == 200 and other.json() == first.json()
    assert await Closing.all().count() == 1


async def test_oid_of_another_client_is_refused(desk: Desk) -> None:
    _, alice = await desk.client("alice")
    _, bob = await desk.client("bob")
    await desk.close(alice, await quoted(desk, alice), oid="shared")
    response = await desk.close(bob, await quoted(desk, bob), oid="shared")
    assert response.status_code == 400 and response.json()["code"] == "VALIDATION_ERROR"
    assert response.json()["field"] == "oid"
    assert "alice" not in response.text


async def test_second_close_without_oid_is_already_closed(desk: Desk) -> None:
    _, token = await desk.client()
    session_id = await quoted(desk, token)
    assert (await desk.close(token, session_id)).status_code == 201
    again = await desk.close(token, session_id)
    assert again.status_code == 409 and again.json()["code"] == "SESSION_ALREADY_CLOSED"
    failed = await AuditLog.get(action="CLOSE_FAILED", session_id=session_id)
    assert failed.ip_address == "127.0.0.1" and failed.detail == {"code": "SESSION_ALREADY_CLOSED"}


async def test_expired_and_unknown_sessions(desk: Desk) -> None:
    _, token = await desk.client()
    await desk.set_control("session_ttl_seconds", 1)
    session_id = await quoted(desk, token)
    await asyncio.sleep(1.3)
    expired = await desk.close(token, session_id)
    assert expired.status_code == 410 and expired.json()["code"] == "SESSION_EXPIRED"
    unknown = await desk.close(token, "f" * 32)
    assert unknown.status_code == 410 and unknown.json()["code"] == "SESSION_EXPIRED"
    assert await Closing.all().count() == 0


async def test_another_clients_session_is_not_found_and_stays_open(desk: Desk) -> None:
    _, alice = await desk.client("alice")
    _, bob = await desk.client("bob")
    session_id = await quoted(desk, alice)
    response = await desk.close(bob, session_id)
    assert response.status_code == 404 and response.json()["code"] == "NOT_FOUND"
    assert (await desk.close(alice, session_id)).status_code == 201
    after = await desk.close(bob, session_id)
    assert after.status_code == 404


async def test_fifty_concurrent_closes_make_exactly_one_closing(desk: Desk) -> None:
    _, token = await desk.client()
    session_id = await quoted(desk, token)
    responses = await asyncio.gather(*(desk.close(token, session_id) for _ in range(50)))
    codes = sorted(r.status_code for r in responses)
    assert codes == [201] + [409] * 49
    assert await Closing.filter(session_id=session_id).count() == 1
    assert await AuditLog.filter(action="CLOSE_SUCCESS", session_id=session_id).count() == 1


async def test_fifty_concurrent_closes_with_one_oid_all_answer_the_same_closing(desk: Desk) -> None:
    _, token = await desk.client()
    session_id = await quoted(desk, token)
    responses = await asyncio.gather(*(desk.close(token, session_id, oid="burst") for _ in range(50)))
    created = [r for r in responses if r.status_code == 201]
    assert len(created) == 1
    # Callers that lost the race before the OID key existed see 409; after, the closing.
    for response in responses:
        assert response.status_code in (200, 201, 409)
        if response.status_code == 200:
            assert response.json() == created[0].json()
    assert await Closing.all().count() == 1


async def test_quoting_disabled_refuses_quotes_and_closes(desk: Desk) -> None:
    _, token = await desk.client()
    session_id = await quoted(desk, token)
    await desk.set_control("quoting_enabled", False)
    for response in (await desk.quote(token), await desk.close(token, session_id)):
        assert response.status_code == 503 and response.json()["code"] == "QUOTING_DISABLED"
    await desk.set_control("quoting_enabled", True)
    assert (await desk.close(token, session_id)).status_code == 201  # the refused close consumed nothing


async def test_api_disabled_leaves_health_and_admin_login(desk: Desk) -> None:
    _, token = await desk.client()
    await desk.set_control("api_enabled", False)
    for response in (await desk.quote(token), await desk.http.get("/v1/prices", headers=bearer(token)),
                     await desk.http.get("/v1/closings", headers=bearer(token))):
        assert response.status_code == 503 and response.json()["code"] == "API_DISABLED"
    assert (await desk.http.get("/health")).status_code == 200


async def test_order_limits(desk: Desk) -> None:
    _, token = await desk.client()
    for amount in ("999.99", "10000000.01", "0", "-5", "1000.0000001"):
        response = await desk.quote(token, amount=amount)
        assert response.status_code == 400, amount
        assert response.json()["code"] == "VALIDATION_ERROR" and response.json()["field"] == "amount"
    await desk.set_control("min_order_amount", "10")
    assert (await desk.quote(token, amount="10")).status_code == 201


async def test_strict_bodies(desk: Desk) -> None:
    _, token = await desk.client()
    cases = [
        ({"currency": "USDT", "settlement": "D0", "amount": "1000", "tier": "T1"}, "tier"),
        ({"currency": "BTC", "settlement": "D0", "amount": "1000"}, "currency"),
        ({"currency": "USDT", "settlement": "D3", "amount": "1000"}, "settlement"),
        ({"currency": "USDT", "settlement": "D0"}, "amount"),
        ({"currency": "USDT", "settlement": "D0", "amount": "ten"}, "amount"),
        ({"currency": "USDT", "settlement": "D0", "amount": True}, "amount"),
        ({"currency": "USDT", "settlement": "D0", "amount": "1000", "validitySeconds": 7}, "validitySeconds"),
    ]
    for body, field in cases:
        response = await desk.http.post("/v1/sessions", json=body, headers=bearer(token))
        assert response.status_code == 400, body
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["code"] == "VALIDATION_ERROR" and response.json()["field"] == field, response.text
    bad_json = await desk.http.post("/v1/sessions", content=b"{nope", headers=bearer(token))
    assert bad_json.status_code == 400 and bad_json.json()["field"] == "body"
    session_id = await quoted(desk, token)
    extra = await desk.close(token, session_id, oid="x", price="1.00")
    assert extra.status_code == 400 and extra.json()["field"] == "price"
    bad_oid = await desk.close(token, session_id, oid="has spaces")
    assert bad_oid.status_code == 400 and bad_oid.json()["field"] == "oid"
    assert (await desk.close(token, session_id)).status_code == 201  # refused bodies changed nothing
    assert await AuditLog.filter(action="SESSION_CREATED").count() == 1


async def test_spot_unavailable_never_prices_an_old_rate(desk: Desk) -> None:
    _, token = await desk.client()
    await desk.set_control("spot_max_age_seconds", 1)
    scripted_plugin.SOURCES[-1].script.extend([scripted_plugin.failing()] * 10_000)
    for _ in range(100):
        response = await desk.quote(token)
        if response.status_code == 503:
            break
        await asyncio.sleep(0.05)
    assert response.json()["code"] == "SPOT_UNAVAILABLE"
    prices = await desk.http.get("/v1/prices", headers=bearer(token))
    assert prices.status_code == 503 and prices.json()["code"] == "SPOT_UNAVAILABLE"


@pytest.mark.parametrize("desk_tree", [{"rate_limits": {"quote_burst": 3, "quote_per_second": 0.01}}])
async def test_quote_rate_limit(desk: Desk) -> None:
    _, token = await desk.client()
    codes = [(await desk.quote(token)).status_code for _ in range(4)]
    assert codes == [201, 201, 201, 429]
    limited = await desk.quote(token)
    assert limited.json()["code"] == "RATE_LIMITED" and int(limited.headers["Retry-After"]) >= 1
    _, other = await desk.client("other")
    assert (await desk.quote(other)).status_code == 201  # per client


def spy_on(monkeypatch: pytest.MonkeyPatch, store: Store, client_id: str, *names: str) -> list[str]:
    """The names of the store methods called for ``client_id`` from now on, in order (the real
    ones run). Calls of the background loops, which never name a client, are left out, and so
    are the in-process store's calls to itself."""
    calls: list[str] = []
    depth = [0]
    for name in names:
        real = getattr(store, name)

        async def spy(*args: object, _real: object = real, _name: str = name, **kwargs: object) -> object:
            counted = not depth[0] and client_id in repr((args, kwargs))
            if counted:
                calls.append(_name)
                depth[0] += 1
            try:
                return await _real(*args, **kwargs)  # type: ignore[operator]
            finally:
                if counted:
                    depth[0] -= 1

        monkeypatch.setattr(store, name, spy)
    return calls


async def test_a_quote_from_a_current_view_locks_in_one_round_trip_and_a_stale_one_is_priced_afresh(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    client_id, token = await desk.client(tier=Tier.T3)
    assert (await desk.quote(token)).json()["price"] == "5.0500"  # this worker now has a view of the client
    store = desk.runtime.store
    calls = spy_on(monkeypatch, store, client_id, "get_many_spending", "set_owned", "set_owned_if_current")
    second = await desk.quote(token)
    assert second.status_code == 201 and calls == ["set_owned_if_current"]
    # The client's tier changes: the view is stale, nothing is locked at the old price, and the
    # quote is priced again from what the store holds.
    calls.clear()
    await update_client(desk.runtime.backoffice, Actor("ops", AuditSource.ADMIN), client_id, {"tier": Tier.T1})
    third = await desk.quote(token)
    assert third.json()["price"] == "5.0150" and calls == ["set_owned_if_current", "set_owned"]
    assert await store.get(session_key(third.json()["sessionId"])) is not None
    for body in (second.json(), third.json()):
        assert (await desk.close(token, body["sessionId"])).status_code == 201
    assert await Closing.all().count() == 2


async def test_a_close_from_a_current_view_takes_in_one_round_trip_and_a_stale_one_asks_again(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    client_id, token = await desk.client()
    first, second = await quoted(desk, token), await quoted(desk, token)  # the worker has a view of the client
    store = desk.runtime.store
    calls = spy_on(monkeypatch, store, client_id, "get_many", "take_owned", "take_owned_if_current")
    closed = await desk.close(token, first, oid="one-trip")
    assert closed.status_code == 201 and calls == ["take_owned_if_current"]
    # The OID has an answer now: nothing is taken in that trip, and the first closing answers.
    calls.clear()
    replay = await desk.close(token, second, oid="one-trip")
    assert replay.status_code == 200 and replay.json() == closed.json()
    assert calls == ["take_owned_if_current"] and await store.get(session_key(second)) is not None
    # Deactivated since the view was read: refused, and the session is left as it was.
    await set_client_active(desk.runtime.backoffice, Actor("ops", AuditSource.ADMIN), client_id, False)
    calls.clear()
    refused = await desk.close(token, second, oid="two")
    assert refused.status_code == 401 and calls == ["take_owned_if_current"]
    assert await store.get(session_key(second)) is not None and await Closing.all().count() == 1
