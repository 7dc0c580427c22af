"""MarketCalendar is pure: these tests build it from config and holiday tuples, no database."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from otc_framework.calendar import MarketCalendar
from otc_framework.config import MarketHoursConfig
from otc_framework.storage.models import Market, Settlement

SP = ZoneInfo("America/Sao_Paulo")
NY = ZoneInfo("America/New_York")

# Real 2025 holidays, chosen for where they fall in the week.
GOOD_FRIDAY = date(2025, 4, 18)  # Friday, both markets
TIRADENTES = date(2025, 4, 21)  # Monday, BR
MEMORIAL_DAY = date(2025, 5, 26)  # Monday, US
JUNETEENTH = date(2025, 6, 19)  # Thursday, US
INDEPENDENCE_DAY = date(2025, 7, 4)  # Friday, US
HOLIDAYS = [
    (GOOD_FRIDAY, Market.BR),
    (GOOD_FRIDAY, Market.US),
    (TIRADENTES, Market.BR),
    (MEMORIAL_DAY, Market.US),
    (JUNETEENTH, Market.US),
    (INDEPENDENCE_DAY, Market.US),
]


def sp(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=SP)


@pytest.fixture
def calendar() -> MarketCalendar:
    return MarketCalendar(MarketHoursConfig(), HOLIDAYS)


@pytest.fixture
def always_open() -> MarketCalendar:
    return MarketCalendar(MarketHoursConfig(always_open=True), HOLIDAYS)


# Opening hours


@pytest.mark.parametrize(
    ("local", "expected"),
    [
        (time(9, 4, 59), False),
        (time(9, 5), True),
        (time(12, 0), True),
        (time(16, 54, 59), True),
        (time(16, 55), False),
        (time(0, 0), False),
        (time(23, 59, 59), False),
    ],
)
def test_open_from_0905_inclusive_to_1655_exclusive(calendar: MarketCalendar, local: time, expected: bool) -> None:
    at = datetime.combine(date(2025, 3, 12), local, tzinfo=SP)  # a Wednesday
    assert calendar.is_open(at) is expected


def test_utc_instants_are_read_in_sao_paulo_time(calendar: MarketCalendar) -> None:
    # São Paulo is UTC-3 all year (no daylight saving since 2019), January included.
    assert not calendar.is_open(datetime(2025, 1, 15, 12, 4, 59, tzinfo=UTC))
    assert calendar.is_open(datetime(2025, 1, 15, 12, 5, tzinfo=UTC))
    assert calendar.is_open(datetime(2025, 1, 15, 19, 54, 59, tzinfo=UTC))
    assert not calendar.is_open(datetime(2025, 1, 15, 19, 55, tzinfo=UTC))


def test_instants_in_other_zones_are_converted(calendar: MarketCalendar) -> None:
    # 08:05 in New York (EDT, UTC-4) is 09:05 in São Paulo.
    assert calendar.is_open(datetime(2025, 6, 11, 8, 5, tzinfo=NY))
    assert not calendar.is_open(datetime(2025, 6, 11, 8, 4, tzinfo=NY))


def test_closed_on_weekends(calendar: MarketCalendar) -> None:
    assert not calendar.is_open(sp(2025, 3, 15, 12))  # Saturday
    assert not calendar.is_open(sp(2025, 3, 16, 12))  # Sunday


def test_closed_on_a_br_holiday(calendar: MarketCalendar) -> None:
    assert not calendar.is_open(sp(2025, 4, 21, 12))


def test_closed_on_a_us_only_holiday(calendar: MarketCalendar) -> None:
    assert not calendar.is_open(sp(2025, 6, 19, 12))
    assert calendar.is_open(sp(2025, 6, 18, 12))


def test_business_days(calendar: MarketCalendar) -> None:
    assert calendar.is_business_day(date(2025, 3, 14))  # Friday
    assert not calendar.is_business_day(date(2025, 3, 15))  # Saturday
    assert not calendar.is_business_day(date(2025, 3, 16))  # Sunday
    assert not calendar.is_business_day(TIRADENTES)
    assert not calendar.is_business_day(MEMORIAL_DAY)


def test_the_local_date_decides_not_the_utc_date(calendar: MarketCalendar) -> None:
    # Monday 02:00 UTC is still Sunday 23:00 in São Paulo.
    at = datetime(2025, 3, 17, 2, 0, tzinfo=UTC)
    assert not calendar.is_open(at)
    assert calendar.next_open(at) == sp(2025, 3, 17, 9, 5)


# Next opening


def test_next_open_is_none_while_open(calendar: MarketCalendar) -> None:
    assert calendar.next_open(sp(2025, 3, 12, 9, 5)) is None
    assert calendar.next_open(sp(2025, 3, 12, 16, 54, 59)) is None


def test_next_open_before_the_opening_is_today(calendar: MarketCalendar) -> None:
    assert calendar.next_open(sp(2025, 3, 12, 9, 4, 59)) == sp(2025, 3, 12, 9, 5)
    assert calendar.next_open(sp(2025, 3, 12, 0, 0)) == sp(2025, 3, 12, 9, 5)


def test_next_open_after_the_close_is_tomorrow(calendar: MarketCalendar) -> None:
    assert calendar.next_open(sp(2025, 3, 12, 16, 55)) == sp(2025, 3, 13, 9, 5)


def test_next_open_friday_evening_is_monday(calendar: MarketCalendar) -> None:
    opening = calendar.next_open(sp(2025, 3, 14, 17, 0))
    assert opening == sp(2025, 3, 17, 9, 5)
    assert opening is not None
    assert opening.tzinfo == SP
    assert opening.utcoffset() == timedelta(hours=-3)
    assert opening.astimezone(UTC) == datetime(2025, 3, 17, 12, 5, tzinfo=UTC)


def test_next_open_on_saturday_is_monday(calendar: MarketCalendar) -> None:
    assert calendar.next_open(sp(2025, 3, 15, 10, 0)) == sp(2025, 3, 17, 9, 5)


def test_next_open_on_a_monday_holiday_is_tuesday(calendar: MarketCalendar) -> None:
    assert calendar.next_open(sp(2025, 4, 21, 8, 0)) == sp(2025, 4, 22, 9, 5)


def test_next_open_across_a_weekend_and_a_monday_holiday(calendar: MarketCalendar) -> None:
    assert calendar.next_open(sp(2025, 5, 23, 17, 0)) == sp(2025, 5, 27, 9, 5)


def test_next_open_across_good_friday_the_weekend_and_tiradentes(calendar: MarketCalendar) -> None:
    assert calendar.next_open(datetime(2025, 4, 17, 20, 0, tzinfo=UTC)) == sp(2025, 4, 22, 9, 5)


def test_next_open_follows_daylight_saving_of_the_configured_zone() -> None:
    hours = MarketHoursConfig(timezone="America/New_York", open=time(9, 30), close=time(16, 0))
    calendar = MarketCalendar(hours, [])
    # Friday 7 March 2025 is EST (UTC-5); Monday 10 March is EDT (UTC-4).
    assert calendar.is_open(datetime(2025, 3, 7, 14, 30, tzinfo=UTC))
    assert not calendar.is_open(datetime(2025, 3, 10, 13, 29, tzinfo=UTC))
    opening = calendar.next_open(datetime(2025, 3, 7, 21, 0, tzinfo=UTC))
    assert opening is not None
    assert opening.astimezone(UTC) == datetime(2025, 3, 10, 13, 30, tzinfo=UTC)


# Trade and settlement dates


def test_trade_date_is_the_local_date_on_a_business_day(calendar: MarketCalendar) -> None:
    assert calendar.trade_date(sp(2025, 3, 12, 10, 0)) == date(2025, 3, 12)
    # Friday 22:00 in São Paulo is already Saturday in UTC.
    assert calendar.trade_date(datetime(2025, 3, 15, 1, 0, tzinfo=UTC)) == date(2025, 3, 14)


def test_trade_date_on_a_weekend_or_holiday_is_the_next_business_day(calendar: MarketCalendar) -> None:
    assert calendar.trade_date(sp(2025, 3, 15, 10, 0)) == date(2025, 3, 17)
    assert calendar.trade_date(sp(2025, 4, 18, 10, 0)) == date(2025, 4, 22)


@pytest.mark.parametrize(
    ("settlement", "expected"),
    [(Settlement.D0, date(2025, 3, 12)), (Settlement.D1, date(2025, 3, 13)), (Settlement.D2, date(2025, 3, 14))],
)
def test_settlement_in_an_ordinary_week(calendar: MarketCalendar, settlement: Settlement, expected: date) -> None:
    assert calendar.settlement_date(sp(2025, 3, 12, 10, 0), settlement) == expected


@pytest.mark.parametrize(
    ("settlement", "expected"),
    [(Settlement.D0, date(2025, 3, 13)), (Settlement.D1, date(2025, 3, 14)), (Settlement.D2, date(2025, 3, 17))],
)
def test_settlement_across_a_weekend(calendar: MarketCalendar, settlement: Settlement, expected: date) -> None:
    assert calendar.settlement_date(sp(2025, 3, 13, 10, 0), settlement) == expected


@pytest.mark.parametrize(
    ("settlement", "expected"),
    [(Settlement.D0, date(2025, 7, 3)), (Settlement.D1, date(2025, 7, 7)), (Settlement.D2, date(2025, 7, 8))],
)
def test_settlement_thursday_before_a_friday_holiday(
    calendar: MarketCalendar, settlement: Settlement, expected: date
) -> None:
    assert calendar.settlement_date(sp(2025, 7, 3, 10, 0), settlement) == expected


@pytest.mark.parametrize(
    ("settlement", "expected"),
    [(Settlement.D0, date(2025, 3, 17)), (Settlement.D1, date(2025, 3, 18)), (Settlement.D2, date(2025, 3, 19))],
)
def test_settlement_of_a_saturday_trade_starts_on_monday(
    calendar: MarketCalendar, settlement: Settlement, expected: date
) -> None:
    assert calendar.settlement_date(sp(2025, 3, 15, 10, 0), settlement) == expected


def test_add_business_days(calendar: MarketCalendar) -> None:
    assert calendar.add_business_days(date(2025, 4, 17), 0) == date(2025, 4, 17)
    assert calendar.add_business_days(date(2025, 4, 17), 1) == date(2025, 4, 22)
    assert calendar.add_business_days(date(2025, 4, 17), 3) == date(2025, 4, 24)
    assert calendar.add_business_days(date(2025, 4, 22), -1) == date(2025, 4, 17)


# The demo desk


def test_always_open_ignores_hours_weekends_and_holidays(always_open: MarketCalendar) -> None:
    for at in (sp(2025, 3, 12, 3, 0), sp(2025, 3, 15, 12, 0), sp(2025, 4, 21, 12, 0)):
        assert always_open.is_open(at)
        assert always_open.next_open(at) is None


def test_always_open_still_settles_on_business_days(always_open: MarketCalendar) -> None:
    assert always_open.is_business_day(date(2025, 3, 15)) is False
    assert always_open.trade_date(sp(2025, 3, 15, 12, 0)) == date(2025, 3, 17)
    assert always_open.settlement_date(sp(2025, 7, 3, 10, 0), Settlement.D1) == date(2025, 7, 7)


# Refusals


def test_naive_datetimes_are_refused(calendar: MarketCalendar, always_open: MarketCalendar) -> None:
    naive = datetime(2025, 3, 12, 10, 0)
    for method in (calendar.is_open, calendar.next_open, calendar.trade_date, always_open.is_open):
        with pytest.raises(ValueError, match="naive"):
            method(naive)
    with pytest.raises(ValueError, match="naive"):
        calendar.settlement_date(naive, Settlement.D0)


def test_a_year_of_holidays_raises_instead_of_looping() -> None:
    start = date(2025, 1, 1)
    every_day = [(start + timedelta(days=n), Market.BR) for n in range(800)]
    calendar = MarketCalendar(MarketHoursConfig(), every_day)
    with pytest.raises(ValueError, match="no business day within"):
        calendar.next_open(sp(2025, 1, 2, 10, 0))
    with pytest.raises(ValueError, match="no business day within"):
        calendar.add_business_days(start, 1)
    with pytest.raises(ValueError, match="no business day within"):
        calendar.trade_date(sp(2025, 1, 2, 10, 0))
