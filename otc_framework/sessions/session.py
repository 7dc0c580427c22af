"""A quote session: a price locked for seconds, held only in the store (SPEC §2, §6).

It carries everything the closing will need (price, total, every pricing input), so closing
it reads nothing else and prices nothing again: the client trades at exactly the quoted price.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, fields
from datetime import datetime
from decimal import Decimal
from operator import attrgetter
from typing import Any

import orjson

from otc_framework.pricing.pipeline import PricedQuote

_DECIMALS = ("amount", "price", "total_brl", "reference_price", "spot_at_quote", "binance_at_quote",
             "lp_spread_pct_used", "tier_spread_pct_used", "spread_adjustment_used", "validity_adder_used",
             "usdt_usdc_ratio_used")
_TIMES = ("quoted_at", "expires_at")


def session_key(session_id: str) -> str:
    return f"session:{session_id}"


def new_session_id() -> str:
    """32 random hex digits (the form ``POST /v1/sessions/{id}/close`` accepts)."""
    return secrets.token_hex(16)


# Not frozen: a frozen dataclass sets each of these 22 fields through ``object.__setattr__``,
# which measured about 3 % of a quote's worker CPU (docs/decisions.md, "Performance"). A
# session is never changed once made: it is stored, read back and booked as it was quoted.
@dataclass(slots=True)
class QuoteSession:
    session_id: str
    client_id: str
    client_name: str
    tier: str
    group_id: str | None
    currency: str
    settlement: str
    amount: Decimal
    price: Decimal
    total_brl: Decimal
    validity_seconds: int
    quoted_at: datetime
    expires_at: datetime
    reference_mode: str
    reference_price: Decimal
    spot_at_quote: Decimal | None
    binance_at_quote: Decimal | None
    lp_spread_pct_used: Decimal | None
    tier_spread_pct_used: Decimal | None
    spread_adjustment_used: Decimal
    validity_adder_used: Decimal
    usdt_usdc_ratio_used: Decimal

    @classmethod
    def of(cls, session_id: str, client: Any, amount: Decimal, total: Decimal, priced: PricedQuote,
           quoted_at: datetime, expires_at: datetime) -> QuoteSession:
        ref = priced.reference
        return cls(
            session_id=session_id, client_id=client.id, client_name=client.name, tier=str(priced.tier),
            group_id=client.group_id, currency=str(priced.currency), settlement=str(priced.settlement),
            amount=amount, price=priced.price, total_brl=total, validity_seconds=priced.validity_seconds,
            quoted_at=quoted_at, expires_at=expires_at, reference_mode=ref.mode, reference_price=ref.price,
            spot_at_quote=ref.spot, binance_at_quote=ref.second, lp_spread_pct_used=ref.lp_spread_pct,
            tier_spread_pct_used=priced.tier_spread_pct, spread_adjustment_used=priced.spread_adjustment,
            validity_adder_used=priced.validity_adder, usdt_usdc_ratio_used=ref.ratio,
        )

    def to_dict(self) -> dict[str, Any]:
        # Every field is a scalar: a shallow read, not ``asdict``'s deep copy (on every quote).
        data = dict(zip(_FIELDS, _READ_FIELDS(self), strict=True))
        for key in _DECIMALS:
            data[key] = None if data[key] is None else str(data[key])
        for key in _TIMES:
            data[key] = data[key].isoformat()
        return data

    def to_json(self) -> str:
        """The session as the store holds it, and as SESSION_CREATED records it. orjson writes
        the dataclass itself (a decimal as ``str`` writes it, a time as ``isoformat``): a third
        of the work of building the dict in Python, on every quote."""
        return orjson.dumps(self, default=str).decode()

    @classmethod
    def from_json(cls, text: str) -> QuoteSession:
        data = orjson.loads(text)
        for key in _DECIMALS:
            data[key] = None if data[key] is None else Decimal(data[key])
        for key in _TIMES:
            data[key] = datetime.fromisoformat(data[key])
        return cls(**data)


_FIELDS = tuple(f.name for f in fields(QuoteSession))
_READ_FIELDS = attrgetter(*_FIELDS)

