"""Controls through the admin API (SPEC §8, §9, §14): every definition, core and plugin, listed
JSON-typed; a change validated by its type, audited, announced to plugins and operators, and
in force on the next request."""

from __future__ import annotations

import types
from typing import Any

import pytest

from otc_framework.hookspecs import hookimpl
from otc_framework.plugins import build_plugin_host
from otc_framework.ports import ExecutionContext, ExecutionStrategy, HedgeOrder, LpQuote, NoHedge
from otc_framework.storage.models import AuditLog, SystemControl, Tier
from otc_framework.web import create_app
from tests import scripted_plugin
from tests.admin.support import assert_by_operator, next_event, refused
from tests.desk import Desk, bearer, desk_config

CONTROLS = "/v1/admin/controls"


class HookRecorder:
    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    @hookimpl
    def otc_control_changed(self, key: str, old: Any, new: Any, actor: str) -> None:
        self.calls.append({"key": key, "old": old, "new": new, "actor": actor})


async def test_every_control_is_listed_json_typed_with_its_owner(desk: Desk) -> None:
    _, admin = await desk.admin()
    _, client = await desk.client()
    await refused(desk, "GET", CONTROLS, None, 401, "UNAUTHORIZED")
    await refused(desk, "GET", CONTROLS, client, 403, "FORBIDDEN")
    items = (await desk.http.get(CONTROLS, headers=bearer(admin))).json()["items"]
    by_key = {item["key"]: item for item in items}
    assert [item["key"] for item in items] == sorted(desk.runtime.control_definitions)
    assert by_key["quoting_enabled"] == {
        "key": "quoting_enabled", "type": "bool", "default": True, "value": True,
        "description": "Accept new quotes (API and bot)", "choices": None, "minimum": None, "maximum": None,
        "owner": "core", "updatedBy": None, "updatedAt": None}
    ttl = by_key["session_ttl_seconds"]
    assert (ttl["type"], ttl["value"], ttl["minimum"], ttl["maximum"]) == ("int", 7, 1, 60)
    ratio = by_key["usdc_usdt_ratio"]
    assert (ratio["type"], ratio["value"], ratio["default"], ratio["minimum"]) == ("decimal", "1.0000", "1.0000", "0.9")
    assert by_key["exec_mode"]["choices"] == ["off", "auto_best", "auto_manual", "off_market"]
    assert (by_key["exec_enabled_clients"]["type"], by_key["exec_enabled_clients"]["value"]) == ("csv", "")
    # A plugin's control: listed (never seeded here, so at its default) and owned by the plugin.
    plugin = by_key["scripted_validity_sec"]
    assert (plugin["owner"], plugin["type"], plugin["value"], plugin["default"], plugin["maximum"]) == (
        "scripted", "int", 17, 17, 60)


async def test_a_change_is_validated_audited_and_announced(desk: Desk) -> None:
    _, admin = await desk.admin()
    _, client = await desk.client("acme", Tier.T1)
    for key, body, field in (
        ("no_such_control", {"value": "1"}, "key"),
        ("session_ttl_seconds", {"value": "soon"}, "value"),
        ("session_ttl_seconds", {"value": 0}, "value"),
        ("quoting_enabled", {"value": "maybe"}, "value"),
        ("exec_mode", {"value": "sometimes"}, "value"),
        ("exec_mode", {"value": "twap_test"}, "value"),  # no plugin of this desk registers it
        ("usdc_usdt_ratio", {"value": None}, "value"),
        ("scripted_validity_sec", {"value": 61}, "value"),
        ("session_ttl_seconds", {"value": 9, "note": "x"}, "note"),
        ("session_ttl_seconds", {}, "value"),
    ):
        await refused(desk, "PUT", f"{CONTROLS}/{key}", admin, 400, "VALIDATION_ERROR", field, json=body)
    problem = await refused(desk, "PUT", f"{CONTROLS}/exec_enabled_clients", admin, 400, "VALIDATION_ERROR", "value",
                            json={"value": "acme,phantom, ghost"})
    assert problem["unknown"] == ["ghost", "phantom"] and "ghost, phantom" in problem["detail"]
    await refused(desk, "PUT", f"{CONTROLS}/quoting_enabled", client, 403, "FORBIDDEN", json={"value": False})
    await refused(desk, "PUT", f"{CONTROLS}/quoting_enabled", None, 401, "UNAUTHORIZED", json={"value": False})
    assert await AuditLog.filter(action="control.update").count() == 0
    assert await SystemControl.filter(updated_by__not_isnull=True).count() == 0

    recorder = HookRecorder()
    desk.runtime.plugins.pm.register(recorder)
    sub = await desk.runtime.store.subscribe("admin")
    try:
        hedged = await desk.http.put(f"{CONTROLS}/exec_enabled_clients", headers=bearer(admin),
                                     json={"value": ["acme", "operator"]})
        first = await next_event(sub, "control.changed")
        plugin = await desk.http.put(f"{CONTROLS}/scripted_validity_sec", headers=bearer(admin), json={"value": 20})
        second = await next_event(sub, "control.changed")
    finally:
        await sub.close()
        desk.runtime.plugins.pm.unregister(recorder)
    assert hedged.status_code == 200, hedged.text
    assert (hedged.json()["value"], hedged.json()["updatedBy"]) == ("acme,operator", "operator")
    assert hedged.json()["updatedAt"] is not None
    assert (plugin.json()["value"], plugin.json()["owner"]) == (20, "scripted")
    assert first == {"key": "exec_enabled_clients", "before": "", "after": "acme,operator", "actor": "operator"}
    assert second == {"key": "scripted_validity_sec", "before": 17, "after": 20, "actor": "operator"}
    assert recorder.calls == [
        {"key": "exec_enabled_clients", "old": "", "new": "acme,operator", "actor": "operator"},
        {"key": "scripted_validity_sec", "old": 17, "new": 20, "actor": "operator"},
    ]
    rows = await AuditLog.filter(action="control.update").order_by("id")
    for row in rows:
        assert_by_operator(row)
    assert [r.detail for r in rows] == [
        {"key": "exec_enabled_clients", "before": "", "after": "acme,operator"},
        {"key": "scripted_validity_sec", "before": "17", "after": "20"},
    ]
    listed = {i["key"]: i for i in (await desk.http.get(CONTROLS, headers=bearer(admin))).json()["items"]}
    assert listed["scripted_validity_sec"] == plugin.json()


