"""``GET /v1/prices``: the caller's tier grid, with market status (SPEC §5, §6)."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import Field
from sanic import Blueprint, Request
from sanic.response import HTTPResponse

from otc_framework.auth.client_cache import ClientRecord
from otc_framework.auth.guard import authenticate
from otc_framework.errors import ApiDisabled, SpotUnavailable
from otc_framework.pricing.pipeline import PricingPipeline
from otc_framework.reference import Reference
from otc_framework.storage.models import Currency, Settlement, Tier
from otc_framework.web.bodies import AnswerModel, DecimalText, answer
from otc_framework.web.endpoint import endpoint

bp = Blueprint("prices")


class GridPrice(AnswerModel):
    currency: Currency
    settlement: Settlement
    price: DecimalText


class PriceBoard(AnswerModel):
    market_open: bool
    next_open: datetime | None = Field(None, description="Next opening (São Paulo time); null while open")
    prices: list[GridPrice]


def price_board(pipeline: PricingPipeline, tier: Tier, data: Reference, now: datetime) -> PriceBoard:
    """The board one tier sees; the same function feeds ``GET /v1/prices`` and the stream."""
    grid = pipeline.grid(tier, data, now)
    return PriceBoard(
        market_open=data.calendar.is_open(now),
        next_open=data.calendar.next_open(now),
        prices=[GridPrice(currency=q.currency, settlement=q.settlement, price=q.price) for q in grid],
    )


@bp.get("/v1/prices")
@endpoint(
    "The caller's price grid",
    auth="client",
    responses={200: PriceBoard},
    errors=(SpotUnavailable, ApiDisabled),
    description="Answers outside market hours too, with `marketOpen: false` and `nextOpen`.",
    tags=("trading",),
)
async def prices(request: Request) -> HTTPResponse:
    caller = await authenticate(request)
    client: ClientRecord = caller.client
    board = price_board(request.app.ctx.runtime.pricing, client.tier, caller.reference, datetime.now(UTC))
    return answer(board)
