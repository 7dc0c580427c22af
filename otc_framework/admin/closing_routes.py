"""Closings and their lifecycle (SPEC §9): list, detail, advance / revert / cancel, send-to-desk.

Every action takes ``{from}``, the status the operator saw, so a double click or two
operators never move a trade two steps (``admin.closings`` explains how).
"""

from __future__ import annotations

from sanic import Blueprint, Request
from sanic.response import HTTPResponse

from otc_framework.admin import closings
from otc_framework.admin.access import admin_caller, backoffice, by_admin
from otc_framework.admin.audit_schemas import AuditEntry
from otc_framework.admin.closing_schemas import (
    AdminClosingPage,
    AdminClosingQuery,
    ClosingDetail,
    DeskDelivery,
    SeenStatus,
    SentToDesk,
)
from otc_framework.admin.lifecycle import Action
from otc_framework.closings.schemas import AdminClosing
from otc_framework.errors import IllegalTransition, NotFound, NotReady, StatusConflict, ValidationFailed
from otc_framework.execution.schemas import HedgeView
from otc_framework.web.bodies import answer, parse_body, parse_query
from otc_framework.web.endpoint import UUID_PARAM, endpoint
from otc_framework.web.pages import newest_first

bp = Blueprint("admin_closings")

_TAGS = ("admin",)
_LIFECYCLE_ERRORS = (NotFound, IllegalTransition, StatusConflict)
_ONE = {"closing_id": UUID_PARAM}


@bp.get("/v1/admin/closings")
@endpoint("Closings, newest first, filtered", auth="admin", query=AdminClosingQuery,
          responses={200: AdminClosingPage}, tags=_TAGS)
async def list_closings(request: Request) -> HTTPResponse:
    await admin_caller(request)
    query = parse_query(request, AdminClosingQuery)
    found = closings.matching(status=query.status, client_id=query.client_id, currency=query.currency,
                              settlement=query.settlement, since=query.since, until=query.until)
    rows, cursor = await newest_first(found, query.limit, query.cursor)
    return answer(AdminClosingPage(items=[AdminClosing.of(r) for r in rows], next_cursor=cursor))


@bp.get("/v1/admin/closings/<closing_id:str>")
@endpoint("A closing with every snapshot column, its audit trail and its hedge", auth="admin",
          responses={200: ClosingDetail}, errors=(NotFound,), tags=_TAGS, path=_ONE)
async def get_closing(request: Request, closing_id: str) -> HTTPResponse:
    await admin_caller(request)
    found = await closings.closing_record(closing_id)
    return answer(ClosingDetail(
        closing=AdminClosing.of(found.closing),
        audit=[AuditEntry.of(row) for row in found.trail],
        hedge=HedgeView.of(found.hedge) if found.hedge is not None else None,
    ))


async def _transition(request: Request, closing_id: str, action: Action) -> HTTPResponse:
    actor = by_admin(await admin_caller(request))
    body = parse_body(request, SeenStatus)
    closing = await closings.transition(closing_id, action, body.seen, office=backoffice(request), actor=actor)
    return answer(AdminClosing.of(closing))


@bp.post("/v1/admin/closings/<closing_id:str>/advance")
@endpoint("Advance a closing one step: pending → funded → paid → settled", auth="admin", request=SeenStatus,
          responses={200: AdminClosing}, errors=_LIFECYCLE_ERRORS, tags=_TAGS, path=_ONE)
async def advance_closing(request: Request, closing_id: str) -> HTTPResponse:
    return await _transition(request, closing_id, Action.ADVANCE)


@bp.post("/v1/admin/closings/<closing_id:str>/revert")
@endpoint("Revert a closing one step: paid → funded, funded → pending", auth="admin", request=SeenStatus,
          responses={200: AdminClosing}, errors=_LIFECYCLE_ERRORS, tags=_TAGS, path=_ONE)
async def revert_closing(request: Request, closing_id: str) -> HTTPResponse:
    return await _transition(request, closing_id, Action.REVERT)


@bp.post("/v1/admin/closings/<closing_id:str>/cancel")
@endpoint("Cancel a closing that is not settled", auth="admin", request=SeenStatus,
          responses={200: AdminClosing}, errors=_LIFECYCLE_ERRORS, tags=_TAGS, path=_ONE)
async def cancel_closing(request: Request, closing_id: str) -> HTTPResponse:
    return await _transition(request, closing_id, Action.CANCEL)


@bp.post("/v1/admin/closings/<closing_id:str>/send-to-desk")
@endpoint("Send a paid closing to the desk endpoint", auth="admin", request=SeenStatus,
          responses={200: SentToDesk}, errors=(*_LIFECYCLE_ERRORS, ValidationFailed, NotReady), tags=_TAGS, path=_ONE,
          description="POSTs the trade with `Idempotency-Key: <closing id>`, retrying transient failures. "
                      "The status does not change. NOT_READY when no desk endpoint is configured or the desk "
                      "did not accept the trade; every call made is audited as `closing.send_to_desk`.")
async def send_closing_to_desk(request: Request, closing_id: str) -> HTTPResponse:
    actor = by_admin(await admin_caller(request))
    body = parse_body(request, SeenStatus)
    runtime = request.app.ctx.runtime
    closing, delivery = await closings.send_to_desk(closing_id, body.seen, office=backoffice(request), actor=actor,
                                                    desk=runtime.config.desk, http=runtime.http)
    return answer(SentToDesk(
        closing=AdminClosing.of(closing),
        desk=DeskDelivery(outcome=delivery.outcome, http_status=delivery.http_status, attempts=delivery.attempts),
    ))
