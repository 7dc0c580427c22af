"""The live price stream (``WS /v1/ws/prices``): one tick per second, computed once per deployment.

Two halves, so the cost does not grow with the number of connected clients:

- ``PriceTicker.tick`` runs in ONE process per deployment (under a ``LeasedLoop``): it reads
  the reference data once, prices the board of every tier once with the very
  ``price_board`` that answers ``GET /v1/prices``, and publishes one message on the store
  channel ``CHANNEL``. A tier whose spot is unavailable gets an empty board marked
  ``unavailable``: a stream never repeats an old price.
- ``PriceFanout`` runs in EVERY worker: one store subscription, the worker's sockets grouped
  by tier, the outgoing text serialised once per tier, framed once per tier (a server's
  frames are unmasked, so the same bytes serve every socket), and written at once to each
  socket that is keeping up. A socket with unsent data waiting goes the slow way, its own
  send task: one whose send fails or stalls past ``SEND_TIMEOUT_SECONDS`` is dropped (closed
  with ``SLOW_CLOSE_CODE``) instead of holding up the others or the next tick.

What leaves the fan-out is built from ``PriceMessage``, which names only client-visible
fields: tier, spreads and reference never reach a socket (SPEC §6), whatever the tick holds.
"""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import UTC, datetime
from typing import Annotated, Any, Literal, Protocol

from pydantic import Field, ValidationError
from websockets.frames import Frame, Opcode

from otc_framework.errors import SpotUnavailable, StoreError
from otc_framework.pricing.pipeline import PricingPipeline
from otc_framework.pricing.routes import GridPrice, PriceBoard, price_board
from otc_framework.reference import Reference, ReferenceCache
from otc_framework.storage.models import Tier
from otc_framework.storage.store import Store, Subscription
from otc_framework.tasks import cancel_and_wait
from otc_framework.web.bodies import AnswerModel

log = logging.getLogger(__name__)

CHANNEL = "prices"
TICKER_LEASE = "loop:price-ticker"
TICK_INTERVAL_SECONDS = 1.0
SEND_TIMEOUT_SECONDS = 1.0
# RFC 6455 "Try Again Later": the client was too slow to keep up and may reconnect.
SLOW_CLOSE_CODE = 1013
GOING_AWAY_CLOSE_CODE = 1001
SPOT_UNAVAILABLE = SpotUnavailable.code


def utc_stamp(moment: datetime) -> str:
    """ISO-8601 UTC with microseconds always present, so stamps compare as text and parse back."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class PriceMessage(AnswerModel):
    """A tick as one client receives it: its own tier's grid, and nothing about how it was made."""

    type: Literal["prices"] = "prices"
    at: Annotated[str, Field(description="When the tick was published: ISO-8601 UTC with microseconds",
                             json_schema_extra={"format": "date-time"})]
    market_open: bool
    next_open: datetime | None = Field(None, description="Next opening (São Paulo time); null while open")
    prices: list[GridPrice] = Field(description="Empty when `unavailable` is present: never an old price")
    unavailable: Literal["SPOT_UNAVAILABLE"] | None = Field(
        None, description="Present only when no fresh spot rate exists; `prices` is then empty"
    )

    def text(self) -> str:
        return self.model_dump_json(by_alias=True, exclude={"unavailable"} if self.unavailable is None else None)


class StreamError(AnswerModel):
    """Sent once before the server closes the socket for a refusal (close code 4000 + HTTP status)."""

    type: Literal["error"] = "error"
    code: str = Field(description="UNAUTHORIZED (close 4401), API_DISABLED or NOT_READY (close 4503)")
    detail: str


# --------------------------------------------------------------------------- ticker


def tier_board(pipeline: PricingPipeline, tier: Tier, data: Reference, now: datetime) -> dict[str, Any]:
    """One tier's board as JSON-ready data; an empty, marked board when the spot is unavailable."""
    try:
        return price_board(pipeline, tier, data, now).model_dump(mode="json", by_alias=True)
    except SpotUnavailable:
        closed = PriceBoard(market_open=data.calendar.is_open(now), next_open=data.calendar.next_open(now), prices=[])
        return {**closed.model_dump(mode="json", by_alias=True), "unavailable": SPOT_UNAVAILABLE}


class PriceTicker:
    """Prices every tier once per tick and publishes the lot; run it under a ``LeasedLoop``."""

    def __init__(self, store: Store, reference: ReferenceCache, pipeline: PricingPipeline) -> None:
        self.store = store
        self.reference = reference
        self.pipeline = pipeline

    async def tick(self) -> None:
        data, _ = await self.reference.current()
        now = datetime.now(UTC)
        boards = {str(tier): tier_board(self.pipeline, tier, data, now) for tier in Tier}
        message = {"at": utc_stamp(datetime.now(UTC)), "boards": boards}
        await self.store.publish(CHANNEL, json.dumps(message, separators=(",", ":")))


# --------------------------------------------------------------------------- fan-out


class Socket(Protocol):
    """What the fan-out needs of a websocket (Sanic's, or a test's stand-in)."""

    async def send(self, message: str) -> None: ...

    async def close(self, code: int = 1000, reason: str = "") -> None: ...

    def write_frame(self, frame: bytes) -> bool:
        """Write a whole frame now if the socket is open and has nothing waiting to go out;
        False when it must be sent the slow way (``send``)."""
        ...


def text_frame(text: str) -> bytes:
    """One unfragmented text frame as a server sends it (RFC 6455 §5.2: unmasked)."""
    return Frame(Opcode.TEXT, text.encode()).serialize(mask=False)


