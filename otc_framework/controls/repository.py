"""Reading and writing ``system_controls`` rows."""

from __future__ import annotations

from tortoise.backends.base.client import BaseDBAsyncClient

from otc_framework.storage.models import SystemControl


async def load_stored() -> dict[str, str]:
    rows = await SystemControl.all().values_list("key", "value")
    return dict(rows)


async def load_rows() -> dict[str, SystemControl]:
    """Every stored row by key, with who changed it last and when."""
    return {row.key: row for row in await SystemControl.all()}


async def save(key: str, text: str, actor: str, using_db: BaseDBAsyncClient) -> tuple[str | None, SystemControl]:
    """Write ``key``; return the text it had before (``None`` when it was never written) and
    the row as written. The row is locked first on PostgreSQL, so two concurrent writers
    record true befores."""
    row = await SystemControl.filter(key=key).using_db(using_db).select_for_update().first()
    if row is None:
        row = await SystemControl.create(key=key, value=text, updated_by=actor, using_db=using_db)
        return None, row
    before = row.value
    row.value = text
    row.updated_by = actor
    await row.save(using_db=using_db, update_fields=["value", "updated_by", "updated_at"])
    return before, row
