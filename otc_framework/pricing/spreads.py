"""The spread grids: tier × currency × settlement → spread in % (table ``spreads``), and
tier × currency → LP spread in % (table ``lp_spreads``, LP quote mode's spread).

Both are one reference area (``"spreads"``): a change to either reloads both."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from otc_framework.errors import InternalError
from otc_framework.storage.models import Currency, LpSpread, Settlement, Spread, Tier

SpreadKey = tuple[Tier, Currency, Settlement]
LpSpreadKey = tuple[Tier, Currency]


class SpreadGrid:
    def __init__(
        self, cells: Mapping[SpreadKey, Decimal], lp_cells: Mapping[LpSpreadKey, Decimal | None] | None = None
    ) -> None:
        self._cells = dict(cells)
        self._lp_cells = dict(lp_cells or {})

    def spread(self, tier: Tier, currency: Currency, settlement: Settlement) -> Decimal:
        try:
            return self._cells[(tier, currency, settlement)]
        except KeyError:
            # The migrations seed all 42 cells; a missing one is a damaged database, not a
            # caller's mistake, and must not be priced at some default.
            raise InternalError(f"no spread configured for {tier}/{currency}/{settlement}") from None

    def lp_spread(self, tier: Tier, currency: Currency) -> Decimal | None:
        """The tier's LP spread; ``None`` when it has none (LP quote mode then falls back to spot)."""
        return self._lp_cells.get((tier, currency))


async def load_spreads() -> SpreadGrid:
    rows = await Spread.all().values_list("tier", "currency", "settlement", "spread_pct")
    lp_rows = await LpSpread.all().values_list("tier", "currency", "lp_spread_pct")
    return SpreadGrid(
        {(Tier(t), Currency(c), Settlement(s)): Decimal(p) for t, c, s, p in rows},
        {(Tier(t), Currency(c)): None if p is None else Decimal(p) for t, c, p in lp_rows},
    )
