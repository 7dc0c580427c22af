"""The send side of a contract harness, shared by the outbound ports' suites (alert sinks,
chat channels): what the venue accepted, and how to make it fail.

``LoopbackSendSide`` speaks to a fake served on loopback (``GET /_inbox``, each item read by
``read``; ``POST /_fault``). ``MockedSendSide`` is the base of a respx side effect keeping the
same interface: a hang is a read timeout and a drop a closed connection, which is what an
adapter sees, and their messages quote the request URL, as some httpx errors do, so an adapter
that passes exception text on fails its suite's secrets test.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any, Generic, Protocol, TypeVar

import httpx

from otc_framework.testing.fake_venue import Fault, Faults

T = TypeVar("T")


class SendSide(Protocol[T]):
    """What every outbound port's harness offers on the send side: what the venue accepted,
    oldest first, as the suite reads it; the next ``count`` requests answered with ``status``,
    dropped, or left hanging past the adapter's timeout; the next one refused for good."""

    async def received(self) -> list[T]: ...

    async def fault(self, status: int | None = None, *, retry_after: float = 1.0, drop: bool = False,
                    hang: bool = False, count: int = 1) -> None: ...

    async def refuse(self) -> None: ...


class LoopbackSendSide(Generic[T]):
    """``hang`` delays the answer by ``hang_seconds``, which must exceed the adapter's timeout."""

    def __init__(self, http: httpx.AsyncClient, venue_url: str, *, read: Callable[[dict[str, Any]], T],
                 refusal_status: int, hang_seconds: float = 1.0) -> None:
        self.http = http
        self.venue_url = venue_url
        self._read = read
        self._refusal_status = refusal_status
        self._hang_seconds = hang_seconds

    async def received(self) -> list[T]:
        response = await self.http.get(f"{self.venue_url}/_inbox")
        response.raise_for_status()
        return [self._read(item) for item in response.json()["items"]]

    async def fault(self, status: int | None = None, *, retry_after: float = 1.0, drop: bool = False,
                    hang: bool = False, count: int = 1) -> None:
        body: dict[str, Any] = {"retryAfter": retry_after, "drop": drop, "count": count}
        if status is not None:
            body["status"] = status
        if hang:
            body["delay"] = self._hang_seconds
        response = await self.http.post(f"{self.venue_url}/_fault", json=body)
        response.raise_for_status()

    async def refuse(self) -> None:
        await self.fault(self._refusal_status)


class MockedSendSide(ABC, Generic[T]):
    """Subclasses say how the venue answers a delivery and a forced status:
    ``respx_mock.post(url).mock(side_effect=venue.handle)``."""

    def __init__(self, refusal_status: int) -> None:
        self._refusal_status = refusal_status
        self._faults = Faults()
        self._accepted: list[T] = []

    @abstractmethod
    def deliver(self, request: httpx.Request) -> tuple[httpx.Response, T | None]:
        """Answer a request no fault applies to: the response, and what the venue accepted
        as the suite reads it (``None`` when it refused it)."""

    @abstractmethod
    def fault_answer(self, status: int, retry_after: float) -> httpx.Response:
        """The venue's answer with a forced ``status``."""

    def handle(self, request: httpx.Request) -> httpx.Response:
        fault = self._faults.next()
        if fault is not None and fault.drop:
            raise httpx.RemoteProtocolError(f"{request.url}: server disconnected", request=request)
        if fault is not None and fault.delay:
            raise httpx.ReadTimeout(f"{request.url}: timed out", request=request)
        if fault is not None and fault.status is not None:
            return self.fault_answer(fault.status, fault.retry_after)
        response, accepted = self.deliver(request)
        if accepted is not None:
            self._accepted.append(accepted)
        return response

    async def received(self) -> list[T]:
        return list(self._accepted)

    async def fault(self, status: int | None = None, *, retry_after: float = 1.0, drop: bool = False,
                    hang: bool = False, count: int = 1) -> None:
        self._faults.add(Fault(status=status, retry_after=retry_after, drop=drop, delay=1 if hang else 0, count=count))

    async def refuse(self) -> None:
        await self.fault(self._refusal_status)