async def test_a_change_applies_to_the_next_request(desk: Desk) -> None:
    _, admin = await desk.admin()
    _, client = await desk.client("acme", Tier.T1)
    assert (await desk.quote(client)).json()["price"] == "5.0150"
    await desk.http.put(f"{CONTROLS}/quoting_enabled", headers=bearer(admin), json={"value": False})
    refusal = await desk.quote(client)
    assert (refusal.status_code, refusal.json()["code"]) == (503, "QUOTING_DISABLED")
    await desk.http.put(f"{CONTROLS}/quoting_enabled", headers=bearer(admin), json={"value": True})
    changed = await desk.http.put(f"{CONTROLS}/spread_adjustment", headers=bearer(admin), json={"value": "0.10"})
    assert changed.json()["value"] == "0.10"
    assert (await desk.quote(client)).json()["price"] == "5.0200"


class TwapMode(ExecutionStrategy):
    """An outside plugin's execution mode; only its name matters to the controls."""

    name = "twap_test"

    async def choose_quote(self, order: HedgeOrder, context: ExecutionContext) -> LpQuote:
        raise NoHedge("a test mode")


@hookimpl
def otc_execution_strategies(config: object) -> list[ExecutionStrategy]:
    return [TwapMode()]


TWAP_PLUGIN = types.ModuleType("twap_test")
TWAP_PLUGIN.otc_execution_strategies = otc_execution_strategies


@pytest.fixture
async def twap_desk(migrated_database_url: str, store_url: str, store_namespace: str, serve: Any) -> Desk:
    """A desk that also enables an outside plugin registering the mode ``twap_test``."""
    config = desk_config(migrated_database_url, store_url, store_namespace)
    config.plugins.enabled.append("twap_test")
    plugins = build_plugin_host(config, modules={"scripted": scripted_plugin.plugin, "twap_test": TWAP_PLUGIN}, env={})
    return Desk(await serve(create_app(config, plugins, unique_name=True)))


async def test_exec_mode_accepts_every_registered_mode(twap_desk: Desk) -> None:
    _, admin = await twap_desk.admin()
    items = (await twap_desk.http.get(CONTROLS, headers=bearer(admin))).json()["items"]
    exec_mode = next(item for item in items if item["key"] == "exec_mode")
    assert exec_mode["choices"] == ["off", "auto_best", "auto_manual", "off_market", "twap_test"]
    changed = await twap_desk.http.put(f"{CONTROLS}/exec_mode", headers=bearer(admin), json={"value": "twap_test"})
    assert (changed.status_code, changed.json()["value"]) == (200, "twap_test"), changed.text
    await refused(twap_desk, "PUT", f"{CONTROLS}/exec_mode", admin, 400, "VALIDATION_ERROR", "value",
                  json={"value": "nobody_registered"})
