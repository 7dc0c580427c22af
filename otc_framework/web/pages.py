"""Cursor pagination, newest first, for every list endpoint (client and admin).

A cursor is the opaque position ``(createdAt, id)`` of the last row of a page; the next page
holds the rows strictly after it in ``created_at DESC, id DESC`` order. Keyset rather than
offset pages: rows inserted while someone pages never shift or repeat what they see.
"""

from __future__ import annotations

import base64
import json
from datetime import datetime
from typing import Any

from tortoise.expressions import Q
from tortoise.queryset import QuerySet

from otc_framework.errors import ValidationFailed


def encode_cursor(created_at: datetime, row_id: Any) -> str:
    # Integer ids stay integers in the JSON; UUIDs travel as text.
    key = row_id if isinstance(row_id, int) else str(row_id)
    raw = json.dumps([created_at.isoformat(), key]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, Any]:
    """The position a cursor names; VALIDATION_ERROR on ``cursor`` for anything this API did
    not hand out."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        created_at, row_id = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if not isinstance(row_id, (int, str)):
            raise TypeError(row_id)
        return datetime.fromisoformat(created_at), row_id
    except (ValueError, TypeError):
        raise ValidationFailed("cursor: not a cursor this API gave", field="cursor") from None


async def newest_first(query: QuerySet[Any], limit: int, cursor: str | None) -> tuple[list[Any], str | None]:
    """``limit`` rows of ``query`` after ``cursor``, newest first, and the next page's cursor
    (``None`` on the last page)."""
    if cursor is not None:
        created_at, row_id = decode_cursor(cursor)
        query = query.filter(Q(created_at__lt=created_at) | Q(created_at=created_at, id__lt=row_id))
    rows = await query.order_by("-created_at", "-id").limit(limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (encode_cursor(rows[-1].created_at, rows[-1].id) if more and rows else None)
