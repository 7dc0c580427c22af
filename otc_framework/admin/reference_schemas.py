"""Request and answer bodies of the reference data admin API: spread grids, controls,
holidays (SPEC §9). The range rules (spread bounds, import years, labels) live in the
services, so the CLI is held to them too; these models state the same rules as constraints,
so the API document carries them and a request breaking one is refused before any work."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Annotated, Any

from pydantic import ConfigDict, Field, WithJsonSchema, field_validator

from otc_framework.controls.definition import ControlKind
from otc_framework.controls.service import ControlState, JsonValue, json_value
from otc_framework.storage.models import Currency, Market, Settlement, Tier
from otc_framework.web.bodies import NO_NUL, VISIBLE, AnswerModel, DecimalText, RequestModel
from otc_framework.web.decimals import DecimalInput
from otc_framework.web.limits import MAX_NUMBER_CHARS

PCT_RULE = "In %, from 0 to 10, at most 4 decimal places: a decimal string (a JSON number is read exactly)"
# A spread in %: ``admin.spreads`` holds the same bounds (0 to 10, 4 places).
Pct = Annotated[Decimal, DecimalInput(places=4, digits=1)]
# The holiday rules ``admin.holidays`` applies, here so the request models can state them too.
FIRST_IMPORT_YEAR, LAST_IMPORT_YEAR = 2000, 2100
LABEL_MAX = 200
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")

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
    spread_pct: Pct = Field(description=PCT_RULE)


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
    lp_spread_pct: Pct | None = Field(description=f"{PCT_RULE}; null removes the tier's LP spread")


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


# A text value is bounded so an integer control never parses more digits than Python converts;
# a number is bounded by the body parser (``web.limits``).
CONTROL_TEXT_MAX = 4096
_NUMBER = {"type": "number", "exclusiveMinimum": -(10**MAX_NUMBER_CHARS), "exclusiveMaximum": 10**MAX_NUMBER_CHARS}
_TEXT = {"type": "string", "maxLength": CONTROL_TEXT_MAX, "pattern": NO_NUL}
_CONTROL_VALUE = {"anyOf": [{"type": "boolean"}, _NUMBER, _TEXT, {"type": "array", "items": _TEXT}]}


class ControlUpdate(RequestModel):
    # Strict: the JSON type sent is the one the control's parser sees; lax mode would read a
    # too-long string of digits as the integer ``value`` then holds.
    model_config = ConfigDict(strict=True)

    # Which of these a control takes depends on the control (``GET /v1/admin/controls``).
    value: Annotated[
        bool | int | Decimal | Annotated[str, Field(max_length=CONTROL_TEXT_MAX)]
        | list[Annotated[str, Field(max_length=CONTROL_TEXT_MAX)]],
        WithJsonSchema(_CONTROL_VALUE, mode="validation"),
    ] = Field(description="JSON-typed as listed: a boolean, an integer, a decimal string, a string; "
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
    label: str = Field(min_length=1, max_length=LABEL_MAX, pattern=VISIBLE,
                       description=f"1 to {LABEL_MAX} characters; surrounding spaces are dropped")
    market: Market

    @field_validator("date", mode="before")
    @classmethod
    def _iso_text(cls, value: object) -> object:
        if not isinstance(value, str) or not _ISO_DATE.fullmatch(value):
            raise ValueError("must be a date as YYYY-MM-DD")
        return value


class HolidayImport(RequestModel):
    year: int = Field(ge=FIRST_IMPORT_YEAR, le=LAST_IMPORT_YEAR)


class HolidaysImported(AnswerModel):
    year: int
    added: list[HolidayAnswer]
    skipped: int = Field(description="Official holidays already in the table (kept as they are)")

    @classmethod
    def of(cls, result: Any) -> HolidaysImported:
        """From an ``admin.holidays.ImportResult``."""
        return cls(year=result.year, added=[HolidayAnswer.of(r) for r in result.added], skipped=result.skipped)
