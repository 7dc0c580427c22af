"""The bot's outbound queue (SPEC §12): replies are queued as ``chat_messages`` rows and sent
by ``ChatDelivery``, in the one process per deployment holding the lease
``loop:chat-delivery``, never from the request or timer that produced them.

A **lane** is one chat of one channel, ``(channel, chat_id)``. Each turn of the leased loop
finds the lanes with pending rows (one aggregate over the ``(status, channel, chat_id, id)``
index) and starts, for each lane not already busy, a short task draining it: a hanging or
failing chat holds up only itself, never the other chats and never the loop, whose lease
keeps being renewed.

Per lane:

- **Order.** The oldest pending row (lowest id) is the head; later replies wait behind it,
  even when it waits for a retry, so a chat reads the bot's replies in the order they were
  queued.
- **Expiry.** A row past its ``expires_at`` is ``expired``, not sent, and the lane moves on:
  a quote superseded by the next one must not arrive late.
- **Pace.** Token buckets in the store, ``per_chat_per_minute`` for the chat (burst 3) and
  ``per_minute`` for the whole channel (burst 5); a reply over the pace waits, it is not
  dropped (WhatsApp bans an account that sends too fast, and Evolution API does not pace).
- **Retries.** A try is abandoned after ``[bot] send_timeout_seconds``. ``VenueRateLimited``
  is tried again after the venue's ``retry_after``, which is no failed try; any other
  failure after the channel's ``retry_backoff_seconds`` × 2^(attempt − 1), capped at
  ``max_backoff_seconds``, until ``max_attempts`` tries have failed.
- **Refusal.** ``VenueRefused`` fails that reply at once; the channel is not stopped (an
  unknown group must not silence the others) and the lane carries on with its next reply.
  A reply given up raises the alert ``bot.reply_failed``.

Rows of a channel no enabled plugin provides stay queued (logged once per channel name), so
enabling the plugin again delivers them.

Delivery is at least once: a process killed after the venue accepted a reply but before the
row says ``sent`` sends it again after the restart (Evolution API cannot be asked whether a
message was already sent; a repeated reply is the lesser harm, and expiring quotes bound it).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from tortoise.exceptions import IntegrityError
from tortoise.functions import Min
from tortoise.transactions import in_transaction

from otc_framework import delivery
from otc_framework.alerts import kinds
from otc_framework.config import BotConfig
from otc_framework.metrics import CHAT_REPLIES, database_error
from otc_framework.ports import Channel
from otc_framework.storage.models import ChatMessage, ChatMessageStatus
from otc_framework.storage.store import Store
from otc_framework.tasks import cancel_and_wait

if TYPE_CHECKING:
    from otc_framework.alerts.service import AlertService

log = logging.getLogger(__name__)

LEASE = "loop:chat-delivery"
INTERVAL_SECONDS = 0.25
# How long one drain task may keep sending before it yields to the next turn, which checks
# again that this process still holds the lease.
SLICE_SECONDS = 2.0
CHAT_BURST = 3
CHANNEL_BURST = 5
# Lanes drained at once; more wait for a later turn, oldest first (each drain may hold a
# database connection).
MAX_BUSY_LANES = 64

PENDING = (ChatMessageStatus.QUEUED, ChatMessageStatus.RETRYING)

# Serialises the transactions queueing one dedup key (PostgreSQL); released at commit. A hash
# collision between two keys only makes their transactions wait for each other.
_LOCK_KEY = "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))"

Lane = tuple[str, str]  # (channel, chat_id)


@dataclass(frozen=True, slots=True)
class Reply:
    """A reply to queue. ``dedup_key`` makes queueing it idempotent (a timed step repeated
    after a crash queues nothing twice); ``expires_in`` is how many seconds after queueing an
    unsent reply is dropped as ``expired`` rather than sent late."""

    channel: str
    chat_id: str
    text: str
    dedup_key: str | None = None
    session_id: str | None = None
    expires_in: float | None = None


async def enqueue(replies: Sequence[Reply], now: datetime) -> int:
    """Queue ``replies`` in one transaction, in order; how many were newly queued.

    A reply whose ``dedup_key`` is already queued (by this call, an earlier one, or another
    process at the same moment) is skipped. On PostgreSQL the keys are first locked in sorted
    order (transaction advisory locks), so two processes queueing overlapping keys in different
    orders wait for each other instead of deadlocking on the unique index, and the second sees
    the first's rows. Each keyed row is then inserted under a savepoint, so should a duplicate
    still slip in, the unique index turns it away without aborting the others.
    """
    if not replies:
        return 0
    queued = 0
    async with in_transaction() as connection:
        keys = sorted({r.dedup_key for r in replies if r.dedup_key is not None})
        if keys and connection.capabilities.dialect == "postgres":
            for key in keys:
                await connection.execute_query(_LOCK_KEY, [key])
        known: set[str] = {
            str(key) for key in
            await ChatMessage.filter(dedup_key__in=keys).using_db(connection).values_list("dedup_key", flat=True)
        } if keys else set()
        for reply in replies:
            if reply.dedup_key is not None and reply.dedup_key in known:
                continue
            row = ChatMessage(
                channel=reply.channel, chat_id=reply.chat_id, text=reply.text, dedup_key=reply.dedup_key,
                session_id=reply.session_id, next_attempt_at=now,
                expires_at=None if reply.expires_in is None else now + timedelta(seconds=reply.expires_in),
            )
            if reply.dedup_key is None:
                await row.save(using_db=connection)
            elif not await _insert_once(row, reply.dedup_key):
                continue
            if reply.dedup_key is not None:
                known.add(reply.dedup_key)
            queued += 1
    return queued


async def _insert_once(row: ChatMessage, dedup_key: str) -> bool:
    """Insert ``row`` under a savepoint of the current transaction; ``False`` when its
    ``dedup_key`` was queued meanwhile (any other integrity error is raised)."""
    try:
        async with in_transaction() as savepoint:
            await row.save(using_db=savepoint)
    except IntegrityError:
        if await ChatMessage.filter(dedup_key=dedup_key).exists():
            return False
        raise
    return True


async def of_session(session_id: str) -> list[ChatMessage]:
    """The replies of a bot session, in the order they were queued (for the admin view)."""
    return await ChatMessage.filter(session_id=session_id).order_by("id")


async def pending_count() -> int:
    """Replies queued or waiting for a retry, on every channel."""
    return await ChatMessage.filter(status__in=PENDING).count()


async def pending_lanes() -> list[Lane]:
    """Every lane with pending rows, the one with the oldest head first."""
    rows = await (
        ChatMessage.filter(status__in=PENDING).annotate(head=Min("id")).group_by("channel", "chat_id")
        .order_by("head").values_list("channel", "chat_id")
    )
    return [(str(channel), str(chat_id)) for channel, chat_id in rows]


async def head(channel: str, chat_id: str) -> ChatMessage | None:
    return await ChatMessage.filter(status__in=PENDING, channel=channel, chat_id=chat_id).order_by("id").first()


async def _update(row: ChatMessage, **changes: object) -> None:
    for name, value in changes.items():
        setattr(row, name, value)
    await row.save(update_fields=[*changes, "updated_at"])


class ChatDelivery:
    """The step of the leased loop ``LEASE`` that sends queued replies through ``channels``."""

    def __init__(
        self,
        channels: Sequence[Channel],
        store: Store,
        config: BotConfig,
        alerts: AlertService | None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.channels = {channel.name: channel for channel in channels}
        self.store = store
        self.config = config
        self.alerts = alerts
        self.clock = clock
        self._tasks: dict[Lane, asyncio.Task[None]] = {}
        # A lane's head waits for a retry until then (the clock's time, as in the rows).
        self._due_at: dict[Lane, datetime] = {}
        # Over the pace until then, in the event loop's time (the store's buckets run on real time).
        self._paced_until: dict[Lane | str, float] = {}
        self._unknown: set[str] = set()

    async def step(self) -> None:
        """One turn of the leased loop: start a drain for every pending lane not busy."""
        lanes = await pending_lanes()
        pending = set(lanes)
        self._forget(pending)
        now, loop_now = self.clock(), asyncio.get_running_loop().time()
        busy = sum(1 for task in self._tasks.values() if not task.done())
        for lane in lanes:
            channel = self.channels.get(lane[0])
            if channel is None:
                self._warn_unknown(lane[0])
                continue
            if busy >= MAX_BUSY_LANES:
                break
            task = self._tasks.get(lane)
            if task is not None and not task.done():
                continue
            if self._waiting(lane, now, loop_now):
                continue
            self._tasks[lane] = asyncio.create_task(self._drain(channel, lane[1]), name=f"chat:{lane[0]}")
            busy += 1

    async def settle(self) -> None:
        """Wait for the drains under way to end (each ends within its slice and one send timeout)."""
        if self._tasks:
            await asyncio.wait(list(self._tasks.values()))

    async def stop(self) -> None:
        for task in self._tasks.values():
            await cancel_and_wait(task)
        self._tasks.clear()

    def _forget(self, pending: set[Lane]) -> None:
        """Drop what is remembered of lanes with nothing pending (a desk talks to many chats)."""
        for lane in [lane for lane, task in self._tasks.items() if task.done() and lane not in pending]:
            del self._tasks[lane]
        for lane in [lane for lane in self._due_at if lane not in pending]:
            del self._due_at[lane]
        for key in [key for key in self._paced_until if isinstance(key, tuple) and key not in pending]:
            del self._paced_until[key]

    def _waiting(self, lane: Lane, now: datetime, loop_now: float) -> bool:
        due = self._due_at.get(lane)
        if due is not None and now < due:
            return True
        return loop_now < max(self._paced_until.get(lane, 0.0), self._paced_until.get(lane[0], 0.0))

    def _warn_unknown(self, name: str) -> None:
        if name not in self._unknown:
            self._unknown.add(name)
            log.warning("chat replies are queued for a channel no enabled plugin provides; they wait",
                        extra={"channel": name})

    async def _drain(self, channel: Channel, chat_id: str) -> None:
        loop = asyncio.get_running_loop()
        started = loop.time()
        try:
            while loop.time() - started < SLICE_SECONDS and await self._deliver_next(channel, chat_id):
                pass
        except Exception:  # the database or the store failed: the rows wait for the next turn
            database_error("chat.delivery")
            log.exception("chat delivery turn failed", extra={"channel": channel.name})

    async def _deliver_next(self, channel: Channel, chat_id: str) -> bool:
        """Try the head of one lane; ``True`` when the next reply may follow at once."""
        lane = (channel.name, chat_id)
        now = self.clock()
        if self._waiting(lane, now, asyncio.get_running_loop().time()):
            return False
        row = await head(channel.name, chat_id)
        if row is None:
            return False
        if row.expires_at is not None and row.expires_at <= now:
            await _update(row, status=ChatMessageStatus.EXPIRED)
            CHAT_REPLIES.labels(channel=channel.name, outcome="expired").inc()
            log.info("chat reply expired unsent", extra={"channel": channel.name, "messageId": row.id})
            return True
        if row.next_attempt_at > now:
            self._look_again(lane, row, row.next_attempt_at)
            return False
        if not await self._paced(channel, chat_id):
            return False
        outcome = await delivery.attempt(channel.send_text(chat_id, row.text), self.config.send_timeout_seconds,
                                         what="chat channel", extra={"channel": channel.name})
        if outcome.ok:
            await _update(row, status=ChatMessageStatus.SENT, attempts=row.attempts + 1, sent_at=self.clock(),
                          last_error=None)
            CHAT_REPLIES.labels(channel=channel.name, outcome="sent").inc()
            return True
        if outcome.wait_for is not None:
            # The venue's "wait": no failed try, so ``attempts`` counts only tries that failed or succeeded.
            await self._retry(row, lane, outcome.reason, outcome.wait_for, attempts=row.attempts)
            return False
        attempts = row.attempts + 1
        if outcome.refused:
            await self._fail(row, outcome.reason, attempts)
            return True
        if attempts >= self.config.max_attempts:
            await self._fail(row, f"{outcome.reason} (gave up after {self.config.max_attempts} tries)", attempts)
            return True
        delay = delivery.backoff(channel.retry_backoff_seconds, attempts, self.config.max_backoff_seconds)
        await self._retry(row, lane, outcome.reason, delay, attempts=attempts)
        return False

    def _look_again(self, lane: Lane, row: ChatMessage, due: datetime) -> None:
        """Leave the lane alone until its head is due, or expires (then the lane moves on)."""
        self._due_at[lane] = due if row.expires_at is None else min(due, row.expires_at)

    async def _paced(self, channel: Channel, chat_id: str) -> bool:
        """Take a token of the chat's bucket, then of the channel's (a token lost when the
        channel is over the pace only slows that chat, never the channel)."""
        lane = (channel.name, chat_id)
        for key, bucket, per_minute, burst in (
            (lane, f"chat:pace:{channel.name}:{chat_id}", channel.per_chat_per_minute, CHAT_BURST),
            (channel.name, f"chat:pace:{channel.name}", channel.per_minute, CHANNEL_BURST),
        ):
            wait = await delivery.paced(self.store, bucket, per_minute, burst)
            if wait is not None:
                self._paced_until[key] = asyncio.get_running_loop().time() + wait
                return False
        return True

    async def _retry(self, row: ChatMessage, lane: Lane, reason: str, delay: float, *, attempts: int) -> None:
        retry_at = self.clock() + timedelta(seconds=delay)
        await _update(row, status=ChatMessageStatus.RETRYING, attempts=attempts, last_error=reason,
                      next_attempt_at=retry_at)
        self._look_again(lane, row, retry_at)
        CHAT_REPLIES.labels(channel=row.channel, outcome="retry").inc()
        log.warning("chat reply will be retried", extra={"channel": row.channel, "messageId": row.id,
                                                         "reason": reason, "retryInSeconds": round(delay, 3)})

    async def _fail(self, row: ChatMessage, reason: str, attempts: int) -> None:
        await _update(row, status=ChatMessageStatus.FAILED, attempts=attempts, last_error=reason)
        CHAT_REPLIES.labels(channel=row.channel, outcome="failed").inc()
        log.error("chat reply failed", extra={"channel": row.channel, "messageId": row.id, "reason": reason})
        if self.alerts is not None:
            self.alerts.raise_soon(
                kinds.BOT_REPLY_FAILED, f"Bot reply not delivered on {row.channel}",
                f"channel: {row.channel}\nchat: {row.chat_id}\nreason: {reason}\ntext: {row.text[:80]}",
                key=f"bot.reply:{row.channel}:{row.chat_id}",
            )
