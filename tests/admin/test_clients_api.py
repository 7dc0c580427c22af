"""The admin clients API (SPEC §9 clients, §7, §14): every write audited with its actor and IP,
refreshed for the client's next request, announced on the admin feed; refusals change nothing."""

from __future__ import annotations

import asyncio
import hashlib
import json
from typing import Any

from otc_framework.storage.models import AuditLog, Client, Tier
from tests.admin.support import assert_by_operator, next_event, refused
from tests.desk import Desk, bearer

CLIENTS = "/v1/admin/clients"
GROUP = "120363000000000001@g.us"


async def audit_rows(action: str) -> list[AuditLog]:
    return await AuditLog.filter(action=action).order_by("id")


async def test_create_shows_the_key_once_and_stores_only_its_hash(desk: Desk) -> None:
    _, admin = await desk.admin()
    _, client_token = await desk.client("existing", Tier.T1)
    sub = await desk.runtime.store.subscribe("admin")
    try:
        made = await desk.http.post(CLIENTS, headers=bearer(admin), json={"name": "  Acme  ", "tier": "T2"})
        assert made.status_code == 201, made.text
        acme = made.json()
        event = await next_event(sub)
    finally:
        await sub.close()
    key = acme.pop("apiKey")
    key_hash = hashlib.sha256(key.encode()).hexdigest()
    assert key.startswith("otc_") and len(key) >= 24
    assert set(acme) == {"id", "name", "tier", "role", "active", "groupId", "counterpartyId", "botParticipants",
                         "keyFingerprint", "keyRotatedAt", "createdAt", "updatedAt"}
    assert (acme["name"], acme["tier"], acme["role"], acme["active"], acme["groupId"], acme["botParticipants"]) == (
        "Acme", "T2", "client", True, None, [])
    assert acme["keyFingerprint"] == key_hash[:8]
    assert (await Client.get(id=acme["id"])).api_key_hash == key_hash
    assert (event["type"], event["data"]["action"], event["data"]["client"]) == ("client.changed", "client.create", acme)
    assert (await desk.http.post("/v1/auth/login", json={"apiKey": key})).status_code == 200
    row = (await audit_rows("client.create"))[-1]
    assert_by_operator(row)
    assert str(row.client_id) == acme["id"]
    assert row.detail["before"] == {} and row.detail["after"]["name"] == "Acme"
    assert key not in json.dumps(row.detail) and key_hash not in json.dumps(row.detail)

    given = "given-key-0123456789-abcdef"
    body = {"name": "Beta", "tier": "T3", "role": "admin", "groupId": GROUP, "counterpartyId": "CP-7",
            "botParticipants": ["5511999990000@s.whatsapp.net", " 5511999990000@s.whatsapp.net"], "apiKey": given}
    beta = (await desk.http.post(CLIENTS, headers=bearer(admin), json=body)).json()
    assert beta["apiKey"] == given and beta["role"] == "admin" and beta["counterpartyId"] == "CP-7"
    assert beta["groupId"] == GROUP and beta["botParticipants"] == ["5511999990000@s.whatsapp.net"]
    assert (await desk.http.post("/v1/auth/login", json={"apiKey": given})).status_code == 200

    # Two operators claiming one group at once: exactly one gets it.
    claims = [{"name": f"Racer {i}", "tier": "T1", "groupId": "120363000000000002@g.us"} for i in range(2)]
    raced = await asyncio.gather(*(desk.http.post(CLIENTS, headers=bearer(admin), json=c) for c in claims))
    assert sorted(r.status_code for r in raced) == [201, 400]

    clients, creations = await Client.all().count(), len(await audit_rows("client.create"))
    good = {"name": "Gamma", "tier": "T1"}
    for bad, field in [
        ({"name": "ACME"}, "name"), ({"name": "   "}, "name"), ({"name": "x" * 201}, "name"), ({"name": 7}, "name"),
        ({"tier": "T9"}, "tier"), ({"role": "boss"}, "role"), ({"groupId": "5511999990000"}, "groupId"),
        ({"groupId": GROUP}, "groupId"), ({"botParticipants": "anyone"}, "botParticipants"),
        ({"botParticipants": [f"{i}@s.whatsapp.net" for i in range(51)]}, "botParticipants"),
        ({"botParticipants": [""]}, "botParticipants"), ({"counterpartyId": " "}, "counterpartyId"),
        ({"apiKey": "short"}, "apiKey"), ({"apiKey": given}, "apiKey"), ({"colour": "red"}, "colour"),
    ]:
        await refused(desk, "POST", CLIENTS, admin, 400, "VALIDATION_ERROR", field, json={**good, **bad})
    await refused(desk, "POST", CLIENTS, admin, 400, "VALIDATION_ERROR", "tier", json={"name": "Gamma"})
    await refused(desk, "POST", CLIENTS, client_token, 403, "FORBIDDEN", json=good)
    await refused(desk, "POST", CLIENTS, None, 401, "UNAUTHORIZED", json=good)
    assert await Client.all().count() == clients
    assert len(await audit_rows("client.create")) == creations


