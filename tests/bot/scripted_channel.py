"""A test plugin whose chat channel records what the desk sends.

It stands in for a chat transport (a venue), never for core code: the engine, the outbound
queue and its delivery loop under test are the real ones."""

from __future__ import annotations

import asyncio

from pydantic import BaseModel, ConfigDict

from otc_framework.hookspecs import hookimpl
from otc_framework.ports import Channel

NAME = "chat"


class ChatConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = NAME


class ScriptedChannel(Channel):
    per_minute = 6000
    per_chat_per_minute = 6000
    retry_backoff_seconds = 0.05

    def __init__(self, name: str) -> None:
        self.name = name
        self.sent: list[tuple[str, str]] = []

    async def send_text(self, chat_id: str, text: str) -> None:
        await asyncio.sleep(0)
        self.sent.append((chat_id, text))


CHANNELS: list[ScriptedChannel] = []


@hookimpl
def otc_config_model() -> type[BaseModel]:
    return ChatConfig


@hookimpl
def otc_channels(config: ChatConfig, http: object) -> list[Channel]:
    channel = ScriptedChannel(config.name)
    CHANNELS.append(channel)
    return [channel]
