"""The Redis store: production, any number of workers on any number of machines.

Atomicity comes from Redis itself: ``take`` is GETDEL, ``set_if_absent`` is SET NX PX, and
the token bucket and leases are Lua scripts (EVALSHA), which run without interleaving. TTLs
travel in milliseconds so sub-second TTLs keep their meaning. Every command but pub/sub goes
through one pipelined connection per instance (``resp.PipelinedConnection``), shared by all
the worker's callers.

Pub/sub holds ONE Redis connection per instance, read by one task that hands each message
to the local subscribers of its channel (``memory.Fanout``); a worker with a thousand
WebSocket clients on one channel still costs Redis one subscription.

Every failure, of redis-py or of the pipelined connection, surfaces as ``StoreError``; messages name the server as
``host:port/db`` and never carry the password from the URL.
"""

from __future__ import annotations

import asyncio
import logging
import math
import uuid
from collections.abc import Sequence
from types import TracebackType
from typing import Any, cast
from urllib.parse import parse_qs, quote, unquote, urlsplit

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.client import PubSub
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import MasterNotFoundError, Sentinel, SentinelConnectionPool
from redis.backoff import ExponentialWithJitterBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError

from otc_framework.errors import ConfigError, StoreError
from otc_framework.metrics import STORE_ERRORS, labelled
from otc_framework.storage.store.base import (
    OWNER_SEPARATOR,
    TOMBSTONE_SUFFIX,
    Bucket,
    RateDecision,
    Store,
    Subscription,
    TakeOutcome,
)
from otc_framework.storage.store.memory import (
    DEFAULT_QUEUE_SIZE,
    LEASE_PREFIX,
    RATE_PREFIX,
    Fanout,
    LocalSubscription,
    check_bucket,
    check_ttl,
)
from otc_framework.storage.store.resp import PipelinedConnection, ReplyError, Script
from otc_framework.storage.store.sentinel import SentinelUrl, is_sentinel
from otc_framework.storage.store.sentinel import parse as parse_sentinel_url
from otc_framework.tasks import cancel_and_wait

log = logging.getLogger(__name__)

# The server's TIME, not the caller's clock: every worker on every machine refills the same
# bucket at the same pace. State is a hash {tokens, at}; it expires once it would be full
# again, when it is indistinguishable from an absent bucket. Numbers go back as strings
# because Redis truncates Lua numbers to integers.
_SPEND = """
local function spend(key, capacity, rate, cost)
  local clock = redis.call('TIME')
  local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
  local tokens = capacity
  local state = redis.call('HMGET', key, 'tokens', 'at')
  if state[1] then
    local elapsed = math.max(0, now - tonumber(state[2]))
    tokens = math.min(capacity, tonumber(state[1]) + elapsed * rate)
  end
  local allowed = 0
  local retry_after = 0
  if tokens >= cost then
    tokens = tokens - cost
    allowed = 1
  else
    retry_after = (cost - tokens) / rate
  end
  redis.call('HSET', key, 'tokens', string.format('%.17g', tokens), 'at', string.format('%.6f', now))
  local until_full = math.ceil((capacity - tokens) / rate * 1000) + 1
  redis.call('PEXPIRE', key, string.format('%d', until_full))
  return {allowed, string.format('%.17g', retry_after), string.format('%.17g', tokens)}
end
"""
TOKEN_BUCKET = Script(_SPEND + """
return spend(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]))
""")

# The bucket is KEYS[1], the keys read are the rest.
GET_MANY_SPENDING = Script(_SPEND + """
local decision = spend(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]))
return {decision, redis.call('MGET', unpack(KEYS, 2))}
""")

# Whether each value read is what the caller expects, given from ARGV[first] on ("=" and the
# value, or "" for absent: a Lua table cannot hold nil).
_AS_EXPECTED = """
local function as_expected(values, first)
  for i = 1, #values do
    if (values[i] and ('=' .. values[i]) or '') ~= ARGV[first + i - 1] then
      return false
    end
  end
  return true
end
"""

