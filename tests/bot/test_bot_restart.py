"""``otc serve`` killed between the 3rd and the 4th quote of a WhatsApp session, and started
again: the session is in Redis and its timed steps under a lease, so the new process sends the
4th quote late, and every quote exactly once (PostgreSQL + Redis: the in-process store dies
with its process)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from otc_channel_whatsapp.fake import EvolutionDemoVenue
from otc_channel_whatsapp.routes import WEBHOOK_PATH
from otc_framework.demo import VenueThread
from otc_framework.plugins import demo_venues
from otc_framework.testing.fake_venue import DemoSettings
from tests.served import ROOT, Served, otc_serve

GROUP = "120363025246125486@g.us"


def _texts(evolution: str) -> list[str]:
    return [i["text"] for i in httpx.get(f"{evolution}/_inbox", timeout=5).json()["items"] if i["number"] == GROUP]


def _wait(check, what: str, seconds: float = 60):  # noqa: ANN001, ANN202
    deadline = time.monotonic() + seconds  # a bound for a loaded machine, not a speed claim
    while time.monotonic() < deadline:
        if result := check():
            return result
        time.sleep(0.05)
    raise AssertionError(f"never happened: {what}")


def _kill(served: Served) -> None:
    os.killpg(served.process.pid, signal.SIGKILL)
    served.process.wait(timeout=20)


@pytest.mark.parametrize("migrated_database_url", ["postgres"], indirect=True)
@pytest.mark.parametrize("store_url", ["redis"], indirect=True)
def test_a_killed_desk_carries_the_session_on_after_its_restart(
    migrated_database_url: str, store_url: str, store_namespace: str, tmp_path: Path,
) -> None:
    venues = VenueThread()
    try:
        spot = venues.start(demo_venues(["spot_valorpro"]), DemoSettings(Decimal("5.00")))["spot_valorpro"]
        venue = EvolutionDemoVenue()
        wa = venues.start({"channel_whatsapp": venue}, DemoSettings(desk_url="http://127.0.0.1:1"))["channel_whatsapp"]
        evolution = venue.url
        assert evolution is not None
        toml = (
            "[market_hours]\nalways_open = true\n[spot]\npoll_interval_seconds = 0.2\n"
            "[bot]\nquote_interval_seconds = 2.0\noff_delay_seconds = 1.0\nclosing_window_seconds = 30.0\n"
            f'[plugins.spot_valorpro]\nbase_url = "{spot["base_url"]}"\ntoken = "{spot["token"]}"\n'
            f'[plugins.channel_whatsapp]\nbase_url = "{wa["base_url"]}"\napi_key = "{wa["api_key"]}"\n'
            f'instance = "{wa["instance"]}"\nwebhook_secret = "{wa["webhook_secret"]}"\nper_chat_per_minute = 120\n'
        )

        def serve(path: Path):  # noqa: ANN202
            path.mkdir()
            return otc_serve(path, migrated_database_url, store_namespace, workers=1, toml=toml,
                             plugins=["spot_valorpro", "channel_whatsapp"], store_url=store_url)

        def point_webhook_at(served: Served) -> None:
            assert venue.server is not None
            venue.server.app.ctx.webhook_url = f"{served.url}{WEBHOOK_PATH}/{wa['webhook_secret']}"

        with serve(tmp_path / "first") as first:
            first.wait_ready(lambda body: body["spot"]["valorpro"]["fresh"])
            point_webhook_at(first)
            made = subprocess.run(
                [sys.executable, "-m", "otc_framework.cli", "client", "create", "--name", "acme", "--tier", "T1",
                 "--group-id", GROUP, "--config", str(first.config)],
                cwd=ROOT, capture_output=True, text=True, timeout=120, env={**os.environ, **first.env})
            assert made.returncode == 0, made.stderr
            said = httpx.post(f"{evolution}/_say", json={"group": GROUP, "participant": "5531999998888",
                                                         "text": "/ref 10k USDT D0"}, timeout=5)
            assert said.status_code == 200
            _wait(lambda: len(_texts(evolution)) >= 3, "three quotes")
            _kill(first)
        killed_after = len(_texts(evolution))
        assert killed_after == 3, f"the kill came after quote {killed_after}"

        with serve(tmp_path / "second") as second:
            second.wait_ready(lambda body: body["spot"]["valorpro"]["fresh"])
            point_webhook_at(second)
            _wait(lambda: any(t.startswith("Off") for t in _texts(evolution)), "the Off", seconds=90)
            texts = _texts(evolution)
            assert [t.rsplit("(", 1)[-1] for t in texts[:7]] == [f"{n}/7)" for n in range(1, 8)], texts
            assert texts[7].startswith("Off") and len(texts) == 8
            httpx.post(f"{evolution}/_say", json={"group": GROUP, "participant": "5531999998888",
                                                  "text": "/fecha"}, timeout=5)
            _wait(lambda: any(t.startswith("Fechado") for t in _texts(evolution)), "the confirmation")
    finally:
        venues.stop()
