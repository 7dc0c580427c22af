"""Market hours and business days (SPEC §5): when the desk quotes and when trades settle."""

from otc_framework.calendar.holidays import load_holidays
from otc_framework.calendar.market_hours import MarketCalendar

__all__ = ["MarketCalendar", "load_holidays"]
