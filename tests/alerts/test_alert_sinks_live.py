"""The real alert sinks (Telegram, Discord) against their fakes, driven by the desk's own
delivery loop: a test alert lands in both inboxes; a 429 delays the alert by the venue's
retry_after and keeps the order; a sink refusing for good is failed and shown in health while
the other still delivers; a hanging pair of sinks slows no quote and no close."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from otc_framework.plugins import build_plugin_host, demo_venues, load_entry_point
from otc_framework.testing.fake_venue import DemoSettings, DemoVenue
from otc_framework.web import create_app
from tests import scripted_plugin
from tests.alerts.test_alert_queue import eventually
from tests.conftest import make_config
from tests.desk import Desk, bearer

SINKS = ("channel_telegram_alerts", "channel_discord")


@pytest.fixture
async def venues() -> AsyncIterator[dict[str, tuple[DemoVenue, dict[str, Any]]]]:
    started = {}
    for name, venue in demo_venues(SINKS).items():
        started[name] = (venue, await venue.start("127.0.0.1", DemoSettings()))
    yield started
    for venue, _ in started.values():
        await venue.stop()


@pytest.fixture
async def live_desk(migrated_database_url: str, store_url: str, store_namespace: str, serve: Any,
                    venues: dict[str, tuple[DemoVenue, dict[str, Any]]]) -> Desk:
    config = make_config(
        migrated_database_url, store_url, store_namespace,
        plugins={"enabled": ["scripted", *SINKS], "scripted": {"name": "vp"},
                 **{name: section for name, (_, section) in venues.items()}},
        pricing={"spot_source": "vp", "second_source": None},
        market_hours={"always_open": True},
    )
    modules = {"scripted": scripted_plugin.plugin, **{name: load_entry_point(name) for name in SINKS}}
    plugins = build_plugin_host(config, modules=modules, env={})
    desk = Desk(await serve(create_app(config, plugins, unique_name=True)))
    await desk.wait_for_spot()
    return desk


def url(venues: dict[str, tuple[DemoVenue, dict[str, Any]]], name: str) -> str:
    found = venues[name][0].url
    assert found is not None
    return found


async def inbox(http: httpx.AsyncClient, base: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = (await http.get(f"{base}/_inbox")).json()["items"]
    return items


async def deliveries(desk: Desk, admin: str, alert_id: int) -> dict[str, dict[str, Any]]:
    items = (await desk.http.get("/v1/admin/alerts", headers=bearer(admin))).json()["items"]
    found = next(item for item in items if item["id"] == alert_id)
    return {d["sink"]: d for d in found["deliveries"]}


async def raise_test(desk: Desk, admin: str) -> int:
    response = await desk.http.post("/v1/admin/alerts/test", headers=bearer(admin))
    assert response.status_code == 201, response.text
    alert_id: int = response.json()["id"]
    return alert_id


async def test_a_test_alert_lands_in_both_fakes_and_is_listed_sent(live_desk: Desk, venues: Any,
                                                                    http: httpx.AsyncClient) -> None:
    _, admin = await live_desk.admin()
    alert_id = await raise_test(live_desk, admin)
    telegram, discord = url(venues, SINKS[0]), url(venues, SINKS[1])
    await eventually(lambda: _both_sent(live_desk, admin, alert_id), "sent to both")
    [message] = await inbox(http, telegram)
    assert "Test alert" in message["text"] and message["parse_mode"] == "HTML"
    [post] = await inbox(http, discord)
    assert post["wait"] is True and post["allowed_mentions"] == {"parse": []}
    assert "Test alert" in post["embeds"][0]["title"]


async def _both_sent(desk: Desk, admin: str, alert_id: int) -> bool:
    found = await deliveries(desk, admin, alert_id)
    return {d["status"] for d in found.values()} == {"sent"} and set(found) == {"telegram", "discord"}


async def test_telegram_429_delivers_after_its_retry_after_in_order(live_desk: Desk, venues: Any,
                                                                    http: httpx.AsyncClient) -> None:
    _, admin = await live_desk.admin()
    telegram = url(venues, SINKS[0])
    await http.post(f"{telegram}/_fault", json={"status": 429, "retryAfter": 3, "count": 2})
    first = await raise_test(live_desk, admin)
    second = await raise_test(live_desk, admin)
    await eventually(lambda: _both_sent(live_desk, admin, second), "both alerts sent everywhere", seconds=30)
    assert len(await inbox(http, url(venues, SINKS[1]))) == 2
    messages = await inbox(http, telegram)
    assert len(messages) == 2
    found = await deliveries(live_desk, admin, first)
    assert found["telegram"]["attempts"] == 3 and found["discord"]["attempts"] == 1
    assert (await deliveries(live_desk, admin, second))["telegram"]["attempts"] == 1
    # In order, and the first only after two waits of the venue's retry_after.
    sent_first, sent_second = found["telegram"]["sentAt"], (await deliveries(live_desk, admin, second))["telegram"]
    assert sent_first < sent_second["sentAt"]
    created = (await live_desk.http.get("/v1/admin/alerts", headers=bearer(admin))).json()["items"][-1]["createdAt"]
    from datetime import datetime

    assert (datetime.fromisoformat(sent_first) - datetime.fromisoformat(created)).total_seconds() >= 6


async def test_a_refusing_sink_is_failed_shown_in_health_and_the_other_delivers(
    live_desk: Desk, venues: Any, http: httpx.AsyncClient
) -> None:
    _, admin = await live_desk.admin()
    discord = url(venues, SINKS[1])
    await http.post(f"{discord}/_fault", json={"status": 404, "count": 100})
    first = await raise_test(live_desk, admin)
    await eventually(lambda: _status(live_desk, admin, first, "discord", "failed"), "discord failed")
    await eventually(lambda: _status(live_desk, admin, first, "telegram", "sent"), "telegram sent")
    health = (await live_desk.http.get("/health/ready")).json()
    assert health["alerts"]["discord"]["state"] == "stopped" and "404" in health["alerts"]["discord"]["error"]
    assert health["alerts"]["telegram"]["state"] == "active"
    second = await raise_test(live_desk, admin)
    await eventually(lambda: _status(live_desk, admin, second, "telegram", "sent"), "telegram still delivers")
    await eventually(lambda: _status(live_desk, admin, second, "discord", "failed"), "discord stays stopped")
    assert (await http.get(f"{discord}/_fault")).json()["pending"] == 99  # tried once, never again


async def _status(desk: Desk, admin: str, alert_id: int, sink: str, status: str) -> bool:
    return (await deliveries(desk, admin, alert_id))[sink]["status"] == status


async def test_hanging_sinks_slow_no_trade(live_desk: Desk, venues: Any, http: httpx.AsyncClient) -> None:
    for name in SINKS:
        await http.post(f"{url(venues, name)}/_fault", json={"delay": 60, "count": 1000})
    await live_desk.set_control("alert_large_trade_amount", "1000")
    _, token = await live_desk.client()
    # Every close raises an alert that both hanging sinks hold; trading goes on regardless.
    for _ in range(5):
        session = (await live_desk.quote(token)).json()["sessionId"]
        closed = await asyncio.wait_for(live_desk.close(token, session), 10)
        assert closed.status_code == 201
