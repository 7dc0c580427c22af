"""Request and answer bodies of the reference data admin API: spread grids, controls,
holidays (SPEC §9). The range rules (spread bounds, import years, labels) live in the
services, so the CLI is held to them too; these models parse types and describe the rules."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from pydantic import Field, field_validator

from otc_framework.controls.definition import ControlKind
from otc_framework.controls.service import ControlState, JsonValue, json_value
from otc_framework.storage.models import Currency, Market, Settlement, Tier
from otc_framework.web.bodies import AnswerModel, DecimalText, RequestModel

PCT_RULE = "In %, from 0 to 10, at most 4 decimal places: a decimal string (a JSON number is read exactly)"

# --- spreads ---------------------------------------------------------------------------------


class SpreadCell(AnswerModel):
    tier: Tier
    currency: Currency
    settlement: Settlement
    spread_pct: DecimalText
    updated_at: dt.datetime
    updated_by: str | None = Field(description="The operator who set it last; null for the seeded default")

    @classmethod
    def of(cls, row: Any) -> SpreadCell:
        return cls(tier=row.tier, currency=row.currency, settlement=row.settlement, spread_pct=row.spread_pct,
                   updated_at=row.updated_at, updated_by=row.updated_by)


class SpreadGridAnswer(AnswerModel):
    grid: dict[Tier, dict[Currency, dict[Settlement, DecimalText]]] = Field(
        description="tier → currency → settlement → spread in %, for display")
    cells: list[SpreadCell] = Field(description="The same cells with who changed each and when")


class SpreadUpdate(RequestModel):
    spread_pct: Decimal = Field(description=PCT_RULE)


class LpSpreadCell(AnswerModel):
    tier: Tier
    currency: Currency
    lp_spread_pct: DecimalText | None = Field(
        description="Null: the tier has no LP spread, and LP quote mode prices it in spot mode")
    updated_at: dt.datetime
    updated_by: str | None

    @classmethod
    def of(cls, row: Any) -> LpSpreadCell:
        return cls(tier=row.tier, currency=row.currency, lp_spread_pct=row.lp_spread_pct, updated_at=row.updated_at,
                   updated_by=row.updated_by)


class LpSpreadGridAnswer(AnswerModel):
    grid: dict[Tier, dict[Currency, DecimalText | None]] = Field(description="tier → currency → LP spread in % or null")
    cells: list[LpSpreadCell]


class LpSpreadUpdate(RequestModel):
    lp_spread_pct: Decimal | None = Field(description=f"{PCT_RULE}; null removes the tier's LP spread")


# --- controls --------------------------------------------------------------------------------


class ControlAnswer(AnswerModel):
    """Values are JSON-typed: bool → true/false, int → number, decimal → string, enum and string →
    string, csv → one comma-separated string ("a,b"). Bounds follow the value's type."""

    key: str
    type: ControlKind
    default: JsonValue
    value: JsonValue
    description: str
    choices: list[str] | None = Field(None, description="Enum controls: the values allowed")
    minimum: int | str | None = None
    maximum: int | str | None = None
    owner: str = Field(description='"core", or the plugin that contributes the control')
    updated_by: str | None = Field(description="Null until an operator changes it")
    updated_at: dt.datetime | None

    @classmethod
    def of(cls, state: ControlState) -> ControlAnswer:
        defn = state.definition
        return cls(
            key=defn.key, type=defn.kind, default=json_value(defn.default), value=json_value(state.value),
            description=defn.description, choices=list(defn.choices) or None,
            minimum=_bound(defn.kind, defn.minimum), maximum=_bound(defn.kind, defn.maximum), owner=defn.owner,
            updated_by=state.updated_by, updated_at=state.updated_at,
        )


def _bound(kind: ControlKind, bound: Decimal | None) -> int | str | None:
    if bound is None:
        return None
    return int(bound) if kind is ControlKind.INT else format(bound, "f")


class ControlList(AnswerModel):
    items: list[ControlAnswer]


class ControlUpdate(RequestModel):
    value: Any = Field(description="JSON-typed as listed: a boolean, an integer, a decimal string, a string; "
                                   "csv controls take a comma-separated string or a list of strings")


# --- holidays --------------------------------------------------------------------------------


class HolidayAnswer(AnswerModel):
    id: int
    date: dt.date
    label: str
    market: Market

    @classmethod
    def of(cls, row: Any) -> HolidayAnswer:
        return cls(id=row.id, date=row.date, label=row.label, market=row.market)


class HolidayList(AnswerModel):
    items: list[HolidayAnswer]


class HolidayQuery(RequestModel):
    year: int | None = Field(None, ge=1, le=9999, description="Default: the current year in the market's time zone")
    market: Market | None = None


class HolidayCreate(RequestModel):
    date: dt.date = Field(description="YYYY-MM-DD; one holiday per date and market")
    label: str = Field(description="1 to 200 characters")
    market: Market

    @field_validator("date", mode="before")
    @classmethod
    def _iso_text(cls, value: object) -> object:
        if not isinstance(value, str):
            raise ValueError("must be a date as YYYY-MM-DD")
        return value


class HolidayImport(RequestModel):
    year: int = Field(description="2000 to 2100")


class HolidaysImported(AnswerModel):
    year: int
    added: list[HolidayAnswer]
    skipped: int = Field(description="Official holidays already in the table (kept as they are)")

    @classmethod
    def of(cls, result: Any) -> HolidaysImported:
        """From an ``admin.holidays.ImportResult``."""
        return cls(year=result.year, added=[HolidayAnswer.of(r) for r in result.added], skipped=result.skipped)
