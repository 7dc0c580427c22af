"""An alert raised, then its process killed before delivery, is delivered after the restart,
once (SPEC §13): the queue is the database, so the restarted process finds it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from otc_framework.demo import VenueThread
from otc_framework.plugins import demo_venues
from otc_framework.testing.fake_venue import DemoSettings
from tests.served import ROOT, otc_serve

SINK = "channel_telegram_alerts"


def admin_token(url: str, config: Path, env: dict[str, str]) -> str:
    made = subprocess.run(
        [sys.executable, "-m", "otc_framework.cli", "client", "create", "--config", str(config), "--name", "ops",
         "--tier", "T1", "--role", "admin"],
        cwd=ROOT, env={**os.environ, **env}, capture_output=True, text=True, check=True,
    )
    key = json.loads(made.stdout)["apiKey"]
    token: str = httpx.post(f"{url}/v1/auth/login", json={"apiKey": key}).json()["token"]
    return token


def until(check: Any, what: str) -> Any:
    deadline = time.monotonic() + 60  # a bound for a loaded machine, not a speed claim
    while time.monotonic() < deadline:
        if result := check():
            return result
        time.sleep(0.2)
    raise AssertionError(f"never happened: {what}")


@pytest.mark.parametrize(("migrated_database_url", "store_url"), [("sqlite", "memory"), ("postgres", "redis")],
                         indirect=True)
def test_an_alert_queued_before_a_kill_is_delivered_once_after_the_restart(
    migrated_database_url: str, store_url: str, store_namespace: str, tmp_path: Path,
) -> None:
    # The fake runs on the demo's venue thread: this test blocks its own thread on HTTP.
    venues = VenueThread()
    section = venues.start(demo_venues([SINK]), DemoSettings())[SINK]
    fake = venues.urls()[SINK]
    try:
        toml = f"[plugins.{SINK}]\n" + "".join(f"{key} = {json.dumps(value)}\n" for key, value in section.items())
        serve: dict[str, Any] = dict(workers=1, toml=toml, plugins=[SINK], store_url=store_url)
        with httpx.Client(base_url=str(fake)) as venue_http:
            # The sink fails every try until the fault is cleared: the alert stays queued.
            venue_http.post("/_fault", json={"status": 503, "count": 100_000})
            with otc_serve(tmp_path, migrated_database_url, store_namespace, **serve) as served:
                served.wait_ready()
                token = admin_token(served.url, served.config, served.env)
                raised = httpx.post(f"{served.url}/v1/admin/alerts/test", headers={"Authorization": f"Bearer {token}"})
                assert raised.status_code == 201, raised.text
                tried = lambda: venue_http.get("/_fault").json()["pending"] < 100_000  # noqa: E731
                until(tried, "the sink was tried and failed")
                assert _delivery(served.url, token, "sent") is None
                os.killpg(served.process.pid, signal.SIGKILL)
                served.process.wait()
            venue_http.delete("/_fault")
            assert venue_http.get("/_inbox").json()["items"] == []
            with otc_serve(tmp_path, migrated_database_url, store_namespace, **serve) as served:
                served.wait_ready()
                delivery = until(lambda: _delivery(served.url, token, "sent"), "delivered after the restart")
                time.sleep(2)  # several more turns of the delivery loop
                # The spot source pointed at nothing raises its own alerts; count the test alert.
                items = [i for i in httpx.get(f"{fake}/_inbox").json()["items"] if "Test alert" in i["text"]]
        assert len(items) == 1
        assert delivery["sink"] == "telegram"
    finally:
        venues.stop()


def _delivery(url: str, token: str, status: str) -> dict[str, Any] | None:
    """The test alert's delivery when it has ``status``."""
    alerts = httpx.get(f"{url}/v1/admin/alerts?kind=test", headers={"Authorization": f"Bearer {token}"}).json()
    delivery: dict[str, Any] = alerts["items"][0]["deliveries"][0]
    return delivery if delivery["status"] == status else None
