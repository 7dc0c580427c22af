from __future__ import annotations

from datetime import date

from otc_framework.calendar import load_holidays
from otc_framework.storage.database import close_database, open_database
from otc_framework.storage.models import Holiday, Market


async def test_load_holidays_returns_every_row(migrated_database_url: str) -> None:
    await open_database(migrated_database_url)
    try:
        await Holiday.create(date=date(2025, 7, 4), label="Independence Day", market=Market.US)
        await Holiday.create(date=date(2025, 4, 21), label="Tiradentes", market=Market.BR)

        holidays = await load_holidays()
    finally:
        await close_database()

    assert holidays == [(date(2025, 4, 21), Market.BR), (date(2025, 7, 4), Market.US)]
    assert all(type(day) is date and type(market) is Market for day, market in holidays)


async def test_load_holidays_of_an_empty_table(migrated_database_url: str) -> None:
    await open_database(migrated_database_url)
    try:
        assert await load_holidays() == []
    finally:
        await close_database()
