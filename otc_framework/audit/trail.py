"""Writing audit rows. Rows are append-only (``AuditLog``); callers inside a transaction pass
its connection so the row commits or rolls back with what it describes.

On PostgreSQL a row is written below the ORM: SESSION_CREATED is written on every quote and
was most of a quote's cost through the ORM. A row outside a transaction joins the rows other
callers are writing at the same moment (``storage.group_commit``: one transaction for
all of them, each caller answered once it is committed); a row inside one is its own INSERT
on that transaction's connection. SQLite (the embedded default) goes through the model; both
take their values from one ``AuditRow``.
"""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from operator import attrgetter
from typing import Any
from uuid import UUID

from tortoise import connections
from tortoise.backends.base.client import BaseDBAsyncClient

from otc_framework.storage.group_commit import execute_grouped
from otc_framework.storage.models import AuditLog, AuditSource, JsonText, encode_json


@dataclass(frozen=True, slots=True)
class AuditRow:
    action: str
    actor: str
    source: str
    session_id: str | None = None
    oid: str | None = None
    closing_id: UUID | None = None
    client_id: UUID | None = None
    ip_address: str | None = None
    detail: dict[str, Any] | JsonText = field(default_factory=dict)
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def values(self) -> list[Any]:
        """Column values in ``COLUMNS`` order, as PostgreSQL takes them."""
        values = list(_READ_COLUMNS(self))
        values[_DETAIL] = encode_json(values[_DETAIL])
        return values


COLUMNS = tuple(AuditRow.__dataclass_fields__)
_READ_COLUMNS = attrgetter(*COLUMNS)  # one call for every column (a row is written on every quote)
_DETAIL = COLUMNS.index("detail")


def placeholders(first: int) -> str:
    """``$first, …`` for the audit columns, the JSON one cast to jsonb."""
    return ", ".join(f"${i}::jsonb" if c == "detail" else f"${i}" for i, c in enumerate(COLUMNS, start=first))


_POSTGRES_INSERT = f"INSERT INTO audit_logs ({', '.join(COLUMNS)}) VALUES ({placeholders(1)})"


def _uuid(value: Any) -> UUID | None:
    if value is None or isinstance(value, UUID):
        return value
    return UUID(str(value))


# ``append`` and ``record`` hand back the statement's awaitable rather than awaiting it in a
# coroutine of their own: a SESSION_CREATED row is written on every quote, and each coroutine
# level between the caller and the statement is made, and resumed, once more per row.
def append(row: AuditRow, using_db: BaseDBAsyncClient | None = None) -> Awaitable[Any]:
    connection = using_db or connections.get("default")
    if connection.capabilities.dialect != "postgres":
        fields = asdict(row)
        if type(row.detail) is JsonText:  # Tortoise reads JSON text from a str, not a subclass of it
            fields["detail"] = str(row.detail)
        return AuditLog.create(**fields, using_db=using_db)
    if using_db is None:
        return execute_grouped(connection, _POSTGRES_INSERT, row.values())
    return connection.execute_query(_POSTGRES_INSERT, row.values())


def record(
    action: str,
    *,
    actor: str,
    source: AuditSource,
    detail: dict[str, Any] | JsonText | None = None,
    session_id: str | None = None,
    oid: str | None = None,
    closing_id: Any = None,
    client_id: Any = None,
    ip_address: str | None = None,
    using_db: BaseDBAsyncClient | None = None,
) -> Awaitable[Any]:
    """``await record(...)``: the row is written when the result is awaited."""
    row = AuditRow(action, actor, str(source), session_id, oid, _uuid(closing_id), _uuid(client_id), ip_address,
                   detail or {})
    return append(row, using_db)
