"""``otc serve`` for real, in its own process group: a deployment file on PostgreSQL and
Redis (several workers need both), readiness, and the JSON log of every process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from otc_framework.testing.fake_venue import plugin_toml
from otc_framework.testing.pytest_plugin import REDIS_URL
from tests.test_demo import free_port, interrupt

ROOT = Path(__file__).parents[1]
JWT = "s" * 40


@dataclass
class Served:
    url: str
    process: subprocess.Popen[Any]
    log_path: Path
    config: Path
    env: dict[str, str]  # what the deployment file's $env references resolve from

    def wait_ready(self, until: Callable[[dict[str, Any]], bool] = lambda body: True) -> dict[str, Any]:
        """The first 200 ``/health/ready`` answer that ``until`` accepts."""
        deadline = time.monotonic() + 60  # a bound for a loaded machine, not a speed claim
        while time.monotonic() < deadline:
            assert self.process.poll() is None, "serve exited"
            try:
                response = httpx.get(f"{self.url}/health/ready", timeout=2)
                if response.status_code == 200 and until(response.json()):
                    return response.json()
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise AssertionError("never ready")

    def wait_logged(self, until: Callable[[list[dict[str, Any]]], bool], what: str) -> list[dict[str, Any]]:
        """The log lines, once ``until`` accepts them: workers start at their own pace, and one
        can answer while another is still starting."""
        deadline = time.monotonic() + 60  # a bound for a loaded machine, not a speed claim
        while time.monotonic() < deadline:
            assert self.process.poll() is None, "serve exited"
            if until(lines := self.log_lines()):
                return lines
            time.sleep(0.2)
        raise AssertionError(f"never logged: {what}")

    def log_lines(self) -> list[dict[str, Any]]:
        with self.log_path.open() as log:
            return [json.loads(line) for line in log if line.startswith("{")]


@contextmanager
def otc_serve(
    tmp_path: Path, database_url: str, namespace: str, *, workers: int = 2, toml: str = "",
    env: dict[str, str] | None = None, plugins: Sequence[str] = (), store_url: str = REDIS_URL,
) -> Iterator[Served]:
    """Serve a deployment with the Binance spot source pointed at nothing (its errors show in
    readiness) and ``plugins`` enabled too; ``toml`` adds sections. Stopped as by Ctrl-C when
    the block ends."""
    port = free_port()
    enabled = json.dumps(["spot_binance", *plugins])
    config = tmp_path / "otc.toml"
    config.write_text(
        f'name = "serve-test"\n[server]\nworkers = {workers}\n'
        f'[database]\nurl = {{ "$env" = "DB_URL" }}\n'
        f'[store]\nurl = {{ "$env" = "STORE_URL" }}\nnamespace = "{namespace}"\n'
        f'[auth]\njwt_secret = {{ "$env" = "JWT" }}\n'
        f'[plugins]\nenabled = {enabled}\n'
        f'[plugins.spot_binance]\nbase_url = "http://127.0.0.1:1"\n' + toml
    )
    log_path = tmp_path / "serve.log"
    resolved = {"DB_URL": database_url, "STORE_URL": store_url, "JWT": JWT, **(env or {})}
    with log_path.open("a") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "otc_framework.cli", "serve", "--config", str(config), "--port", str(port)],
            cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, env={**os.environ, **resolved},
        )
    try:
        yield Served(f"http://127.0.0.1:{port}", process, log_path, config, resolved)
    finally:
        interrupt(process)


@contextmanager
def hosts(tmp_path: Path, database_url: str, namespace: str, spot_section: dict[str, Any], *, count: int = 2,
          workers: int = 1, toml: str = "", env: dict[str, str] | None = None) -> Iterator[list[Served]]:
    """``count`` hosts (each an ``otc serve`` on its own port) sharing the database and the store,
    always open and priced from the ValorPro fake at ``spot_section``."""
    sections = "[market_hours]\nalways_open = true\n[pricing]\nsecond_source = \"\"\n" + toml
    sections += plugin_toml({"spot_valorpro": spot_section})
    with ExitStack() as stack:
        served = []
        for index in range(count):
            directory = tmp_path / f"host{index}"
            directory.mkdir()
            # Each host's database sessions carry its name (pg_stat_activity.application_name).
            named = database_url + ("&" if "?" in database_url else "?") + f"application_name=host{index}"
            served.append(stack.enter_context(otc_serve(directory, named, namespace, workers=workers,
                                                        toml=sections, plugins=["spot_valorpro"], env=env)))
        yield served
