"""One pipelined connection to Redis for the store's commands (everything but pub/sub).

Every command is written to the socket at once and its reply is matched in order (Redis
answers a connection's commands in the order they came), so any number of concurrent
callers share one connection and the replies of many arrive in one read, as ioredis does.
redis-py's pooled client spends about ten times the CPU per command (a pool checkout, a
retry wrapper and a timeout per call: measured in ``docs/decisions.md``), and the store's
commands are on every quote and close. Replies are parsed by hiredis, the C parser
redis-py itself uses; the URL is read by redis-py's own ``parse_url``.

A command whose reply has not come back is an unknown outcome: it is never sent again. When
the connection is lost every waiting caller fails at once, and the next command opens a new
connection. When the oldest reply is overdue by ``timeout``, the server is taken as hung:
the connection is closed and its callers fail, since every later reply would queue behind
it anyway.
"""

from __future__ import annotations

import asyncio
import hashlib
import ssl as tls
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, cast

import hiredis
from redis.asyncio.connection import SSLConnection, UnixDomainSocketConnection, parse_url


class ReplyError(Exception):
    """An error reply of the server (``-ERR …``): the command ran and was refused."""


class ConnectionLost(ConnectionError):
    """The connection closed, or was closed as hung, before the reply came."""


Arg = str | bytes | int | float
_NO_PASSWORD_SET = ("called without any password configured", "Client sent AUTH, but no password is set")


def pack(args: Sequence[Arg]) -> bytes:
    """One command in RESP, by hiredis's C writer (half the CPU of a Python one on the quote's
    script call). ``bool`` is refused (``TypeError``): Redis has no booleans, say 1 or 0."""
    # hiredis's stub names a tuple of one item; it takes any number.
    return hiredis.pack_command(cast(Any, args if type(args) is tuple else tuple(args)))


