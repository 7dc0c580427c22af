"""Holidays from the database, loaded once and handed to ``MarketCalendar``, which does no I/O."""

from __future__ import annotations

from datetime import date

from otc_framework.storage.models import Holiday, Market


async def load_holidays() -> list[tuple[date, Market]]:
    """Every row of the ``holidays`` table as ``(date, market)``, ordered by date then market."""
    rows = await Holiday.all().order_by("date", "market").values_list("date", "market")
    # Backends differ in what they hand back for enum and date columns; normalise both.
    return [(_as_date(day), Market(market)) for day, market in rows]


def _as_date(value: date | str) -> date:
    return value if isinstance(value, date) else date.fromisoformat(value)
