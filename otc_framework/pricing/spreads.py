"""The tier spread grid (table ``spreads``): tier × currency × settlement → spread in %."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from otc_framework.errors import InternalError
from otc_framework.storage.models import Currency, Settlement, Spread, Tier

SpreadKey = tuple[Tier, Currency, Settlement]


class SpreadGrid:
    def __init__(self, cells: Mapping[SpreadKey, Decimal]) -> None:
        self._cells = dict(cells)

    def spread(self, tier: Tier, currency: Currency, settlement: Settlement) -> Decimal:
        try:
            return self._cells[(tier, currency, settlement)]
        except KeyError:
            # The migrations seed all 42 cells; a missing one is a damaged database, not a
            # caller's mistake, and must not be priced at some default.
            raise InternalError(f"no spread configured for {tier}/{currency}/{settlement}") from None


async def load_spreads() -> SpreadGrid:
    rows = await Spread.all().values_list("tier", "currency", "settlement", "spread_pct")
    return SpreadGrid({(Tier(t), Currency(c), Settlement(s)): Decimal(p) for t, c, s, p in rows})
