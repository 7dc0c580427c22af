"""Liveness and readiness.

``/health/ready`` answers 200 when this worker can reach the database and the store: those
are what a load balancer must route around. Spot sources and liquidity providers (fresh or
not, age, last error, circuit breaker) and alert sinks (active, or stopped after a permanent refusal) are
reported but do not make the worker unready: an outside feed's outage must be visible
without taking the admin API, which operators need most then, out of the load balancer.
"""

from __future__ import annotations

import asyncio
from typing import Any, Literal

from pydantic import BaseModel, Field
from pydantic.json_schema import SkipJsonSchema
from sanic import Blueprint, Request
from sanic.response import HTTPResponse, json

from otc_framework.alerts import sink_state
from otc_framework.errors import NotReady, OtcError
from otc_framework.execution.breaker import shared_states
from otc_framework.runtime.lease_report import lease_states
from otc_framework.storage.database import ping as ping_database
from otc_framework.web.endpoint import endpoint
from otc_framework.web.problems import problem_response
from otc_framework.web.tracing import request_trace_id

CHECK_TIMEOUT_SECONDS = 2.0

bp = Blueprint("health")


# The answers below are built as plain dicts; these models only describe them for the API document.


class Liveness(BaseModel):
    status: Literal["ok"]


def _without_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)


class Check(BaseModel):
    """One dependency's probe."""

    ok: bool
    # Absent, never null, when ok: the schema says string and shows no (null) default.
    error: str | SkipJsonSchema[None] = Field(
        default=None,
        description="Why the probe failed; absent when ok",
        json_schema_extra=_without_default,
    )


class SpotSourceReport(BaseModel):
    """One spot source: reported for operators, never a reason to be unready."""

    fresh: bool = Field(description="Its newest rate is within the allowed age and it has no error")
    age_seconds: float | None = Field(alias="ageSeconds", description="Age of its newest rate; null before the first")
    instruments: dict[str, float] = Field(description="Age in seconds of each instrument's rate")
    last_error: str | None = Field(alias="lastError")


class BreakerReport(BaseModel):
    """An LP's circuit breaker: open, the LP is skipped by hedging until ``openUntil``."""

    open: bool
    failures: int = Field(description="Consecutive failures counted")
    open_until: float | None = Field(alias="openUntil", description="Epoch seconds; null if it never opened")
    last_error: str | None = Field(alias="lastError")


class LpProviderReport(BaseModel):
    """One liquidity provider of the LP feed: reported for operators, never a reason to be unready."""

    fresh: bool = Field(description="Its newest price is at most 10 s old and its last poll had no error")
    age_seconds: float | None = Field(alias="ageSeconds", description="Age of its newest price; null before the first")
    prices: dict[str, float] = Field(description="Age in seconds of each price, by instrument (e.g. USDC/BRL D1)")
    last_error: str | None = Field(alias="lastError")
    breaker: BreakerReport | None = Field(description="Its circuit breaker as the execution engine shares it; "
                                                      "null when the store cannot say")


class AlertSinkReport(BaseModel):
    """One alert sink: stopped once it refused for good (bad token, unknown chat or webhook)."""

    state: Literal["active", "stopped", "unknown"] = Field(description="unknown when the store cannot say")
    error: str | None = Field(description="Why it was stopped")
    since: str | None = Field(description="When it was stopped")


class LeaseReport(BaseModel):
    """A background loop's lease: the one process that runs the loop now."""

    holder: str | None = Field(description="host:pid:nonce of the worker holding it; null when nobody does "
                                            "(it passes to another worker within seconds)")
    here: bool = Field(description="The worker answering holds it")
    known: bool = Field(description="false when the store could not say (holder is then null)")


class Readiness(BaseModel):
    status: Literal["ready"]
    database: Check
    store: Check
    spot: dict[str, SpotSourceReport] = Field(description="By source name")
    lp: dict[str, LpProviderReport] = Field(description="By liquidity provider name")
    alerts: dict[str, AlertSinkReport] = Field(description="By sink name")
    leases: dict[str, LeaseReport] = Field(description="By loop (lease) name")


@bp.get("/health")
@endpoint("Liveness: the worker answers", auth="none", responses={200: Liveness}, tags=("health",))
async def liveness(request: Request) -> HTTPResponse:
    return json({"status": "ok"})


async def _check(probe: Any) -> dict[str, Any]:
    try:
        await asyncio.wait_for(probe(), CHECK_TIMEOUT_SECONDS)
    except TimeoutError:
        return {"ok": False, "error": f"no answer within {CHECK_TIMEOUT_SECONDS:g} s"}
    except OtcError as exc:
        return {"ok": False, "error": str(exc)}
    return {"ok": True}


async def _lp_report(runtime: Any) -> dict[str, Any]:
    report = runtime.lp_feed.report()
    try:
        breakers = await asyncio.wait_for(shared_states(runtime.store, report), CHECK_TIMEOUT_SECONDS)
    except (TimeoutError, OtcError):
        breakers = {}
    return {name: {**entry, "breaker": breakers.get(name)} for name, entry in report.items()}


@bp.get("/health/ready")
@endpoint(
    "Readiness: the worker reaches the database and the store",
    auth="none",
    responses={200: Readiness},
    errors=(NotReady,),
    description="503 NOT_READY when the database or the store is unreachable; that problem carries the same "
    "database, store, spot, lp, alerts and leases members. Spot sources, liquidity providers and alert sinks are "
    "reported but never make the worker unready.",
    tags=("health",),
)
async def readiness(request: Request) -> HTTPResponse:
    runtime = request.app.ctx.runtime
    database, store = await asyncio.gather(_check(ping_database), _check(runtime.store.ping))
    report = {
        "database": database,
        "store": store,
        "spot": runtime.spot_feed.report(await runtime.spot_max_age_seconds()),
        "lp": await _lp_report(runtime),
        "alerts": await sink_state.report(runtime.store, runtime.alert_fingerprints),
        "leases": await lease_states(runtime.store, runtime.leased_loops),
    }
    if database["ok"] and store["ok"]:
        return json({"status": "ready", **report})
    problem = NotReady("database or store unreachable", **report)
    return problem_response(problem, request_trace_id(request))
