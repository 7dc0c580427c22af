"""A closing's hedge intent: what the desk owes the market once the closing commits.

Decided from the closing and the live controls when the closing is written, and written in the
same transaction, so every closing answers "was it hedged?" from the moment it exists: the
intent is ``pending`` (the engine takes it from there) or ``skipped`` with the reason (the
mode does not hedge, or the client is not in ``exec_enabled_clients``).
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from uuid import UUID

from otc_framework.storage.models import Currency, HedgeStatus, Settlement, Side


@dataclass(frozen=True, slots=True)
class HedgeRow:
    """The intent's columns, in the order the close path writes them."""

    id: UUID
    closing_id: UUID
    status: str
    reason: str | None
    side: str
    currency: str
    settlement: str
    amount: Decimal
    client_price: Decimal
    created_at: datetime
    updated_at: datetime


COLUMNS = tuple(HedgeRow.__dataclass_fields__)


def hedged_as(currency: Currency, settlement: Settlement) -> tuple[Currency, Settlement]:
    """What an LP is asked for to offset a client's trade (SPEC §10: LPs do not quote forward
    USDT, so D1/D2 USDT is hedged as USDC; D0 USDT as USDT). LP quote mode prices by it too."""
    if currency is Currency.USDT and settlement is not Settlement.D0:
        return Currency.USDC, settlement
    return currency, settlement


def hedge_side(closing_side: str) -> str:
    """The desk offsets its side of the closing: it sold to the client, so it buys at the LP."""
    return Side.BUY.value if closing_side == Side.SELL else Side.SELL.value


def intent(
    *, closing_id: UUID, client_name: str, side: str, currency: str, settlement: str, amount: Decimal,
    price: Decimal, mode: str, hedging_modes: Collection[str], enabled_clients: Collection[str], at: datetime,
) -> HedgeRow:
    reason = None
    if mode not in hedging_modes:
        reason = f"exec_mode {mode} does not hedge"
    elif enabled_clients and client_name not in enabled_clients:
        reason = "client not in exec_enabled_clients"
    return HedgeRow(
        id=uuid.uuid4(), closing_id=closing_id,
        status=(HedgeStatus.SKIPPED if reason else HedgeStatus.PENDING).value, reason=reason,
        side=hedge_side(side), currency=hedged_as(Currency(currency), Settlement(settlement))[0].value,
        settlement=settlement,
        amount=amount, client_price=price, created_at=at, updated_at=at,
    )
