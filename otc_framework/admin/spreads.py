"""Editing the spread grids (SPEC §4, §9): one cell at a time, audited, live on the next quote.

A change commits with its audit row, then every worker reloads the grids on its next request
(``reference.changed("spreads")``) and operators see it on the admin stream. A session quoted
before the change keeps the price it locked: the spread is read when quoting, never when
closing.

Decisions:

- ``GET`` answers the nested ``grid`` (tier → currency → settlement, what a console draws)
  and the flat ``cells`` (the same values with ``updatedAt``/``updatedBy``); tiers, currencies
  and settlements in their declared order (T1…T7, USDT before USDC, D0…D2).
- A spread is a percentage from 0 to 10 inclusive with at most 4 decimal places (the column
  is numeric(8,4)); trailing zeros do not count ("0.35000" is 0.35). It is stored and shown
  with 4 places ("0.3500").
- An LP spread of ``null`` means the tier has none: LP quote mode prices that tier in spot
  mode.
- A write of the value already there is still written and audited: the operator acted.
- The admin stream's ``spread.changed`` / ``lp_spread.changed`` carry the cell as answered,
  plus ``before`` (the old percentage, 4 places, or null) and ``actor``.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any, Generic, TypeVar

from tortoise.transactions import in_transaction

from otc_framework.admin.access import Actor, Backoffice
from otc_framework.admin.feed import EventType
from otc_framework.admin.reference_schemas import LpSpreadCell, SpreadCell
from otc_framework.audit import record
from otc_framework.errors import InternalError, ValidationFailed
from otc_framework.storage.models import Currency, LpSpread, Settlement, Spread, Tier

Cell = TypeVar("Cell", Spread, LpSpread)

MAX_SPREAD_PCT = Decimal(10)
PLACES = 4
PCT_STEP = Decimal(1).scaleb(-PLACES)

Member = TypeVar("Member", bound=StrEnum)


def member(kind: type[Member], raw: str, field: str) -> Member:
    """``raw`` as a member of ``kind``; VALIDATION_ERROR naming ``field`` otherwise."""
    try:
        return kind(raw)
    except ValueError:
        raise ValidationFailed(f"{field}: expected one of {', '.join(kind)}", field=field) from None


def checked_pct(value: Decimal, field: str) -> Decimal:
    """A spread percentage within the rules above, at 4 places."""
    if not value.is_finite() or not 0 <= value <= MAX_SPREAD_PCT:
        raise ValidationFailed(f"{field}: must be from 0 to {MAX_SPREAD_PCT} (%)", field=field)
    exponent = value.normalize().as_tuple().exponent
    assert isinstance(exponent, int)
    if exponent < -PLACES:
        raise ValidationFailed(f"{field}: at most {PLACES} decimal places", field=field)
    return value.copy_abs().quantize(PCT_STEP)  # copy_abs: "-0" is 0


def _order(tier: Tier, currency: Currency, settlement: Settlement | None = None) -> tuple[int, ...]:
    key = (list(Tier).index(tier), list(Currency).index(currency))
    return key if settlement is None else (*key, list(Settlement).index(settlement))


async def list_spreads() -> list[Spread]:
    rows = await Spread.all()
    return sorted(rows, key=lambda r: _order(r.tier, r.currency, r.settlement))


async def list_lp_spreads() -> list[LpSpread]:
    rows = await LpSpread.all()
    return sorted(rows, key=lambda r: _order(r.tier, r.currency))


async def set_spread(office: Backoffice, actor: Actor, tier: str, currency: str, settlement: str,
                     spread_pct: Decimal) -> Spread:
    """Set one cell of the tier grid; answers the cell as written."""
    key = {"tier": member(Tier, tier, "tier"), "currency": member(Currency, currency, "currency"),
           "settlement": member(Settlement, settlement, "settlement")}
    row = await _set_cell(office, actor, Spread, "spread_pct", key, checked_pct(spread_pct, "spreadPct"),
                          "spread.update")
    cell = SpreadCell.of(row.cell).model_dump(mode="json", by_alias=True)
    office.feed.emit(EventType.SPREAD_CHANGED, {**cell, "before": row.before, "actor": actor.name})
    return row.cell


async def set_lp_spread(office: Backoffice, actor: Actor, tier: str, currency: str,
                        lp_spread_pct: Decimal | None) -> LpSpread:
    """Set or clear (``None``) one tier's LP spread; answers the cell as written."""
    key = {"tier": member(Tier, tier, "tier"), "currency": member(Currency, currency, "currency")}
    after = None if lp_spread_pct is None else checked_pct(lp_spread_pct, "lpSpreadPct")
    row = await _set_cell(office, actor, LpSpread, "lp_spread_pct", key, after, "lp_spread.update")
    cell = LpSpreadCell.of(row.cell).model_dump(mode="json", by_alias=True)
    office.feed.emit(EventType.LP_SPREAD_CHANGED, {**cell, "before": row.before, "actor": actor.name})
    return row.cell


@dataclass(frozen=True, slots=True)
class _Written(Generic[Cell]):
    cell: Cell
    before: str | None


async def _set_cell(office: Backoffice, actor: Actor, model: type[Cell], column: str, key: dict[str, Any],
                    after: Decimal | None, action: str) -> _Written[Cell]:
    """Write one grid cell with its audit row, then have every worker reload the grids."""
    async with in_transaction() as conn:
        row = await model.filter(**key).using_db(conn).select_for_update().first()
        if row is None:
            # Every cell is seeded; a missing one is a damaged database, not an input error.
            raise InternalError(f"{model._meta.db_table} cell missing")
        before = _text(getattr(row, column))
        setattr(row, column, after)
        row.updated_by = actor.name
        await row.save(using_db=conn, update_fields=[column, "updated_by", "updated_at"])
        await record(action, **actor.audit(), using_db=conn,
                     detail={**{k: str(v) for k, v in key.items()}, "before": before, "after": _text(after)})
    await office.reference.changed("spreads")
    return _Written(row, before)


def _text(pct: Decimal | None) -> str | None:
    return None if pct is None else format(pct.quantize(PCT_STEP), "f")