class _Protocol(asyncio.Protocol):
    def __init__(self, owner: PipelinedConnection) -> None:
        self._owner = owner
        self._reader = hiredis.Reader(encoding="utf-8", replyError=ReplyError)
        self.transport: asyncio.Transport | None = None
        self.outgoing: list[bytes] = []

    def flush(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(b"".join(self.outgoing))
        self.outgoing.clear()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self._reader.feed(data)
        waiting = self._owner.waiting
        while True:
            reply = self._reader.gets()
            if reply is False:
                return
            if not waiting:  # a reply nobody waits for: the stream is out of step
                self._owner.lose(self, ConnectionLost("a reply came that no command asked for"))
                return
            future, _ = waiting.popleft()
            if not isinstance(reply, ReplyError):
                if not future.done():
                    future.set_result(reply)
                continue
            if not future.done():
                future.set_exception(reply)
            if str(reply).startswith("READONLY"):
                # A replica now (a failover demoted it): the next command finds the master.
                self._owner.lose(self, ConnectionLost("the server is no longer the master"))
                return

    def connection_lost(self, exc: Exception | None) -> None:
        self._owner.lose(self, ConnectionLost(f"connection closed ({exc})" if exc else "connection closed by the server"))


Locate = Callable[[], Awaitable[tuple[str, int]]]


class PipelinedConnection:
    """``await call("GET", key)``; ``await script(Script(...), keys, args)``.

    ``locate``, when given, names the server at each new connection (Sentinel: the master of
    the moment), and the server must then say it is a master (``ROLE``); the URL gives the
    credentials and the database."""

    def __init__(self, url: str, *, timeout: float, connect_timeout: float, locate: Locate | None = None) -> None:
        self._locate = locate
        options = parse_url(url)
        self._host = options.get("host", "localhost")
        self._port = int(options.get("port", 6379))
        self._path = options.get("path") if options.get("connection_class") is UnixDomainSocketConnection else None
        self._tls = options.get("connection_class") is SSLConnection
        self._hello: list[list[Arg]] = []
        if options.get("password"):
            user = options.get("username")
            self._hello.append(["AUTH", user, options["password"]] if user else ["AUTH", options["password"]])
        if int(options.get("db", 0) or 0):
            self._hello.append(["SELECT", int(options["db"])])
        self._timeout = timeout
        self._connect_timeout = connect_timeout
        self.waiting: deque[tuple[asyncio.Future[Any], float]] = deque()
        # ``_live`` is the connection whose replies ``waiting`` holds (its AUTH and SELECT
        # included); ``_protocol`` is that same one once it is ready for commands.
        self._live: _Protocol | None = None
        self._protocol: _Protocol | None = None
        self._connecting: asyncio.Lock | None = None
        self._watchdog: asyncio.TimerHandle | None = None
        self._closed = False

    async def call(self, *args: Arg) -> Any:
        protocol = self._protocol or await self._connect()
        return await self._send(protocol, pack(args))

    async def script(self, script: Script, keys: Sequence[str], args: Sequence[Arg]) -> Any:
        """EVALSHA, and EVAL once when the server does not have the script (a restart)."""
        protocol = self._protocol or await self._connect()
        try:
            return await self._send(protocol, pack(("EVALSHA", script.sha, len(keys), *keys, *args)))
        except ReplyError as exc:
            if not str(exc).startswith("NOSCRIPT"):
                raise
        return await self.call("EVAL", script.source, len(keys), *keys, *args)

    def _send(self, protocol: _Protocol, payload: bytes) -> asyncio.Future[Any]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self.waiting.append((future, loop.time() + self._timeout))
        # The commands of one turn of the event loop leave in one write (one system call).
        if not protocol.outgoing:
            loop.call_soon(protocol.flush)
        protocol.outgoing.append(payload)
        if self._watchdog is None:
            self._watchdog = loop.call_later(self._timeout, self._check_overdue)
        return future

    def _check_overdue(self) -> None:
        self._watchdog = None
        if not self.waiting or self._live is None:
            return
        loop = asyncio.get_running_loop()
        _, deadline = self.waiting[0]
        if loop.time() >= deadline:
            self.lose(self._live, TimeoutError(f"no reply within {self._timeout:g} s"))
            return
        self._watchdog = loop.call_at(deadline, self._check_overdue)

    async def _connect(self) -> _Protocol:
        if self._closed:
            raise ConnectionLost("the connection is closed")
        if self._connecting is None:
            self._connecting = asyncio.Lock()
        async with self._connecting:
            if self._protocol is not None:
                return self._protocol
            loop = asyncio.get_running_loop()
            async with asyncio.timeout(self._connect_timeout):
                host, port = await self._locate() if self._locate is not None else (self._host, self._port)
                if self._path:
                    _, protocol = await loop.create_unix_connection(lambda: _Protocol(self), self._path)
                else:
                    context = tls.create_default_context() if self._tls else None
                    _, protocol = await loop.create_connection(lambda: _Protocol(self), host, port, ssl=context)
                self._live = protocol
                try:
                    for command in self._hello:
                        await self._greet(protocol, command)
                    if self._locate is not None:
                        role = await self._send(protocol, pack(("ROLE",)))
                        if not role or role[0] != "master":
                            raise ConnectionLost(f"{host}:{port} is not the master (it is a {role and role[0]})")
                except BaseException:
                    assert protocol.transport is not None
                    protocol.transport.abort()
                    raise
            self._protocol = protocol
            return protocol

    async def _greet(self, protocol: _Protocol, command: list[Arg]) -> None:
        try:
            await self._send(protocol, pack(command))
        except ReplyError as exc:
            # A password in the URL of a server that has none: accepted, as redis-py does.
            if command[0] != "AUTH" or not any(text in str(exc) for text in _NO_PASSWORD_SET):
                raise

    def lose(self, protocol: _Protocol, exc: BaseException) -> None:
        """Fail every caller waiting on ``protocol`` and forget it (the next call reconnects)."""
        if protocol.transport is not None and not protocol.transport.is_closing():
            protocol.transport.abort()
        if protocol is not self._live:  # an older connection, already lost
            return
        self._live = self._protocol = None
        if self._watchdog is not None:
            self._watchdog.cancel()
            self._watchdog = None
        waiting, self.waiting = self.waiting, deque()
        for future, _ in waiting:
            if not future.done():
                future.set_exception(exc)

    async def close(self) -> None:
        self._closed = True
        if self._live is not None:
            self.lose(self._live, ConnectionLost("the connection is closed"))


class Script:
    """A Lua script, called by its SHA-1 (EVALSHA) so its text travels once per server."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.sha = hashlib.sha1(source.encode()).hexdigest()  # noqa: S324 (Redis names scripts by SHA-1)