async def test_list_filters_searches_and_pages(desk: Desk) -> None:
    admin_id, admin = await desk.admin()
    names = ["Alpha Bank", "alphaville", "Bravo", "Charlie", "Delta"]
    ids = [(await desk.client(name))[0] for name in names]
    assert (await desk.http.post(f"{CLIENTS}/{ids[3]}/deactivate", headers=bearer(admin))).status_code == 200

    async def listed(**params: Any) -> dict[str, Any]:
        response = await desk.http.get(CLIENTS, headers=bearer(admin), params=params)
        assert response.status_code == 200, response.text
        return response.json()

    everyone = await listed()
    assert [c["name"] for c in everyone["items"]] == [*reversed(names), "operator"]
    assert everyone["nextCursor"] is None and all("apiKeyHash" not in c for c in everyone["items"])
    assert [c["name"] for c in (await listed(active="false"))["items"]] == ["Charlie"]
    assert "Charlie" not in [c["name"] for c in (await listed(active="true"))["items"]]
    assert [c["name"] for c in (await listed(search="ALPHA"))["items"]] == ["alphaville", "Alpha Bank"]
    assert (await listed(search="%"))["items"] == []

    first = await listed(limit=2)
    second = await listed(limit=2, cursor=first["nextCursor"])
    third = await listed(limit=2, cursor=second["nextCursor"])
    assert [c["name"] for c in first["items"] + second["items"] + third["items"]] == [*reversed(names), "operator"]
    assert third["nextCursor"] is None

    _, client_token = await desk.client("nosy")
    await refused(desk, "GET", CLIENTS, admin, 400, "VALIDATION_ERROR", "cursor", params={"cursor": "nope"})
    await refused(desk, "GET", CLIENTS, admin, 400, "VALIDATION_ERROR", "limit", params={"limit": 0})
    await refused(desk, "GET", CLIENTS, admin, 400, "VALIDATION_ERROR", "active", params={"active": "maybe"})
    await refused(desk, "GET", CLIENTS, client_token, 403, "FORBIDDEN")
    await refused(desk, "GET", CLIENTS, None, 401, "UNAUTHORIZED")


