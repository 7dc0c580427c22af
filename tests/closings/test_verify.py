"""``otc closings verify``: every closing the desk wrote replays from its own snapshot, in
spot and LP mode, on every database; a price altered by hand afterwards is named, exit 1."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from otc_framework.closings.verify import verify_closings
from otc_framework.storage.models import Channel, Closing, Tier
from tests.desk import Desk

pytestmark = pytest.mark.parametrize("store_url", ["memory"], indirect=True)


async def verify(config_file: str, *args: str) -> tuple[int, Any]:
    """``otc closings verify`` in its own process, as an operator runs it: (exit code, JSON)."""
    command = [sys.executable, "-m", "otc_framework.cli", "closings", "verify", "--config", config_file, *args]
    done = await asyncio.to_thread(subprocess.run, command, capture_output=True, text=True, timeout=120)
    return done.returncode, json.loads(done.stdout) if done.stdout else done.stderr


@pytest.fixture
def config_file(tmp_path: Path, migrated_database_url: str, store_url: str, store_namespace: str) -> str:
    """The served desk's own database, as an operator's deployment file names it."""
    path = tmp_path / "otc.toml"
    path.write_text(
        f'name = "ops"\n[database]\nurl = "{migrated_database_url}"\n'
        f'[store]\nurl = "{store_url}"\nnamespace = "{store_namespace}"\n'
        f'[auth]\njwt_secret = "{"s" * 40}"\n[plugins]\nenabled = []\n'
    )
    return str(path)


async def trade(desk: Desk, token: str, **body: Any) -> str:
    """Quote and close through the API; the closing's id."""
    quoted = await desk.quote(token, **body)
    assert quoted.status_code == 201, quoted.text
    closed = await desk.close(token, quoted.json()["sessionId"])
    assert closed.status_code == 201, closed.text
    return str(closed.json()["closingId"])


async def lp_closing(client_id: str, price: str, total: str, **snapshot: Any) -> Closing:
    """A closing as LP quote mode will write it (the mode is not built yet): reference from
    the cheapest LP, its ``lp_spread_pct`` instead of the tier spread."""
    now = datetime.now(UTC)
    return await Closing.create(
        id=uuid.uuid4(), oid=f"lp-{uuid.uuid4().hex[:8]}", session_id=uuid.uuid4().hex, client_id=client_id,
        client_name="acme", tier=Tier.T1, source=Channel.API, currency="USDT", settlement="D0", amount=Decimal("1000"),
        price=Decimal(price), total_brl=Decimal(total), settlement_date=date.today(), reference_mode="lp:horizon",
        reference_price=Decimal("5.0000"), spot_at_quote=Decimal("5.0010"), binance_at_quote=None,
        spread_adjustment_used=Decimal("0.07"), validity_adder_used=Decimal("0"), usdt_usdc_ratio_used=Decimal(1),
        validity_seconds=7, quoted_at=now, **snapshot,
    )


async def test_every_closing_replays_and_a_hand_edit_is_named(desk: Desk, config_file: str) -> None:
    client_id, t1 = await desk.client("acme")
    _, t3 = await desk.client("big", Tier.T3)
    for key, value in (("spread_adjustment", "0.07"), ("usdc_usdt_ratio", "1.0013"),
                       ("quote_validity_5s_spread_pct", "0.02"), ("quote_validity_10s_spread_pct", "0.05")):
        await desk.set_control(key, value)
    made = [
        await trade(desk, t1),
        await trade(desk, t1, currency="USDC", settlement="D1", validitySeconds=5),
        await trade(desk, t3, currency="USDC", amount="123456.789", validitySeconds=10),
    ]
    desk.spot("5.4321")
    await desk.wait_for_spot("5.4321")
    made += [await trade(desk, t1, settlement="D2", amount="2500.5"),
             await trade(desk, t3, currency="USDC", settlement="D2", amount="98765.4321", validitySeconds=5)]
    usdc = await Closing.get(id=made[1])
    assert (usdc.usdt_usdc_ratio_used, usdc.validity_adder_used, usdc.spread_adjustment_used) == (
        Decimal("1.0013"), Decimal("0.02"), Decimal("0.07"))

    # 5.0000 × (1 + (0.12 + 0.07) / 100) = 5.0095: the LP spread prices it; a tier spread
    # recorded beside it (0.30 would give 5.0185) must not.
    await lp_closing(client_id, "5.0095", "5009.50", lp_spread_pct_used=Decimal("0.12"), tier_spread_pct_used=None)
    await lp_closing(client_id, "5.0095", "5009.50", lp_spread_pct_used=Decimal("0.12"),
                     tier_spread_pct_used=Decimal("0.30"))

    assert await verify(config_file) == (0, {"checked": 7, "mismatches": []})
    assert await verify(config_file, "--since", "2999-01-01") == (0, {"checked": 0, "mismatches": []})
    assert (await verify(config_file, "--since", "2026-11-21T12:00:00"))[0] == 2  # no offset: refused
    # Walked in pages, nothing skipped or counted twice.
    assert (await verify_closings(page_size=2)).checked == 7

    altered = await Closing.get(id=made[3])
    charged = altered.price
    await Closing.filter(id=altered.id).update(price=charged + Decimal("0.0001"))
    # Since yesterday: whatever the hour, in whatever zone the date is read, today's rows are in.
    code, answer = await verify(config_file, "--since", (date.today() - timedelta(days=1)).isoformat())
    assert code == 1 and answer["checked"] == 7
    assert answer["mismatches"] == [{
        "closingId": str(altered.id), "oid": altered.oid, "createdAt": answer["mismatches"][0]["createdAt"],
        "referenceMode": "spot", "storedPrice": str(charged + Decimal("0.0001")), "replayedPrice": str(charged),
        "storedTotalBrl": str(altered.total_brl), "replayedTotalBrl": str(altered.total_brl),
    }]


async def test_an_lp_row_without_its_spread_cannot_replay(desk: Desk, config_file: str) -> None:
    client_id, _ = await desk.client("acme")
    broken = await lp_closing(client_id, "5.0095", "5009.50", lp_spread_pct_used=None,
                              tier_spread_pct_used=Decimal("0.12"))
    code, answer = await verify(config_file)
    assert code == 1
    assert [(m["closingId"], m["replayedPrice"], m["problem"]) for m in answer["mismatches"]] == [
        (str(broken.id), None, "lp:horizon closing without lp_spread_pct_used")]
