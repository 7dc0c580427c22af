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
from otc_framework.storage.database import DatabaseUnavailable
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

    async def write(rows: Any, held: object) -> None:
        writes.append(list(rows))
        raise ConnectionResetError("gone mid-statement")

    group: GroupWriter[int] = GroupWriter(write, lambda exc: isinstance(exc, ConnectionError))
    results = await asyncio.gather(*(group.add(n) for n in range(5)), return_exceptions=True)
    assert all(isinstance(result, ConnectionResetError) for result in results)
    assert writes == [[0, 1, 2, 3, 4]]  # one statement, never broken up and sent again


async def test_a_cancelled_caller_does_not_stop_the_others() -> None:
    release = asyncio.Event()
    written: list[int] = []

    async def write(rows: Any, held: object) -> None:
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

    async def write(rows: Any, held: object) -> None:
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

    async def write(rows: Any, held: object) -> None:
        written.extend(rows)

    group: GroupWriter[int] = GroupWriter(write, lambda exc: False, in_flight=1)
    async with asyncio.timeout(2):
        await group.add(1)
        # Added as soon as 1 is written, before the loop has run anything else (the writer's
        # done callbacks included): a writer must still take it.
        await group.add(2)
    assert written == [1, 2]


class Holds:
    """A ``hold`` that hands out numbered connections and records each taken and given back."""

    def __init__(self, fail_first: int = 0) -> None:
        self.taken: list[int] = []
        self.given_back: list[int] = []
        self.fail_first = fail_first

    def __call__(self) -> Any:
        holds = self

        class Holding:
            async def __aenter__(self) -> int:
                if holds.fail_first:
                    holds.fail_first -= 1
                    raise ConnectionRefusedError("no connection to be had")
                holds.taken.append(len(holds.taken) + 1)
                return holds.taken[-1]

            async def __aexit__(self, *exc: object) -> None:
                holds.given_back.append(holds.taken[-1])

        return Holding()


async def first_batch_held_back(group: GroupWriter[int], release: asyncio.Event, later: tuple[int, ...]) -> list[Any]:
    """Row 1's batch, held until ``release``d, with the ``later`` rows added meanwhile: what each caller got."""
    first = asyncio.ensure_future(group.add(1))
    await asyncio.sleep(0.01)
    rest = [asyncio.ensure_future(group.add(n)) for n in later]  # they wait for the first batch
    await asyncio.sleep(0.01)
    release.set()
    return await asyncio.gather(first, *rest, return_exceptions=True)


@pytest.mark.parametrize("lost", [False, True])
async def test_batches_that_follow_each_other_hold_one_connection_until_it_is_lost(lost: bool) -> None:
    holds = Holds()
    release = asyncio.Event()
    batches: list[tuple[int, list[int]]] = []

    async def write(rows: Any, held: int) -> None:
        batches.append((held, list(rows)))
        if rows[0] == 1:
            await release.wait()
            if lost:
                raise ConnectionResetError("gone mid-statement")

    group: GroupWriter[int] = GroupWriter(write, lambda exc: isinstance(exc, ConnectionError), hold=holds)
    results = await first_batch_held_back(group, release, (2, 3))
    assert [type(result) for result in results] == [ConnectionResetError if lost else type(None), type(None), type(None)]
    # Lost: 1 is never sent again, and 2 and 3 go on a new connection.
    assert batches == [(1, [1]), (2 if lost else 1, [2, 3])]
    assert holds.taken == holds.given_back == ([1, 2] if lost else [1])
    await group.add(4)  # a new run of batches holds anew
    assert batches[-1] == (len(holds.taken), [4]) and holds.given_back == holds.taken


async def test_callers_fail_when_no_connection_can_be_held_and_later_ones_are_written() -> None:
    holds = Holds(fail_first=1)
    written: list[int] = []

    async def write(rows: Any, held: int) -> None:
        written.extend(rows)

    group: GroupWriter[int] = GroupWriter(write, lambda exc: False, hold=holds)
    results = await asyncio.gather(*(group.add(n) for n in range(3)), return_exceptions=True)
    assert all(isinstance(result, ConnectionRefusedError) for result in results)
    await group.add(9)
    assert written == [9] and holds.taken == holds.given_back == [1]


async def test_a_connection_lost_while_a_refused_batch_is_run_again_fails_the_callers_not_yet_run() -> None:
    holds = Holds()
    release = asyncio.Event()
    sent: list[list[int]] = []

    async def write(rows: Any, held: int) -> None:
        sent.append(list(rows))
        if rows == [1]:
            await release.wait()
        elif len(rows) > 1:
            raise ValueError("one value refused")  # nothing of the batch committed
        elif rows == [3]:
            raise ConnectionResetError("gone mid-statement")

    group: GroupWriter[int] = GroupWriter(write, lambda exc: isinstance(exc, ConnectionError), hold=holds)
    results = await first_batch_held_back(group, release, (2, 3, 4))
    assert results[:2] == [None, None]
    assert isinstance(results[2], ConnectionResetError) and isinstance(results[3], DatabaseUnavailable)
    assert sent == [[1], [2, 3, 4], [2], [3]]  # 4 was never sent after the loss
    assert holds.given_back == [1]
