"""``otc serve`` with several workers on PostgreSQL + Redis: every worker serves, the spot
poller runs in exactly one of them, and each froze its start-up heap."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.served import otc_serve


def ready_workers(lines: list[dict[str, Any]]) -> set[str]:
    return {line["msg"] for line in lines if line["msg"].startswith("Worker ready")}


# Several workers need the production backends: SQLite and the in-process store serve one.
@pytest.mark.parametrize("migrated_database_url", ["postgres"], indirect=True)
@pytest.mark.parametrize("store_url", ["redis"], indirect=True)
def test_two_workers_serve_and_one_polls(migrated_database_url: str, store_namespace: str, tmp_path: Path) -> None:
    with otc_serve(tmp_path, migrated_database_url, store_namespace) as served:
        body = served.wait_ready(lambda body: bool(body["spot"]["binance"]["lastError"]))
        assert body["database"]["ok"] and body["store"]["ok"]
        served.wait_logged(lambda lines: len(ready_workers(lines)) == 2, "both workers ready")
        # Several requests land on both workers; each reports the state the one poller shares.
        for _ in range(10):
            spot = httpx.get(f"{served.url}/health/ready", timeout=2).json()["spot"]
            assert spot["binance"]["fresh"] is False and "ConnectError" in spot["binance"]["lastError"]
    lines = served.log_lines()
    assert len(ready_workers(lines)) == 2
    holders = {line["holder"] for line in lines if line["msg"] == "lease taken" and line.get("lease") == "loop:spot-poller"}
    assert len(holders) == 1
    # Each worker took its start-up heap out of the cyclic collector's reach once it served.
    frozen = [line for line in lines if line["msg"] == "start-up heap frozen"]
    assert len({line["pid"] for line in frozen}) == 2 and all(line["objects"] > 10_000 for line in frozen)
