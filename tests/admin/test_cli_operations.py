"""``otc client|holidays|controls``: a change made from a shell reaches the running desk on
its next request, validated and audited exactly like the same change through the admin API."""

from __future__ import annotations

import asyncio
import getpass
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from otc_framework.storage.models import AuditLog, Holiday
from tests.desk import Desk, bearer


async def shell(*args: str) -> subprocess.CompletedProcess[str]:
    """Run ``otc`` in its own process, as an operator's shell does, while the desk serves."""
    command = [sys.executable, "-m", "otc_framework.cli", *args]
    return await asyncio.to_thread(subprocess.run, command, capture_output=True, text=True, timeout=120)


async def otc(*args: str) -> Any:
    """Its JSON output, after checking it succeeded."""
    done = await shell(*args)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.fixture
def config_file(tmp_path: Path, migrated_database_url: str, store_url: str, store_namespace: str) -> str:
    """The running desk's own database and store, as an operator's deployment file names them."""
    path = tmp_path / "otc.toml"
    path.write_text(
        f'name = "ops"\n[database]\nurl = "{migrated_database_url}"\n'
        f'[store]\nurl = "{store_url}"\nnamespace = "{store_namespace}"\n'
        f'[auth]\njwt_secret = "{"s" * 40}"\n[plugins]\nenabled = []\n'
    )
    return str(path)


@pytest.mark.parametrize("store_url", ["redis"], indirect=True)
async def test_shell_changes_reach_the_running_desk_at_once(
    desk: Desk, config_file: str
) -> None:
    made = await otc("client", "create", "--config", config_file, "--name", "Shell Co", "--tier", "T3")
    token = await desk.login(made["apiKey"])
    assert (await desk.quote(token)).json()["price"] == "5.0500"

    listed = await otc("client", "list", "--config", config_file, "--search", "shell")
    assert [c["name"] for c in listed] == ["Shell Co"] and "apiKey" not in listed[0]

    await otc("controls", "set", "--config", config_file, "quoting_enabled", "false")
    assert (await desk.quote(token)).json()["code"] == "QUOTING_DISABLED"
    controls = {c["key"]: c for c in await otc("controls", "list", "--config", config_file)}
    assert controls["quoting_enabled"]["value"] is False
    await otc("controls", "set", "--config", config_file, "quoting_enabled", "on")

    rotated = await otc("client", "rotate-key", "--config", config_file, "Shell Co")
    assert (await desk.quote(token)).status_code == 401  # tokens of the old key stop at once
    token = await desk.login(rotated["apiKey"])
    assert (await desk.quote(token)).status_code == 201

    assert (await otc("client", "deactivate", "--config", config_file, made["id"]))["active"] is False
    assert (await desk.quote(token)).status_code == 401

    imported = await otc("holidays", "import", "--config", config_file, "--year", "2027")
    assert imported["skipped"] == 0 and {"2027-02-08", "2027-11-25"} <= {h["date"] for h in imported["added"]}
    assert await Holiday.filter(date="2027-11-25", market="US").exists()

    actor = f"cli:{getpass.getuser()}"
    actions = await AuditLog.filter(actor=actor).order_by("id").values_list("action", "source")
    assert [a for a, _ in actions[:5]] == [
        "client.create", "control.update", "control.update", "client.rotate_key", "client.deactivate"]
    assert {s for _, s in actions} == {"Admin"}


async def test_shell_refusals_are_one_line_and_change_nothing(desk: Desk, config_file: str) -> None:
    _, admin = await desk.admin()
    before = await AuditLog.all().count()
    for args, message in (
        (("controls", "set", "nope", "1"), "unknown control 'nope'"),
        (("controls", "set", "session_ttl_seconds", "soon"), "expected an integer"),
        (("client", "deactivate", "ghost"), "no client named 'ghost'"),
        (("holidays", "import", "--year", "1800"), "year"),
    ):
        done = await shell(*args[:2], "--config", config_file, *args[2:])
        err = done.stderr
        assert done.returncode == 1, err
        assert message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert await AuditLog.all().count() == before
    controls = (await desk.http.get("/v1/admin/controls", headers=bearer(admin))).json()["items"]
    assert next(c for c in controls if c["key"] == "session_ttl_seconds")["value"] == 7
