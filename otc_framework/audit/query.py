"""Reading the audit trail: the rows matching an operator's filters, and a closing's story.

Reading only: rows are append-only (``AuditLog``), and nothing here or in the admin API
changes or removes one.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from uuid import UUID

from tortoise.expressions import Q
from tortoise.queryset import QuerySet

from otc_framework.storage.models import AuditLog, AuditSource


@dataclass(frozen=True, slots=True)
class AuditFilters:
    """Every filter is exact and optional; ``since`` inclusive, ``until`` exclusive."""

    action: str | None = None
    source: AuditSource | None = None
    client_id: UUID | None = None
    closing_id: UUID | None = None
    oid: str | None = None
    session_id: str | None = None
    actor: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def matching(filters: AuditFilters) -> QuerySet[AuditLog]:
    """The rows ``filters`` select, unordered (page them with ``web.pages.newest_first``)."""
    exact = {k: v for k, v in asdict(filters).items() if v is not None and k not in ("since", "until")}
    query = AuditLog.filter(**exact)
    if filters.since is not None:
        query = query.filter(created_at__gte=filters.since)
    if filters.until is not None:
        query = query.filter(created_at__lt=filters.until)
    return query


async def closing_trail(closing_id: UUID, session_id: str) -> list[AuditLog]:
    """A closing's audit rows, oldest first: those naming it (CLOSE_SUCCESS, lifecycle,
    send-to-desk) and those of the quote session it was traded from (SESSION_CREATED, a
    failed close attempt), which carry the session id only."""
    rows = await AuditLog.filter(Q(closing_id=closing_id) | Q(session_id=session_id)).order_by("created_at", "id")
    return list(rows)
