"""``otc serve`` with several workers on PostgreSQL + Redis: every worker serves, and the
spot poller runs in exactly one of them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from otc_framework.testing.pytest_plugin import REDIS_URL
from tests.test_demo import free_port, interrupt

ROOT = Path(__file__).parents[1]


# Several workers need the production backends: SQLite and the in-process store serve one.
@pytest.mark.parametrize("migrated_database_url", ["postgres"], indirect=True)
@pytest.mark.parametrize("store_url", ["redis"], indirect=True)
def test_two_workers_serve_and_one_polls(migrated_database_url: str, store_namespace: str, tmp_path: Path) -> None:
    port = free_port()
    config = tmp_path / "otc.toml"
    config.write_text(
        f'name = "serve-test"\n[server]\nworkers = 2\n'
        f'[database]\nurl = {{ "$env" = "DB_URL" }}\n'
        f'[store]\nurl = {{ "$env" = "STORE_URL" }}\nnamespace = "{store_namespace}"\n'
        f'[auth]\njwt_secret = {{ "$env" = "JWT" }}\n'
        f'[plugins]\nenabled = ["spot_binance"]\n'
        f'[plugins.spot_binance]\nbase_url = "http://127.0.0.1:1"\n'
    )
    log = (tmp_path / "serve.log").open("w+")
    env = {**os.environ, "DB_URL": migrated_database_url, "STORE_URL": REDIS_URL, "JWT": "s" * 40}
    process = subprocess.Popen(
        [sys.executable, "-m", "otc_framework.cli", "serve", "--config", str(config), "--port", str(port)],
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60  # a bound for a loaded machine, not a speed claim
        body = None
        while time.monotonic() < deadline and body is None:
            assert process.poll() is None, "serve exited"
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/health/ready", timeout=2)
                if response.status_code == 200 and response.json()["spot"]["binance"]["lastError"]:
                    body = response.json()
            except httpx.HTTPError:
                time.sleep(0.2)
        assert body is not None, "never ready"
        assert body["database"]["ok"] and body["store"]["ok"]
        # Several requests land on both workers; each reports the state the one poller shares.
        for _ in range(10):
            spot = httpx.get(f"http://127.0.0.1:{port}/health/ready", timeout=2).json()["spot"]
            assert spot["binance"]["fresh"] is False and "ConnectError" in spot["binance"]["lastError"]
    finally:
        interrupt(process)
    log.seek(0)
    lines = [json.loads(line) for line in log if line.startswith("{")]
    log.close()
    workers = {line["msg"] for line in lines if line["msg"].startswith("Worker ready")}
    assert len(workers) == 2
    holders = {line["holder"] for line in lines if line["msg"] == "lease taken" and line.get("lease") == "loop:spot-poller"}
    assert len(holders) == 1
