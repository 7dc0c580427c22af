"""The operators' view of alerts (SPEC §13): every alert with its delivery per sink, and a
test alert to check that every sink delivers."""

from __future__ import annotations

from sanic import Blueprint, Request
from sanic.response import HTTPResponse

from otc_framework.admin.access import admin_caller
from otc_framework.alerts import kinds, repository
from otc_framework.alerts.schemas import AlertPage, AlertQuery, AlertView
from otc_framework.alerts.service import AlertService
from otc_framework.errors import NotReady
from otc_framework.web.bodies import answer, parse_query
from otc_framework.web.endpoint import endpoint
from otc_framework.web.pages import newest_first

bp = Blueprint("admin_alerts")

_TAGS = ("admin",)


@bp.get("/v1/admin/alerts")
@endpoint("Alerts, newest first, each with its delivery per sink", auth="admin", query=AlertQuery,
          responses={200: AlertPage}, tags=_TAGS)
async def list_alerts(request: Request) -> HTTPResponse:
    await admin_caller(request)
    query = parse_query(request, AlertQuery)
    found = repository.matching(query.kind, query.severity, query.since, query.until)
    rows, cursor = await newest_first(found, query.limit, query.cursor)
    deliveries = await repository.deliveries_of(rows)
    return answer(AlertPage(items=[AlertView.of(r, deliveries[r.id]) for r in rows], next_cursor=cursor))


async def raise_test_alert(alerts: AlertService, actor: str) -> AlertView:
    """A test alert to every enabled sink, whatever their routing (API and CLI alike)."""
    record = await alerts.raise_alert(
        kinds.TEST, "Test alert", f"Raised by {actor} to check that every alert sink delivers.",
        severity="info", every_sink=True,
    )
    if record is None:
        raise NotReady("the alert could not be recorded; the database is unreachable")
    return AlertView.raised(record, alerts.sinks)


@bp.post("/v1/admin/alerts/test")
@endpoint("Raise a test alert to every sink", auth="admin", responses={201: AlertView}, errors=(NotReady,),
          description="Queued for every enabled sink regardless of routing and deduplication; follow its "
          "deliveries in GET /v1/admin/alerts.", tags=_TAGS)
async def test_alert(request: Request) -> HTTPResponse:
    caller = await admin_caller(request)
    return answer(await raise_test_alert(request.app.ctx.runtime.alerts, caller.client.name), status=201)
