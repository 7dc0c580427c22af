from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from otc_framework.storage.database import close_database, migrate, open_database


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[str]:
    """A fully migrated database on each backend, open in this process."""
    await migrate(database_url)
    await open_database(database_url)
    try:
        yield database_url
    finally:
        await close_database()
