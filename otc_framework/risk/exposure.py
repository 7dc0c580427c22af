"""Open exposure (SPEC §10, Risk): the notional of hedges the desk still owes the market.

A hedge is owed while its status is one of ``OPEN_HEDGE_STATUSES``; what is owed is what is
not filled yet (``amount − filled_amount``), by the currency it is hedged in (a D1/D2 USDT
closing is owed as USDC). A skipped hedge is not exposure: the desk chose not to hedge it
(exec_mode off, or the client is not auto-hedged), so it is the desk's position, not an
order in flight. The statement reads the ``(status, created_at)`` index.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from tortoise.expressions import F
from tortoise.functions import Sum

from otc_framework.risk.sql_sums import sums_in_sql
from otc_framework.storage.models import OPEN_HEDGE_STATUSES, Currency, Hedge

ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class Exposure:
    """Open notional by hedge currency (every currency present, 0 when nothing is owed)."""

    by_currency: Mapping[str, Decimal]
    total: Decimal
    computed_at: datetime

    @classmethod
    def of(cls, by_currency: Mapping[str, Decimal], computed_at: datetime) -> Exposure:
        return cls(dict(by_currency), sum(by_currency.values(), ZERO), computed_at)

    def to_json(self) -> str:
        return json.dumps({"byCurrency": {c: str(v) for c, v in self.by_currency.items()},
                           "computedAt": self.computed_at.isoformat()}, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> Exposure:
        data = json.loads(text)
        return cls.of({c: Decimal(v) for c, v in data["byCurrency"].items()},
                      datetime.fromisoformat(data["computedAt"]))


async def open_exposure(now: datetime | None = None) -> Exposure:
    """What the hedges table owes now; ``computed_at`` is taken before the read, so the figure
    is never older than it says."""
    computed_at = now or datetime.now(UTC)
    owed = dict.fromkeys((c.value for c in Currency), ZERO)
    open_hedges = Hedge.filter(status__in=OPEN_HEDGE_STATUSES)
    if sums_in_sql():
        grouped = open_hedges.annotate(open=Sum(F("amount") - F("filled_amount"))).group_by("currency")
        for currency, amount in await grouped.values_list("currency", "open"):
            owed[str(currency)] += amount
    else:
        for currency, amount, filled in await open_hedges.values_list("currency", "amount", "filled_amount"):
            owed[str(currency)] += amount - filled
    return Exposure.of(owed, computed_at)
