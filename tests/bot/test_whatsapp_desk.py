"""A desk with the real WhatsApp channel and its fake Evolution API: group messages posted by
the fake to the desk's webhook, replies sent back through ``sendText``, on both backends."""

from __future__ import annotations

import asyncio
import uuid
from decimal import Decimal
from typing import Any

import httpx
import pytest

from otc_channel_whatsapp import plugin as whatsapp_plugin
from otc_channel_whatsapp.fake import RetryPolicy
from otc_channel_whatsapp.fake import create_app as evolution_app
from otc_channel_whatsapp.routes import WEBHOOK_PATH
from otc_framework.plugins import build_plugin_host
from otc_framework.storage.models import AuditLog, Closing, Hedge
from otc_framework.web import create_app
from tests import scripted_plugin
from tests.bot.conftest import GROUP, BotDesk, until
from tests.conftest import make_config

API_KEY = "evolution-key-0123456789"
SECRET = "webhook-secret-0123456789"
INSTANCE = "desk"
TRADER = "5531999998888"
# sendText is paced to 120 a minute per chat at most (the channel's bound), so quotes come
# 0.6 s apart here; the rhythm is configuration.
WA_BOT = {"quote_interval_seconds": 0.6, "off_delay_seconds": 0.6, "closing_window_seconds": 5.0}


class Evolution:
    def __init__(self, base_url: str, app: Any) -> None:
        self.base_url = base_url
        self.app = app
        self.http = httpx.AsyncClient(base_url=base_url)

    async def say(self, text: str, group: str = GROUP, participant: str = TRADER) -> str:
        response = await self.http.post("/_say", json={"group": group, "participant": participant, "text": text})
        assert response.status_code == 200, response.text
        message_id: str = response.json()["id"]
        return message_id

    async def redeliver(self, message_id: str) -> None:
        assert (await self.http.post("/_redeliver", json={"id": message_id})).status_code == 200

    async def texts(self, group: str = GROUP) -> list[str]:
        items = (await self.http.get("/_inbox")).json()["items"]
        return [item["text"] for item in items if item["number"] == group]

    async def delivered(self, message_id: str) -> list[dict[str, Any]]:
        return [w for w in (await self.http.get("/_webhooks")).json()["items"] if w["id"] == message_id]


@pytest.fixture
async def evolution(loopback: Any) -> Any:
    fast = RetryPolicy(initial_delay=0.05, max_delay=0.2, timeout_seconds=5.0)
    app = evolution_app(API_KEY, INSTANCE, 2, "http://127.0.0.1:1", fast)
    server = await loopback(app)
    venue = Evolution(server.base_url, app)
    yield venue
    await venue.http.aclose()


@pytest.fixture
async def wa_desk(migrated_database_url: str, store_url: str, store_namespace: str, serve: Any,
                  evolution: Evolution) -> BotDesk:
    config = make_config(
        migrated_database_url, store_url, store_namespace,
        market_hours={"always_open": True}, bot=WA_BOT, pricing={"spot_source": "vp", "second_source": None},
        plugins={"enabled": ["scripted", "channel_whatsapp"], "scripted": {"name": "vp", "rate": "5.0000"},
                 "channel_whatsapp": {"base_url": evolution.base_url, "api_key": API_KEY, "instance": INSTANCE,
                                      "webhook_secret": SECRET, "per_chat_per_minute": 120, "per_minute": 600}},
    )
    modules = {"scripted": scripted_plugin.plugin, "channel_whatsapp": whatsapp_plugin}
    plugins = build_plugin_host(config, modules=modules, env={})
    desk = BotDesk(await serve(create_app(config, plugins, unique_name=True)))
    evolution.app.ctx.webhook_url = f"{desk.http.base_url}{WEBHOOK_PATH}/{SECRET}"
    await desk.wait_for_spot()
    return desk


async def _quoted(evolution: Evolution, group: str = GROUP) -> list[str]:
    await until(lambda: _has_off(evolution, group), seconds=30)
    return await evolution.texts(group)


