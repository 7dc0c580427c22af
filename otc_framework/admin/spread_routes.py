"""Spread and LP spread grids (SPEC §9); the rules are in ``admin.spreads``."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any

from sanic import Blueprint, Request
from sanic.response import HTTPResponse

from otc_framework.admin import spreads
from otc_framework.admin.access import admin_caller, backoffice, by_admin
from otc_framework.admin.reference_schemas import (
    LpSpreadCell,
    LpSpreadGridAnswer,
    LpSpreadUpdate,
    SpreadCell,
    SpreadGridAnswer,
    SpreadUpdate,
)
from otc_framework.storage.models import Currency, Settlement, Tier
from otc_framework.web.bodies import answer, parse_body
from otc_framework.web.endpoint import choices, endpoint

bp = Blueprint("admin_spreads")

CELL = {"tier": choices(Tier), "currency": choices(Currency), "settlement": choices(Settlement)}


@bp.get("/v1/admin/spreads")
@endpoint("The tier spread grid", auth="admin", responses={200: SpreadGridAnswer}, tags=("admin",),
          description="`grid` is tier → currency → settlement → spread in %; `cells` adds who changed each, when.")
async def list_spreads(request: Request) -> HTTPResponse:
    await admin_caller(request)
    rows = await spreads.list_spreads()
    grid: dict[Any, dict[Any, dict[Any, Decimal]]] = defaultdict(lambda: defaultdict(dict))
    for row in rows:
        grid[row.tier][row.currency][row.settlement] = row.spread_pct
    return answer(SpreadGridAnswer(grid=grid, cells=[SpreadCell.of(r) for r in rows]))


@bp.put("/v1/admin/spreads/<tier:str>/<currency:str>/<settlement:str>")
@endpoint("Set one cell of the tier spread grid", auth="admin", request=SpreadUpdate, responses={200: SpreadCell},
          tags=("admin",), description="Applies to the next quote in every worker; open sessions keep their price.",
          path=CELL)
async def update_spread(request: Request, tier: str, currency: str, settlement: str) -> HTTPResponse:
    actor = by_admin(await admin_caller(request))
    body = parse_body(request, SpreadUpdate)
    row = await spreads.set_spread(backoffice(request), actor, tier, currency, settlement, body.spread_pct)
    return answer(SpreadCell.of(row))


@bp.get("/v1/admin/lp-spreads")
@endpoint("The LP spread grid", auth="admin", responses={200: LpSpreadGridAnswer}, tags=("admin",),
          description="`grid` is tier → currency → LP spread in % (null: none, LP quote mode prices the tier at spot).")
async def list_lp_spreads(request: Request) -> HTTPResponse:
    await admin_caller(request)
    rows = await spreads.list_lp_spreads()
    grid: dict[Any, dict[Any, Decimal | None]] = defaultdict(dict)
    for row in rows:
        grid[row.tier][row.currency] = row.lp_spread_pct
    return answer(LpSpreadGridAnswer(grid=grid, cells=[LpSpreadCell.of(r) for r in rows]))


@bp.put("/v1/admin/lp-spreads/<tier:str>/<currency:str>")
@endpoint("Set or clear one tier's LP spread", auth="admin", request=LpSpreadUpdate, responses={200: LpSpreadCell},
          tags=("admin",), path={"tier": CELL["tier"], "currency": CELL["currency"]})
async def update_lp_spread(request: Request, tier: str, currency: str) -> HTTPResponse:
    actor = by_admin(await admin_caller(request))
    body = parse_body(request, LpSpreadUpdate)
    row = await spreads.set_lp_spread(backoffice(request), actor, tier, currency, body.lp_spread_pct)
    return answer(LpSpreadCell.of(row))
