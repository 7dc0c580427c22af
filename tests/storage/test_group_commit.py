"""Group commit (``storage.group_commit``), through the audit trail and on a unique column:
each caller returns once its own values are committed, a refused value fails only its
caller, and an unreachable database fails every caller and nothing is run again."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from tortoise import connections
from tortoise.exceptions import IntegrityError

from otc_framework.audit import record
from otc_framework.storage.group_commit import GroupWriter, execute_grouped
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
    await asyncio.gather(*(record("Q", actor="c", source=AuditSource.API, session_id=str(n)) for n in range(30)))
    # Rows written by one transaction share its id (xmin): fewer transactions than rows.
    _, rows = await database.execute_query("SELECT count(DISTINCT xmin::text) AS n FROM audit_logs WHERE action = 'Q'")
    assert 1 <= rows[0]["n"] < 30
    assert await AuditLog.filter(action="Q").count() == 30


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_a_taken_unique_value_fails_its_own_caller_only(db: str) -> None:
    database = connections.get("default")
    await database.execute_script("CREATE TABLE grouped (k text UNIQUE NOT NULL)")
    keys = [f"k{n}" for n in range(12)] + ["k3"]  # k3 twice: one of them must fail
    results = await asyncio.gather(
        *(execute_grouped(database, "INSERT INTO grouped (k) VALUES ($1)", [k]) for k in keys), return_exceptions=True
    )
    assert [type(r) for r in results if r is not None] == [IntegrityError]
    _, rows = await database.execute_query("SELECT k FROM grouped ORDER BY k")
    assert sorted(r["k"] for r in rows) == sorted(set(keys))


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
    assert sorted(written) == [1, 2, 3]


async def test_a_caller_goes_at_once_while_a_batch_is_free() -> None:
    release = asyncio.Event()
    batches: list[list[int]] = []

    async def write(rows: Any) -> None:
        batches.append(list(rows))
        if rows[0] == 1:  # the first batch hangs until released
            await release.wait()

    group: GroupWriter[int] = GroupWriter(write, lambda exc: False, in_flight=2)
    first = asyncio.ensure_future(group.add(1))
    await asyncio.sleep(0.01)
    await asyncio.wait_for(group.add(2), 1)  # a second batch is free: not held behind the first
    third, fourth = asyncio.ensure_future(group.add(3)), asyncio.ensure_future(group.add(4))
    await asyncio.sleep(0.01)
    assert batches == [[1], [2], [3, 4]]  # the third and fourth went together, the moment they could
    release.set()
    await asyncio.gather(first, third, fourth)


async def test_a_row_added_as_the_last_writer_ends_is_written() -> None:
    written: list[int] = []

    async def write(rows: Any) -> None:
        written.extend(rows)

    group: GroupWriter[int] = GroupWriter(write, lambda exc: False, in_flight=1)
    async with asyncio.timeout(2):
        await group.add(1)
        # Added as soon as 1 is written, before the loop has run anything else (the writer's
        # done callbacks included): a writer must still take it.
        await group.add(2)
    assert written == [1, 2]
