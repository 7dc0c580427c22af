"""Controls (SPEC §8, §9); the rules are in ``controls.service``."""

from __future__ import annotations

from typing import Any

from sanic import Blueprint, Request, Sanic
from sanic.response import HTTPResponse

from otc_framework.admin.access import admin_caller, backoffice, by_admin
from otc_framework.admin.reference_schemas import ControlAnswer, ControlList, ControlUpdate
from otc_framework.controls.service import list_controls, set_control
from otc_framework.web.bodies import answer, parse_body
from otc_framework.web.endpoint import choices, endpoint

bp = Blueprint("admin_controls")


def control_keys(app: Sanic) -> dict[str, Any]:
    """The deployment's controls, core and plugin: what ``{key}`` may be."""
    return choices(sorted(app.ctx.runtime.control_definitions))


@bp.get("/v1/admin/controls")
@endpoint("Every control, core and plugin, with its type, default and value", auth="admin",
          responses={200: ControlList}, tags=("admin",),
          description="Ordered by key. Values are JSON-typed: bool → true/false, int → number, decimal → string, "
                      'enum and string → string, csv → one comma-separated string ("a,b").')
async def get_controls(request: Request) -> HTTPResponse:
    await admin_caller(request)
    states = await list_controls(backoffice(request))
    return answer(ControlList(items=[ControlAnswer.of(s) for s in states]))


@bp.put("/v1/admin/controls/<key:str>")
@endpoint("Change one control", auth="admin", request=ControlUpdate, responses={200: ControlAnswer}, tags=("admin",),
          description="Applies to the next request in every worker. An unknown control is a VALIDATION_ERROR on "
                      "`key`; a value its type, bounds or references refuse, one on `value`.",
          path={"key": control_keys})
async def put_control(request: Request, key: str) -> HTTPResponse:
    actor = by_admin(await admin_caller(request))
    body = parse_body(request, ControlUpdate)
    change = await set_control(backoffice(request), actor, key, body.value)
    return answer(ControlAnswer.of(change.state))