async def test_get_and_patch_a_client(desk: Desk) -> None:
    admin_id, admin = await desk.admin()
    client_id, token = await desk.client("acme", Tier.T1)
    other_id, other_token = await desk.client("other", Tier.T1)
    path = f"{CLIENTS}/{client_id}"
    shown = await desk.http.get(path, headers=bearer(admin))
    assert shown.status_code == 200 and shown.json()["tier"] == "T1" and shown.json()["name"] == "acme"
    assert (await desk.quote(token)).json()["price"] == "5.0150"

    sub = await desk.runtime.store.subscribe("admin")
    try:
        patched = await desk.http.patch(path, headers=bearer(admin), json={"tier": "T3", "groupId": GROUP})
        assert patched.status_code == 200, patched.text
        event = await next_event(sub)
    finally:
        await sub.close()
    assert (patched.json()["tier"], patched.json()["groupId"]) == ("T3", GROUP)
    assert (event["type"], event["data"]["action"], event["data"]["client"]) == (
        "client.changed", "client.update", patched.json())
    assert (await desk.quote(token)).json()["price"] == "5.0500"
    row = (await audit_rows("client.update"))[-1]
    assert_by_operator(row)
    assert str(row.client_id) == client_id
    assert row.detail == {"before": {"tier": "T1", "groupId": None}, "after": {"tier": "T3", "groupId": GROUP}}

    body = {"name": "Acme Ltd", "counterpartyId": "CP-1", "botParticipants": ["5511@s.whatsapp.net"], "role": "client"}
    again = (await desk.http.patch(path, headers=bearer(admin), json=body)).json()
    assert (again["name"], again["counterpartyId"], again["botParticipants"]) == (
        "Acme Ltd", "CP-1", ["5511@s.whatsapp.net"])
    assert (await audit_rows("client.update"))[-1].detail["before"] == {
        "name": "acme", "counterpartyId": None, "botParticipants": []}
    cleared = (await desk.http.patch(path, headers=bearer(admin), json={"groupId": None})).json()
    assert cleared["groupId"] is None

    # Repeating current values changes nothing and audits nothing.
    updates = len(await audit_rows("client.update"))
    same = await desk.http.patch(path, headers=bearer(admin), json={"tier": "T3", "name": "Acme Ltd"})
    assert same.status_code == 200 and same.json()["updatedAt"] == cleared["updatedAt"]
    await desk.http.patch(f"{CLIENTS}/{other_id}", headers=bearer(admin), json={"groupId": GROUP})
    updates += 1

    before = await Client.get(id=client_id)
    for bad, field in [({}, "body"), ({"name": None}, "name"), ({"name": "OTHER"}, "name"), ({"tier": None}, "tier"),
                       ({"tier": "T8"}, "tier"), ({"role": None}, "role"), ({"groupId": GROUP}, "groupId"),
                       ({"groupId": "abc@g.us"}, "groupId"), ({"botParticipants": None}, "botParticipants"),
                       ({"apiKey": "x" * 30}, "apiKey"), ({"active": False}, "active")]:
        await refused(desk, "PATCH", path, admin, 400, "VALIDATION_ERROR", field, json=bad)
    await refused(desk, "PATCH", path, admin, 400, "VALIDATION_ERROR", "body", content=b"not json")
    await refused(desk, "PATCH", path, other_token, 403, "FORBIDDEN", json={"tier": "T1"})
    await refused(desk, "PATCH", path, None, 401, "UNAUTHORIZED", json={"tier": "T1"})
    for missing in ("00000000-0000-0000-0000-000000000000", "not-a-uuid"):
        await refused(desk, "GET", f"{CLIENTS}/{missing}", admin, 404, "NOT_FOUND")
        await refused(desk, "PATCH", f"{CLIENTS}/{missing}", admin, 404, "NOT_FOUND", json={"tier": "T1"})
    await refused(desk, "GET", path, other_token, 403, "FORBIDDEN")
    await refused(desk, "GET", path, None, 401, "UNAUTHORIZED")
    after = await Client.get(id=client_id)
    assert (after.name, after.tier, after.group_id, after.updated_at) == (
        before.name, before.tier, before.group_id, before.updated_at)
    assert len(await audit_rows("client.update")) == updates


async def test_deactivate_refuses_live_tokens_and_activate_restores(desk: Desk) -> None:
    admin_id, admin = await desk.admin()
    client_id, token = await desk.client("acme")
    assert (await desk.quote(token)).status_code == 201
    # A double click: both answer the deactivated client, one audit row.
    off, off_again = await asyncio.gather(
        *(desk.http.post(f"{CLIENTS}/{client_id}/deactivate", headers=bearer(admin)) for _ in range(2)))
    assert off.status_code == off_again.status_code == 200 and off.json()["active"] is off_again.json()["active"] is False
    refused_quote = await desk.quote(token)
    assert refused_quote.status_code == 401 and refused_quote.json()["code"] == "UNAUTHORIZED"
    row = (await audit_rows("client.deactivate"))[-1]
    assert_by_operator(row)
    assert str(row.client_id) == client_id
    assert row.detail == {"before": {"active": True}, "after": {"active": False}}

    # Deactivating an inactive client answers it as it is and records nothing.
    twice = await desk.http.post(f"{CLIENTS}/{client_id}/deactivate", headers=bearer(admin))
    assert twice.status_code == 200 and twice.json() == off.json()
    assert len(await audit_rows("client.deactivate")) == 1

    sub = await desk.runtime.store.subscribe("admin")
    try:
        on = await desk.http.post(f"{CLIENTS}/{client_id}/activate", headers=bearer(admin))
        event = await next_event(sub)
    finally:
        await sub.close()
    assert on.status_code == 200 and on.json()["active"] is True
    assert (event["type"], event["data"]["action"], event["data"]["client"]["active"]) == (
        "client.changed", "client.activate", True)
    assert (await desk.quote(token)).status_code == 201
    assert (await audit_rows("client.activate"))[-1].detail == {"before": {"active": False}, "after": {"active": True}}
    assert (await desk.http.post(f"{CLIENTS}/{client_id}/activate", headers=bearer(admin))).status_code == 200
    assert len(await audit_rows("client.activate")) == 1

    # An admin cannot lock itself out; another admin's role is another matter.
    own = f"{CLIENTS}/{admin_id}"
    await refused(desk, "POST", f"{own}/deactivate", admin, 403, "FORBIDDEN")
    await refused(desk, "PATCH", own, admin, 403, "FORBIDDEN", json={"role": "client"})
    assert (await desk.http.patch(own, headers=bearer(admin), json={"role": "admin"})).status_code == 200
    me = await Client.get(id=admin_id)
    assert me.active and me.role == "admin"
    assert (await desk.http.get(CLIENTS, headers=bearer(admin))).status_code == 200
    second_id, second = await desk.admin("second")
    demoted = await desk.http.patch(f"{CLIENTS}/{second_id}", headers=bearer(admin), json={"role": "client"})
    assert demoted.json()["role"] == "client"
    await refused(desk, "GET", CLIENTS, second, 403, "FORBIDDEN")

    for action in ("deactivate", "activate"):
        await refused(desk, "POST", f"{CLIENTS}/{client_id}/{action}", token, 403, "FORBIDDEN")
        await refused(desk, "POST", f"{CLIENTS}/{client_id}/{action}", None, 401, "UNAUTHORIZED")
        await refused(desk, "POST", f"{CLIENTS}/not-a-uuid/{action}", admin, 404, "NOT_FOUND")
    assert len(await audit_rows("client.deactivate")) == len(await audit_rows("client.activate")) == 1


