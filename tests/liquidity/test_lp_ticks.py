"""LP ticks in ``spot_ticks``: written in batches, deleted after the retention."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from otc_framework.storage.models import SpotTick
from tests.desk import Desk
from tests.liquidity.conftest import until

LP_SOURCES = ("nonco", "horizon")
BATCH = 12  # two polls of two LPs' three USDC prices


@pytest.mark.parametrize("lp_tree", [{"lp_feed": {"batch_size": BATCH, "flush_seconds": 3600}}])
async def test_ticks_are_written_in_batches(lp_desk: Desk, monkeypatch: pytest.MonkeyPatch) -> None:
    inserts: list[int] = []
    original = SpotTick.bulk_create

    async def counting(rows: list[SpotTick], **kwargs: Any) -> Any:
        written = await original(rows, **kwargs)
        inserts.append(len(rows))  # once committed: the count below must see the rows
        return written

    monkeypatch.setattr(SpotTick, "bulk_create", counting)
    await until(lambda: len(inserts) >= 2)
    assert set(inserts) == {BATCH}  # one INSERT of BATCH rows, never one per tick
    rows = await SpotTick.filter(source__in=LP_SOURCES).count()
    assert rows % BATCH == 0 and rows >= 2 * BATCH
    row = await SpotTick.filter(source="horizon", instrument="USDC/BRL D1").first()
    assert row is not None and row.bid == Decimal("5.1") and row.ask == Decimal("5.102")
    assert row.last_price is None and row.venue_time is None


async def test_old_lp_ticks_are_deleted_after_the_retention(lp_desk: Desk) -> None:
    now = datetime.now(UTC)
    fields = {"instrument": "USDC/BRL D0", "bid": Decimal("5"), "ask": Decimal("5.01")}
    old = await SpotTick.create(source="horizon", received_at=now - timedelta(days=40), **fields)
    recent = await SpotTick.create(source="horizon", received_at=now - timedelta(days=1), **fields)
    not_lp = await SpotTick.create(source="vp", received_at=now - timedelta(days=40), **fields)
    # The first cleanup ran at start-up; the next is due an hour later.
    lp_desk.runtime.lp_poller.clock = lambda: datetime.now(UTC) + timedelta(hours=2)

    async def old_gone() -> bool:
        return not await SpotTick.filter(id=old.id).exists()

    await until(old_gone)
    assert await SpotTick.filter(id__in=[recent.id, not_lp.id]).count() == 2