# KEYS: the bucket, the key to set, its tombstone, then the keys read; ARGV: the bucket's
# three numbers, the value to set and its PX, then what each key read is expected to hold.
SET_OWNED_IF_CURRENT = Script(_SPEND + _AS_EXPECTED + """
local decision = spend(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]))
local values = redis.call('MGET', unpack(KEYS, 4))
local current = decision[1] == 1 and as_expected(values, 6)
if current then
  redis.call('DEL', KEYS[3])
  redis.call('SET', KEYS[2], ARGV[4], 'PX', ARGV[5])
end
return {decision, values, current and 1 or 0}
""")

# Take when free, renew when already ours, refuse otherwise: one step, so two workers can
# never both believe they hold it.
ACQUIRE_LEASE = Script("""
local current = redis.call('GET', KEYS[1])
if current and current ~= ARGV[1] then
  return 0
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
""")

# Compare-and-set: the read and the write in one step, so of two writers that read the same
# value only one replaces it.
REPLACE = Script("""
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return 0
end
if ARGV[3] == '' then
  redis.call('SET', KEYS[1], ARGV[2])
else
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
end
return 1
""")

# Clear the tombstone and store the owned value in one script: one round trip without the
# client-side cost of a MULTI/EXEC pipeline (it is on every quote).
SET_OWNED = Script("""
redis.call('DEL', KEYS[2])
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
""")

# Compare-and-delete: a holder whose lease already passed to another must not free it.
RELEASE_LEASE = Script("""
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
""")

# The owner check, the take and the tombstone in one step: no caller can see the value gone
# before its tombstone exists, which is how "already closed" differs from "expired".
_TAKE = """
local function take(key, tombstone, owner, px, separator)
  local stored = redis.call('GET', key)
  if stored then
    local cut = string.find(stored, separator, 1, true)
    if not cut or string.sub(stored, 1, cut - 1) ~= owner then
      return {'not_owner'}
    end
    redis.call('DEL', key)
    redis.call('SET', tombstone, owner, 'PX', px)
    return {'taken', string.sub(stored, cut + string.len(separator))}
  end
  local taker = redis.call('GET', tombstone)
  if not taker then
    return {'absent'}
  end
  if taker == owner then
    return {'taken_before'}
  end
  return {'not_owner'}
end
"""
TAKE_OWNED = Script(_TAKE + """
return take(KEYS[1], KEYS[2], ARGV[1], ARGV[2], ARGV[3])
""")
# KEYS: the key, its tombstone, then the keys read; ARGV: as TAKE_OWNED's, then what each key
# read is expected to hold.
TAKE_OWNED_IF_CURRENT = Script(_TAKE + _AS_EXPECTED + """
local values = redis.call('MGET', unpack(KEYS, 3))
if not as_expected(values, 4) then
  return {values}
end
return {values, take(KEYS[1], KEYS[2], ARGV[1], ARGV[2], ARGV[3])}
""")


def _expected(expected: Sequence[tuple[str, str | None]]) -> list[str]:
    """What each key is expected to hold, as ``_AS_EXPECTED`` reads it."""
    return ["" if value is None else "=" + value for _, value in expected]


def _taken(answer: Sequence[str]) -> tuple[TakeOutcome, str | None]:
    return TakeOutcome(answer[0]), (answer[1] if len(answer) > 1 else None)


def _decision(answer: Sequence[str]) -> RateDecision:
    allowed, retry_after, remaining = answer
    return RateDecision(allowed=bool(int(allowed)), retry_after=float(retry_after), remaining=float(remaining))


def _milliseconds(ttl: float) -> int:
    return max(1, math.ceil(ttl * 1000))