async def test_rotate_key_revokes_the_old_key_and_its_tokens(desk: Desk) -> None:
    _, admin = await desk.admin()
    made = (await desk.http.post(CLIENTS, headers=bearer(admin), json={"name": "rotor", "tier": "T1"})).json()
    old_key, path = made["apiKey"], f"{CLIENTS}/{made['id']}/rotate-key"
    old_token = await desk.login(old_key)

    sub = await desk.runtime.store.subscribe("admin")
    try:
        rotated = await desk.http.post(path, headers=bearer(admin))
        event = await next_event(sub)
    finally:
        await sub.close()
    assert rotated.status_code == 200, rotated.text
    new_key = rotated.json()["apiKey"]
    assert new_key != old_key and rotated.json()["keyFingerprint"] == hashlib.sha256(new_key.encode()).hexdigest()[:8]
    assert (event["data"]["action"], event["data"]["client"]["keyFingerprint"]) == (
        "client.rotate_key", rotated.json()["keyFingerprint"])
    assert "apiKey" not in event["data"]["client"]
    assert (await desk.quote(old_token)).status_code == 401
    assert (await desk.http.post("/v1/auth/login", json={"apiKey": old_key})).status_code == 401
    assert (await desk.quote(await desk.login(new_key))).status_code == 201

    row = (await audit_rows("client.rotate_key"))[-1]
    assert_by_operator(row)
    assert str(row.client_id) == made["id"]
    assert row.detail == {
        "before": {"keyFingerprint": made["keyFingerprint"], "keyRotatedAt": made["keyRotatedAt"]},
        "after": {"keyFingerprint": rotated.json()["keyFingerprint"], "keyRotatedAt": rotated.json()["keyRotatedAt"]},
    }
    assert old_key not in json.dumps(row.detail) and new_key not in json.dumps(row.detail)

    given = "rotated-by-hand-0123456789"
    chosen = await desk.http.post(path, headers=bearer(admin), json={"apiKey": given})
    assert chosen.json()["apiKey"] == given and (await desk.http.post("/v1/auth/login", json={"apiKey": given})).is_success

    _, client_token = await desk.client("bystander")
    before = await Client.get(id=made["id"])
    for bad in ({"apiKey": given}, {"apiKey": "short"}, {"apiKey": None, "extra": 1}):
        field = next(k for k in ("extra", "apiKey") if k in bad)
        await refused(desk, "POST", path, admin, 400, "VALIDATION_ERROR", field, json=bad)
    await refused(desk, "POST", path, client_token, 403, "FORBIDDEN")
    await refused(desk, "POST", path, None, 401, "UNAUTHORIZED")
    await refused(desk, "POST", f"{CLIENTS}/00000000-0000-0000-0000-000000000000/rotate-key", admin, 404, "NOT_FOUND")
    after = await Client.get(id=made["id"])
    assert (after.api_key_hash, after.key_rotated_at) == (before.api_key_hash, before.key_rotated_at)
    assert len(await audit_rows("client.rotate_key")) == 2
