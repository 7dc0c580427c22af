"""The bot's outbound queue (SPEC §12): replies queued durably and idempotently, delivered one
chat at a time in order by the leased loop's step, paced, retried with the venue's back-off,
expired rather than sent late, given up with an alert; on both databases and both stores.

The channel is scripted: it stands in for a transport plugin (Evolution API) and is told, per
chat, to raise each of the venue errors, to hang, or to wait for the test."""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from prometheus_client import REGISTRY

from otc_framework.admin.feed import AdminFeed
from otc_framework.alerts import kinds
from otc_framework.alerts.service import AlertService
from otc_framework.bot import outbox
from otc_framework.bot.outbox import ChatDelivery, Reply, enqueue
from otc_framework.config import AlertsConfig, BotConfig
from otc_framework.errors import VenueError, VenueRateLimited, VenueRefused
from otc_framework.ports import Channel
from otc_framework.storage.database import close_database, open_database
from otc_framework.storage.models import AlertRecord, ChatMessage
from otc_framework.storage.store import Store

HANG = "hang"  # a script step: never answer


class ScriptedChannel(Channel):
    """Records what it sent; ``script[chat_id]`` says what its next sends to that chat do:
    raise an exception, ``HANG``, or wait for an ``asyncio.Event`` before succeeding."""

    def __init__(self, name: str = "chat", *, per_minute: int = 600, per_chat_per_minute: int = 600) -> None:
        self.name = name
        self.per_minute = per_minute
        self.per_chat_per_minute = per_chat_per_minute
        self.retry_backoff_seconds = 0.01
        self.script: defaultdict[str, list[Any]] = defaultdict(list)
        self.sent: list[tuple[str, str]] = []
        self.calls: list[tuple[str, str]] = []
        self.in_flight: set[str] = set()

    async def send_text(self, chat_id: str, text: str) -> None:
        self.calls.append((chat_id, text))
        step = self.script[chat_id].pop(0) if self.script[chat_id] else None
        self.in_flight.add(chat_id)
        try:
            if step == HANG:
                await asyncio.Event().wait()
            elif isinstance(step, asyncio.Event):
                await step.wait()
            elif isinstance(step, BaseException):
                raise step
        finally:
            self.in_flight.discard(chat_id)
        self.sent.append((chat_id, text))

    def texts(self, chat_id: str) -> list[str]:
        return [text for chat, text in self.sent if chat == chat_id]


