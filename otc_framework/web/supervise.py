"""A worker that dies is replaced (SPEC §18; issue 15).

Sanic's manager notices a worker that died (a SIGKILL, the OOM killer, a crash in C) and marks
it FAILED, then carries on with one worker fewer: capacity halves silently, and with every
worker dead the main process keeps the port open while requests hang. ``replace_dead_workers``
starts a thread in the main process that asks the manager, through its own monitor channel
(the one a worker's restart request uses), to restart every restartable process it marked
FAILED. A worker that exits cleanly (COMPLETED) or any process during shutdown is left alone.

A worker that keeps dying (``GIVE_UP_AFTER`` replacements within ``GIVE_UP_WINDOW_SECONDS``:
it cannot start, or something kills it as soon as it does) is not replaced forever: the host
stops and ``otc serve`` exits non-zero, so that its supervisor (systemd, the container runtime)
restarts it or pages someone, instead of a live process that serves nothing.
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
GIVE_UP_AFTER = 5
GIVE_UP_WINDOW_SECONDS = 60.0


class Supervision:
    """What the watcher concluded; ``gave_up`` once a worker kept dying."""

    def __init__(self) -> None:
        self.gave_up = False
        self.replaced: dict[str, list[float]] = {}

    def keeps_dying(self, name: str, now: float) -> bool:
        recent = [at for at in self.replaced.get(name, []) if now - at < GIVE_UP_WINDOW_SECONDS]
        self.replaced[name] = [*recent, now]
        return len(self.replaced[name]) > GIVE_UP_AFTER


def dead(manager: Any) -> list[str]:
    """The names of the manager's restartable processes that died."""
    return [process.name for process in manager.processes
            if process.restartable and process.state is ProcessState.FAILED]


def _watch(manager: Any, supervision: Supervision) -> None:
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
        now = time.monotonic()
        hopeless = [name for name in names if supervision.keeps_dying(name, now)]
        if hopeless:
            log.error("workers keep dying; stopping so that the supervisor restarts this host",
                      extra={"workers": hopeless, "replacements": GIVE_UP_AFTER, "window_seconds": GIVE_UP_WINDOW_SECONDS})
            supervision.gave_up = True
            manager.monitor_publisher.send(None)  # what Sanic's own signal handler sends: stop
            return
        log.error("workers died; replacing them", extra={"workers": names})
        manager.monitor_publisher.send(",".join(names))


def _pid(manager: Any, name: str) -> int | None:
    return next((process.pid for process in manager.processes if process.name == name), None)


def replace_dead_workers(app: Sanic) -> Supervision:
    """Once the workers are started, watch them from the main process."""
    supervision = Supervision()

    def start(app: Sanic) -> None:
        threading.Thread(target=_watch, args=(app.manager, supervision), name="otc-worker-watch", daemon=True).start()

    app.main_process_ready(start)
    return supervision