class Subscriber:
    """One connected socket and the tier group it is in."""

    __slots__ = ("closed", "queued", "sending", "tier", "ws")

    def __init__(self, ws: Socket, tier: Tier) -> None:
        self.ws = ws
        self.tier = tier
        self.closed = False
        self.sending: asyncio.Task[None] | None = None
        # What arrived while a send was in flight; only the latest is worth sending.
        self.queued: str | None = None


def render(at: str, board: dict[str, Any]) -> str:
    """The text one tier's sockets receive; only ``PriceMessage`` fields survive."""
    return PriceMessage.model_validate({**board, "type": "prices", "at": at}).text()


class PriceFanout:
    """This worker's sockets, fed from one store subscription; nothing is computed per socket."""

    def __init__(self, store: Store, *, send_timeout: float = SEND_TIMEOUT_SECONDS) -> None:
        self.store = store
        self.send_timeout = send_timeout
        self.groups: dict[Tier, set[Subscriber]] = {tier: set() for tier in Tier}
        # The latest tick, rendered per tier: a socket that joins or changes tier gets it at once.
        self.texts: dict[Tier, str] = {}
        self.last_at: str | None = None
        self._task: asyncio.Task[None] | None = None
        self._closing: set[asyncio.Task[None]] = set()

    @property
    def count(self) -> int:
        return sum(len(group) for group in self.groups.values())

    async def start(self) -> None:
        subscription = await self.store.subscribe(CHANNEL)
        self._task = asyncio.create_task(self._follow(subscription), name="price-fanout")

    async def stop(self) -> None:
        if self._task is not None:
            await cancel_and_wait(self._task)
            self._task = None
        for group in self.groups.values():
            for subscriber in list(group):
                self.drop(subscriber, GOING_AWAY_CLOSE_CODE, "server shutting down")
        if self._closing:
            await asyncio.wait(list(self._closing), timeout=self.send_timeout * 2)

    def join(self, ws: Socket, tier: Tier) -> Subscriber:
        subscriber = Subscriber(ws, tier)
        self.groups[tier].add(subscriber)
        self._send_latest(subscriber)
        return subscriber

    def move(self, subscriber: Subscriber, tier: Tier) -> None:
        """The client's tier changed: from now on it gets the new tier's grid, starting with the latest."""
        if subscriber.closed or subscriber.tier is tier:
            return
        self.groups[subscriber.tier].discard(subscriber)
        subscriber.tier = tier
        self.groups[tier].add(subscriber)
        self._send_latest(subscriber)

    def leave(self, subscriber: Subscriber) -> None:
        self.groups[subscriber.tier].discard(subscriber)
        subscriber.closed = True
        sending = subscriber.sending
        if sending is not None and not sending.done() and sending is not asyncio.current_task():
            sending.cancel()

    def drop(self, subscriber: Subscriber, code: int, reason: str) -> None:
        """Stop feeding a socket and close it, without making anyone wait for the close."""
        if subscriber.closed:
            return
        self.leave(subscriber)
        task = asyncio.create_task(self._close(subscriber.ws, code, reason))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    def apply(self, message: str) -> None:
        """Render a tick once per tier and start sending it to every socket of that tier."""
        try:
            tick = json.loads(message)
            at = tick["at"]
            texts = {tier: render(at, tick["boards"][str(tier)]) for tier in Tier}
        except (ValueError, KeyError, TypeError, ValidationError):
            log.warning("price fan-out ignored a malformed tick")
            return
        if self.last_at is not None and at < self.last_at:
            return  # a late tick (lease handover) must not roll prices back
        self.last_at = at
        self.texts = texts
        for tier, group in self.groups.items():
            if not group:
                continue
            frame = text_frame(texts[tier])
            for subscriber in list(group):
                self._send(subscriber, texts[tier], frame)

    def _send_latest(self, subscriber: Subscriber) -> None:
        text = self.texts.get(subscriber.tier)
        if text is not None:
            self._send(subscriber, text)

    def _send(self, subscriber: Subscriber, text: str, frame: bytes | None = None) -> None:
        if subscriber.sending is not None and not subscriber.sending.done():
            subscriber.queued = text  # sent when the send in flight completes (or dropped with it)
            return
        if frame is not None and subscriber.ws.write_frame(frame):
            return
        subscriber.sending = asyncio.create_task(self._deliver(subscriber, text))

    async def _deliver(self, subscriber: Subscriber, text: str) -> None:
        pending: str | None = text
        while pending is not None and not subscriber.closed:
            subscriber.queued = None
            try:
                await asyncio.wait_for(subscriber.ws.send(pending), self.send_timeout)
            except TimeoutError:
                log.info("price stream dropped a slow socket")
                self.drop(subscriber, SLOW_CLOSE_CODE, "too slow")
                return
            except Exception:  # closed meanwhile, or the transport failed: either way it is gone
                self.drop(subscriber, SLOW_CLOSE_CODE, "send failed")
                return
            pending = subscriber.queued

    async def _close(self, ws: Socket, code: int, reason: str) -> None:
        try:
            await asyncio.wait_for(ws.close(code=code, reason=reason), self.send_timeout)
        except Exception:
            # A peer that does not read will not read the close frame either: cut the connection.
            fail = getattr(ws, "fail_connection", None)
            if fail is not None:
                fail(code, reason)

    async def _follow(self, subscription: Subscription) -> None:
        while True:
            try:
                async for message in subscription:
                    self.apply(message)
            except StoreError as exc:
                log.warning("price fan-out lost its subscription", extra={"error": str(exc)})
            finally:
                await subscription.close()
            subscription = await self._resubscribe()

    async def _resubscribe(self) -> Subscription:
        # Dropped by the store (overflow, reconnect): back off, then follow again from the next tick.
        while True:
            await asyncio.sleep(1)
            try:
                return await self.store.subscribe(CHANNEL)
            except StoreError as exc:
                log.warning("price fan-out cannot resubscribe", extra={"error": str(exc)})
