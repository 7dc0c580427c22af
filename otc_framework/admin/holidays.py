"""Holidays (SPEC §5, §9): the days the desk does not trade, per market, and the importer of
a year's official calendars.

Calendars imported, from the maintained ``holidays`` package:

- BR: the B3 exchange calendar, ``holidays.financial_holidays("BVMF")`` (B3/ANBIMA: the
  national holidays plus Carnival Monday and Tuesday, Good Friday, Corpus Christi, Dec 24 and
  Dec 31), the days BRL does not settle.
- US: the Federal Reserve calendar, ``holidays.financial_holidays("XFED")``: the days USD
  does not settle (Fedwire closed), which is what stops USD/BRL. Not NYSE's: its Good Friday
  is no Fed holiday, and Columbus Day and Veterans Day are Fed holidays NYSE trades on.

Decisions:

- Labels are the package's English names; a holiday falling on a weekend is imported as
  published (it changes nothing, weekends are closed anyway), so the table mirrors the
  official calendar.
- An import never overwrites: a (date, market) already in the table keeps its row and label
  (an operator's word wins) and is counted in ``skipped``. Importing twice adds nothing; an
  import that adds nothing writes nothing (no audit row, no event).
- Adding a (date, market) that exists is a VALIDATION_ERROR on ``date``; a label is 1 to 200
  characters after trimming.
- Every write refreshes the calendar of every worker on its next request (market hours and
  settlement dates use it) and is announced on the admin stream (``holidays.changed``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import holidays as official_calendars
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from otc_framework.admin.access import Actor, Backoffice
from otc_framework.admin.feed import EventType
from otc_framework.admin.reference_schemas import FIRST_IMPORT_YEAR, LABEL_MAX, LAST_IMPORT_YEAR, HolidayAnswer
from otc_framework.audit import record
from otc_framework.errors import NotFound, ValidationFailed
from otc_framework.storage.models import Holiday, Market

CALENDARS = {Market.BR: "BVMF", Market.US: "XFED"}


@dataclass(frozen=True, slots=True)
class OfficialHoliday:
    date: date
    label: str
    market: Market


@dataclass(frozen=True, slots=True)
class ImportResult:
    year: int
    added: list[Holiday]
    skipped: int


def official_holidays(year: int) -> list[OfficialHoliday]:
    """The year's BR (B3) and US (Federal Reserve) holidays, by date then market."""
    if not FIRST_IMPORT_YEAR <= year <= LAST_IMPORT_YEAR:
        raise ValidationFailed(f"year: must be from {FIRST_IMPORT_YEAR} to {LAST_IMPORT_YEAR}", field="year")
    found = [
        OfficialHoliday(day, label[:LABEL_MAX], market)
        for market, code in CALENDARS.items()
        for day, label in official_calendars.financial_holidays(code, years=year).items()
    ]
    return sorted(found, key=lambda h: (h.date, list(Market).index(h.market)))


def holiday_view(row: Holiday) -> dict[str, Any]:
    """A holiday as JSON-ready data: the answer's shape, for audit details and events."""
    return HolidayAnswer.of(row).model_dump(mode="json", by_alias=True)


async def list_holidays(year: int, market: Market | None = None) -> list[Holiday]:
    query = Holiday.filter(date__gte=date(year, 1, 1), date__lte=date(year, 12, 31))
    if market is not None:
        query = query.filter(market=market)
    return await query.order_by("date", "market")


async def add_holiday(office: Backoffice, actor: Actor, day: date, label: str, market: Market) -> Holiday:
    label = label.strip()
    if not 1 <= len(label) <= LABEL_MAX:
        raise ValidationFailed(f"label: must be 1 to {LABEL_MAX} characters", field="label")
    try:
        async with in_transaction() as conn:
            row = await Holiday.create(date=day, label=label, market=market, using_db=conn)
            await record("holiday.create", **actor.audit(), detail={"after": holiday_view(row)}, using_db=conn)
    except IntegrityError:
        raise ValidationFailed(f"date: {market} already has a holiday on {day.isoformat()}", field="date") from None
    await _changed(office, actor, "create", [row])
    return row


async def delete_holiday(office: Backoffice, actor: Actor, holiday_id: int) -> None:
    async with in_transaction() as conn:
        row = await Holiday.filter(id=holiday_id).using_db(conn).select_for_update().first()
        if row is None:
            raise NotFound("no such holiday")
        await row.delete(using_db=conn)
        await record("holiday.delete", **actor.audit(), detail={"before": holiday_view(row)}, using_db=conn)
    await _changed(office, actor, "delete", [row])


async def import_holidays(office: Backoffice, actor: Actor, year: int) -> ImportResult:
    """Add the year's official holidays that are not in the table yet (see the module docstring)."""
    official = official_holidays(year)
    try:
        added = await _insert_missing(actor, year, official)
    except IntegrityError:
        # Someone added one of these days meanwhile (a second import, say): read again.
        added = await _insert_missing(actor, year, official)
    if added:
        await _changed(office, actor, "import", added)
    return ImportResult(year, added, len(official) - len(added))


async def _insert_missing(actor: Actor, year: int, official: list[OfficialHoliday]) -> list[Holiday]:
    added: list[Holiday] = []
    async with in_transaction() as conn:
        rows = await Holiday.filter(date__in=[h.date for h in official]).using_db(conn)
        have = {(row.date, Market(row.market)) for row in rows}
        for holiday in official:
            if (holiday.date, holiday.market) in have:
                continue
            row = await Holiday.create(date=holiday.date, label=holiday.label, market=holiday.market, using_db=conn)
            await record("holiday.create", **actor.audit(), detail={"after": holiday_view(row), "importedYear": year},
                         using_db=conn)
            added.append(row)
    return added


async def _changed(office: Backoffice, actor: Actor, action: str, rows: list[Holiday]) -> None:
    await office.reference.changed("holidays")
    office.feed.emit(EventType.HOLIDAYS_CHANGED,
                     {"action": action, "holidays": [holiday_view(r) for r in rows], "actor": actor.name})
