"""Market hours and business days (SPEC §5).

The desk quotes on business days (Monday to Friday, no BR and no US holiday) between ``open``
(inclusive) and ``close`` (exclusive), local time of the configured zone. The calendar is
built once from the deployment config and the holiday rows and is then pure: it is asked on
every request, so it does no I/O and keeps the holidays as a frozenset of dates.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from otc_framework.config import MarketHoursConfig
from otc_framework.storage.models import Market, Settlement

# A holiday table covering a whole year would otherwise send every search into an endless
# walk; no real gap between business days comes near this.
MAX_SEARCH_DAYS = 370

_SETTLEMENT_LAG = {Settlement.D0: 0, Settlement.D1: 1, Settlement.D2: 2}
_ONE_DAY = timedelta(days=1)


class MarketCalendar:
    """When the market is open and which days count as business days for trade and settlement."""

    def __init__(self, hours: MarketHoursConfig, holidays: Iterable[tuple[date, Market]]) -> None:
        self._zone = ZoneInfo(hours.timezone)
        self._open = hours.open
        self._close = hours.close
        self._always_open = hours.always_open
        # A holiday of either market closes the desk, so the market itself no longer matters.
        self._holidays = frozenset(day for day, _market in holidays)

    def is_business_day(self, day: date) -> bool:
        return day.weekday() < 5 and day not in self._holidays

    def is_open(self, at: datetime) -> bool:
        local = self._local(at)
        if self._always_open:
            return True
        return self.is_business_day(local.date()) and self._open <= local.time() < self._close

    def next_open(self, at: datetime) -> datetime | None:
        """``None`` when open at ``at``; otherwise the next opening, aware, in the market's zone."""
        local = self._local(at)
        if self._always_open or self.is_open(local):
            return None
        day = local.date()
        if not (self.is_business_day(day) and local.time() < self._open):
            day = self._next_business_day(day)
        return datetime.combine(day, self._open, tzinfo=self._zone)

    def trade_date(self, at: datetime) -> date:
        """The local date of ``at`` when that is a business day, else the next business day."""
        day = self._local(at).date()
        return day if self.is_business_day(day) else self._next_business_day(day)

    def settlement_date(self, at: datetime, settlement: Settlement) -> date:
        """D0 settles on the trade date, D1 and D2 one and two business days after it."""
        return self.add_business_days(self.trade_date(at), _SETTLEMENT_LAG[Settlement(settlement)])

    def add_business_days(self, day: date, count: int) -> date:
        """The ``count``-th business day after ``day`` (before it when negative); ``day`` itself for 0."""
        step = _ONE_DAY if count >= 0 else -_ONE_DAY
        for _ in range(abs(count)):
            day = self._next_business_day(day, step)
        return day

    def _next_business_day(self, day: date, step: timedelta = _ONE_DAY) -> date:
        """The first business day strictly after ``day`` (in the direction of ``step``)."""
        for _ in range(MAX_SEARCH_DAYS):
            day += step
            if self.is_business_day(day):
                return day
        raise ValueError(
            f"no business day within {MAX_SEARCH_DAYS} days of {day - step * MAX_SEARCH_DAYS}: check the holidays table"
        )

    def _local(self, at: datetime) -> datetime:
        if at.tzinfo is None or at.utcoffset() is None:
            raise ValueError(f"naive datetime {at.isoformat()}: market hours need a timezone-aware instant")
        return at.astimezone(self._zone)