async def _has_off(evolution: Evolution, group: str) -> bool:
    return any("Off" in t for t in await evolution.texts(group))


async def test_a_group_trades_through_evolution(wa_desk: BotDesk, evolution: Evolution) -> None:
    client = await wa_desk.group_client(participants=[f"+{TRADER}"])
    await evolution.say("/ref 10k USDT D0")
    said = await _quoted(evolution)
    assert [t.rsplit("(", 1)[-1] for t in said[:7]] == [f"{n}/7)" for n in range(1, 8)]
    assert said[7].startswith("Off")
    await evolution.say("/fecha")
    await until(lambda: Closing.filter(client_id=client.id).exists())
    closing = await Closing.get(client_id=client.id)
    assert closing.source == "Bot" and closing.amount == Decimal("10000")
    prices = [Decimal(t.split(" · ")[-1].split(" ")[0].replace(",", ".")) for t in said[:7]]
    assert closing.price == min(prices[-2:])
    await until(lambda: _confirmed(evolution))


async def _confirmed(evolution: Evolution) -> bool:
    return any(t.startswith("Fechado") for t in await evolution.texts())


async def test_the_same_webhook_ten_times_trades_once(wa_desk: BotDesk, evolution: Evolution) -> None:
    client = await wa_desk.group_client()
    ref = await evolution.say("/ref 10k")
    await asyncio.gather(*(evolution.redeliver(ref) for _ in range(9)))
    await until(lambda: _all_done(evolution, ref, 10))
    await _quoted(evolution)
    fecha = await evolution.say("/fecha")
    await asyncio.gather(*(evolution.redeliver(fecha) for _ in range(9)))
    await until(lambda: _all_done(evolution, fecha, 10))
    await until(lambda: _confirmed(evolution))
    await asyncio.sleep(1.0)  # anything doubled would have been sent by now
    said = await evolution.texts()
    assert len([t for t in said if t.endswith("/7)")]) == 7 and len([t for t in said if t.startswith("Fechado")]) == 1
    assert await Closing.filter(client_id=client.id).count() == 1
    assert await AuditLog.filter(action="BOT_REF").count() == 1
    assert await AuditLog.filter(action="BOT_CLOSE").count() == 1
    assert await Hedge.filter(closing__client_id=client.id).count() == 1


async def _all_done(evolution: Evolution, message_id: str, count: int) -> bool:
    return len([w for w in await evolution.delivered(message_id) if w.get("done")]) == count


async def test_an_unmapped_group_is_test_mode_through_evolution(wa_desk: BotDesk, evolution: Evolution) -> None:
    group = f"1203630{uuid.uuid4().int % 10**11:011d}@g.us"
    await evolution.say("/ref 10k", group=group)
    await _quoted(evolution, group)
    await evolution.say("/fecha", group=group)
    await until(lambda: _confirmed_in(evolution, group))
    assert all(t.startswith("(TESTE) ") for t in await evolution.texts(group))
    assert await Closing.all().count() == 0 and await AuditLog.filter(source="Bot").count() == 0


async def _confirmed_in(evolution: Evolution, group: str) -> bool:
    return any("Fechado" in t for t in await evolution.texts(group))


async def test_a_participant_not_allowed_cannot_trade_through_evolution(wa_desk: BotDesk,
                                                                        evolution: Evolution) -> None:
    await wa_desk.group_client(participants=["+55 31 99999-8888"])
    await evolution.say("/ref 10k", participant="5511988887777")
    await until(lambda: _said_count(evolution, 1))
    assert (await evolution.texts())[0].startswith("Desculpe")
    assert await AuditLog.filter(action="BOT_REFUSED").count() == 1
    assert await wa_desk.runtime.bot.live_sessions() == []


async def _said_count(evolution: Evolution, count: int) -> bool:
    return len(await evolution.texts()) >= count
