"""Group commit on PostgreSQL: the same statement of many callers, in one transaction.

Every quote writes SESSION_CREATED and every close its closing, and each may answer only once
its rows are committed. A statement apiece costs a pool checkout, a round trip and a commit
each, in the worker and in the server: it was the largest part of a quote's and a close's
CPU. Here the callers of one statement that come while ``IN_FLIGHT`` batches of it are under
way wait for one of them to end, and then go together in the next: one transaction
(``executemany``), however many. Under light load a caller finds a batch free and goes at
once, so grouping adds no wait; under heavy load batches grow. Each caller returns when the transaction that carried its values has committed, or
raises what it raised; nothing is acknowledged before it is committed.

A transaction refused for what one caller's values hold (a unique column already taken, a
value too long: not an outage) committed nothing, so its callers are run again one at a time
and only that caller fails, as it would have alone. A transaction whose outcome is unknown
(the connection lost mid-way) is never run again: every caller in it fails, as each would
have with a statement of its own, and each decides what an unknown outcome means for it.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Awaitable, Callable, Sequence
from functools import partial
from typing import Any, Generic, TypeVar

import asyncpg
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError, OperationalError

from otc_framework.storage.database import DatabaseUnavailable, unavailable

Row = TypeVar("Row")
# Batches of one statement written at once (each on a pool connection of its own): one, so
# that rows arriving during a batch make the next one as large as they can (docs/decisions.md).
IN_FLIGHT = 1
Write = Callable[[Sequence[Row]], Awaitable[None]]
# Whether a failed statement's outcome is unknown (the server unreachable): then it is not
# broken up and written again.
Unreachable = Callable[[BaseException], bool]


class GroupWriter(Generic[Row]):
    """``await add(row)`` returns once ``write`` has committed a statement holding ``row``."""

    def __init__(self, write: Write[Row], unreachable: Unreachable, in_flight: int = IN_FLIGHT) -> None:
        self._write = write
        self._unreachable = unreachable
        self._in_flight = in_flight
        self._waiting: list[tuple[Row, asyncio.Future[None]]] = []
        self._writers: set[asyncio.Task[None]] = set()
        # A writer made but not yet started: rows added meanwhile wait for it, not another.
        self._starting: asyncio.Task[None] | None = None

    async def add(self, row: Row) -> None:
        loop = asyncio.get_running_loop()
        committed: asyncio.Future[None] = loop.create_future()
        self._waiting.append((row, committed))
        if self._starting is None and len(self._writers) < self._in_flight:
            # A task, not this caller: the rows added during this turn of the loop join it.
            writer = self._starting = loop.create_task(self._write_waiting())
            self._writers.add(writer)
            writer.add_done_callback(self._ended)
        await committed

    def _ended(self, writer: asyncio.Task[None]) -> None:
        # For a writer cancelled before it started; one that ran has left already.
        self._writers.discard(writer)
        if self._starting is writer:
            self._starting = None

    async def _write_waiting(self) -> None:
        me = asyncio.current_task()
        self._starting = None
        batch: list[tuple[Row, asyncio.Future[None]]] = []
        try:
            while self._waiting:
                batch, self._waiting = self._waiting, []
                await self._settle(batch)
                batch = []
        except BaseException as exc:  # cancelled with the loop: nobody may wait for ever
            waiting = [] if len(self._writers) > 1 else self._waiting  # another writer takes them
            for _, committed in (*batch, *waiting):
                _fail(committed, exc)
            if len(self._writers) <= 1:
                self._waiting = []
            raise
        finally:
            # In the same step as the last look at the queue: a row added after it finds room
            # for a new writer. (Left to the done callback, which runs a turn later, a row added
            # in between would find every place taken by writers that are done, and wait for ever.)
            self._writers.discard(me)

    async def _settle(self, batch: Sequence[tuple[Row, asyncio.Future[None]]]) -> None:
        try:
            await self._write([row for row, _ in batch])
        except Exception as exc:
            if len(batch) > 1 and not self._unreachable(exc):
                for item in batch:
                    await self._settle([item])
                return
            for _, committed in batch:
                _fail(committed, exc)
            return
        for _, committed in batch:
            if not committed.done():  # its caller may have been cancelled meanwhile
                committed.set_result(None)


def _fail(committed: asyncio.Future[None], exc: BaseException) -> None:
    if committed.done():
        return
    if isinstance(exc, asyncio.CancelledError):
        committed.cancel()
    else:
        committed.set_exception(exc)


Values = list[Any]
# One writer per statement per connection (a deployment has one connection; tests open
# several in turn). Writers hold their connection weakly, or its entry would never go.
_WRITERS: weakref.WeakKeyDictionary[BaseDBAsyncClient, dict[str, GroupWriter[Values]]] = weakref.WeakKeyDictionary()


async def execute_grouped(connection: BaseDBAsyncClient, statement: str, values: Values) -> None:
    """Run ``statement`` with ``values`` on PostgreSQL ``connection``, committed together with
    the other callers of the same statement at this moment (see the module docstring). Errors
    are Tortoise's, as ``execute_query`` raises them."""
    writers = _WRITERS.get(connection)
    if writers is None:
        writers = _WRITERS[connection] = {}
    writer = writers.get(statement)
    if writer is None:
        writer = writers[statement] = GroupWriter(partial(_execute, weakref.ref(connection), statement), unavailable)
    await writer.add(values)


async def _execute(reference: weakref.ref[BaseDBAsyncClient], statement: str, batch: Sequence[Values]) -> None:
    database = reference()
    if database is None:
        raise DatabaseUnavailable("the database was closed")
    if len(batch) == 1:
        await database.execute_query(statement, batch[0])
        return
    # asyncpg's executemany is atomic by itself, in one round trip; Tortoise's execute_many
    # would add a BEGIN and a COMMIT round trip. Errors are translated as Tortoise does.
    try:
        async with database.acquire_connection() as pooled:
            await pooled.executemany(statement, batch)
    except asyncpg.IntegrityConstraintViolationError as exc:
        raise IntegrityError(exc) from exc
    except (asyncpg.SyntaxOrAccessError, asyncpg.exceptions.DataError) as exc:
        raise OperationalError(exc) from exc
