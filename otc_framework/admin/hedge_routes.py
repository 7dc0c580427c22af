"""Hedges (SPEC §9, §10): list (today by default), detail, and retry / release / mark-filled.

Every action takes ``{from}``, the status the operator saw, and answers the hedge as it is now
(``admin.hedges`` explains the rules).
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from sanic import Blueprint, Request
from sanic.response import HTTPResponse

from otc_framework.admin import hedges
from otc_framework.admin.access import admin_caller, by_admin
from otc_framework.admin.audit_schemas import AuditEntry
from otc_framework.admin.hedge_schemas import HedgeDetail, HedgePage, HedgeQuery, MarkFilled, SeenHedgeStatus
from otc_framework.admin.hedges import BackToPending
from otc_framework.errors import IllegalTransition, NotFound, StatusConflict, ValidationFailed
from otc_framework.execution.schemas import HedgeExecutionView, HedgeView
from otc_framework.web.bodies import answer, parse_body, parse_query
from otc_framework.web.endpoint import UUID_PARAM, endpoint
from otc_framework.web.pages import newest_first

bp = Blueprint("admin_hedges")

_TAGS = ("admin",)
_ACTION_ERRORS = (NotFound, IllegalTransition, StatusConflict)
_ONE = {"hedge_id": UUID_PARAM}


@bp.get("/v1/admin/hedges")
@endpoint("Hedges, newest first, filtered; the current business day's by default", auth="admin",
          query=HedgeQuery, responses={200: HedgePage}, tags=_TAGS,
          description="Without `since`, `until` or `closingId`, the hedges created on the current business day "
                      "in the desk's zone (a Monday's takes in the weekend before it).")
async def list_hedges(request: Request) -> HTTPResponse:
    caller = await admin_caller(request)
    query = parse_query(request, HedgeQuery)
    since, until = query.since, query.until
    if since is None and until is None and query.closing_id is None:
        zone = ZoneInfo(request.app.ctx.runtime.config.market_hours.timezone)
        since, until = hedges.today(caller.reference.calendar, zone)
    found = hedges.matching(status=query.status, provider=query.provider, closing_id=query.closing_id,
                            since=since, until=until)
    rows, cursor = await newest_first(found, query.limit, query.cursor)
    return answer(HedgePage(items=[HedgeView.of(r) for r in rows], next_cursor=cursor))


@bp.get("/v1/admin/hedges/<hedge_id:str>")
@endpoint("A hedge with its venue executions and its audit trail", auth="admin", responses={200: HedgeDetail},
          errors=(NotFound,), tags=_TAGS, path=_ONE)
async def get_hedge(request: Request, hedge_id: str) -> HTTPResponse:
    await admin_caller(request)
    found = await hedges.hedge_record(hedge_id)
    return answer(HedgeDetail(
        hedge=HedgeView.of(found.hedge),
        executions=[HedgeExecutionView.of(e) for e in found.executions],
        audit=[AuditEntry.of(row) for row in found.trail],
    ))


async def _back_to_pending(request: Request, hedge_id: str, act: BackToPending) -> HTTPResponse:
    actor = by_admin(await admin_caller(request))
    body = parse_body(request, SeenHedgeStatus)
    hedge = await act(hedge_id, body.seen, actor=actor, recorder=request.app.ctx.runtime.hedges)
    return answer(HedgeView.of(hedge))


@bp.post("/v1/admin/hedges/<hedge_id:str>/retry")
@endpoint("Retry a failed hedge: back to pending, sent again under a new order id", auth="admin",
          request=SeenHedgeStatus, responses={200: HedgeView}, errors=_ACTION_ERRORS, tags=_TAGS, path=_ONE,
          description="Only from `failed` (known to have failed). The engine claims it again as a new attempt "
                      "with a new derived order id; the failed order is never re-sent. Audited as `hedge.retry`.")
async def retry_hedge(request: Request, hedge_id: str) -> HTTPResponse:
    return await _back_to_pending(request, hedge_id, hedges.retry)


@bp.post("/v1/admin/hedges/<hedge_id:str>/release")
@endpoint("Release a held hedge: back to pending, sent whatever its size", auth="admin",
          request=SeenHedgeStatus, responses={200: HedgeView}, errors=_ACTION_ERRORS, tags=_TAGS, path=_ONE,
          description="Only from `held` (above `exec_max_order_amount`). Records the operator as `releasedBy`; "
                      "the engine then sends it despite the limit. Audited as `hedge.release`.")
async def release_hedge(request: Request, hedge_id: str) -> HTTPResponse:
    return await _back_to_pending(request, hedge_id, hedges.release)


@bp.post("/v1/admin/hedges/<hedge_id:str>/mark-filled")
@endpoint("Mark a hedge filled by hand, when the venue says it executed", auth="admin",
          request=MarkFilled, responses={200: HedgeView}, errors=(*_ACTION_ERRORS, ValidationFailed), tags=_TAGS,
          path=_ONE,
          description="From `unknown`, `failed` or `held`. Records one execution with the venue's trade id "
                      "`venueReference` (counted once, should the engine later find it at the venue), for the "
                      "whole unfilled amount at `fillPrice`, and recomputes the spread capture. Audited as "
                      "`hedge.mark_filled`.")
async def mark_hedge_filled(request: Request, hedge_id: str) -> HTTPResponse:
    actor = by_admin(await admin_caller(request))
    body = parse_body(request, MarkFilled)
    hedge = await hedges.mark_filled(hedge_id, body.seen, body.fill(), actor=actor,
                                     recorder=request.app.ctx.runtime.hedges)
    return answer(HedgeView.of(hedge))
