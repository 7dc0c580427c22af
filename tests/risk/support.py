"""Closings and hedges written straight into the tables (fixture data), and the business day
the desk counts them in."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from otc_framework.risk.business_day import BusinessDay, business_day
from otc_framework.storage.models import Closing, ClosingStatus, Hedge, HedgeStatus, Side
from tests.desk import Desk

DESK_ZONE = ZoneInfo("America/Sao_Paulo")


async def today(desk: Desk) -> BusinessDay:
    reference, _ = await desk.runtime.reference.current()
    return business_day(reference.calendar, DESK_ZONE, datetime.now(UTC))


async def closing(client_id: str, amount: str, *, currency: str = "USDT", settlement: str = "D0",
                  status: ClosingStatus = ClosingStatus.PENDING, created_at: datetime | None = None) -> Closing:
    row = await Closing.create(
        oid=f"oid-{uuid.uuid4().hex}", session_id=uuid.uuid4().hex, client_id=client_id, client_name="fixture",
        tier="T1", source="API", currency=currency, settlement=settlement, amount=Decimal(amount),
        price=Decimal("5.0150"), total_brl=(Decimal(amount) * Decimal("5.0150")).quantize(Decimal("0.01")),
        status=status, settlement_date=date.today(), reference_mode="spot", reference_price=Decimal("5"),
        spread_adjustment_used=Decimal(0), validity_adder_used=Decimal(0), usdt_usdc_ratio_used=Decimal(1),
        validity_seconds=7, quoted_at=datetime.now(UTC),
    )
    if created_at is not None:  # auto_now_add stamps the insert; fixture rows may be from another day
        await Closing.filter(id=row.id).update(created_at=created_at)
    return row


async def hedge(client_id: str, amount: str, status: HedgeStatus, *, currency: str = "USDT", filled: str = "0",
                client_price: str = "5.0150", **columns: Any) -> Hedge:
    """A hedge (and the closing it offsets) of ``amount``, ``filled`` of it executed."""
    offset = await closing(client_id, amount, currency=currency)
    return await Hedge.create(closing=offset, status=status, side=Side.BUY, currency=currency, settlement="D0",
                              amount=Decimal(amount), client_price=Decimal(client_price),
                              filled_amount=Decimal(filled), **columns)
