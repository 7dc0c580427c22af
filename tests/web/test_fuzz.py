"""The API fuzzed as an integrator meets it: schemathesis reads a real ``otc serve``'s
``/openapi.json`` and sends what the document allows and what it forbids, on SQLite with the
in-process store and on PostgreSQL with Redis, as an admin (so every operation is reached).

Every check schemathesis has applies, with two answers it cannot know about:

- a 5xx fails unless it is a 503 the operation documents (``only_documented_503``, in place of
  ``not_a_server_error``): a desk that is switched off or cannot reach a dependency says so;
- a well-formed request may still be refused for what the desk holds, which no schema can
  say (``STATE_RULES``: a name in use, an order outside the order limits, a session that
  expired), and a WebSocket route answers 426 to a request without the upgrade, which is all
  an HTTP fuzzer can send (``accepts_valid_requests``, in place of ``positive_data_acceptance``).

It runs every phase ``st run`` does (examples, coverage, fuzzing, stateful), through the same
engine, so a failure here is one an integrator trying ``st run --checks all`` would see; the
report lists each with its ``curl`` reproduction. Generation is deterministic, bounded per
operation and never shrinks, so a run costs the same every time. The fuzzer may change
controls; each change is undone after its request, so the operations after it still meet a
desk that quotes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from schemathesis import CheckContext
from schemathesis.engine import events, from_schema
from schemathesis.specs.openapi.checks import positive_data_acceptance

from otc_framework.demo import VenueThread
from otc_framework.plugins import demo_venues
from otc_framework.testing.fake_venue import DemoSettings
from tests.served import ROOT, otc_serve

EXAMPLES_PER_OPERATION = 50
STATEFUL_STEPS = 10

BACKENDS = pytest.mark.parametrize(
    ("migrated_database_url", "store_url"), [("sqlite", "memory"), ("postgres", "redis")], indirect=True,
    ids=["sqlite-memory", "postgres-redis"],
)

# (status, code, field) a schema-valid request may be answered with, per operation, because the
# rule depends on the desk's data: names and group ids are unique, a holiday per date and market,
# a control's value type is the control's, orders are bounded by controls, sessions expire.
STATE_RULES: dict[str, set[tuple[int, str, str | None]]] = {
    "POST /v1/admin/clients": {(400, "VALIDATION_ERROR", f) for f in ("name", "groupId", "apiKey")},
    "PATCH /v1/admin/clients/{client_id}": {(400, "VALIDATION_ERROR", f) for f in ("name", "groupId")},
    "POST /v1/admin/clients/{client_id}/rotate-key": {(400, "VALIDATION_ERROR", "apiKey")},
    "POST /v1/admin/holidays": {(400, "VALIDATION_ERROR", "date")},
    "PUT /v1/admin/controls/{key}": {(400, "VALIDATION_ERROR", "value")},
    "POST /v1/sessions": {(400, "VALIDATION_ERROR", "amount")},
    "POST /v1/sessions/{session_id}/close": {(410, "SESSION_EXPIRED", None)},
}


@dataclass(frozen=True)
class Desk:
    url: str
    token: str
    admin_id: str
    spare_id: str  # a client the fuzzer may rotate the key of instead of its own
    controls: dict[str, Any]  # every control's value before the run


def _problem(response: Any) -> tuple[int, str | None, str | None]:
    try:
        body = response.json()
    except ValueError:
        body = None
    body = body if isinstance(body, dict) else {}
    return response.status_code, body.get("code"), body.get("field")


# Registered with schemathesis (for every schema of this process: only this module loads one);
# the config below turns off the two built-in checks they replace.
@schemathesis.check
def only_documented_503(ctx: CheckContext, response: Any, case: Any) -> None:
    """A 5xx is a failure unless it is a 503 this operation documents."""
    if response.status_code < 500:
        return
    documented = case.operation.definition.raw.get("responses", {})
    assert response.status_code == 503 and "503" in documented, (
        f"{response.status_code} is not a documented 503: {response.text[:300]}"
    )


@schemathesis.check
def accepts_valid_requests(ctx: CheckContext, response: Any, case: Any) -> None:
    """``positive_data_acceptance``, but for the refusals the module docstring lists."""
    status, code, field = _problem(response)
    if (status, code, field) in STATE_RULES.get(case.operation.label, ()):
        return
    if case.operation.definition.raw.get("x-websocket") and (status, code) == (426, "UPGRADE_REQUIRED"):
        return
    positive_data_acceptance(ctx, response, case)


def _otc(served: Any, *args: str) -> Any:
    done = subprocess.run([sys.executable, "-m", "otc_framework.cli", *args, "--config", str(served.config)],
                          cwd=ROOT, capture_output=True, text=True, timeout=120, env={**os.environ, **served.env})
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.fixture
def desk(migrated_database_url: str, store_url: str, store_namespace: str, tmp_path: Path) -> Iterator[Desk]:
    """``otc serve`` on the backends, priced off the fake ValorPro at 5.00, always open."""
    venues = VenueThread()
    try:
        section = venues.start(demo_venues(["spot_valorpro"]), DemoSettings(Decimal("5.00")))["spot_valorpro"]
        toml = (
            "[market_hours]\nalways_open = true\n[spot]\npoll_interval_seconds = 0.2\n"
            f'[plugins.spot_valorpro]\nbase_url = "{section["base_url"]}"\ntoken = "{section["token"]}"\n'
        )
        with otc_serve(tmp_path, migrated_database_url, store_namespace, workers=1, toml=toml,
                       plugins=["spot_valorpro"], store_url=store_url) as served:
            served.wait_ready(lambda body: body["spot"]["valorpro"]["fresh"])
            admin = _otc(served, "client", "create", "--name", "fuzz-admin", "--tier", "T1", "--role", "admin")
            login = httpx.post(f"{served.url}/v1/auth/login", json={"apiKey": admin["apiKey"]}, timeout=10)
            token = login.json()["token"]
            auth = {"Authorization": f"Bearer {token}"}
            spare = httpx.post(f"{served.url}/v1/admin/clients", json={"name": "fuzz-spare", "tier": "T2"},
                               headers=auth, timeout=10).json()
            controls = httpx.get(f"{served.url}/v1/admin/controls", headers=auth, timeout=10).json()["items"]
            yield Desk(served.url, token, admin["id"], spare["id"], {c["key"]: c["value"] for c in controls})
    finally:
        venues.stop()


def api_schema(desk: Desk) -> Any:
    config = schemathesis.Config.from_dict({
        "headers": {"Authorization": f"Bearer {desk.token}"},
        "workers": 1,
        "generation": {"max-examples": EXAMPLES_PER_OPERATION, "deterministic": True, "no-shrink": True,
                       "database": "none"},
        "phases": {"stateful": {"max-steps": STATEFUL_STEPS}},
        "checks": {"not_a_server_error": {"enabled": False}, "positive_data_acceptance": {"enabled": False}},
    })
    schema = schemathesis.openapi.from_url(f"{desk.url}/openapi.json", config=config)

    @schema.hook
    def map_case(context: Any, case: Any) -> Any:
        """Rotating its own key would log the fuzzer out for the rest of the run: rotate another's."""
        if case.operation.path.endswith("/rotate-key") and case.path_parameters.get("client_id") == desk.admin_id:
            case.path_parameters["client_id"] = desk.spare_id
        return case

    @schema.hook
    def after_call(context: Any, case: Any, response: Any) -> None:
        """Undo a control change, so what runs next meets a desk that quotes."""
        key = (case.path_parameters or {}).get("key")
        if case.operation.label == "PUT /v1/admin/controls/{key}" and key in desk.controls:
            httpx.put(f"{desk.url}/v1/admin/controls/{key}", json={"value": desk.controls[key]},
                      headers={"Authorization": f"Bearer {desk.token}"}, timeout=10).raise_for_status()

    return schema


