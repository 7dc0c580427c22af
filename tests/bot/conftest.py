"""A desk with a chat channel (``scripted_channel``) and a quick bot rhythm, on the backends as
deployments pair them (SQLite with the in-process store, PostgreSQL with Redis)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from otc_framework.admin.access import Actor
from otc_framework.admin.clients import create_client
from otc_framework.plugins import build_plugin_host
from otc_framework.ports import InboundMessage, Receipt
from otc_framework.storage.models import AuditSource, Client, Tier
from otc_framework.testing.pytest_plugin import REDIS_URL, require_service
from otc_framework.web import create_app
from tests import scripted_plugin
from tests.bot import scripted_channel
from tests.conftest import make_config
from tests.desk import Desk, two_workers
from tests.liquidity.conftest import until

# Quick enough for a test, slow enough that a loaded machine keeps the order of events.
FAST_BOT = {"quote_interval_seconds": 0.2, "off_delay_seconds": 0.2, "closing_window_seconds": 3.0,
            "max_quotes_per_session": 7}
GROUP = "120363025246125486@g.us"
TRADER = "5531999998888@s.whatsapp.net"

__all__ = ["GROUP", "TRADER", "BotDesk", "until"]


@pytest.fixture
def store_url(migrated_database_url: str) -> Iterator[str]:
    if migrated_database_url.startswith("sqlite"):
        yield "memory://"
        return
    require_service("Redis", REDIS_URL)
    yield REDIS_URL


@pytest.fixture
def bot_tree() -> dict[str, Any]:
    """Config sections a test overrides."""
    return {}


def bot_config(database_url: str, store_url: str, namespace: str, **tree: Any) -> Any:
    tree.setdefault("market_hours", {"always_open": True})
    tree["bot"] = {**FAST_BOT, **tree.get("bot", {})}
    config = make_config(
        database_url, store_url, namespace,
        plugins={"enabled": ["scripted", "chat"], "scripted": {"name": "vp", "rate": "5.0000"}},
        pricing={"spot_source": "vp", "second_source": None},
        **tree,
    )
    modules = {"scripted": scripted_plugin.plugin, "chat": scripted_channel}
    return config, build_plugin_host(config, modules=modules, env={})


class BotDesk(Desk):
    """A served desk and the chat channel it answers through."""

    @property
    def channel(self) -> scripted_channel.ScriptedChannel:
        return next(c for c in self.runtime.channels if isinstance(c, scripted_channel.ScriptedChannel))

    async def say(self, text: str, *, chat: str = GROUP, sender: str = TRADER, message_id: str | None = None,
                  alternates: tuple[str, ...] = (), sent_at: datetime | None = None) -> Receipt:
        message = InboundMessage(
            channel=scripted_channel.NAME, message_id=message_id or uuid.uuid4().hex, chat_id=chat, sender=sender,
            text=text, from_me=False, is_group=chat.endswith("@g.us"), sent_at=sent_at or datetime.now(UTC),
            sender_alternates=alternates, sender_name="Trader",
        )
        receipt: Receipt = await self.runtime.bot.receive(message)
        return receipt

    async def group_client(self, name: str = "acme", group: str = GROUP, participants: list[str] | None = None,
                           tier: Tier = Tier.T1) -> Client:
        created = await create_client(Actor("test", AuditSource.ADMIN), name, tier)
        created.client.group_id = group
        created.client.bot_participants = participants or []
        await created.client.save(update_fields=["group_id", "bot_participants"])
        return created.client


def sent(chat: str = GROUP) -> list[str]:
    """What every worker's channel delivered to ``chat``, in order."""
    return [text for channel in scripted_channel.CHANNELS for c, text in channel.sent if c == chat]


@pytest.fixture
async def bot_desk(migrated_database_url: str, store_url: str, store_namespace: str, serve: Any,
                   bot_tree: dict[str, Any]) -> BotDesk:
    scripted_channel.CHANNELS.clear()
    config, plugins = bot_config(migrated_database_url, store_url, store_namespace, **bot_tree)
    desk = BotDesk(await serve(create_app(config, plugins, unique_name=True)))
    await desk.wait_for_spot()
    return desk


@pytest.fixture
async def two_bot_desks(migrated_database_url: str, store_url: str, store_namespace: str, loopback: Any,
                        bot_tree: dict[str, Any]) -> AsyncIterator[tuple[BotDesk, BotDesk]]:
    """Two workers sharing the database and the store."""
    scripted_channel.CHANNELS.clear()
    async with two_workers(migrated_database_url, store_url, store_namespace, loopback, kind=BotDesk,
                           build=lambda: bot_config(migrated_database_url, store_url, store_namespace,
                                                    **bot_tree)) as desks:
        yield desks
