"""The contract every chat ``Channel`` plugin must keep, both ways, as a reusable pytest suite.

A channel plugin has two halves: the adapter the core sends through (``Channel.send_text``)
and the webhook route (``otc_routes``) that hands what the venue delivers to the desk's bot
engine (``ChatInbox``). A plugin's tests subclass ``ChannelContract`` (against its fake on
loopback, and against respx mocks for the send side) with a fixture ``channel_harness``
returning a ``ChannelHarness``:

- ``channel``: the adapter under test, built with a tiny ``timeout_seconds``;
- ``secrets``: values that must never appear in an error or a log line (API keys, the
  webhook secret);
- ``chat_id`` / ``sender``: a group chat the venue knows, in the venue's own id format, and
  a member of it;
- ``async received() -> list[tuple[str, str]]``: ``(chat_id, text)`` of each message the
  venue accepted, oldest first, as the venue took them (the venue side refuses what the
  real venue refuses, so "received" means "the venue would have sent it");
- ``async fault(status=None, *, retry_after=1.0, drop=False, hang=False, count=1)``: the
  next ``count`` sends are answered with ``status`` the venue's way (``retry_after``
  seconds where it sends one), dropped, or never answered within the channel's timeout;
- ``async refuse()``: the next send is refused for good, the venue's way (a revoked key);
- ``async say(chat_id, sender, text, *, from_me=False) -> str``: the venue delivers a
  message to the desk the way it really would, through the plugin's own webhook route
  served on loopback (``webhook_desk_app``) with a ``RecordingInbox`` as the bot engine;
  returns the venue's message id once the venue is done delivering it;
- ``async redeliver(message_id)``: the venue delivers that event again (its retry);
- ``async delivered() -> list[InboundMessage]``: what reached the inbox, oldest first;
- ``async unauthenticated_post() -> int``: a delivery to the webhook without the
  credentials, and the status it was answered with.

``LoopbackHarness`` implements the send side over any fake built with
``otc_framework.testing.fake_venue.install_test_routes``, ``MockedVenue`` over a respx
side effect; both leave the inbound side (``say``, ``redeliver``,
``unauthenticated_post``) to the plugin, which knows how its venue delivers::

    class MyHarness(LoopbackHarness):
        async def say(self, chat_id, sender, text, *, from_me=False): ...

    @pytest.fixture
    async def channel_harness(loopback, http):
        inbox = RecordingInbox()
        desk = await loopback(webhook_desk_app([blueprint(config)], inbox))
        venue = await loopback(create_app(..., webhook_url=desk.base_url + "/webhook/…"))
        return MyHarness(MyChannel(config, http), http, venue.base_url, inbox, ...)

    class TestMyChannelOnFake(ChannelContract):
        pass

The class has no ``Test`` prefix, so pytest collects it only through such subclasses.
Deduplication is the core's job: a redelivered message reaches the inbox again, with the
same id.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any, Protocol

import httpx
import pytest
from sanic import Blueprint, Sanic

from otc_framework.errors import NotReady, VenueError, VenueRateLimited, VenueRefused
from otc_framework.ports import Channel, InboundMessage, Receipt
from otc_framework.testing.venue_harness import LoopbackSendSide, MockedSendSide, SendSide
from otc_framework.web.problems import ProblemErrorHandler

# What a desk really sends: Portuguese accents, a Real amount, an emoji, several lines.
SAMPLE_TEXT = "Cotação USDT/BRL: R$ 5,4321 💵\nVolume: 1.500.000,00 — ação às 10h\n\n/fecha 10k ✅"
# Loggers of the transport and the servers: httpx logs each request URL (a webhook secret in a
# path, say), and the core's log redactor masks registered secrets there (otc_framework.logs).
# What the plugin itself logs is the contract's business.
TRANSPORT_LOGGERS = ("httpx", "httpcore", "sanic")
DELIVERY_TIMEOUT_SECONDS = 5.0


class ChannelHarness(SendSide[tuple[str, str]], Protocol):
    """What a ``channel_harness`` fixture returns; see the module docstring."""

    @property
    def channel(self) -> Channel: ...

    @property
    def secrets(self) -> Sequence[str]: ...

    @property
    def chat_id(self) -> str: ...

    @property
    def sender(self) -> str: ...

    async def say(self, chat_id: str, sender: str, text: str, *, from_me: bool = False) -> str: ...

    async def redeliver(self, message_id: str) -> None: ...

    async def delivered(self) -> list[InboundMessage]: ...

    async def unauthenticated_post(self) -> int: ...


class RecordingInbox:
    """A ``ChatInbox`` that keeps what it received, in order, and answers as the engine
    would (``ignored`` for the desk's own messages, ``handled`` otherwise). It does not
    deduplicate: tests see every delivery. ``not_ready(n)`` makes the next ``n`` calls
    raise ``NotReady``, as the engine does while its store is down."""

    def __init__(self) -> None:
        self.messages: list[InboundMessage] = []
        self._not_ready = 0

    def not_ready(self, count: int = 1) -> None:
        self._not_ready += count

    async def receive(self, message: InboundMessage) -> Receipt:
        if self._not_ready:
            self._not_ready -= 1
            raise NotReady("the store is unreachable")
        self.messages.append(message)
        return Receipt.IGNORED if message.from_me else Receipt.HANDLED


def webhook_desk_app(blueprints: Iterable[Blueprint], inbox: RecordingInbox | Any) -> Sanic:
    """A small desk for a channel's webhook: the plugin's blueprints, ``inbox`` at
    ``app.ctx.chat_inbox`` and the core's problem+json error handler. Serve it with the
    ``loopback`` fixture."""

    app = Sanic(f"channel_desk_{uuid.uuid4().hex[:12]}", error_handler=ProblemErrorHandler())
    app.config.FALLBACK_ERROR_FORMAT = "json"
    app.ctx.chat_inbox = inbox
    for blueprint in blueprints:
        app.blueprint(blueprint)
    return app


async def wait_until(
    condition: Callable[[], Awaitable[bool]], timeout: float = DELIVERY_TIMEOUT_SECONDS, what: str = "condition"
) -> None:
    """Poll ``condition`` until it holds; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not await condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {timeout:g} s")
        await asyncio.sleep(0.01)


class _InboxSide(ABC):
    """The inbound side: what reached the desk (the recording inbox's messages); subclasses
    make the venue deliver, the venue's way."""

    inbox: RecordingInbox

    async def delivered(self) -> list[InboundMessage]:
        return list(self.inbox.messages)

    @abstractmethod
    async def say(self, chat_id: str, sender: str, text: str, *, from_me: bool = False) -> str: ...

    @abstractmethod
    async def redeliver(self, message_id: str) -> None: ...

    @abstractmethod
    async def unauthenticated_post(self) -> int: ...


class LoopbackHarness(_InboxSide, LoopbackSendSide[tuple[str, str]], ABC):
    """The send side over a fake on loopback (``GET /_inbox`` read into ``(chat_id, text)``
    by ``read``; ``POST /_fault``); ``hang_seconds`` must exceed the channel's timeout.
    Subclasses deliver inbound messages the venue's way."""

    def __init__(
        self,
        channel: Channel,
        http: httpx.AsyncClient,
        venue_url: str,
        inbox: RecordingInbox,
        *,
        chat_id: str,
        sender: str,
        read: Callable[[dict[str, Any]], tuple[str, str]],
        secrets: Sequence[str],
        refusal_status: int,
        hang_seconds: float = 1.0,
    ) -> None:
        super().__init__(http, venue_url, read=read, refusal_status=refusal_status, hang_seconds=hang_seconds)
        self.channel, self.inbox = channel, inbox
        self.chat_id, self.sender = chat_id, sender
        self.secrets = tuple(secrets)



class MockedVenue(_InboxSide, MockedSendSide[tuple[str, str]], ABC):
    """The send side mocked with respx: ``respx_mock.post(url).mock(side_effect=venue.handle)``
    (let loopback pass through, for the desk's webhook). Subclasses say how the venue answers
    a send (``(chat_id, text)`` when it accepted it) and a forced status
    (``venue_harness.MockedSendSide``)."""

    def __init__(
        self,
        channel: Channel,
        inbox: RecordingInbox,
        *,
        chat_id: str,
        sender: str,
        secrets: Sequence[str],
        refusal_status: int,
    ) -> None:
        super().__init__(refusal_status)
        self.channel, self.inbox = channel, inbox
        self.chat_id, self.sender = chat_id, sender
        self.secrets = tuple(secrets)



def _texts_of(error: BaseException) -> list[str]:
    return [str(error), repr(error), *(str(arg) for arg in error.args), getattr(error, "message", "")]


def _retryable(error: VenueError) -> bool:
    return not isinstance(error, VenueRateLimited | VenueRefused)


class ChannelContract:
    """Tests any chat ``Channel`` plugin must pass; see the module docstring for the fixture."""

    # --- sending ----------------------------------------------------------------------------

    def test_declares_its_name_and_pace(self, channel_harness: ChannelHarness) -> None:
        channel = channel_harness.channel
        assert isinstance(channel.name, str) and channel.name.strip()
        assert isinstance(channel.per_minute, int) and channel.per_minute > 0
        assert isinstance(channel.per_chat_per_minute, int) and 0 < channel.per_chat_per_minute <= channel.per_minute
        assert channel.retry_backoff_seconds > 0

    async def test_text_is_delivered_once_verbatim(self, channel_harness: ChannelHarness) -> None:
        await channel_harness.channel.send_text(channel_harness.chat_id, SAMPLE_TEXT)
        assert await channel_harness.received() == [(channel_harness.chat_id, SAMPLE_TEXT)]

    async def test_sends_arrive_in_order(self, channel_harness: ChannelHarness) -> None:
        texts = [f"mensagem {n}: R$ {n},00" for n in range(1, 6)]
        for text in texts:
            await channel_harness.channel.send_text(channel_harness.chat_id, text)
        assert [text for _, text in await channel_harness.received()] == texts

    async def test_rate_limit_carries_the_venues_wait(self, channel_harness: ChannelHarness) -> None:
        await channel_harness.fault(429, retry_after=3)
        with pytest.raises(VenueRateLimited) as caught:
            await channel_harness.channel.send_text(channel_harness.chat_id, SAMPLE_TEXT)
        assert caught.value.retry_after == pytest.approx(3)
        assert await channel_harness.received() == []

    @pytest.mark.parametrize("status", [500, 502, 503])
    async def test_server_error_is_retryable(self, channel_harness: ChannelHarness, status: int) -> None:
        await channel_harness.fault(status)
        with pytest.raises(VenueError) as caught:
            await channel_harness.channel.send_text(channel_harness.chat_id, SAMPLE_TEXT)
        assert _retryable(caught.value)
        assert await channel_harness.received() == []

    async def test_send_after_a_failure_delivers_once(self, channel_harness: ChannelHarness) -> None:
        await channel_harness.fault(503)
        with pytest.raises(VenueError):
            await channel_harness.channel.send_text(channel_harness.chat_id, SAMPLE_TEXT)
        await channel_harness.channel.send_text(channel_harness.chat_id, SAMPLE_TEXT)
        assert len(await channel_harness.received()) == 1

    async def test_dropped_connection_is_retryable(self, channel_harness: ChannelHarness) -> None:
        await channel_harness.fault(drop=True)
        with pytest.raises(VenueError) as caught:
            await channel_harness.channel.send_text(channel_harness.chat_id, SAMPLE_TEXT)
        assert _retryable(caught.value)
        assert not isinstance(caught.value.__cause__, httpx.HTTPError)

    async def test_hanging_venue_times_out_as_venue_error(self, channel_harness: ChannelHarness) -> None:
        # The venue answers normally once the hang ends: only the channel's timeout fails it.
        await channel_harness.fault(hang=True)
        with pytest.raises(VenueError) as caught:
            await channel_harness.channel.send_text(channel_harness.chat_id, SAMPLE_TEXT)
        assert _retryable(caught.value)

    async def test_permanent_refusal_is_venue_refused(self, channel_harness: ChannelHarness) -> None:
        await channel_harness.refuse()
        with pytest.raises(VenueRefused):
            await channel_harness.channel.send_text(channel_harness.chat_id, SAMPLE_TEXT)
        assert await channel_harness.received() == []

    # --- receiving --------------------------------------------------------------------------

    async def test_group_message_arrives_once_as_sent(self, channel_harness: ChannelHarness) -> None:
        h = channel_harness
        message_id = await h.say(h.chat_id, h.sender, SAMPLE_TEXT)
        [message] = await h.delivered()
        assert message.channel == h.channel.name
        assert (message.chat_id, message.sender, message.text) == (h.chat_id, h.sender, SAMPLE_TEXT)
        assert message.message_id == message_id and message_id
        assert message.is_group is True
        assert message.from_me is False
        assert message.sent_at is not None and message.sent_at.tzinfo is not None

    async def test_redelivered_message_keeps_its_id(self, channel_harness: ChannelHarness) -> None:
        h = channel_harness
        message_id = await h.say(h.chat_id, h.sender, "/ref 10k")
        await h.redeliver(message_id)
        delivered = await h.delivered()
        assert [m.message_id for m in delivered] == [message_id, message_id]
        assert delivered[0].text == delivered[1].text == "/ref 10k"

    async def test_own_messages_are_withheld_or_flagged(self, channel_harness: ChannelHarness) -> None:
        h = channel_harness
        message_id = await h.say(h.chat_id, h.sender, "/ref 10k", from_me=True)
        assert all(m.from_me for m in await h.delivered() if m.message_id == message_id)

    async def test_unauthenticated_post_is_refused_and_delivers_nothing(self, channel_harness: ChannelHarness) -> None:
        assert await channel_harness.unauthenticated_post() == 401
        assert await channel_harness.delivered() == []

    # --- secrets ----------------------------------------------------------------------------

    async def test_secrets_never_appear_in_errors_or_logs(
        self, channel_harness: ChannelHarness, caplog: pytest.LogCaptureFixture
    ) -> None:
        h = channel_harness
        caplog.set_level(logging.DEBUG)
        texts = [repr(h.channel), str(h.channel)]
        for fault in ({"status": 429}, {"status": 500}, {"drop": True}, {"hang": True}):
            await h.fault(**fault)
            with pytest.raises(VenueError) as caught:
                await h.channel.send_text(h.chat_id, SAMPLE_TEXT)
            texts += _texts_of(caught.value)
        await h.refuse()
        with pytest.raises(VenueRefused) as refused:
            await h.channel.send_text(h.chat_id, SAMPLE_TEXT)
        texts += _texts_of(refused.value)
        await h.channel.send_text(h.chat_id, SAMPLE_TEXT)
        await h.say(h.chat_id, h.sender, SAMPLE_TEXT)
        await h.unauthenticated_post()
        texts += [repr(m) for m in await h.delivered()]
        texts += [r.getMessage() for r in caplog.records if not r.name.startswith(TRANSPORT_LOGGERS)]
        texts += [str(vars(r)) for r in caplog.records if not r.name.startswith(TRANSPORT_LOGGERS)]
        assert h.secrets
        for secret in h.secrets:
            assert not [text for text in texts if secret in text]
