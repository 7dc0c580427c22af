"""``otc serve`` replaces a worker that dies (``web.supervise``): with two workers, each one
SIGKILLed in turn, the desk still answers, from workers started after the kills; a worker that
stops with the server is not brought back."""

from __future__ import annotations

import os
import re
import signal
from pathlib import Path

import httpx
import pytest

from otc_framework.web.supervise import GIVE_UP_AFTER, dead
from tests.served import Served, otc_serve
from tests.test_demo import poll

STARTED = re.compile(r"^Starting worker \[(\d+)\]$")


def started(served: Served) -> list[int]:
    """The HTTP workers' pids, in the order Sanic started them (its log says so)."""
    return [int(m.group(1)) for line in served.log_lines() if (m := STARTED.match(line.get("msg", "")))]


@pytest.mark.parametrize("migrated_database_url", ["postgres"], indirect=True)
@pytest.mark.parametrize("store_url", ["redis"], indirect=True)
def test_each_killed_worker_is_replaced_and_the_desk_keeps_answering(
        migrated_database_url: str, store_namespace: str, tmp_path: Path) -> None:
    with otc_serve(tmp_path, migrated_database_url, store_namespace) as served:
        served.wait_ready()
        # A worker killed before it told the manager it is up is a failed start: Sanic stops the
        # host (its supervisor's call), so the kills wait for both workers to be serving.
        served.wait_logged(lambda lines: sum(line.get("msg", "").startswith("Worker ready") for line in lines) == 2,
                           "both workers ready")
        first = started(served)
        for victim in first:
            count = len(started(served))
            os.kill(victim, signal.SIGKILL)
            poll(lambda n=count: len(started(served)) > n, f"worker {victim} replaced")
        # Every worker Sanic first started is dead: what answers now, the watcher started.
        with httpx.Client(base_url=served.url, headers={"Connection": "close"}, timeout=10) as http:
            for _ in range(10):
                assert http.get("/health").status_code == 200
        assert served.process.poll() is None
        assert len(started(served)) == 4
    # A clean stop: nothing was restarted on the way out.
    assert served.process.returncode == 0, served.log_path.read_text()[-6000:]
    assert len(started(served)) == 4
    replaced = [line for line in served.log_lines() if line.get("msg") == "workers died; replacing them"]
    assert len(replaced) == 2


@pytest.mark.parametrize("migrated_database_url", ["postgres"], indirect=True)
@pytest.mark.parametrize("store_url", ["redis"], indirect=True)
def test_a_worker_that_keeps_dying_stops_the_host_with_a_failure(
        migrated_database_url: str, store_namespace: str, tmp_path: Path) -> None:
    with otc_serve(tmp_path, migrated_database_url, store_namespace, workers=1) as served:
        served.wait_ready()
        for kill in range(GIVE_UP_AFTER + 1):
            victim = poll(lambda n=kill: started(served)[n] if len(started(served)) > n else None,
                          f"worker {kill} started")
            os.kill(victim, signal.SIGKILL)
        served.process.wait(timeout=60)
        # Non-zero, so that systemd or the container runtime restarts the host.
        assert served.process.returncode == 1, served.log_path.read_text()[-6000:]
    assert len(started(served)) == GIVE_UP_AFTER + 1
    assert [line for line in served.log_lines() if line.get("msg", "").startswith("workers keep dying")]


def test_only_processes_that_died_are_named() -> None:
    class Process:
        def __init__(self, name: str, state: str, restartable: bool = True) -> None:
            from sanic.worker.constants import ProcessState

            self.name, self.state, self.restartable = name, ProcessState[state], restartable

    class Manager:
        processes = [Process("Sanic-Server-0-0", "FAILED"), Process("Sanic-Server-1-0", "ACKED"),
                     Process("Sanic-Server-2-0", "COMPLETED"), Process("Inspector", "FAILED", restartable=False)]

    assert dead(Manager()) == ["Sanic-Server-0-0"]
