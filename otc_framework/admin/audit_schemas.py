"""How the audit trail is asked for and shown (SPEC §14), and the time bounds of admin lists.

``since`` / ``until`` (on the audit log and on closings) bound ``createdAt``: ``since``
inclusive, ``until`` exclusive, so consecutive windows never count a row twice. Each is an
RFC 3339 date-time with an offset (``2026-11-21T12:00:00Z``, ``…T09:00:00-03:00``; a ``+``
must be URL-encoded as ``%2B``) or a plain date, read as that day's midnight in
America/Sao_Paulo (SPEC §3): operators think in desk days, so ``since=2026-11-21&until=
2026-11-22`` is the desk's whole 21 November. A date-time without an offset is refused
rather than guessed. A window that holds no instant (``until`` at or before ``since``) is
not an error: it selects no rows, like any other window nothing falls in. An instant past
what a date-time can hold in UTC (year 1 or 9999 with an offset) is read as the earliest or
latest one.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime, time
from typing import Annotated, Any, TypeVar
from uuid import UUID
from zoneinfo import ZoneInfo

from pydantic import BeforeValidator, Field, WithJsonSchema

from otc_framework.storage.models import AuditLog, AuditSource
from otc_framework.web.bodies import AnswerModel, RequestModel
from otc_framework.web.pages import CURSOR_DESCRIPTION, CURSOR_PATTERN

DESK_ZONE = ZoneInfo("America/Sao_Paulo")
Moment = TypeVar("Moment", date, datetime)
# The two forms the document names (JSON Schema's ``date`` and ``date-time``), matched before
# parsing: ``fromisoformat`` alone takes more (a space for the T, week dates, no colons).
_PLAIN_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_DATE_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)?(?P<offset>[Zz]|[+-][0-9]{2}:[0-9]{2})?")


def _in_utc(moment: datetime) -> datetime:
    try:
        return moment.astimezone(UTC)
    except OverflowError:  # before 0001-01-01 or after 9999-12-31 once in UTC
        return datetime.min.replace(tzinfo=UTC) if moment.year == 1 else datetime.max.replace(tzinfo=UTC)


_FORMS = "expected an RFC 3339 date-time with offset or a date (YYYY-MM-DD)"


def _instant(value: Any) -> Any:
    """An aware UTC datetime from a query value (see the module docstring)."""
    if not isinstance(value, str):
        return value
    if _PLAIN_DATE.fullmatch(value):
        return _in_utc(datetime.combine(_parsed(date.fromisoformat, value), time(), DESK_ZONE))
    written = _DATE_TIME.fullmatch(value)
    if written is None:
        raise ValueError(_FORMS)
    if written.group("offset") is None:
        raise ValueError("a date-time needs an offset (e.g. 2026-11-21T12:00:00Z); or give a plain date")
    return _in_utc(_parsed(datetime.fromisoformat, value.upper()))


def _parsed(parse: Callable[[str], Moment], text: str) -> Moment:
    """``parse(text)``, refusing a well-formed text that names no day (2026-02-30) or time."""
    try:
        return parse(text)
    except ValueError:
        raise ValueError(_FORMS) from None


TimeBound = Annotated[
    datetime,
    BeforeValidator(_instant),
    WithJsonSchema({
        "anyOf": [{"type": "string", "format": "date"}, {"type": "string", "format": "date-time"}],
        "description": "RFC 3339 date-time with offset, or a date meaning its midnight in America/Sao_Paulo",
        "examples": ["2026-11-21", "2026-11-21T12:00:00Z"],
    }),
]


class TimeWindowQuery(RequestModel):
    """Paging and the ``createdAt`` window shared by admin lists."""

    since: TimeBound | None = Field(None, description="createdAt at or after this instant")
    until: TimeBound | None = Field(None, description="createdAt before this instant; at or before `since`, no rows")
    limit: int = Field(50, ge=1, le=200)
    cursor: str | None = Field(None, pattern=CURSOR_PATTERN, description=CURSOR_DESCRIPTION)


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
