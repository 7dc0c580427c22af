"""Login, tokens and their revocation (SPEC §7), and privacy of what clients see (§6)."""

from __future__ import annotations

import base64
import json

import jwt
import pytest
from sanic import Blueprint, Request
from sanic.response import json as json_response

from otc_framework.admin.access import Actor
from otc_framework.admin.clients import create_client, rotate_client_key, set_client_active
from otc_framework.auth.guard import authenticate
from otc_framework.plugins import build_plugin_host
from otc_framework.storage.models import AuditLog, AuditSource, Role, Tier
from otc_framework.web import create_app
from otc_framework.web.endpoint import endpoint
from tests import scripted_plugin
from tests.conftest import JWT_SECRET
from tests.desk import Desk, bearer, desk_config

OPS = Actor("ops", AuditSource.ADMIN)
FORBIDDEN_KEYS = ("tier", "spread", "reference", "snapshot", "apikeyhash", "ratio", "adder", "spot")
FORBIDDEN_VALUES = {"SELL", *(t.value for t in Tier)}


def private_leaks(value: object) -> list[str]:
    """Keys naming internal pricing, and values that are a tier or the desk's side."""
    if isinstance(value, dict):
        found = [k for k in value if any(word in k.lower() for word in FORBIDDEN_KEYS)]
        return found + [leak for v in value.values() for leak in private_leaks(v)]
    if isinstance(value, list):
        return [leak for v in value for leak in private_leaks(v)]
    return [str(value)] if value in FORBIDDEN_VALUES else []


def claims(token: str) -> dict:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


async def test_login_gives_a_12h_token_without_tier(desk: Desk) -> None:
    client_id, token = await desk.client("acme", Tier.T2)
    body = claims(token)
    assert set(body) == {"sub", "apiKeyHash", "clientName", "role", "groupId", "iat", "exp"}
    assert (body["sub"], body["clientName"], body["role"]) == (client_id, "acme", "client")
    assert body["exp"] - body["iat"] == 12 * 3600
    assert private_leaks({k: v for k, v in body.items() if k != "apiKeyHash"}) == []


async def test_unknown_key_is_refused_and_audited_without_the_key(desk: Desk) -> None:
    key = "otc_" + "x" * 43
    response = await desk.http.post("/v1/auth/login", json={"apiKey": key})
    assert response.status_code == 401 and response.json()["code"] == "UNAUTHORIZED"
    row = await AuditLog.get(action="LOGIN_FAILED")
    assert row.ip_address == "127.0.0.1" and row.actor == "anonymous"
    assert "x" * 8 not in json.dumps(row.detail) and "otc_" not in json.dumps(row.detail)


async def test_inactive_client_cannot_log_in(desk: Desk) -> None:
    created = await create_client(OPS, "gone", Tier.T1)
    await set_client_active(desk.runtime.backoffice, OPS, str(created.client.id), False)
    response = await desk.http.post("/v1/auth/login", json={"apiKey": created.api_key})
    assert response.status_code == 401
    assert (await AuditLog.get(action="LOGIN_FAILED")).detail == {"reason": "client inactive"}


async def test_a_forwarded_for_header_from_a_client_is_ignored(desk: Desk) -> None:
    key = "otc_" + "y" * 43
    await desk.http.post("/v1/auth/login", json={"apiKey": key}, headers={"X-Forwarded-For": "203.0.113.9"})
    row = await AuditLog.get(action="LOGIN_FAILED")
    assert row.ip_address == "127.0.0.1", "a client named its own address"


@pytest.mark.parametrize("desk_tree", [{"server": {"trusted_proxies": ["127.0.0.0/8"]}}])
async def test_a_trusted_proxy_names_the_client_it_saw(desk: Desk) -> None:
    key = "otc_" + "z" * 43
    # The proxy appends the address it saw; what the client claimed before it counts for nothing.
    forwarded = {"X-Forwarded-For": "198.51.100.7, 203.0.113.9"}
    await desk.http.post("/v1/auth/login", json={"apiKey": key}, headers=forwarded)
    await desk.http.post("/v1/auth/login", json={"apiKey": key}, headers={"X-Forwarded-For": "not-an-address"})
    rows = await AuditLog.filter(action="LOGIN_FAILED").order_by("id")
    assert [row.ip_address for row in rows] == ["203.0.113.9", "127.0.0.1"]


