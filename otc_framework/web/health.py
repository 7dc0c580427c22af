"""Liveness and readiness.

``/health/ready`` answers 200 when this worker can reach the database and the store: those
are what a load balancer must route around. Spot sources are reported (fresh or not, age,
last error) but do not make the worker unready: an outside feed's outage must be visible
without taking the admin API, which operators need most then, out of the load balancer.
"""

from __future__ import annotations

import asyncio
from typing import Any

from sanic import Blueprint, Request
from sanic.response import HTTPResponse, json

from otc_framework.errors import NotReady, OtcError
from otc_framework.storage.database import ping as ping_database
from otc_framework.web.problems import problem_response
from otc_framework.web.tracing import request_trace_id

CHECK_TIMEOUT_SECONDS = 2.0

bp = Blueprint("health")


@bp.get("/health")
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


@bp.get("/health/ready")
async def readiness(request: Request) -> HTTPResponse:
    runtime = request.app.ctx.runtime
    database, store = await asyncio.gather(_check(ping_database), _check(runtime.store.ping))
    report = {
        "database": database,
        "store": store,
        "spot": runtime.spot_feed.report(runtime.spot_max_age_seconds),
    }
    if database["ok"] and store["ok"]:
        return json({"status": "ready", **report})
    problem = NotReady("database or store unreachable", **report)
    return problem_response(problem, request_trace_id(request))
