"""The live LP feed through a served desk: the snapshot, failures, what is polled when, the
admin route, health and metrics, the admin stream."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal
from typing import Any

import pytest

from otc_framework.admin.feed import CHANNEL as ADMIN_CHANNEL
from otc_framework.admin.feed import EventType
from otc_framework.errors import VenueError
from tests.desk import Desk, bearer
from tests.liquidity.conftest import until
from tests.liquidity.scripted_lp import latest as provider

NEVER_OPEN = {"market_hours": {"always_open": False, "open": "00:00:00", "close": "00:00:00"}}


def price(desk: Desk, name: str, currency: str = "USDC", settlement: str = "D0") -> Any:
    return desk.runtime.lp_feed.latest(name, currency, settlement)


async def test_snapshot_is_served_to_admins_with_ages(lp_desk: Desk) -> None:
    await until(lambda: price(lp_desk, "nonco", settlement="D2") and price(lp_desk, "horizon", settlement="D2"))
    quote = price(lp_desk, "horizon", settlement="D1")
    assert quote.bid == Decimal("5.1000") and isinstance(quote.bid, Decimal)

    _, admin = await lp_desk.admin()
    response = await lp_desk.http.get("/v1/admin/lp-feed", headers=bearer(admin))
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body["providers"]) == {"nonco", "horizon"}
    horizon = body["providers"]["horizon"]
    assert horizon["lastError"] is None and horizon["lastPolledAt"]
    assert {(p["currency"], p["settlement"]) for p in horizon["prices"]} == {("USDC", "D0"), ("USDC", "D1"),
                                                                              ("USDC", "D2")}
    first = horizon["prices"][0]
    assert first["bid"] == "5.1000" and first["ask"] == "5.1020" and first["ageSeconds"] >= 0
    assert body["secondReference"] is None  # no second spot source in this deployment

    _, client = await lp_desk.client()
    assert (await lp_desk.http.get("/v1/admin/lp-feed", headers=bearer(client))).status_code == 403
    assert (await lp_desk.http.get("/v1/admin/lp-feed")).status_code == 401


async def test_health_and_metrics_report_each_lp(lp_desk: Desk) -> None:
    await until(lambda: price(lp_desk, "nonco", settlement="D2"))
    ready = (await lp_desk.http.get("/health/ready")).json()
    nonco = ready["lp"]["nonco"]
    assert nonco["fresh"] is True and nonco["lastError"] is None and nonco["ageSeconds"] >= 0
    assert set(nonco["prices"]) == {"USDC/BRL D0", "USDC/BRL D1", "USDC/BRL D2"}

    text = (await lp_desk.http.get("/metrics")).text
    assert 'otc_lp_age_seconds{currency="USDC",provider="nonco",settlement="D1"}' in text


async def test_a_failing_lp_keeps_its_last_price_with_its_error(lp_desk: Desk) -> None:
    await until(lambda: price(lp_desk, "horizon"))
    horizon = provider("horizon")
    horizon.script.extend(VenueError("horizon", "venue down") for _ in range(10_000))

    async def failing_reported() -> bool:
        return bool((await lp_desk.http.get("/health/ready")).json()["lp"]["horizon"]["lastError"])

    await until(failing_reported)
    response = await lp_desk.http.get("/health/ready")
    assert response.status_code == 200  # an LP outage never makes the worker unready
    report = response.json()["lp"]["horizon"]
    assert report["fresh"] is False and report["lastError"].endswith("venue down")
    assert report["ageSeconds"] is not None  # the last good price ages visibly
    assert price(lp_desk, "horizon").bid == Decimal("5.1000")
    assert response.json()["lp"]["nonco"]["lastError"] is None

    horizon.script.clear()
    await until(lambda: lp_desk.runtime.lp_feed.status["horizon"].last_error is None)


async def test_nonco_usdt_is_polled_only_with_its_control(lp_desk: Desk) -> None:
    await until(lambda: provider("nonco").calls[("USDC", "D2")] >= 2)
    assert provider("nonco").calls[("USDT", "D0")] == 0
    await lp_desk.set_control("lp_feed_nonco_usdt_enabled", True)
    await until(lambda: price(lp_desk, "nonco", "USDT", "D0"))
    assert sum(n for (currency, _), n in provider("horizon").calls.items() if currency == "USDT") == 0


@pytest.mark.parametrize("lp_tree", [NEVER_OPEN])
async def test_off_hours_only_24x7_lps_and_only_when_enabled(lp_desk: Desk) -> None:
    await asyncio.sleep(1.0)  # several turns at 250 ms
    assert sum(provider("nonco").calls.values()) == 0 and sum(provider("horizon").calls.values()) == 0
    await lp_desk.set_control("lp_feed_enable_24x7", True)
    await until(lambda: price(lp_desk, "nonco", settlement="D2"))
    assert sum(provider("horizon").calls.values()) == 0
    assert price(lp_desk, "horizon") is None


async def test_each_tick_goes_on_the_admin_stream(lp_desk: Desk) -> None:
    subscription = await lp_desk.runtime.store.subscribe(ADMIN_CHANNEL)
    try:
        messages = subscription.__aiter__()
        while True:
            event = json.loads(await asyncio.wait_for(messages.__anext__(), 10))
            if event["type"] == EventType.LP_TICK:
                break
    finally:
        await subscription.close()
    data = event["data"]
    assert data["provider"] in {"nonco", "horizon"} and data["currency"] == "USDC"
    assert data["settlement"] in {"D0", "D1", "D2"}
    assert data["bid"] == "5.1000" and data["ask"] == "5.1020" and data["receivedAt"]
