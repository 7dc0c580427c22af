"""Market hours through the API (SPEC §5): a closed market still shows prices, refuses quotes."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from otc_framework.storage.models import Holiday, Market
from tests.desk import Desk, bearer

SAO_PAULO = ZoneInfo("America/Sao_Paulo")


@pytest.mark.parametrize("desk_tree", [{"market_hours": {"always_open": False, "open": "00:00:00",
                                                          "close": "23:59:59"}}])
async def test_holiday_closes_the_market_with_next_open(desk: Desk) -> None:
    _, token = await desk.client()
    today = datetime.now(UTC).astimezone(SAO_PAULO).date()
    await Holiday.create(date=today, label="Test holiday", market=Market.US)
    await desk.runtime.reference.changed("holidays")

    refused = await desk.quote(token)
    assert refused.status_code == 409 and refused.json()["code"] == "MARKET_CLOSED"
    next_open = datetime.fromisoformat(refused.json()["nextOpen"]).astimezone(SAO_PAULO)
    assert next_open.date() > today and next_open.weekday() < 5
    assert next_open.time().isoformat() == "00:00:00"

    board = await desk.http.get("/v1/prices", headers=bearer(token))
    assert board.status_code == 200
    assert board.json()["marketOpen"] is False
    assert datetime.fromisoformat(board.json()["nextOpen"]) == next_open
    assert len(board.json()["prices"]) == 6
