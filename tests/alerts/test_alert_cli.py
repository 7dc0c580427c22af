"""``otc alerts test|list``: a test alert queued from a shell is delivered by the running
desk's loop (the queue is its database) and listed with its deliveries."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from otc_framework.testing.fake_venue import DemoVenue
from tests.admin.test_cli_operations import otc
from tests.alerts.test_alert_queue import eventually
from tests.alerts.test_alert_sinks_live import SINKS, inbox, live_desk, url, venues
from tests.desk import Desk

__all__ = ["live_desk", "venues"]  # fixtures this module uses


@pytest.fixture
def config_file(tmp_path: Path, migrated_database_url: str, store_url: str, store_namespace: str,
                venues: dict[str, tuple[DemoVenue, dict[str, Any]]]) -> str:
    sections = "".join(f"[plugins.{name}]\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in section.items())
                       for name, (_, section) in venues.items())
    path = tmp_path / "otc.toml"
    path.write_text(
        f'name = "ops"\n[database]\nurl = "{migrated_database_url}"\n'
        f'[store]\nurl = "{store_url}"\nnamespace = "{store_namespace}"\n'
        f'[auth]\njwt_secret = "{"s" * 40}"\n[plugins]\nenabled = {json.dumps(list(SINKS))}\n' + sections
    )
    return str(path)


async def test_a_shell_test_alert_is_delivered_by_the_running_desk(
    live_desk: Desk, config_file: str, venues: Any, http: httpx.AsyncClient
) -> None:
    queued = await otc("alerts", "test", "--config", config_file)
    assert queued["kind"] == "test" and queued["title"] == "Test alert" and "cli:" in queued["detail"]
    assert {d["sink"]: d["status"] for d in queued["deliveries"]} == {"discord": "queued", "telegram": "queued"}
    for name in SINKS:
        await eventually(lambda name=name: inbox(http, url(venues, name)), f"{name} received it")
    listed = await otc("alerts", "list", "--config", config_file, "--kind", "test")
    assert [a["id"] for a in listed] == [queued["id"]]
    assert {d["status"] for d in listed[0]["deliveries"]} == {"sent"}
    assert await otc("alerts", "list", "--config", config_file, "--severity", "critical") == []
