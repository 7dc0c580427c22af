"""Whether money may be summed in SQL on the open database.

PostgreSQL sums ``numeric`` exactly, so a total is one aggregate statement there. SQLite keeps
Tortoise's decimals as text and aggregates them through float (DESIGN.md, Code): there the
rows' values are read and summed as ``Decimal`` instead. SQLite is the embedded,
single-process default, whose tables stay small.
"""

from __future__ import annotations

from tortoise import connections


def sums_in_sql() -> bool:
    return bool(connections.get("default").capabilities.dialect == "postgres")
