"""A Redis master, its replica and one sentinel, each a real ``redis-server`` on a free port of
this machine, for the failover tests and the soak (``bench/soak.py``).

``fail_over()`` kills the master as a crash would and waits until the sentinel has promoted
the replica; ``restart_old_master()`` brings the dead one back, and the sentinel turns it
into the new master's replica.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from otc_framework.testing.pytest_plugin import services_required

SERVICE = "otc"
REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait(check, what: str, bound: float = 30.0):  # noqa: ANN001, ANN202
    deadline = time.monotonic() + bound  # a bound for a loaded machine, not a speed claim
    while time.monotonic() < deadline:
        try:
            if result := check():
                return result
        except (redis.RedisError, OSError):
            pass
        time.sleep(0.05)
    raise AssertionError(f"never happened: {what}")


class SentinelCluster:
    def __init__(self, directory: Path, *, down_after_ms: int = 1000) -> None:
        self.directory = directory
        self.down_after_ms = down_after_ms
        self.ports = [_free_port(), _free_port()]
        self.sentinel_port = _free_port()
        self.processes: dict[int, subprocess.Popen[bytes]] = {}
        self.master_port = self.ports[0]

    @property
    def url(self) -> str:
        return f"redis+sentinel://127.0.0.1:{self.sentinel_port}/{SERVICE}/0"

    def _server(self, port: int, *args: str) -> None:
        data = self.directory / f"redis-{port}"
        data.mkdir(exist_ok=True)
        self.processes[port] = subprocess.Popen(
            [REDIS_SERVER, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(data), "--logfile", str(data / "redis.log"), *args],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        _wait(lambda: redis.Redis(port=port, socket_timeout=1).ping(), f"redis on {port}")

    def start(self) -> SentinelCluster:
        self._server(self.ports[0])
        self._server(self.ports[1], "--replicaof", "127.0.0.1", str(self.ports[0]))
        _wait(lambda: redis.Redis(port=self.ports[1], socket_timeout=1).info("replication")["master_link_status"]
              == "up", "the replica in sync")
        config = self.directory / "sentinel.conf"
        config.write_text(
            f"port {self.sentinel_port}\nbind 127.0.0.1\ndir {self.directory}\n"
            f"logfile {self.directory / 'sentinel.log'}\n"
            f"sentinel monitor {SERVICE} 127.0.0.1 {self.ports[0]} 1\n"
            f"sentinel down-after-milliseconds {SERVICE} {self.down_after_ms}\n"
            f"sentinel failover-timeout {SERVICE} 2000\n"
        )
        self.processes[self.sentinel_port] = subprocess.Popen(
            [REDIS_SERVER, str(config), "--sentinel"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _wait(lambda: self.sentinel_master() == self.ports[0], "the sentinel follows the master")
        return self

    def replicated(self) -> None:
        """Wait until the replica has every write the master acknowledged."""
        acked = redis.Redis(port=self.master_port, socket_timeout=5).execute_command("WAIT", 1, 5000)
        assert acked == 1, "the replica did not acknowledge"

    def sentinel_master(self) -> int:
        host, port = redis.Redis(port=self.sentinel_port, socket_timeout=1).sentinel_get_master_addr_by_name(SERVICE)
        return int(port)

    def fail_over(self) -> float:
        """Kill the master; the seconds until the sentinel named the replica as master."""
        killed_at = time.monotonic()
        self.kill_master()
        self.wait_promoted()
        return time.monotonic() - killed_at

    def kill_master(self) -> None:
        self.processes[self.master_port].kill()
        self.processes[self.master_port].wait()

    def wait_promoted(self) -> None:
        new = next(port for port in self.ports if port != self.master_port)
        _wait(lambda: self.sentinel_master() == new, "the sentinel promoted the replica")
        self.master_port = new

    def restart_old_master(self) -> None:
        """The killed server comes back; the sentinel makes it the new master's replica."""
        old = next(port for port in self.ports if port != self.master_port)
        self._server(old)
        _wait(lambda: redis.Redis(port=old, socket_timeout=1).info("replication")["role"] == "slave",
              "the old master is a replica", bound=60)

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.kill()
                process.wait()


@pytest.fixture
def sentinel_cluster(tmp_path: Path) -> Iterator[SentinelCluster]:
    """A fresh master, replica and sentinel for one test (import this fixture to use it)."""
    if not Path(REDIS_SERVER).exists():
        message = "redis-server is not installed"
        if services_required():
            pytest.fail(f"{message} and OTC_TEST_REQUIRE_SERVICES is set", pytrace=False)
        pytest.skip(message)
    cluster = SentinelCluster(tmp_path)
    try:
        yield cluster.start()
    finally:
        cluster.stop()
