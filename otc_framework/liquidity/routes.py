"""``GET /v1/admin/lp-feed``: the LP snapshot this worker holds, with ages."""

from __future__ import annotations

from datetime import UTC, datetime

from sanic import Blueprint, Request
from sanic.response import HTTPResponse

from otc_framework.admin.access import admin_caller
from otc_framework.liquidity.schemas import LpFeedView
from otc_framework.web.bodies import answer
from otc_framework.web.endpoint import endpoint

bp = Blueprint("admin_lp_feed")


@bp.get("/v1/admin/lp-feed")
@endpoint("The live LP feed: each provider's latest prices with their ages", auth="admin",
          responses={200: LpFeedView},
          description="Every worker holds the same snapshot. A provider whose poll fails keeps its last good "
          "prices, ageing, with lastError. Off-hours the feed polls only 24/7 LPs, and only when "
          "lp_feed_enable_24x7 is on.", tags=("admin",))
async def lp_feed(request: Request) -> HTTPResponse:
    await admin_caller(request)
    runtime = request.app.ctx.runtime
    now = datetime.now(UTC)
    second_source = runtime.config.pricing.second_source
    status = runtime.spot_feed.status.get(second_source) if second_source else None
    second = (second_source, status) if status is not None else None
    return answer(LpFeedView.of(runtime.lp_feed.snapshot(now), second, now))
