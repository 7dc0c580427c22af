"""``GET /v1/admin/exposure``: the open exposure and today's spread capture, read from the
database when asked (not the figure workers follow, which may be a second old)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sanic import Blueprint, Request
from sanic.response import HTTPResponse

from otc_framework.admin.access import admin_caller
from otc_framework.risk.business_day import business_day
from otc_framework.risk.exposure import open_exposure
from otc_framework.risk.schemas import ExposureView
from otc_framework.risk.spread_capture import spread_capture
from otc_framework.web.bodies import answer
from otc_framework.web.endpoint import endpoint

bp = Blueprint("admin_exposure")


@bp.get("/v1/admin/exposure")
@endpoint("The desk's open exposure, its limit, and today's spread capture", auth="admin",
          responses={200: ExposureView},
          description="Open exposure is the notional of hedges not filled yet, by hedge currency (D1/D2 USDT hedge "
          "as USDC). Today is the current business day in the desk's zone, on the hedges' fill time.",
          tags=("admin",))
async def exposure(request: Request) -> HTTPResponse:
    caller = await admin_caller(request)
    now = datetime.now(UTC)
    today = business_day(caller.reference.calendar, ZoneInfo(request.app.ctx.runtime.config.market_hours.timezone),
                         now)
    figures = await open_exposure(now)
    capture = await spread_capture(today.start, today.end)
    limit = caller.reference.controls.decimal("risk_max_open_exposure")
    return answer(ExposureView.of(figures, limit, capture))
