"""Stopping background tasks for sure."""

from __future__ import annotations

import asyncio


async def cancel_and_wait(task: asyncio.Task[object]) -> None:
    """Cancel ``task`` and wait until it is over.

    redis-py can swallow a cancellation that lands inside a command (a resubscribe, say), so
    one ``cancel()`` may not end the task: cancel again until it is done, or a shutdown would
    wait forever.
    """
    while not task.done():
        task.cancel()
        await asyncio.wait([task], timeout=0.5)
    if not task.cancelled():
        task.exception()  # retrieved, so asyncio does not log it as never retrieved
