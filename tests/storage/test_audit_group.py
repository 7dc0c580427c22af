"""Audit rows written together (``audit.group``): each caller returns once its own row is
committed, a bad row fails only its caller, and an unreachable database fails every caller."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from tortoise import connections

from otc_framework.audit import record
from otc_framework.audit.group import GroupWriter
from otc_framework.storage.models import AuditLog, AuditSource


async def test_concurrent_rows_are_each_committed_when_their_caller_returns(db: str) -> None:
    async def one(n: int) -> int:
        await record("SESSION_CREATED", actor=f"client-{n}", source=AuditSource.API, session_id=f"s{n}",
                     detail={"price": "5.0150", "n": n})
        # Returned: the row is committed and any connection reads it.
        return await AuditLog.filter(session_id=f"s{n}").count()

    assert await asyncio.gather(*(one(n) for n in range(40))) == [1] * 40
    rows = await AuditLog.filter(action="SESSION_CREATED").order_by("id")
    assert sorted(r.session_id for r in rows) == sorted(f"s{n}" for n in range(40))
    assert {r.session_id: r.detail for r in rows}["s7"] == {"price": "5.0150", "n": 7}


async def test_a_bad_row_fails_its_own_caller_only(db: str) -> None:
    # 65 characters: more than the action column holds, so its statement is refused.
    actions = ["GOOD"] * 10 + ["X" * 65] + ["GOOD"] * 10
    results = await asyncio.gather(
        *(record(action, actor="c", source=AuditSource.API, session_id=str(n)) for n, action in enumerate(actions)),
        return_exceptions=True,
    )
    failed = [n for n, result in enumerate(results) if isinstance(result, Exception)]
    assert failed == [10]
    assert await AuditLog.filter(action="GOOD").count() == 20


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_rows_added_while_a_statement_runs_go_together_in_the_next(db: str) -> None:
    database = connections.get("default")
    statements: list[int] = []
    real = database.execute_query

    async def counting(query: str, values: Any = None) -> Any:
        statements.append(len(values[0]) if "unnest" in query else 1)
        return await real(query, values)

    database.execute_query = counting  # type: ignore[method-assign]
    try:
        await asyncio.gather(*(record("Q", actor="c", source=AuditSource.API, session_id=str(n)) for n in range(30)))
    finally:
        del database.execute_query
    assert sum(statements) == 30 and len(statements) < 30
    assert await AuditLog.filter(action="Q").count() == 30


async def test_an_unreachable_database_fails_every_caller_and_nothing_is_written_again() -> None:
    writes: list[list[int]] = []

    async def write(rows: Any) -> None:
        writes.append(list(rows))
        raise ConnectionResetError("gone mid-statement")

    group: GroupWriter[int] = GroupWriter(write, lambda exc: isinstance(exc, ConnectionError))
    results = await asyncio.gather(*(group.add(n) for n in range(5)), return_exceptions=True)
    assert all(isinstance(result, ConnectionResetError) for result in results)
    assert writes == [[0, 1, 2, 3, 4]]  # one statement, never broken up and sent again


async def test_a_cancelled_caller_does_not_stop_the_others() -> None:
    release = asyncio.Event()
    written: list[int] = []

    async def write(rows: Any) -> None:
        await release.wait()
        written.extend(rows)

    group: GroupWriter[int] = GroupWriter(write, lambda exc: False)
    first = asyncio.ensure_future(group.add(1))
    await asyncio.sleep(0)
    second, third = asyncio.ensure_future(group.add(2)), asyncio.ensure_future(group.add(3))
    await asyncio.sleep(0)
    second.cancel()
    release.set()
    await first
    await third
    assert written == [1, 2, 3]
