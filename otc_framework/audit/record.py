"""Writing one audit row. Rows are append-only (``AuditLog``); callers inside a transaction
pass its connection so the row commits or rolls back with what it describes."""

from __future__ import annotations

from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from otc_framework.storage.models import AuditLog, AuditSource


async def record(
    action: str,
    *,
    actor: str,
    source: AuditSource,
    detail: dict[str, Any] | None = None,
    session_id: str | None = None,
    oid: str | None = None,
    closing_id: Any = None,
    client_id: Any = None,
    ip_address: str | None = None,
    using_db: BaseDBAsyncClient | None = None,
) -> AuditLog:
    return await AuditLog.create(
        action=action,
        actor=actor,
        source=source,
        detail=detail or {},
        session_id=session_id,
        oid=oid,
        closing_id=closing_id,
        client_id=client_id,
        ip_address=ip_address,
        using_db=using_db,
    )
