"""How the audit trail is asked for and shown (SPEC §14), and the time bounds of admin lists.

``since`` / ``until`` (on the audit log and on closings) bound ``createdAt``: ``since``
inclusive, ``until`` exclusive, so consecutive windows never count a row twice. Each is an
ISO 8601 date-time with an offset (``2026-11-21T12:00:00Z``, ``…T09:00:00-03:00``; a ``+``
must be URL-encoded as ``%2B``) or a plain date, read as that day's midnight in
America/Sao_Paulo (SPEC §3): operators think in desk days, so ``since=2026-11-21&until=
2026-11-22`` is the desk's whole 21 November. A date-time without an offset is refused
rather than guessed.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time
from typing import Annotated, Any
from uuid import UUID
from zoneinfo import ZoneInfo

from pydantic import BeforeValidator, Field, ValidationInfo, WithJsonSchema, field_validator

from otc_framework.storage.models import AuditLog, AuditSource
from otc_framework.web.bodies import AnswerModel, RequestModel

DESK_ZONE = ZoneInfo("America/Sao_Paulo")
_PLAIN_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _instant(value: Any) -> Any:
    """An aware UTC datetime from a query value (see the module docstring)."""
    if not isinstance(value, str):
        return value
    text = value.strip()
    try:
        if _PLAIN_DATE.match(text):
            return datetime.combine(date.fromisoformat(text), time(), DESK_ZONE).astimezone(UTC)
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError("expected an ISO 8601 date-time with offset or a date (YYYY-MM-DD)") from None
    if moment.tzinfo is None:
        raise ValueError("a date-time needs an offset (e.g. 2026-11-21T12:00:00Z); or give a plain date")
    return moment.astimezone(UTC)


TimeBound = Annotated[
    datetime,
    BeforeValidator(_instant),
    WithJsonSchema({
        "type": "string",
        "description": "ISO 8601 date-time with offset, or a date meaning its midnight in America/Sao_Paulo",
        "examples": ["2026-11-21", "2026-11-21T12:00:00Z"],
    }),
]


class TimeWindowQuery(RequestModel):
    """Paging and the ``createdAt`` window shared by admin lists."""

    since: TimeBound | None = Field(None, description="createdAt at or after this instant")
    until: TimeBound | None = Field(None, description="createdAt before this instant")
    limit: int = Field(50, ge=1, le=200)
    cursor: str | None = Field(None, max_length=200)

    @field_validator("until")
    @classmethod
    def _after_since(cls, until: datetime | None, info: ValidationInfo) -> datetime | None:
        since = info.data.get("since")
        if until is not None and since is not None and until <= since:
            raise ValueError("must be later than since")
        return until


class AuditQuery(TimeWindowQuery):
    action: str | None = Field(None, max_length=64, description="Exact action, e.g. closing.advance")
    source: AuditSource | None = None
    client_id: UUID | None = None
    closing_id: UUID | None = None
    oid: str | None = Field(None, max_length=128)
    session_id: str | None = Field(None, max_length=64)
    actor: str | None = Field(None, max_length=200, description="Exact actor name")


class AuditEntry(AnswerModel):
    id: int
    action: str
    actor: str
    source: AuditSource
    session_id: str | None
    oid: str | None
    closing_id: UUID | None
    client_id: UUID | None
    ip_address: str | None
    detail: dict[str, Any]
    created_at: datetime

    @classmethod
    def of(cls, row: AuditLog) -> AuditEntry:
        return cls.model_validate({name: getattr(row, name) for name in cls.model_fields})


class AuditPage(AnswerModel):
    items: list[AuditEntry]
    next_cursor: str | None = Field(None, description="Pass as `cursor` for the next (older) page; null at the end")
