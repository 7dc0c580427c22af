"""``otc hedges``: the admin API's hedge actions from a shell, through the same functions, audited
as the shell's operator and reported on the running desk's admin stream."""

from __future__ import annotations

import getpass
from datetime import UTC, datetime, timedelta

import pytest

from otc_framework.storage.models import AuditLog, Hedge, HedgeExecution, HedgeStatus
from tests.admin.support import next_event
from tests.admin.test_cli_operations import config_file, otc, shell
from tests.admin.test_hedges_api import claimed
from tests.desk import Desk
from tests.risk.support import DESK_ZONE

__all__ = ["config_file"]  # the fixture, shared with the other CLI tests


@pytest.mark.parametrize("store_url", ["redis"], indirect=True)
async def test_hedge_actions_from_a_shell(desk: Desk, config_file: str) -> None:
    client_id, _ = await desk.client("acme")
    failed = await claimed(client_id, "1000", HedgeStatus.FAILED, provider="nonco")
    held = await claimed(client_id, "2000", HedgeStatus.HELD)
    unknown = await claimed(client_id, "100000", HedgeStatus.UNKNOWN, provider="nonco", client_price="5.2531")
    old = await claimed(client_id, "4000", HedgeStatus.FILLED, provider="nonco")
    old_at = datetime.now(UTC) - timedelta(days=10)
    await Hedge.filter(id=old.id).update(created_at=old_at)

    listed = await otc("hedges", "list", "--config", config_file)
    assert {h["id"] for h in listed} == {str(failed.id), str(held.id), str(unknown.id)}
    assert [h["id"] for h in await otc("hedges", "list", "--config", config_file, "--status", "failed")] == [
        str(failed.id)]
    assert [h["id"] for h in await otc("hedges", "list", "--config", config_file, "--provider", "nonco",
                                       "--date", old_at.astimezone(DESK_ZONE).date().isoformat())] == [str(old.id)]
    bad = await shell("hedges", "list", "--config", config_file, "--status", "nope")
    assert bad.returncode == 1 and bad.stderr.startswith("error: status:")

    sub = await desk.runtime.store.subscribe("admin")
    try:
        retried = await otc("hedges", "retry", "--config", config_file, str(failed.id))
        assert (retried["id"], retried["status"]) == (str(failed.id), "pending")
        assert await next_event(sub, "hedge.changed") == retried
    finally:
        await sub.close()
    released = await otc("hedges", "release", "--config", config_file, str(held.id))
    assert released["status"] == "pending"
    actor = f"cli:{getpass.getuser()}"
    assert (await Hedge.get(id=held.id)).released_by == actor

    refused = await shell("hedges", "mark-filled", "--config", config_file, str(unknown.id),
                          "--venue-reference", "T-1", "--fill-price", "0")
    assert refused.returncode == 1 and refused.stderr.startswith("error: fillPrice:")
    refused = await shell("hedges", "mark-filled", "--config", config_file, str(unknown.id),
                          "--venue-reference", "T-1", "--fill-price", "5.2510", "--amount", "1")
    assert refused.returncode == 1 and refused.stderr.startswith("error: amount:")
    marked = await otc("hedges", "mark-filled", "--config", config_file, str(unknown.id),
                       "--venue-reference", "T-1", "--fill-price", "5.2510")
    assert (marked["status"], marked["spreadCaptureBps"], marked["venueReference"]) == ("filled", "4.0", "T-1")
    assert (await HedgeExecution.get(hedge_id=unknown.id)).execution_id == "T-1"

    again = await shell("hedges", "retry", "--config", config_file, str(unknown.id))
    assert again.returncode == 1 and "cannot retry a filled hedge" in again.stderr

    rows = await AuditLog.filter(action__startswith="hedge.").order_by("id")
    assert [(r.action, r.actor, r.source) for r in rows] == [
        ("hedge.retry", actor, "Admin"), ("hedge.release", actor, "Admin"), ("hedge.mark_filled", actor, "Admin")]