class Clock:
    """Real time, plus whatever the test moved it on."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += timedelta(seconds=seconds)


def down(message: str = "HTTP 503") -> VenueError:
    return VenueError("chat", message)


@pytest.fixture
async def database(migrated_database_url: str) -> AsyncIterator[str]:
    await open_database(migrated_database_url)
    try:
        yield migrated_database_url
    finally:
        await close_database()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def alerts(database: str, store: Store) -> AlertService:
    return AlertService(store, AdminFeed(store), AlertsConfig(dedup_seconds=0), sinks=["ops"])


@pytest.fixture
async def make_delivery(database: str, store: Store, clock: Clock,
                        alerts: AlertService) -> AsyncIterator[Callable[..., ChatDelivery]]:
    made: list[ChatDelivery] = []

    def make(*channels: Channel, **config: Any) -> ChatDelivery:
        settings = {"send_timeout_seconds": 0.2, "max_backoff_seconds": 0.1, "max_attempts": 5, **config}
        delivery = ChatDelivery(channels, store, BotConfig(**settings), alerts, clock=clock)
        made.append(delivery)
        return delivery

    yield make
    for delivery in made:
        await delivery.stop()
    await alerts.stop()


async def turn(delivery: ChatDelivery) -> None:
    """One turn of the loop, and the drains it started run to their end."""
    await delivery.step()
    await delivery.settle()


async def turns_until(delivery: ChatDelivery, check: Callable[[], Awaitable[bool] | bool], what: str) -> None:
    """Turn the loop until ``check`` holds (back-offs and buckets run on real time)."""
    for _ in range(300):
        await turn(delivery)
        result = check()
        if not isinstance(result, bool):
            result = await result
        if result:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"never happened: {what}")


async def rows(chat_id: str | None = None) -> list[ChatMessage]:
    query = ChatMessage.all() if chat_id is None else ChatMessage.filter(chat_id=chat_id)
    return await query.order_by("id")


async def statuses(chat_id: str) -> list[str]:
    return [row.status.value for row in await rows(chat_id)]


async def all_final(chat_id: str | None = None) -> bool:
    return all(row.status.value in ("sent", "failed", "expired") for row in await rows(chat_id))


def replies(chat_id: str, *texts: str, channel: str = "chat", **kwargs: Any) -> list[Reply]:
    return [Reply(channel=channel, chat_id=chat_id, text=text, **kwargs) for text in texts]


async def failure_alerts() -> list[AlertRecord]:
    return await AlertRecord.filter(kind=kinds.BOT_REPLY_FAILED).order_by("id")


def replies_metric(channel: str, outcome: str) -> float:
    return REGISTRY.get_sample_value("otc_chat_replies_total", {"channel": channel, "outcome": outcome}) or 0.0


async def test_replies_of_a_chat_are_sent_in_order_even_across_retries(
    make_delivery: Callable[..., ChatDelivery], clock: Clock,
) -> None:
    channel = ScriptedChannel()
    channel.script["a"] = [down(), down()]
    assert await enqueue(replies("a", "one", "two", "three"), clock()) == 3
    delivery = make_delivery(channel)
    sent_before = replies_metric("chat", "sent")

    await turn(delivery)
    assert channel.sent == []  # the head failed: the later replies wait behind it
    assert await statuses("a") == ["retrying", "queued", "queued"]

    await turns_until(delivery, lambda: all_final("a"), "all sent")
    assert channel.texts("a") == ["one", "two", "three"]
    head = (await rows("a"))[0]
    assert (head.attempts, head.last_error, head.sent_at is not None) == (3, None, True)
    assert replies_metric("chat", "sent") == sent_before + 3


async def test_a_hanging_chat_does_not_delay_another(make_delivery: Callable[..., ChatDelivery], clock: Clock) -> None:
    channel = ScriptedChannel()
    gate = asyncio.Event()
    channel.script["slow"] = [gate]
    await enqueue(replies("slow", "s1", "s2") + replies("fast", "f1", "f2"), clock())
    delivery = make_delivery(channel, send_timeout_seconds=30)
    await delivery.step()
    for _ in range(300):
        if channel.texts("fast") == ["f1", "f2"]:
            break
        await asyncio.sleep(0.02)
    assert channel.texts("fast") == ["f1", "f2"]
    assert "slow" in channel.in_flight and channel.texts("slow") == []  # still waiting on its first reply
    gate.set()
    await turns_until(delivery, lambda: all_final(), "slow delivered")
    assert channel.texts("slow") == ["s1", "s2"]


async def test_a_send_without_answer_is_abandoned_and_retried(
    make_delivery: Callable[..., ChatDelivery], clock: Clock,
) -> None:
    channel = ScriptedChannel()
    channel.script["a"] = [HANG]
    await enqueue(replies("a", "hello"), clock())
    delivery = make_delivery(channel)
    await turn(delivery)
    [row] = await rows("a")
    assert (row.status.value, row.attempts, row.last_error) == ("retrying", 1, "no answer within 0.2 s")
    await turns_until(delivery, lambda: all_final("a"), "sent")
    assert channel.texts("a") == ["hello"] and len(channel.calls) == 2


async def test_queueing_is_idempotent_by_dedup_key(make_delivery: Callable[..., ChatDelivery], clock: Clock) -> None:
    reply = Reply("chat", "a", "quote 1", dedup_key="s1:quote:1", session_id="s1")
    assert await enqueue([reply], clock()) == 1
    assert await enqueue([reply], clock()) == 0
    assert await enqueue([reply, Reply("chat", "a", "quote 2", dedup_key="s1:quote:2")], clock()) == 1
    assert await ChatMessage.all().count() == 2
    channel = ScriptedChannel()
    delivery = make_delivery(channel)
    await turns_until(delivery, lambda: all_final(), "sent")
    await turn(delivery)
    assert channel.texts("a") == ["quote 1", "quote 2"]


async def test_concurrent_queueing_of_the_same_keys_queues_each_once(database: str, clock: Clock) -> None:
    def batch(*numbers: int) -> list[Reply]:
        return [Reply("chat", "a", f"q{n}", dedup_key=f"k{n}") for n in numbers]

    counts = await asyncio.gather(*(enqueue(batch(*numbers), clock()) for numbers in
                                    [(1, 2), (2, 3), (1, 3), (3, 1, 2), (4,), (4, 4)]))
    assert sum(counts) == 4
    assert sorted(row.text for row in await rows()) == ["q1", "q2", "q3", "q4"]
    # Replies without a key are never deduplicated.
    assert await enqueue(replies("a", "same", "same"), clock()) == 2


async def test_an_expired_reply_is_not_sent_and_its_chat_moves_on(
    make_delivery: Callable[..., ChatDelivery], clock: Clock,
) -> None:
    channel = ScriptedChannel()
    channel.script["b"] = [down()]
    await enqueue(replies("a", "q1", "q2", expires_in=5) + replies("a", "off"), clock())
    await enqueue(replies("b", "b-quote", expires_in=5) + replies("b", "b-off"), clock())
    delivery = make_delivery(channel)
    await turn(delivery)  # a: q1, q2, off sent; b: its quote fails once and waits for a retry
    assert channel.texts("a") == ["q1", "q2", "off"]
    assert await statuses("b") == ["retrying", "queued"]

    await enqueue(replies("a", "late", expires_in=5), clock())
    clock.advance(10)
    await turns_until(delivery, lambda: all_final(), "everything final")
    assert await statuses("a") == ["sent", "sent", "sent", "expired"]
    assert await statuses("b") == ["expired", "sent"]
    assert channel.texts("b") == ["b-off"] and "late" not in channel.texts("a")


async def test_a_refused_reply_fails_with_an_alert_and_the_rest_carry_on(
    make_delivery: Callable[..., ChatDelivery], clock: Clock, alerts: AlertService,
) -> None:
    channel = ScriptedChannel()
    channel.script["gone@g.us"] = [VenueRefused("chat", "exists:false")]
    await enqueue(replies("gone@g.us", "first <b>reply</b> " + "x" * 100, "second"), clock())  # 119 characters
    await enqueue(replies("other@g.us", "hello"), clock())
    delivery = make_delivery(channel)
    await turns_until(delivery, lambda: all_final(), "everything final")
    assert await statuses("gone@g.us") == ["failed", "sent"]  # that reply only: the channel is not stopped
    assert channel.texts("other@g.us") == ["hello"]
    [failed, _] = await rows("gone@g.us")
    assert (failed.attempts, failed.last_error) == (1, "exists:false")
    await alerts.stop()
    [alert] = await failure_alerts()
    assert alert.dedup_key == "bot.reply:chat:gone@g.us"
    assert "chat" in alert.title
    assert "gone@g.us" in alert.detail and "exists:false" in alert.detail
    text = "first <b>reply</b> " + "x" * 100
    assert f"text: {text[:80]}" in alert.detail and text[:81] not in alert.detail


async def test_a_failing_reply_is_given_up_after_its_tries_with_an_alert(
    make_delivery: Callable[..., ChatDelivery], clock: Clock, alerts: AlertService,
) -> None:
    channel = ScriptedChannel()
    channel.script["a"] = [down("HTTP 503"), HANG, RuntimeError("adapter bug")]
    await enqueue(replies("a", "doomed", "next"), clock())
    delivery = make_delivery(channel, max_attempts=3)
    await turns_until(delivery, lambda: all_final(), "everything final")
    [doomed, after] = await rows("a")
    assert (doomed.status.value, doomed.attempts) == ("failed", 3)
    assert doomed.last_error == "unexpected RuntimeError (gave up after 3 tries)"
    assert after.status.value == "sent" and channel.texts("a") == ["next"]
    await alerts.stop()
    [alert] = await failure_alerts()
    assert "gave up after 3 tries" in alert.detail


async def test_a_rate_limited_reply_waits_for_the_venue_and_it_is_no_failed_try(
    make_delivery: Callable[..., ChatDelivery], clock: Clock,
) -> None:
    channel = ScriptedChannel()
    channel.script["a"] = [VenueRateLimited("chat", "429", retry_after=30)]
    await enqueue(replies("a", "one", "two"), clock())
    delivery = make_delivery(channel, max_attempts=1)
    await turn(delivery)
    [row, _] = await rows("a")
    assert (row.status.value, row.attempts, row.last_error) == ("retrying", 0, "429")
    assert row.next_attempt_at >= clock() + timedelta(seconds=25)
    await turn(delivery)
    assert channel.sent == [] and len(channel.calls) == 1  # not due yet; "two" waits behind it
    clock.advance(31)
    await turns_until(delivery, lambda: all_final(), "sent after the wait")
    assert channel.texts("a") == ["one", "two"]
    assert (await rows("a"))[0].attempts == 1


async def test_a_burst_to_one_chat_is_held_to_its_pace(make_delivery: Callable[..., ChatDelivery], clock: Clock) -> None:
    channel = ScriptedChannel(per_chat_per_minute=3)
    await enqueue(replies("a", *(f"m{n}" for n in range(5))) + replies("b", "other"), clock())
    delivery = make_delivery(channel)
    await turn(delivery)
    assert channel.texts("a") == ["m0", "m1", "m2"]  # the chat's burst; the rest wait for tokens
    assert channel.texts("b") == ["other"]
    await turn(delivery)
    assert len(channel.texts("a")) == 3
    assert await statuses("a") == ["sent"] * 3 + ["queued"] * 2


async def test_a_burst_over_a_channel_is_held_to_its_pace(
    make_delivery: Callable[..., ChatDelivery], clock: Clock,
) -> None:
    channel = ScriptedChannel(per_minute=2)
    other = ScriptedChannel("other", per_minute=2)
    await enqueue(replies("a", "a1", "a2") + replies("b", "b1", "b2") + replies("c", "c1", channel="other"), clock())
    delivery = make_delivery(channel, other)
    await turn(delivery)
    await turn(delivery)
    assert len(channel.sent) == 2  # two chats, one channel budget
    assert other.texts("c") == ["c1"]  # another channel has its own
    assert await outbox.pending_count() == 2


async def test_replies_of_a_channel_no_plugin_provides_stay_queued(
    make_delivery: Callable[..., ChatDelivery], clock: Clock, caplog: pytest.LogCaptureFixture,
) -> None:
    channel = ScriptedChannel()
    await enqueue(replies("a", "lost", channel="retired") + replies("a", "found"), clock())
    delivery = make_delivery(channel)
    with caplog.at_level(logging.WARNING, logger="otc_framework.bot.outbox"):
        await turn(delivery)
        await turn(delivery)
    assert channel.texts("a") == ["found"]
    [row] = await ChatMessage.filter(channel="retired")
    assert (row.status.value, row.attempts) == ("queued", 0)
    warnings = [r for r in caplog.records if r.name == "otc_framework.bot.outbox" and r.levelno == logging.WARNING]
    assert len(warnings) == 1 and getattr(warnings[0], "channel", None) == "retired"


async def test_a_new_delivery_after_a_restart_sends_what_was_queued(
    make_delivery: Callable[..., ChatDelivery], clock: Clock, database: str,
) -> None:
    broken = ScriptedChannel()
    broken.script["a"] = [down()]
    await enqueue(replies("a", "one", "two"), clock())
    first = make_delivery(broken)
    await turn(first)
    await first.stop()
    await enqueue(replies("b", "three"), clock())
    await close_database()  # the process dies; another one opens the database
    await open_database(database)

    channel = ScriptedChannel()
    second = make_delivery(channel)
    await turns_until(second, lambda: all_final(), "everything sent")
    assert channel.texts("a") == ["one", "two"] and channel.texts("b") == ["three"]
    await second.stop()


async def test_a_session_lists_its_replies_and_the_queue_counts_pending_ones(
    make_delivery: Callable[..., ChatDelivery], clock: Clock,
) -> None:
    await enqueue(replies("a", "q1", "q2", session_id="s1") + replies("b", "q1", session_id="s2"), clock())
    await enqueue(replies("a", "help"), clock())
    assert [row.text for row in await outbox.of_session("s1")] == ["q1", "q2"]
    assert await outbox.pending_count() == 4
    delivery = make_delivery(ScriptedChannel())
    await turns_until(delivery, lambda: all_final(), "sent")
    assert await outbox.pending_count() == 0
    assert {row.status.value for row in await outbox.of_session("s1")} == {"sent"}
