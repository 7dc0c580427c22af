"""The audit log (SPEC §14): read-only. Rows are never updated or deleted, so this blueprint
has no route that could, and the model refuses it too (``AuditLog``)."""

from __future__ import annotations

from sanic import Blueprint, Request
from sanic.response import HTTPResponse

from otc_framework.admin.access import admin_caller
from otc_framework.admin.audit_schemas import AuditEntry, AuditPage, AuditQuery
from otc_framework.audit.query import AuditFilters, matching
from otc_framework.web.bodies import answer, parse_query
from otc_framework.web.endpoint import endpoint
from otc_framework.web.pages import newest_first

bp = Blueprint("admin_audit")


@bp.get("/v1/admin/audit-logs")
@endpoint("Audit rows, newest first, filtered", auth="admin", query=AuditQuery, responses={200: AuditPage},
          tags=("admin",))
async def list_audit_logs(request: Request) -> HTTPResponse:
    await admin_caller(request)
    query = parse_query(request, AuditQuery)
    filters = AuditFilters(**query.model_dump(include=set(AuditFilters.__dataclass_fields__)))
    rows, cursor = await newest_first(matching(filters), query.limit, query.cursor)
    return answer(AuditPage(items=[AuditEntry.of(r) for r in rows], next_cursor=cursor))
