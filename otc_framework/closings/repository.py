"""SQL of the ``closings`` table for the trading path.

A closing, its audit rows and its hedge intent are written together or not at all. On
PostgreSQL that is ONE statement (``WITH c AS (INSERT … RETURNING …), h AS (INSERT INTO
hedges …) INSERT INTO audit_logs … VALUES (…)[, (…)]``): atomic without BEGIN/COMMIT round trips, which the
benchmark showed nearly halves its cost. SQLite cannot put DML in a CTE, so the embedded
default uses a short ORM transaction instead; both take the same column values from
``ClosingRow`` and ``HedgeRow``.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from typing import Any
from uuid import UUID

from tortoise import connections
from tortoise.transactions import in_transaction

from otc_framework.audit import trail as audit
from otc_framework.execution import intent
from otc_framework.execution.intent import HedgeRow
from otc_framework.storage.group_commit import execute_grouped
from otc_framework.storage.models import Closing, Hedge


@dataclass(frozen=True, slots=True)
class ClosingRow:
    id: UUID
    oid: str
    session_id: str
    client_id: UUID
    client_name: str
    tier: str
    source: str
    side: str
    currency: str
    settlement: str
    amount: Decimal
    price: Decimal
    total_brl: Decimal
    status: str
    settlement_date: date
    group_id: str | None
    reference_mode: str
    reference_price: Decimal
    spot_at_quote: Decimal | None
    binance_at_quote: Decimal | None
    lp_spread_pct_used: Decimal | None
    tier_spread_pct_used: Decimal | None
    spread_adjustment_used: Decimal
    validity_adder_used: Decimal
    usdt_usdc_ratio_used: Decimal
    validity_seconds: int
    quoted_at: datetime
    created_at: datetime
    updated_at: datetime


_CLOSING_COLUMNS = tuple(ClosingRow.__dataclass_fields__)


@functools.cache
@cache
def _insert_with_audit_sql(audit_rows: int) -> str:
    closing_params = ", ".join(f"${i}" for i in range(1, len(_CLOSING_COLUMNS) + 1))
    first_hedge = len(_CLOSING_COLUMNS) + 1
    hedge_params = ", ".join(f"${i}" for i in range(first_hedge, first_hedge + len(intent.COLUMNS)))
    first_audit = first_hedge + len(intent.COLUMNS)
    # VALUES rows take their types from the target columns (a UNION of parameters would not).
    audits = ", ".join(f"({audit.placeholders(first_audit + n * len(audit.COLUMNS))})" for n in range(audit_rows))
    return (
        f"WITH c AS (INSERT INTO closings ({', '.join(_CLOSING_COLUMNS)}) VALUES ({closing_params}) RETURNING id), "
        f"h AS (INSERT INTO hedges ({', '.join(intent.COLUMNS)}, attempt, filled_amount, chunks, checks) "
        f"SELECT {hedge_params}, 0, 0, 0, 0 FROM c) "
        f"INSERT INTO audit_logs ({', '.join(audit.COLUMNS)}) VALUES {audits}"
    )


async def insert_with_audit(closing: ClosingRow, rows: Sequence[audit.AuditRow], hedge: HedgeRow) -> None:
    """Write the closing, its audit ``rows`` (CLOSE_SUCCESS, and BOT_CLOSE for a bot trade) and
    its hedge intent atomically; ``tortoise.exceptions.IntegrityError`` when the session or the
    OID already has a closing (nothing is written then). On PostgreSQL the statement commits
    together with the closings other callers are writing at the same moment
    (``storage.group_commit``), and returns once committed."""
    connection = connections.get("default")
    if connection.capabilities.dialect == "postgres":
        values = [
            *(getattr(closing, c) for c in _CLOSING_COLUMNS), *(getattr(hedge, c) for c in intent.COLUMNS),
            *(value for row in rows for value in row.values()),
        ]
        await execute_grouped(connection, _insert_with_audit_sql(len(rows)), values)
        return
    async with in_transaction() as conn:
        await Closing.create(**asdict(closing), using_db=conn)
        await Hedge.create(**asdict(hedge), using_db=conn)
        for row in rows:
            await audit.append(row, using_db=conn)


async def find(**filters: Any) -> Closing | None:
    return await Closing.filter(**filters).first()