@pytest.mark.parametrize("desk_tree", [{"rate_limits": {"login_burst": 2, "login_per_second": 0.01}}])
async def test_login_attempts_are_rate_limited_per_ip(desk: Desk) -> None:
    codes = [(await desk.http.post("/v1/auth/login", json={"apiKey": "otc_nope"})).status_code for _ in range(3)]
    assert codes == [401, 401, 429]
    limited = await desk.http.post("/v1/auth/login", json={"apiKey": "otc_nope"})
    assert limited.json()["code"] == "RATE_LIMITED" and int(limited.headers["Retry-After"]) >= 1


async def test_missing_bad_and_expired_tokens(desk: Desk) -> None:
    client_id, token = await desk.client()
    expired = jwt.encode({**claims(token), "iat": 1_000, "exp": 2_000}, JWT_SECRET, algorithm="HS256")
    forged = jwt.encode(claims(token), "another-secret-of-thirty-two-chars!!", algorithm="HS256")
    for headers in ({}, {"Authorization": "Bearer"}, {"Authorization": "Basic abc"}, bearer("not.a.jwt"),
                    bearer(expired), bearer(forged)):
        response = await desk.http.get("/v1/prices", headers=headers)
        assert response.status_code == 401 and response.json()["code"] == "UNAUTHORIZED", headers


async def test_deactivation_revokes_a_live_token(desk: Desk) -> None:
    client_id, token = await desk.client()
    assert (await desk.quote(token)).status_code == 201
    await set_client_active(desk.runtime.backoffice, OPS, client_id, False)
    refused = await desk.quote(token)
    assert refused.status_code == 401 and refused.json()["code"] == "UNAUTHORIZED"
    await set_client_active(desk.runtime.backoffice, OPS, client_id, True)
    assert (await desk.quote(token)).status_code == 201


async def test_rotation_revokes_tokens_and_the_old_key(desk: Desk) -> None:
    created = await create_client(OPS, "rotor", Tier.T1)
    token = await desk.login(created.api_key)
    rotated = await rotate_client_key(desk.runtime.backoffice, OPS, str(created.client.id))
    assert (await desk.quote(token)).status_code == 401
    assert (await desk.http.post("/v1/auth/login", json={"apiKey": created.api_key})).status_code == 401
    fresh = await desk.login(rotated.api_key)
    assert (await desk.quote(fresh)).status_code == 201


async def test_client_answers_carry_no_internal_pricing(desk: Desk) -> None:
    _, token = await desk.client()
    quote = await desk.quote(token)
    close = await desk.close(token, quote.json()["sessionId"])
    listing = await desk.http.get("/v1/closings", headers=bearer(token))
    one = await desk.http.get(f"/v1/closings/{close.json()['closingId']}", headers=bearer(token))
    prices = await desk.http.get("/v1/prices", headers=bearer(token))
    for response in (quote, close, listing, one, prices):
        assert response.status_code in (200, 201)
        assert private_leaks(response.json()) == [], response.text
    assert quote.json()["side"] == close.json()["side"] == "BUY"


async def test_admin_routes_need_the_admin_role(
    migrated_database_url: str, store_url: str, store_namespace: str, serve
) -> None:
    admin_only = Blueprint("admin_probe")

    @admin_only.get("/v1/admin/probe")
    @endpoint("probe", auth="admin")
    async def probe(request: Request):
        caller = await authenticate(request, admin=True)
        return json_response({"name": caller.client.name})

    config = desk_config(migrated_database_url, store_url, store_namespace)
    plugins = build_plugin_host(config, modules={"scripted": scripted_plugin.plugin}, env={})
    app = create_app(config, plugins, unique_name=True)
    app.blueprint(admin_only)
    live = await serve(app)
    desk = Desk(live)
    _, client_token = await desk.client("client")
    _, admin_token = await desk.client("boss", role=Role.ADMIN)
    refused = await desk.http.get("/v1/admin/probe", headers=bearer(client_token))
    assert refused.status_code == 403 and refused.json()["code"] == "FORBIDDEN"
    assert (await desk.http.get("/v1/admin/probe", headers=bearer(admin_token))).json() == {"name": "boss"}
    assert (await desk.http.get("/v1/admin/probe")).status_code == 401
    # With the client API off, admins still get in (and may still log in).
    await desk.set_control("api_enabled", False)
    assert (await desk.http.get("/v1/admin/probe", headers=bearer(admin_token))).status_code == 200
