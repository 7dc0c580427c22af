"""How much a client traded within a window, for the daily limit (SPEC §10, Risk).

The sum of its closings' amounts, USDT and USDC together (the limit is in stablecoin units),
by ``created_at`` on the ``(client_id, created_at)`` index. A cancelled closing is left out:
it will not settle, so it no longer uses the client's day.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from tortoise.functions import Sum

from otc_framework.risk.sql_sums import sums_in_sql
from otc_framework.storage.models import Closing, ClosingStatus


async def traded(client_id: str, start: datetime, end: datetime) -> Decimal:
    closings = Closing.filter(client_id=client_id, created_at__gte=start, created_at__lt=end).exclude(
        status=ClosingStatus.CANCELLED)
    if sums_in_sql():
        (row,) = await closings.annotate(total=Sum("amount")).values("total")
        return Decimal(0) if row["total"] is None else row["total"]  # NULL: no closing in the window
    return sum((row["amount"] for row in await closings.values("amount")), Decimal(0))
