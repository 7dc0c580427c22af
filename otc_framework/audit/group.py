"""Rows written together: group commit for the audit trail on PostgreSQL.

Every quote writes SESSION_CREATED and may answer only once that row is committed. One
INSERT a row costs a pool checkout, a statement and a commit apiece, in the worker and in
the server, and it was the largest part of a quote's CPU. Here the rows that callers add
while one statement is under way wait for it, and then go together in the next: one
statement and one commit, however many rows. Each caller returns when the statement that
carried its row has committed, or raises what that statement raised; nothing is
acknowledged before its row is committed.

A statement refused for what a row holds (a value too long, say: not an outage) committed
nothing, so its rows are written again one at a time and only the bad one fails its caller.
A statement whose outcome is unknown (the connection lost mid-way) is never written again:
every caller in it fails, as each would have with an INSERT of its own.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

Row = TypeVar("Row")
Write = Callable[[Sequence[Row]], Awaitable[None]]
# Whether a failed statement's outcome is unknown (the server unreachable): then it is not
# broken up and written again.
Unreachable = Callable[[BaseException], bool]


class GroupWriter(Generic[Row]):
    """``await add(row)`` returns once ``write`` has committed a statement holding ``row``."""

    def __init__(self, write: Write[Row], unreachable: Unreachable) -> None:
        self._write = write
        self._unreachable = unreachable
        self._waiting: list[tuple[Row, asyncio.Future[None]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def add(self, row: Row) -> None:
        loop = asyncio.get_running_loop()
        committed: asyncio.Future[None] = loop.create_future()
        self._waiting.append((row, committed))
        if self._writer is None:
            # A task, not this caller: the rows added during this turn of the loop join it.
            self._writer = loop.create_task(self._write_waiting())
        await committed

    async def _write_waiting(self) -> None:
        batch: list[tuple[Row, asyncio.Future[None]]] = []
        try:
            while self._waiting:
                batch, self._waiting = self._waiting, []
                await self._settle(batch)
                batch = []
        except BaseException as exc:  # cancelled with the loop: nobody may wait for ever
            for _, committed in (*batch, *self._waiting):
                _fail(committed, exc)
            self._waiting = []
            raise
        finally:
            self._writer = None

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
