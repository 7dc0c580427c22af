"""Holidays (SPEC §5, §9); the rules and the importer are in ``admin.holidays``."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sanic import Blueprint, Request
from sanic.response import HTTPResponse, empty

from otc_framework.admin import holidays
from otc_framework.admin.access import admin_caller, backoffice, by_admin
from otc_framework.admin.reference_schemas import (
    HolidayAnswer,
    HolidayCreate,
    HolidayImport,
    HolidayList,
    HolidayQuery,
    HolidaysImported,
)
from otc_framework.errors import NotFound
from otc_framework.web.bodies import answer, parse_body, parse_query
from otc_framework.web.endpoint import endpoint

bp = Blueprint("admin_holidays")

# The id column is a 32-bit integer: anything outside it names no holiday.
MAX_ID = 2**31 - 1


@bp.get("/v1/admin/holidays")
@endpoint("A year's holidays, by date then market", auth="admin", query=HolidayQuery, responses={200: HolidayList},
          tags=("admin",))
async def list_holidays(request: Request) -> HTTPResponse:
    await admin_caller(request)
    query = parse_query(request, HolidayQuery)
    zone = ZoneInfo(request.app.ctx.runtime.config.market_hours.timezone)
    year = query.year or datetime.now(UTC).astimezone(zone).year
    rows = await holidays.list_holidays(year, query.market)
    return answer(HolidayList(items=[HolidayAnswer.of(r) for r in rows]))


@bp.post("/v1/admin/holidays")
@endpoint("Add a holiday", auth="admin", request=HolidayCreate, responses={201: HolidayAnswer}, tags=("admin",),
          description="A date the market already has is a VALIDATION_ERROR on `date`. Market hours use it at once.")
async def add_holiday(request: Request) -> HTTPResponse:
    actor = by_admin(await admin_caller(request))
    body = parse_body(request, HolidayCreate)
    row = await holidays.add_holiday(backoffice(request), actor, body.date, body.label, body.market)
    return answer(HolidayAnswer.of(row), status=201)


@bp.delete("/v1/admin/holidays/<holiday_id:str>")
@endpoint("Remove a holiday", auth="admin", errors=(NotFound,), tags=("admin",), no_content=True,
          path={"holiday_id": {"type": "integer", "minimum": 1, "maximum": MAX_ID}})
async def delete_holiday(request: Request, holiday_id: str) -> HTTPResponse:
    actor = by_admin(await admin_caller(request))
    try:
        key = int(holiday_id)
    except ValueError:
        raise NotFound("no such holiday") from None
    if not 1 <= key <= MAX_ID:
        raise NotFound("no such holiday")
    await holidays.delete_holiday(backoffice(request), actor, key)
    return empty()


@bp.post("/v1/admin/holidays/import")
@endpoint("Import a year's official BR (B3) and US (Federal Reserve) holidays", auth="admin", request=HolidayImport,
          responses={200: HolidaysImported}, tags=("admin",),
          description="Adds the days not in the table yet; rows already there are kept (`skipped`). Idempotent.")
async def import_holidays(request: Request) -> HTTPResponse:
    actor = by_admin(await admin_caller(request))
    body = parse_body(request, HolidayImport)
    result = await holidays.import_holidays(backoffice(request), actor, body.year)
    return answer(HolidaysImported.of(result))
