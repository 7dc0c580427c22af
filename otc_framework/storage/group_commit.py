"""Group commit on PostgreSQL: the same statement of many callers, in one transaction.

Every quote writes SESSION_CREATED and every close its closing, and each may answer only once
its rows are committed. A statement apiece costs a pool checkout, a round trip and a commit
each, in the worker and in the server: it was the largest part of a quote's and a close's
CPU. Here the callers of one statement that come while ``IN_FLIGHT`` batches of it are under
way wait for one of them to end, and then go together in the next: one transaction
(``executemany``), however many. Under light load a caller finds a batch free and goes at
once, so grouping adds no wait; under heavy load batches grow. Each caller returns when the
transaction that carried its values has committed, or raises what it raised; nothing is
acknowledged before it is committed. Batches that follow each other go on one pool connection,
held until no row is waiting.

A transaction refused for what one caller's values hold (a unique column already taken, a
value too long: not an outage) committed nothing, so its callers are run again one at a time
and only that caller fails, as it would have alone. A transaction whose outcome is unknown
(the connection lost mid-way) is never run again: every caller in it fails, as each would
have with a statement of its own, and each decides what an unknown outcome means for it; the
connection is given up, and the next batch takes another.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager, nullcontext
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
# ``write(rows, held)``: one statement holding ``rows``, on what ``hold`` gave (a connection).
Write = Callable[[Sequence[Row], Any], Awaitable[None]]
# What a writer holds while rows keep coming, batch after batch: a pool connection, taken and
# given back once per run of batches rather than once per batch (each costs the worker about
# as much as the statement's round trip).
Hold = Callable[[], AbstractAsyncContextManager[Any]]
# Whether a failed statement's outcome is unknown (the server unreachable): then it is not
# broken up and written again, and what was held is given up.
Unreachable = Callable[[BaseException], bool]


def _hold_nothing() -> AbstractAsyncContextManager[None]:
    return nullcontext()


class GroupWriter(Generic[Row]):
    """``await add(row)`` returns once ``write`` has committed a statement holding ``row``."""

    def __init__(self, write: Write[Row], unreachable: Unreachable, in_flight: int = IN_FLIGHT,
                 hold: Hold = _hold_nothing) -> None:
        self._write = write
        self._unreachable = unreachable
        self._in_flight = in_flight
        self._hold = hold
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
                try:
                    holding = self._hold()
                    held = await holding.__aenter__()
                except Exception as exc:  # nothing to write on (no connection to be had)
                    batch, self._waiting = self._waiting, []
                    for _, committed in batch:
                        _fail(committed, exc)
                    batch = []
                    continue
                try:
                    while self._waiting:
                        batch, self._waiting = self._waiting, []
                        lost = await self._settle(batch, held)
                        batch = []
                        if lost:
                            break  # what was held is gone: the next batch holds anew
                finally:
                    await holding.__aexit__(None, None, None)
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

    async def _settle(self, batch: Sequence[tuple[Row, asyncio.Future[None]]], held: Any) -> bool:
        """Whether ``held`` was lost (an unknown outcome); every caller of ``batch`` is answered."""
        try:
            await self._write([row for row, _ in batch], held)
        except Exception as exc:
            lost = self._unreachable(exc)
            if len(batch) > 1 and not lost:
                for n, item in enumerate(batch):
                    if await self._settle([item], held):
                        for _, committed in batch[n + 1:]:  # refused with the batch: nothing of theirs committed
                            _fail(committed, DatabaseUnavailable("the database connection was lost"))
                        return True
                return False
            for _, committed in batch:
                _fail(committed, exc)
            return lost
        for _, committed in batch:
            if not committed.done():  # its caller may have been cancelled meanwhile
                committed.set_result(None)
        return False


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


def execute_grouped(connection: BaseDBAsyncClient, statement: str, values: Values) -> Awaitable[None]:
    """``await execute_grouped(...)`` runs ``statement`` with ``values`` on PostgreSQL
    ``connection``, committed together with the other callers of the same statement at this
    moment (see the module docstring). Errors are Tortoise's, as ``execute_query`` raises them.
    The writer's own coroutine is handed back, not awaited in one more of this function's."""
    writers = _WRITERS.get(connection)
    if writers is None:
        writers = _WRITERS[connection] = {}
    writer = writers.get(statement)
    if writer is None:
        reference = weakref.ref(connection)
        writer = writers[statement] = GroupWriter(partial(_execute, statement), unavailable,
                                                  hold=partial(_pool_connection, reference))
    return writer.add(values)


def _pool_connection(reference: weakref.ref[BaseDBAsyncClient]) -> AbstractAsyncContextManager[Any]:
    database = reference()
    if database is None:
        raise DatabaseUnavailable("the database was closed")
    return database.acquire_connection()


async def _execute(statement: str, batch: Sequence[Values], pooled: Any) -> None:
    # asyncpg's executemany is atomic by itself, in one round trip (Tortoise's execute_many
    # would add a BEGIN and a COMMIT round trip); errors are translated as Tortoise does.
    try:
        if len(batch) == 1:
            await pooled.execute(statement, *batch[0])
        else:
            await pooled.executemany(statement, batch)
    except asyncpg.IntegrityConstraintViolationError as exc:
        raise IntegrityError(exc) from exc
    except (asyncpg.SyntaxOrAccessError, asyncpg.exceptions.DataError) as exc:
        raise OperationalError(exc) from exc
