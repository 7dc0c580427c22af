"""The desk's current business day as a window of instants (SPEC §3, §5).

A trade belongs to its trade date (``MarketCalendar.trade_date``): the local date in the
desk's zone when that is a business day, else the next business day, the same date its
settlement counts from. So the window of a business day runs from the midnight after the
previous business day to the midnight after this one: on a Tuesday that is Tuesday itself,
on a Monday it takes the weekend too (trades there only when the desk quotes off-hours).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from otc_framework.calendar import MarketCalendar

_ONE_DAY = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class BusinessDay:
    day: date
    start: datetime  # inclusive, UTC
    end: datetime  # exclusive, UTC


def business_day(calendar: MarketCalendar, zone: ZoneInfo, at: datetime) -> BusinessDay:
    day = calendar.trade_date(at)
    previous = calendar.add_business_days(day, -1)
    start = datetime.combine(previous + _ONE_DAY, time(), zone)
    end = datetime.combine(day + _ONE_DAY, time(), zone)
    # In UTC, as the columns are stored: SQLite compares datetimes as text, offset and all.
    return BusinessDay(day, start.astimezone(UTC), end.astimezone(UTC))
