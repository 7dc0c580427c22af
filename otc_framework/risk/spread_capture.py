"""What the desk earned on the hedges filled in a window (SPEC §10): how many, how much, the
spread capture in basis points weighted by filled amount, and in BRL.

Per hedge the capture is ``(client price − fill) / fill × 10,000`` bps (5.2531 vs 5.2510 →
4.0) and ``(client price − fill) × filled amount`` BRL, computed from the prices rather than the
stored, rounded ``spread_capture_bps``. A hedge filled without a fill price (marked by hand)
counts in ``hedges`` and ``amount`` only. Summed in ``Decimal`` on either database: a day's
fills are few, and SQLite could not sum them exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from otc_framework.execution.repository import capture_bps
from otc_framework.storage.models import Hedge, HedgeStatus

BPS_PLACES = Decimal("0.1")
BRL_PLACES = Decimal("0.01")


@dataclass(frozen=True, slots=True)
class SpreadCapture:
    hedges: int
    amount: Decimal
    avg_bps: Decimal | None  # None when no filled hedge has a fill price
    captured_brl: Decimal


async def spread_capture(start: datetime, end: datetime) -> SpreadCapture:
    rows = await Hedge.filter(status=HedgeStatus.FILLED, filled_at__gte=start, filled_at__lt=end).values_list(
        "filled_amount", "client_price", "fill_price", "side")
    amount = priced_amount = weighted_bps = captured = Decimal(0)
    for filled, client_price, fill_price, side in rows:
        amount += filled
        if fill_price is None or fill_price <= 0:
            continue
        priced_amount += filled
        weighted_bps += capture_bps(client_price, fill_price, side) * filled
        captured += (client_price - fill_price) * filled
    avg_bps = (weighted_bps / priced_amount).quantize(BPS_PLACES, ROUND_HALF_UP) if priced_amount > 0 else None
    return SpreadCapture(len(rows), amount, avg_bps, captured.quantize(BRL_PLACES, ROUND_HALF_UP))
