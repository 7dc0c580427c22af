"""The bot engine end to end through a served desk: commands in, replies out through the real
outbound queue and delivery loop, trades through the real booking path, on both backends."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from otc_framework.bot import texts
from otc_framework.bot.session import BotSession
from otc_framework.ports import Receipt
from otc_framework.storage.models import AuditLog, Closing, Hedge, Holiday, Market
from tests.bot.conftest import GROUP, TRADER, BotDesk, sent, until
from tests.desk import bearer

OTHER_GROUP = "120363999999999999@g.us"


def quotes(chat: str = GROUP) -> list[str]:
    return [t for t in sent(chat) if "/7)" in t]


def offs(chat: str = GROUP) -> list[str]:
    return [t for t in sent(chat) if "Off" in t]


async def session_of(desk: BotDesk, chat: str = GROUP) -> BotSession:
    raw = await desk.runtime.store.get(f"bot:session:chat:{chat}")
    assert raw is not None
    return BotSession.from_json(raw)


async def quoted_until_off(desk: BotDesk, chat: str = GROUP) -> None:
    await until(lambda: len(offs(chat)) == 1)


async def test_ref_quotes_seven_times_then_off_and_fecha_closes_at_the_better_of_the_last_two(
    bot_desk: BotDesk,
) -> None:
    client = await bot_desk.group_client()
    assert await bot_desk.say("/ref 10k USDT D0") is Receipt.HANDLED
    await until(lambda: len(quotes()) == 7)
    await quoted_until_off(bot_desk)
    assert [q.rsplit("(", 1)[1] for q in quotes()] == [f"{n}/7)" for n in range(1, 8)]
    assert all(q.startswith("acme · USDT D0 · 10.000 · ") for q in quotes())
    assert sent().index(offs()[0]) == 7, "Off comes after the seventh quote"

    session = await session_of(bot_desk)
    best = min(session.quotes[-2:], key=lambda q: q.price)
    assert await bot_desk.say("/fecha") is Receipt.HANDLED
    await until(lambda: any(t.startswith("Fechado") for t in sent()))

    closing = await Closing.get(client_id=client.id)
    assert closing.source == "Bot" and closing.price == best.price and closing.amount == Decimal("10000")
    assert closing.total_brl == (Decimal("10000") * best.price).quantize(Decimal("0.01"))
    assert closing.oid == f"bot-{session.id}" and closing.session_id == session.id
    actions = [a.action for a in await AuditLog.filter(client_id=client.id, source="Bot").order_by("id")]
    assert actions == ["BOT_REF", "CLOSE_SUCCESS", "BOT_CLOSE"]
    close_audit = await AuditLog.get(action="BOT_CLOSE")
    assert close_audit.source == "Bot" and close_audit.actor == TRADER and close_audit.closing_id == closing.id
    hedge = await Hedge.get(closing_id=closing.id)
    assert hedge.status == "skipped", "exec_mode off: the hedge intent is recorded, skipped"
    confirmation = next(t for t in sent() if t.startswith("Fechado"))
    assert texts.number(best.price, 4) in confirmation and closing.oid in confirmation


async def test_a_trade_is_owed_a_hedge_when_exec_mode_hedges(bot_desk: BotDesk) -> None:
    client = await bot_desk.group_client()
    await bot_desk.set_control("exec_mode", "auto_best")
    await bot_desk.say("/ref 10k")
    await quoted_until_off(bot_desk)
    await bot_desk.say("/fecha")
    await until(lambda: Closing.filter(client_id=client.id).exists())
    hedge = await Hedge.get(closing__client_id=client.id)
    assert hedge.status != "skipped" and hedge.amount == Decimal("10000")


async def test_an_unmapped_group_is_test_mode_and_persists_nothing(bot_desk: BotDesk) -> None:
    await bot_desk.say("/ref 10k USDC D1", chat=OTHER_GROUP)
    await quoted_until_off(bot_desk, OTHER_GROUP)
    await bot_desk.say("/fecha", chat=OTHER_GROUP)
    await until(lambda: any("Fechado" in t for t in sent(OTHER_GROUP)))
    assert all(t.startswith(texts.TEST_PREFIX) for t in sent(OTHER_GROUP))
    assert "Simulação" in sent(OTHER_GROUP)[-1]
    assert await Closing.all().count() == 0
    assert await AuditLog.filter(source="Bot").count() == 0


async def test_the_same_message_delivered_ten_times_trades_once(bot_desk: BotDesk) -> None:
    await bot_desk.group_client()
    receipts = await asyncio.gather(*(bot_desk.say("/ref 10k", message_id="ref-1") for _ in range(10)))
    assert receipts.count(Receipt.HANDLED) == 1 and receipts.count(Receipt.DUPLICATE) == 9
    await quoted_until_off(bot_desk)
    receipts = await asyncio.gather(*(bot_desk.say("/fecha", message_id="fecha-1") for _ in range(10)))
    assert receipts.count(Receipt.HANDLED) == 1
    await until(lambda: any(t.startswith("Fechado") for t in sent()))
    await asyncio.sleep(0.5)
    assert len(quotes()) == 7 and len(offs()) == 1
    assert await Closing.all().count() == 1
    assert await AuditLog.filter(action="BOT_REF").count() == 1
    assert len([t for t in sent() if t.startswith("Fechado")]) == 1


# Two workers share a store only through Redis (the in-process store is one process's).
@pytest.mark.parametrize("migrated_database_url", ["postgres"], indirect=True)
async def test_two_fecha_at_once_on_two_workers_make_one_closing(two_bot_desks: tuple[BotDesk, BotDesk]) -> None:
    one, two = two_bot_desks
    await one.group_client()
    await one.say("/ref 10k")
    await until(lambda: len(offs()) == 1)
    receipts = await asyncio.gather(one.say("/fecha"), two.say("/fecha 20k", sender="5531977776666@s.whatsapp.net"))
    assert receipts == [Receipt.HANDLED, Receipt.HANDLED]
    await until(lambda: len(sent()) == 10)
    assert await Closing.all().count() == 1
    closing = await Closing.get()
    confirmation, other = sorted(sent()[8:], key=lambda t: not t.startswith("Fechado"))
    assert confirmation.startswith("Fechado") and closing.oid in confirmation
    assert other in (texts.ALREADY_CLOSING, confirmation), "the other /fecha learns it is closed already"


# Two workers share a store only through Redis (the in-process store is one process's).
@pytest.mark.parametrize("migrated_database_url", ["postgres"], indirect=True)
async def test_a_worker_stopping_mid_session_hands_the_quotes_to_another_none_lost_or_doubled(
    two_bot_desks: tuple[BotDesk, BotDesk],
) -> None:
    one, two = two_bot_desks
    await one.group_client()
    await one.say("/ref 10k")
    await until(lambda: len(quotes()) >= 3)
    holder = next(d for d in (one, two) if d.runtime.bot_loop.leading)
    other = two if holder is one else one
    await holder.runtime.bot_loop.stop()  # as a shutdown does: the lease is handed over
    await until(lambda: len(offs()) == 1)
    assert other.runtime.bot_loop.leading
    assert [q.rsplit("(", 1)[1] for q in quotes()] == [f"{n}/7)" for n in range(1, 8)]
    await other.say("/fecha")
    await until(lambda: Closing.all().exists())


async def test_a_participant_not_allowed_is_refused_once_and_cannot_trade(bot_desk: BotDesk) -> None:
    client = await bot_desk.group_client(participants=["+55 31 99999-8888"])
    stranger = "5511988887777@s.whatsapp.net"
    for text in ("/ref 10k", "/ref 20k", "/off"):
        assert await bot_desk.say(text, sender=stranger) is Receipt.HANDLED
    await until(lambda: len(sent()) == 1)
    assert sent() == [texts.refused("Trader")]
    refused = await AuditLog.filter(action="BOT_REFUSED").order_by("id")
    assert len(refused) == 3 and all(r.actor == stranger and r.client_id == client.id for r in refused)
    assert not await bot_desk.runtime.store.get(f"bot:session:chat:{GROUP}")

    # The allowed trader writes from the number without the ninth digit, as Evolution may send it.
    await bot_desk.say("/ref 10k", sender="553199998888@s.whatsapp.net")
    await quoted_until_off(bot_desk)
    assert await bot_desk.say("/fecha", sender=stranger) is Receipt.HANDLED
    await asyncio.sleep(0.3)
    assert await Closing.all().count() == 0
    # An @lid sender whose phone number comes as the alternate is the same trader.
    await bot_desk.say("/fecha", sender="123456789012345@lid", alternates=("5531999998888@s.whatsapp.net",))
    await until(lambda: Closing.all().exists())


async def test_a_client_off_stops_quoting_and_blocks_fecha(bot_desk: BotDesk) -> None:
    await bot_desk.group_client()
    await bot_desk.say("/ref 10k")
    await until(lambda: len(quotes()) >= 2)
    await bot_desk.say("/off")
    await until(lambda: any("encerrada pelo cliente" in t for t in sent()))
    count = len(quotes())
    await bot_desk.say("/fecha")
    await until(lambda: texts.BLOCKED_BY_OFF in sent())
    await asyncio.sleep(0.5)
    assert len(quotes()) == count, "no quote after /off"
    assert await Closing.all().count() == 0


async def test_fecha_before_off_and_after_the_window_changes_nothing(bot_desk: BotDesk) -> None:
    await bot_desk.group_client()
    await bot_desk.say("/ref 10k")
    await until(lambda: len(quotes()) >= 1)
    await bot_desk.say("/fecha")
    await until(lambda: texts.WAIT_FOR_OFF in sent())
    await quoted_until_off(bot_desk)
    await until(lambda: _ended(bot_desk), seconds=20)
    await bot_desk.say("/fecha")
    await until(lambda: texts.WINDOW_OVER in sent())
    assert await Closing.all().count() == 0


async def _ended(desk: BotDesk) -> bool:
    return (await session_of(desk)).ended is not None


async def test_one_session_per_group(bot_desk: BotDesk) -> None:
    await bot_desk.group_client()
    await bot_desk.say("/ref 10k")
    await bot_desk.say("/ref 50k USDC")
    await until(lambda: texts.BUSY in sent())
    await quoted_until_off(bot_desk)
    assert all("USDT" in q for q in quotes())


async def test_fecha_takes_its_own_volume_and_asks_for_one_when_none_was_given(bot_desk: BotDesk) -> None:
    client = await bot_desk.group_client()
    await bot_desk.say("/ref")
    await quoted_until_off(bot_desk)
    await bot_desk.say("/fecha")
    await until(lambda: texts.NEED_VOLUME in sent())
    await bot_desk.say("/fechar 1,5kk")
    await until(lambda: Closing.filter(client_id=client.id).exists())
    assert (await Closing.get(client_id=client.id)).amount == Decimal("1500000")


@pytest.mark.parametrize(("text", "answer"), [
    ("/ref abc", 'Não entendi "abc"'),
    ("/ref 1.00.0", 'Volume inválido: "1.00.0"'),
    ("/ref 10k XYZ", 'Não entendi "XYZ"'),
    ("/ref 500", "Volume abaixo do mínimo de 1.000."),
    ("/ref 20kk", "Volume acima do máximo de 10.000.000"),
])
async def test_malformed_commands_answer_clearly_and_change_nothing(bot_desk: BotDesk, text: str,
                                                                     answer: str) -> None:
    await bot_desk.group_client()
    assert await bot_desk.say(text) is Receipt.HANDLED
    await until(lambda: len(sent()) == 1)
    assert sent()[0].startswith(answer)
    assert await bot_desk.runtime.store.get(f"bot:session:chat:{GROUP}") is None
    assert await AuditLog.filter(source="Bot").count() == 0


@pytest.mark.parametrize("bot_tree", [{"market_hours": {"always_open": False}}])
async def test_market_closed_answers_the_next_opening(bot_desk: BotDesk) -> None:
    await bot_desk.group_client()
    today = datetime.now(ZoneInfo("America/Sao_Paulo")).date()
    await Holiday.create(date=today, label="test", market=Market.BR)
    await bot_desk.runtime.reference.changed("holidays")
    await bot_desk.say("/ref 10k")
    await until(lambda: len(sent()) == 1)
    assert sent()[0].startswith("Mercado fechado. Próxima abertura: ")


async def test_bot_enabled_off_ignores_commands_and_old_messages_are_ignored(bot_desk: BotDesk) -> None:
    await bot_desk.group_client()
    await bot_desk.set_control("bot_enabled", False)
    assert await bot_desk.say("/ref 10k") is Receipt.IGNORED
    await bot_desk.set_control("bot_enabled", True)
    stale = datetime.now(UTC) - timedelta(minutes=10)
    assert await bot_desk.say("/ref 10k", sent_at=stale) is Receipt.IGNORED
    assert await bot_desk.say("bom dia") is Receipt.IGNORED
    assert await bot_desk.say("/help") is Receipt.HANDLED
    await until(lambda: len(sent()) == 1)
    assert sent() == [texts.HELP]


async def test_pix_answers_the_control(bot_desk: BotDesk) -> None:
    await bot_desk.group_client()
    await bot_desk.say("/pix")
    await until(lambda: len(sent()) == 1)
    assert sent() == [texts.PIX_MISSING]
    await bot_desk.set_control("bot_pix_info", "Chave PIX: mesa@example.com (Mesa OTC Ltda)")
    await bot_desk.say("/pix")
    await until(lambda: len(sent()) == 2)
    assert sent()[1] == "Chave PIX: mesa@example.com (Mesa OTC Ltda)"


async def test_operators_see_live_sessions(bot_desk: BotDesk) -> None:
    await bot_desk.group_client()
    _, token = await bot_desk.admin()
    await bot_desk.say("/ref 10k USDC D2")
    await until(lambda: len(quotes()) >= 2)
    response = await bot_desk.http.get("/v1/admin/bot/sessions", headers=bearer(token))
    assert response.status_code == 200, response.text
    [item] = response.json()["items"]
    assert item["chatId"] == GROUP and item["clientName"] == "acme" and item["testMode"] is False
    assert item["state"] == "quoting" and item["currency"] == "USDC" and item["settlement"] == "D2"
    assert item["volume"] == "10000" and all(isinstance(q["price"], str) for q in item["quotes"])


async def test_every_session_change_is_on_the_admin_stream(bot_desk: BotDesk) -> None:
    await bot_desk.group_client()
    subscription = await bot_desk.runtime.store.subscribe("admin")
    seen: list[dict[str, Any]] = []

    async def read() -> None:
        async for raw in subscription:
            event = json.loads(raw)
            if event["type"] == "bot.session":
                seen.append(event["data"])

    reader = asyncio.create_task(read())
    try:
        await bot_desk.say("/ref 10k")
        await quoted_until_off(bot_desk)
        await bot_desk.say("/fecha")
        await until(lambda: any(s["state"] == "terminated" for s in seen))
    finally:
        await subscription.close()
        await reader
    states = [s["state"] for s in seen]
    assert states[0] == "quoting" and states.count("closing_window") == 1 and states[-1] == "terminated"
    assert [len(s["quotes"]) for s in seen if s["state"] == "quoting"] == list(range(8))
    assert seen[-1]["ended"] == "closed" and seen[-1]["trade"]["closingId"]
