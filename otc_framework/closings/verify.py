"""The price replay checker (``otc closings verify``): every closing's price and total,
recomputed from its own snapshot columns with the pipeline's own ``client_price`` and
``total_brl``, must equal what the client was charged (SPEC §4: "an operator can replay any
price months later from the row alone").

The mode on the row says which spread priced it: ``lp:<provider>`` rows replay from
``lp_spread_pct_used``, spot rows (``spot``, ``spot-fallback``) from
``tier_spread_pct_used``. A row missing the spread its mode needs cannot be replayed, and
that is a mismatch too. ``reference_price`` already holds the USDC ratio (the reference
source applies it), so the ratio column is not applied a second time.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol

from tortoise.expressions import Q

from otc_framework.pricing.pipeline import client_price, total_brl
from otc_framework.storage.models import Closing

LP_MODE_PREFIX = "lp:"
# Rows read per query: a big table is walked, never loaded at once.
PAGE_SIZE = 500


class Snapshot(Protocol):
    """The columns a replay reads (a ``Closing`` row, or anything shaped like one); read-only,
    so a frozen ``ClosingRow`` fits too."""

    @property
    def reference_mode(self) -> str: ...

    @property
    def reference_price(self) -> Decimal: ...

    @property
    def lp_spread_pct_used(self) -> Decimal | None: ...

    @property
    def tier_spread_pct_used(self) -> Decimal | None: ...

    @property
    def spread_adjustment_used(self) -> Decimal: ...

    @property
    def validity_adder_used(self) -> Decimal: ...

    @property
    def amount(self) -> Decimal: ...


@dataclass(frozen=True, slots=True)
class Replayed:
    price: Decimal
    total_brl: Decimal


def replay(row: Snapshot) -> Replayed:
    """The price and total the row's snapshot prices to; ``ValueError`` when the spread its
    mode needs is not recorded."""
    lp_mode = row.reference_mode.startswith(LP_MODE_PREFIX)
    lp_spread = row.lp_spread_pct_used if lp_mode else None
    tier_spread = None if lp_mode else row.tier_spread_pct_used
    if lp_mode and lp_spread is None:
        raise ValueError(f"{row.reference_mode} closing without lp_spread_pct_used")
    price = client_price(row.reference_price, lp_spread, tier_spread, row.spread_adjustment_used,
                         row.validity_adder_used)
    return Replayed(price, total_brl(row.amount, price))


def mismatch(row: Closing) -> dict[str, Any] | None:
    """What an operator needs to look into one closing that does not replay; ``None`` when it does."""
    try:
        replayed: Replayed | None = replay(row)
        problem = None
    except ValueError as exc:
        replayed, problem = None, str(exc)
    if replayed is not None and replayed.price == row.price and replayed.total_brl == row.total_brl:
        return None
    return {
        "closingId": str(row.id), "oid": row.oid, "createdAt": row.created_at.isoformat(),
        "referenceMode": row.reference_mode,
        "storedPrice": str(row.price), "replayedPrice": None if replayed is None else str(replayed.price),
        "storedTotalBrl": str(row.total_brl),
        "replayedTotalBrl": None if replayed is None else str(replayed.total_brl),
        **({"problem": problem} if problem else {}),
    }


@dataclass(frozen=True, slots=True)
class Verification:
    checked: int
    mismatches: list[dict[str, Any]]

    def as_json(self) -> dict[str, Any]:
        return {"checked": self.checked, "mismatches": self.mismatches}


async def verify_closings(since: datetime | None = None, page_size: int = PAGE_SIZE) -> Verification:
    """Replay every closing created at or after ``since`` (all when ``None``), oldest first."""
    checked, found = 0, []
    async for page in _pages(since, page_size):
        checked += len(page)
        found += [m for m in map(mismatch, page) if m is not None]
    return Verification(checked, found)


async def _pages(since: datetime | None, size: int) -> AsyncIterator[list[Closing]]:
    """Keyset pages on (created_at, id): each query starts after the last row seen, so the
    walk costs the same on page 1,000 as on page 1 and skips or repeats nothing."""
    base = Closing.all() if since is None else Closing.filter(created_at__gte=since)
    after: Q | None = None
    while True:
        query = base if after is None else base.filter(after)
        page = await query.order_by("created_at", "id").limit(size)
        if not page:
            return
        yield page
        if len(page) < size:
            return
        last = page[-1]
        after = Q(created_at__gt=last.created_at) | Q(created_at=last.created_at, id__gt=last.id)
