"""A worker that dies is replaced (SPEC §18; issue 15).

Sanic's manager notices a worker that died (a SIGKILL, the OOM killer, a crash in C) and marks
it FAILED, then carries on with one worker fewer: capacity halves silently, and with every
worker dead the main process keeps the port open while requests hang. ``replace_dead_workers``
starts a thread in the main process that asks the manager, through its own monitor channel
(the one a worker's restart request uses), to restart every restartable process it marked
FAILED. A worker that exits cleanly (COMPLETED) or any process during shutdown is left alone.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from sanic import Sanic
from sanic.worker.constants import ProcessState

log = logging.getLogger(__name__)

WATCH_SECONDS = 0.5


def dead(manager: Any) -> list[str]:
    """The names of the manager's restartable processes that died."""
    return [process.name for process in manager.processes
            if process.restartable and process.state is ProcessState.FAILED]


def _watch(manager: Any) -> None:
    asked: dict[str, int | None] = {}
    while True:
        time.sleep(WATCH_SECONDS)
        if getattr(manager, "_shutting_down", False):
            return
        names = [name for name in dead(manager) if asked.get(name) != _pid(manager, name)]
        if not names:
            continue
        for name in names:
            asked[name] = _pid(manager, name)
        log.error("workers died; replacing them", extra={"workers": names})
        manager.monitor_publisher.send(",".join(names))


def _pid(manager: Any, name: str) -> int | None:
    return next((process.pid for process in manager.processes if process.name == name), None)


def replace_dead_workers(app: Sanic) -> None:
    """Once the workers are started, watch them from the main process."""

    def start(app: Sanic) -> None:
        threading.Thread(target=_watch, args=(app.manager,), name="otc-worker-watch", daemon=True).start()

    app.main_process_ready(start)