def failures_of(stream: Any) -> list[str]:
    """Every distinct failure and engine error of a run, with how to reproduce it."""
    found: dict[tuple[str, str, str], str] = {}
    for event in stream:
        if isinstance(event, events.FatalError):
            raise event.exception
        if isinstance(event, events.NonFatalError):
            found[(event.label, "error", str(event.value))] = f"{event.label}: {event.info.format()}"
        recorder = getattr(event, "recorder", None)
        if isinstance(event, (events.ScenarioFinished, events.FuzzScenarioFinished)) and recorder is not None:
            for checks in recorder.checks.values():
                for check in checks:
                    info = check.failure_info
                    if info is not None:
                        failure = info.failure
                        key = (failure.operation or recorder.label, failure.title, failure.message)
                        found[key] = f"{key[0]}: {failure.title}\n{failure.message}\n{info.code_sample}"
        if isinstance(event, events.EngineFinished):
            for failure in event.failures:
                found[(failure.operation or "", failure.title, failure.message)] = f"{failure.title}: {failure.message}"
    return list(found.values())


@BACKENDS
def test_the_api_answers_as_documented(desk: Desk) -> None:
    failures = failures_of(from_schema(api_schema(desk)).execute())
    assert not failures, f"{len(failures)} failures:\n\n" + "\n\n".join(failures)
    # Still logged in: the run reached every operation as an admin, not as a refused stranger.
    still = httpx.get(f"{desk.url}/v1/admin/controls", headers={"Authorization": f"Bearer {desk.token}"}, timeout=10)
    assert still.status_code == 200, still.text
