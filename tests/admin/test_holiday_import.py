"""The importer's calendars (``admin.holidays.official_holidays``): B3 for BR, the Federal
Reserve for US; no database."""

from __future__ import annotations

from datetime import date

import pytest

from otc_framework.admin.holidays import official_holidays
from otc_framework.errors import ValidationFailed
from otc_framework.storage.models import Market


def test_2026_maps_b3_and_the_fed() -> None:
    found = official_holidays(2026)
    by_market = {market: {h.date: h.label for h in found if h.market is market} for market in Market}
    brazil, us = by_market[Market.BR], by_market[Market.US]
    assert brazil[date(2026, 2, 16)] == brazil[date(2026, 2, 17)] == "Carnival"
    assert brazil[date(2026, 6, 4)] == "Corpus Christi"
    assert {date(2026, 4, 3), date(2026, 12, 24), date(2026, 12, 31)} <= set(brazil)
    assert us[date(2026, 11, 26)] == "Thanksgiving Day" and date(2026, 10, 12) in us
    assert date(2026, 4, 3) not in us  # Good Friday closes NYSE, not the Fed: USD settles
    assert (len(brazil), len(us)) == (15, 11)
    assert found == sorted(found, key=lambda h: (h.date, h.market != Market.BR))
    assert all(h.date.year == 2026 and 0 < len(h.label) <= 200 for h in found)


@pytest.mark.parametrize("year", [1999, 2101])
def test_years_outside_the_range_are_refused(year: int) -> None:
    with pytest.raises(ValidationFailed) as refused:
        official_holidays(year)
    assert refused.value.extra["field"] == "year"
