"""Cursor pagination, newest first, for every list endpoint (client and admin).

A cursor is the position ``(createdAt, id)`` of the last row of a page; the next page holds
the rows strictly after it in ``created_at DESC, id DESC`` order. Keyset rather than offset
pages: rows inserted while someone pages never shift or repeat what they see.

It is written ``<createdAt in microseconds since 1970 UTC>_<id>`` (an integer id in digits,
a UUID in 32 hex digits), and query models take it as ``cursor`` with ``CURSOR_PATTERN``, so
the API document says exactly which cursors are well formed. Clients pass back what they
got; a well-formed cursor this API never gave still names a position (one whose id is of
another kind than the table's names the instant alone), so it pages rather than fails.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from tortoise.expressions import Q
from tortoise.fields import UUIDField
from tortoise.queryset import QuerySet

from otc_framework.errors import ValidationFailed

# 17 digits of microseconds reach the year 5138, inside what ``datetime`` holds; 18 digits of
# an integer id stay inside a signed 64-bit column.
CURSOR_PATTERN = r"^[0-9]{1,17}_(?:[0-9]{1,18}|[0-9a-f]{32})$"
CURSOR_DESCRIPTION = "Pass a page's `nextCursor` to get the next (older) page"
_CURSOR = re.compile(CURSOR_PATTERN)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def encode_cursor(created_at: datetime, row_id: Any) -> str:
    moment = created_at if created_at.tzinfo is not None else created_at.replace(tzinfo=UTC)
    key = str(row_id) if isinstance(row_id, int) else uuid.UUID(str(row_id)).hex
    return f"{(moment - _EPOCH) // _MICROSECOND}_{key}"


def decode_cursor(cursor: str) -> tuple[datetime, int | uuid.UUID]:
    """The position a cursor names; VALIDATION_ERROR on ``cursor`` when it is not of the form."""
    if not _CURSOR.fullmatch(cursor):
        raise ValidationFailed("cursor: not a cursor this API gave", field="cursor")
    micros, key = cursor.split("_")
    row_id = uuid.UUID(key) if len(key) == 32 else int(key)
    return _EPOCH + int(micros) * _MICROSECOND, row_id


async def newest_first(query: QuerySet[Any], limit: int, cursor: str | None) -> tuple[list[Any], str | None]:
    """``limit`` rows of ``query`` after ``cursor``, newest first, and the next page's cursor
    (``None`` on the last page)."""
    if cursor is not None:
        created_at, row_id = decode_cursor(cursor)
        if isinstance(row_id, uuid.UUID) == isinstance(query.model._meta.pk, UUIDField):
            query = query.filter(Q(created_at__lt=created_at) | Q(created_at=created_at, id__lt=row_id))
        else:
            query = query.filter(created_at__lt=created_at)
    rows = await query.order_by("-created_at", "-id").limit(limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (encode_cursor(rows[-1].created_at, rows[-1].id) if more and rows else None)