class _Server:
    """What may be said about the server in messages: its address, and the secrets to hide."""

    def __init__(self, location: str, secrets: set[str]) -> None:
        self.location = location
        self._secrets = sorted((s for s in secrets if s), key=len, reverse=True)

    @classmethod
    def of_url(cls, url: str) -> _Server:
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError:
            raise ConfigError("store: the Redis URL is malformed (bad host or port)") from None
        secrets = {parts.password or "", unquote(parts.password or "")}
        for values in parse_qs(parts.query).values():
            secrets.update(values)
        return cls(f"{parts.hostname or 'localhost'}:{port or 6379}{parts.path or '/0'}", secrets)

    @classmethod
    def of_sentinel(cls, target: SentinelUrl) -> _Server:
        return cls(target.location, {*target.secrets, *(quote(secret, safe="") for secret in target.secrets)})

    def scrub(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    def error(self, operation: str, exc: BaseException) -> StoreError:
        # redis-py's own message for this one is the repr of every sentinel client.
        detail = "no sentinel names a master" if isinstance(exc, MasterNotFoundError) else self.scrub(str(exc))
        detail = detail or "no detail"
        return StoreError(
            f"store: redis at {self.location}: {operation} failed "
            f"({type(exc).__name__}: {detail})"
        )


class _Guard:
    """Every failure of a store command as ``StoreError``. A class rather than a generator
    context manager: it wraps every command, two to four on each quote and close."""

    __slots__ = ("operation", "server")

    def __init__(self, server: _Server, operation: str) -> None:
        self.server = server
        self.operation = operation

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        # OSError covers TimeoutError from our own deadlines and raw socket failures.
        if isinstance(exc, (RedisError, ReplyError, OSError)):
            labelled(STORE_ERRORS, self.operation).inc()
            raise self.server.error(self.operation, exc) from exc


class _SentinelBlockingPool(SentinelConnectionPool, BlockingConnectionPool):
    """Sentinel's master lookup at each connection, with a caller waiting for a free connection
    as the plain pools do."""


class RedisStore(Store):
    """The store shared by every worker that opens the same Redis and namespace."""

    backend = "redis"

    def __init__(
        self,
        url: str,
        namespace: str = "otc",
        *,
        max_connections: int = 4,
        timeout: float = 5.0,
        socket_timeout: float = 5.0,
        ping_timeout: float = 1.0,
        queue_size: int = DEFAULT_QUEUE_SIZE,
    ) -> None:
        self._prefix = f"{namespace}:"
        self._timeout = timeout
        self._queue_size = queue_size
        self._sentinel: Sentinel | None = None
        # Blocking: a caller waits up to ``timeout`` for a connection instead of failing at once.
        # One retry on a dropped connection, so a Redis restart does not fail one request per
        # pooled connection; timeouts are not retried, the command may have run.
        pooled: dict[str, Any] = {
            "max_connections": max_connections, "timeout": timeout, "socket_timeout": socket_timeout,
            "socket_connect_timeout": socket_timeout, "socket_keepalive": True, "decode_responses": True,
            "retry": Retry(ExponentialWithJitterBackoff(cap=0.5, base=0.05), 1,
                           supported_errors=(RedisConnectionError,)),
        }
        # Its own tiny pool and short timeouts: /health/ready must answer fast even when the
        # main pool is busy or the server hangs.
        probing: dict[str, Any] = {
            "max_connections": 4, "timeout": ping_timeout, "socket_timeout": ping_timeout,
            "socket_connect_timeout": ping_timeout, "decode_responses": True,
        }
        if is_sentinel(url):
            target = parse_sentinel_url(url)
            self._server = _Server.of_sentinel(target)
            self._sentinel = Sentinel(
                target.sentinels,
                sentinel_kwargs={"username": target.sentinel_username, "password": target.sentinel_password,
                                 "socket_timeout": ping_timeout, "socket_connect_timeout": ping_timeout},
                username=target.username, password=target.password, db=target.db,
            )
            self._redis = self._sentinel.master_for(target.service, connection_pool_class=_SentinelBlockingPool,
                                                    **pooled)
            self._probe = self._sentinel.master_for(target.service, connection_pool_class=_SentinelBlockingPool,
                                                    **probing)
            sentinel, service = self._sentinel, target.service
            self._conn = PipelinedConnection(target.server_url(), timeout=socket_timeout,
                                             connect_timeout=socket_timeout,
                                             locate=lambda: sentinel.discover_master(service))
        else:
            self._server = _Server.of_url(url)
            try:
                # redis-py's pools serve pub/sub and the probe only: every other command goes
                # through the one pipelined connection.
                self._redis = Redis.from_pool(BlockingConnectionPool.from_url(url, **pooled))
                self._probe = Redis.from_pool(BlockingConnectionPool.from_url(url, **probing))
            except ValueError as exc:
                detail = self._server.scrub(str(exc))
                raise ConfigError(f"store: invalid Redis URL ({detail})") from None
            self._conn = PipelinedConnection(url, timeout=socket_timeout, connect_timeout=socket_timeout)

        self._fanout = Fanout()
        self._pubsub: PubSub | None = None
        self._reader: asyncio.Task[None] | None = None
        self._chores: set[asyncio.Task[None]] = set()
        # Channels SUBSCRIBEd on the shared connection, and subscribers waiting for the
        # marker PING that tells the reader from which message on they take part.
        self._remote: set[str] = set()
        self._pending: dict[str, tuple[LocalSubscription, asyncio.Future[None]]] = {}
        self._control = asyncio.Lock()
        self._closed = False

    def _guard(self, operation: str) -> _Guard:
        if self._closed:
            raise StoreError("store: the Redis store is closed")
        return _Guard(self._server, operation)

    def _key(self, key: str) -> str:
        return self._prefix + key

    # -- key/value -------------------------------------------------------------------------

    async def get(self, key: str) -> str | None:
        with self._guard("get"):
            return cast(str | None, await self._conn.call("GET", self._key(key)))

    async def get_many(self, keys: Sequence[str]) -> list[str | None]:
        if not keys:
            return []
        with self._guard("get_many"):
            return cast(list[str | None], await self._conn.call("MGET", *[self._key(key) for key in keys]))

    async def set_owned(self, key: str, owner: str, value: str, ttl: float) -> None:
        check_ttl(ttl)
        with self._guard("set_owned"):
            await self._conn.script(SET_OWNED, [self._key(key), self._key(key + TOMBSTONE_SUFFIX)],
                                    [owner + OWNER_SEPARATOR + value, _milliseconds(ttl)])

    async def take_owned(self, key: str, owner: str, tombstone_ttl: float) -> tuple[TakeOutcome, str | None]:
        check_ttl(tombstone_ttl)
        keys = [self._key(key), self._key(key + TOMBSTONE_SUFFIX)]
        with self._guard("take_owned"):
            answer = await self._conn.script(TAKE_OWNED, keys, [owner, _milliseconds(tombstone_ttl), OWNER_SEPARATOR])
        return _taken(answer)

    async def take_owned_if_current(
        self, expected: Sequence[tuple[str, str | None]], key: str, owner: str, tombstone_ttl: float,
    ) -> tuple[list[str | None], tuple[TakeOutcome, str | None] | None]:
        check_ttl(tombstone_ttl)
        with self._guard("take_owned_if_current"):
            answer = await self._conn.script(
                TAKE_OWNED_IF_CURRENT,
                [self._key(key), self._key(key + TOMBSTONE_SUFFIX), *(self._key(k) for k, _ in expected)],
                [owner, _milliseconds(tombstone_ttl), OWNER_SEPARATOR, *_expected(expected)],
            )
        return cast(list[str | None], answer[0]), (_taken(answer[1]) if len(answer) > 1 else None)

    async def set(self, key: str, value: str, ttl: float | None = None) -> None:
        check_ttl(ttl)
        with self._guard("set"):
            if ttl is None:
                await self._conn.call("SET", self._key(key), value)
            else:
                await self._conn.call("SET", self._key(key), value, "PX", _milliseconds(ttl))

    async def delete(self, key: str) -> bool:
        with self._guard("delete"):
            return bool(await self._conn.call("DEL", self._key(key)))

    async def take(self, key: str) -> str | None:
        with self._guard("take"):
            return cast(str | None, await self._conn.call("GETDEL", self._key(key)))

    async def set_if_absent(self, key: str, value: str, ttl: float | None = None) -> bool:
        check_ttl(ttl)
        with self._guard("set_if_absent"):
            expiry = () if ttl is None else ("PX", _milliseconds(ttl))
            done = await self._conn.call("SET", self._key(key), value, "NX", *expiry)
        return bool(done)

    async def replace(self, key: str, expected: str, value: str, ttl: float | None = None) -> bool:
        check_ttl(ttl)
        expiry = "" if ttl is None else str(_milliseconds(ttl))
        with self._guard("replace"):
            done = await self._conn.script(REPLACE, [self._key(key)], [expected, value, expiry])
        return bool(done)

    async def ttl(self, key: str) -> float | None:
        with self._guard("ttl"):
            left = await self._conn.call("PTTL", self._key(key))
        return None if left < 0 else left / 1000

    # -- token bucket ----------------------------------------------------------------------

    async def rate_limit(
        self, key: str, capacity: int, refill_per_second: float, cost: int = 1
    ) -> RateDecision:
        check_bucket(capacity, refill_per_second, cost)
        with self._guard("rate_limit"):
            answer = await self._conn.script(
                TOKEN_BUCKET, [self._key(RATE_PREFIX + key)], [capacity, refill_per_second, cost],
            )
        return _decision(answer)

    async def get_many_spending(self, keys: Sequence[str], bucket: Bucket) -> tuple[list[str | None], RateDecision]:
        check_bucket(bucket.capacity, bucket.refill_per_second, bucket.cost)
        if not keys:
            return [], await self.rate_limit(bucket.key, bucket.capacity, bucket.refill_per_second, bucket.cost)
        with self._guard("get_many_spending"):
            decision, values = await self._conn.script(
                GET_MANY_SPENDING, [self._key(RATE_PREFIX + bucket.key), *(self._key(key) for key in keys)],
                [bucket.capacity, bucket.refill_per_second, bucket.cost],
            )
        return cast(list[str | None], values), _decision(decision)

    async def set_owned_if_current(
        self, expected: Sequence[tuple[str, str | None]], bucket: Bucket, key: str, owner: str, value: str, ttl: float,
    ) -> tuple[list[str | None], RateDecision, bool]:
        check_ttl(ttl)
        check_bucket(bucket.capacity, bucket.refill_per_second, bucket.cost)
        with self._guard("set_owned_if_current"):
            decision, values, current = await self._conn.script(
                SET_OWNED_IF_CURRENT,
                [self._key(RATE_PREFIX + bucket.key), self._key(key), self._key(key + TOMBSTONE_SUFFIX),
                 *(self._key(k) for k, _ in expected)],
                [bucket.capacity, bucket.refill_per_second, bucket.cost, owner + OWNER_SEPARATOR + value,
                 _milliseconds(ttl), *_expected(expected)],
            )
        return cast(list[str | None], values), _decision(decision), bool(current)

    # -- leases ----------------------------------------------------------------------------

    async def acquire_lease(self, name: str, holder: str, ttl: float) -> bool:
        check_ttl(ttl)
        with self._guard("acquire_lease"):
            held = await self._conn.script(ACQUIRE_LEASE, [self._key(LEASE_PREFIX + name)], [holder, _milliseconds(ttl)])
        return bool(int(held))

    async def release_lease(self, name: str, holder: str) -> None:
        with self._guard("release_lease"):
            await self._conn.script(RELEASE_LEASE, [self._key(LEASE_PREFIX + name)], [holder])

    async def lease_holders(self, names: Sequence[str]) -> dict[str, str | None]:
        if not names:
            return {}
        with self._guard("lease_holders"):
            holders = await self._conn.call("MGET", *[self._key(LEASE_PREFIX + name) for name in names])
        return dict(zip(names, cast(list[str | None], holders), strict=True))

    # -- pub/sub ---------------------------------------------------------------------------

    async def publish(self, channel: str, message: str) -> None:
        with self._guard("publish"):
            await self._conn.call("PUBLISH", self._key(channel), message)

    async def subscribe(self, channel: str) -> Subscription:
        name = self._key(channel)
        sub = LocalSubscription(name, self._queue_size, self._release)
        # Messages already on the wire when we subscribe were published before us: the
        # reader attaches ``sub`` only when it reads the reply to this PING, so exactly the
        # messages after it reach the new subscriber, even on a channel already in use.
        marker = f"otc-store-subscribe-{uuid.uuid4().hex}"
        attached: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        with self._guard("subscribe"):
            async with self._control:
                self._pending[marker] = (sub, attached)
                try:
                    pubsub = self._connection()
                    if name not in self._remote:
                        await pubsub.subscribe(name)
                        self._remote.add(name)
                    await pubsub.ping(marker)
                    self._start_reader()
                    async with asyncio.timeout(self._timeout):
                        await attached
                except BaseException:
                    self._pending.pop(marker, None)
                    self._fanout.detach(sub)
                    sub.end()
                    await self._sync_channel(name)
                    raise
        return sub

    def _connection(self) -> PubSub:
        if self._pubsub is None:
            self._pubsub = self._redis.pubsub()
        return self._pubsub

    def _start_reader(self) -> None:
        if self._reader is None or self._reader.done():
            self._reader = asyncio.create_task(self._read(), name="otc-store-pubsub")

    async def _release(self, sub: LocalSubscription) -> None:
        self._fanout.detach(sub)
        if self._closed:
            return
        async with self._control:
            await self._sync_channel(sub.channel)

    async def _sync_channel(self, name: str) -> None:
        """UNSUBSCRIBE ``name`` once no local subscriber, attached or pending, wants it.
        Runs under ``_control``. Best effort: a failure leaves a subscription nobody reads,
        whose messages the reader discards, and must not break a subscriber's close()."""
        wanted = self._fanout.has(name) or any(
            sub.channel == name for sub, _ in self._pending.values()
        )
        if wanted or self._closed or name not in self._remote or self._pubsub is None:
            return
        self._remote.discard(name)
        try:
            await self._pubsub.unsubscribe(name)
        except (RedisError, OSError) as exc:
            log.warning(
                "store: could not unsubscribe from %r: %s", name, self._server.scrub(str(exc))
            )

    async def _read(self) -> None:
        """The one reader of the pub/sub connection. It outlives connection losses: redis-py
        re-subscribes every channel on reconnect; messages published meanwhile are lost,
        as pub/sub promises no more."""
        assert self._pubsub is not None
        pubsub = self._pubsub
        delay = 0.1
        failing = False
        while True:
            try:
                response = await pubsub.parse_response(block=True)
                await self._dispatch(pubsub, response)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if not failing:
                    log.warning(
                        "store: lost the pub/sub connection to redis at %s (%s: %s); retrying",
                        self._server.location, type(exc).__name__, self._server.scrub(str(exc)),
                    )
                failing = True
                for _, attached in self._pending.values():
                    if not attached.done():
                        attached.set_exception(RedisConnectionError("pub/sub connection lost"))
                await self._drop_connection(pubsub)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
                continue
            if failing:
                log.info("store: pub/sub connection to redis at %s restored",
                         self._server.location)
                failing = False
                delay = 0.1

    @staticmethod
    async def _drop_connection(pubsub: PubSub) -> None:
        """Disconnect so the next read reconnects (and re-subscribes) from scratch. It may
        fail on a socket already gone; nothing may stop the reader, so that is ignored."""
        if pubsub.connection is None:
            return
        try:
            await pubsub.connection.disconnect()
        except Exception:
            pass

    async def _dispatch(self, pubsub: PubSub, response: Any) -> None:
        if response is None:
            return
        # PING inside the subscribed state answers ["pong", marker] in RESP2 and a bare
        # string in RESP3 (redis-py 8's default), which get_message() would misparse.
        if isinstance(response, str):
            self._attach(response)
            return
        if isinstance(response, (list, tuple)) and response and response[0] == "pong":
            self._attach(response[1])
            return
        # handle_message keeps redis-py's own channel book (what to re-subscribe).
        message = await pubsub.handle_message(response, ignore_subscribe_messages=True)
        if message is None or message["type"] != "message":
            return
        channel = message["channel"]
        if self._fanout.deliver(channel, message["data"]):
            self._chore(self._release_channel(channel))

    def _attach(self, marker: str) -> None:
        entry = self._pending.pop(marker, None)
        if entry is None:
            return
        sub, attached = entry
        if not attached.done():
            self._fanout.attach(sub)
            attached.set_result(None)

    async def _release_channel(self, name: str) -> None:
        async with self._control:
            await self._sync_channel(name)

    def _chore(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        self._chores.add(task)
        task.add_done_callback(self._chores.discard)

    # -- lifecycle -------------------------------------------------------------------------

    async def ping(self) -> None:
        with self._guard("ping"):
            await self._probe.ping()

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        tasks = [t for t in (self._reader, *self._chores) if t is not None]
        await asyncio.gather(*(cancel_and_wait(task) for task in tasks))
        for _, attached in self._pending.values():
            if not attached.done():
                attached.set_exception(StoreError("store: the Redis store is closed"))
        self._pending.clear()
        self._fanout.end_all()
        await self._conn.close()
        closers = [self._redis.aclose(), self._probe.aclose()]
        if self._sentinel is not None:
            closers.append(self._sentinel.aclose())
        if self._pubsub is not None:
            closers.insert(0, self._pubsub.aclose())
        for closer in closers:
            try:
                await closer
            except (RedisError, OSError) as exc:
                log.warning("store: closing redis at %s: %s", self._server.location,
                            self._server.scrub(str(exc)))
