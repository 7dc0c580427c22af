"""A private PostgreSQL server of this machine's installation, on a free port, that a test (or
the soak, ``bench/soak.py``) may restart or make read-only without touching the shared one.

The server runs as the ``postgres`` user (PostgreSQL refuses root) from a fresh data directory
under /tmp, with trust authentication on 127.0.0.1 only.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from otc_framework.testing.pytest_plugin import services_required

BIN = next(iter(sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)), Path("/nonexistent"))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _as_postgres(*command: str) -> subprocess.CompletedProcess[str]:
    prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    return subprocess.run([*prefix, *command], check=True, capture_output=True, text=True)


class PostgresServer:
    def __init__(self, *, read_only: bool = False) -> None:
        self.directory = Path(tempfile.mkdtemp(prefix="otc-pg-"))
        self.data = self.directory / "data"
        self.port = _free_port()
        self.read_only = read_only

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}"

    def start(self) -> PostgresServer:
        if os.geteuid() == 0:
            shutil.chown(self.directory, "postgres", "postgres")
        if not self.data.exists():
            _as_postgres(str(BIN / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8")
        options = f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 -c fsync=off"
        if self.read_only:
            options += " -c default_transaction_read_only=on"
        _as_postgres(str(BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.directory / "log"), "-w",
                     "-o", options, "start")
        return self

    def stop(self) -> None:
        _as_postgres(str(BIN / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def restart(self, down_seconds: float = 0.0) -> None:
        """Stop as a crash would (``immediate``: every connection dies), stay down a while, start."""
        self.stop()
        time.sleep(down_seconds)
        self.start()

    def remove(self) -> None:
        try:
            self.stop()
        except subprocess.CalledProcessError:
            pass  # not running
        shutil.rmtree(self.directory, ignore_errors=True)


def require_postgres_binaries() -> None:
    if (BIN / "initdb").exists():
        return
    message = "PostgreSQL's server binaries are not installed"
    if services_required():
        pytest.fail(f"{message} and OTC_TEST_REQUIRE_SERVICES is set", pytrace=False)
    pytest.skip(message)


@pytest.fixture
def private_postgres() -> Iterator[PostgresServer]:
    """A private server for one test (import this fixture to use it)."""
    require_postgres_binaries()
    server = PostgresServer()
    try:
        yield server.start()
    finally:
        server.remove()
