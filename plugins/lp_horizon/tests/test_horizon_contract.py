"""The LP contract, against respx mocks and against the fake on loopback.

Both venues share the fake's ``HorizonBook``, so a mocked Horizon keeps the same rules
(expiry, idempotency keys, lookups) as the served one.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest
import respx
from pydantic import SecretStr

from otc_framework.ports import Currency, Settlement
from otc_framework.testing.fake_venue import Fault, Faults, LoopbackServer, MarketRate
from otc_framework.testing.lp_contract import (
    LiquidityProviderContract,
    VenueExecution,
    harness_fault,
    lost_execution_fault,
    post_fault,
)
from otc_lp_horizon.client import (
    API_KEY_HEADER,
    CONFIRM_PATH,
    FIELD_AMOUNT,
    FIELD_PRICE,
    FIELD_TRADE_ID,
    IDEMPOTENCY_HEADER,
    PRICE_PATH,
    QUOTE_PATH,
    TRADES_PATH,
    HorizonProvider,
)
from otc_lp_horizon.config import HorizonConfig
from otc_lp_horizon.fake import Answer, HorizonBook, create_app, error_answer, fault_answer

API_KEY = "hz-contract-secret-api-key-0123456789"
BASE_URL = "https://api.horizon.test"
TIMEOUT = 0.2
HANG_SECONDS = 1.0


def _provider(base_url: str, http: httpx.AsyncClient, chunk_size: Decimal) -> HorizonProvider:
    config = HorizonConfig(
        base_url=base_url, api_key=SecretStr(API_KEY), timeout_seconds=TIMEOUT, chunk_size=chunk_size
    )
    return HorizonProvider(config, http)


def _executions(book: HorizonBook) -> list[VenueExecution]:
    return [VenueExecution(t[FIELD_TRADE_ID], Decimal(t[FIELD_AMOUNT]), Decimal(t[FIELD_PRICE])) for t in book.trades]


class _Common:
    """What both harnesses share: the pair, the sizes and the book's views."""

    provider: HorizonProvider
    book: HorizonBook
    chunk_size: Decimal | None
    amount: Decimal
    secrets = (API_KEY,)
    currency: Currency = "USDC"
    settlement: Settlement = "D0"

    async def quotes_registered(self) -> int:
        return self.book.quotes_registered

    async def executions(self) -> list[VenueExecution]:
        return _executions(self.book)

    async def expire_quotes(self) -> None:
        self.book.expire_quotes()


class _Faulted(_Common, ABC):
    """Both harnesses make the venue fail with ``Fault``s (``lp_contract``); ``queue`` says
    where they go."""

    @abstractmethod
    async def queue(self, fault: Fault) -> None: ...

    async def fault(
        self,
        status: int | None = None,
        *,
        retry_after: float = 1.0,
        drop: bool = False,
        hang: bool = False,
        count: int = 1,
    ) -> None:
        await self.queue(harness_fault(
            status, retry_after=retry_after, drop=drop, hang=hang, count=count, hang_seconds=HANG_SECONDS
        ))

    async def refuse(self) -> None:
        await self.fault(401)

    async def lose_next_execution(self, *, executed: bool, hang: bool = False) -> None:
        await self.queue(lost_execution_fault(CONFIRM_PATH, executed=executed, hang=hang, hang_seconds=HANG_SECONDS))


class HorizonMock(_Faulted):
    """Horizon as respx answers it: the book behind the API key, faults as httpx sees them
    (a drop is a closed connection, a hang a read timeout, at once)."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        # Odd sizes, so the chunking is not only tried at round numbers.
        self.chunk_size = Decimal("1250.5")
        self.amount = Decimal("1000.25")
        self.provider = _provider(BASE_URL, http, self.chunk_size)
        self.book = HorizonBook(MarketRate(seed=3))
        self._faults = Faults()

    async def queue(self, fault: Fault) -> None:
        self._faults.add(fault)

    def handle(self, request: httpx.Request) -> httpx.Response:
        fault = self._faults.next(request.url.path)
        if fault is not None and not fault.after and (fault.drop or fault.status is not None):
            return _faulted(request, fault)
        answer = self._answer(request)
        if fault is not None and fault.after and (fault.drop or fault.status is not None):
            return _faulted(request, fault)
        return answer

    def _answer(self, request: httpx.Request) -> httpx.Response:
        if request.headers.get(API_KEY_HEADER) != API_KEY:
            return _response(error_answer(401, "UNAUTHORIZED", "invalid API key"))
        path, query = request.url.path, dict(request.url.params)
        if path == PRICE_PATH:
            return _response(self.book.price(query))
        if path == QUOTE_PATH:
            return _response(self.book.quote(json.loads(request.content)))
        if path == TRADES_PATH:
            return _response(self.book.lookup(query))
        assert path == CONFIRM_PATH
        return _response(self.book.confirm(json.loads(request.content), request.headers.get(IDEMPOTENCY_HEADER)))


def _faulted(request: httpx.Request, fault: Fault) -> httpx.Response:
    """What httpx makes of a faulted answer: a drop raises, held back it times out."""
    if fault.drop and fault.delay:
        raise httpx.ReadTimeout(f"{request.url}: timed out", request=request)
    if fault.drop:
        raise httpx.RemoteProtocolError(f"{request.url}: server disconnected", request=request)
    assert fault.status is not None
    return _response(fault_answer(fault.status, fault.retry_after))


def _response(answer: Answer) -> httpx.Response:
    status, body, headers = answer
    return httpx.Response(status, json=body, headers=headers)


class HorizonLoopbackHarness(_Faulted):
    """The fake served on loopback: ``POST /_fault`` to make it fail, its ``app.ctx`` for the
    book (same process). A hang waits ``HANG_SECONDS`` (well past the adapter's timeout) and
    then closes the connection unanswered."""

    def __init__(self, server: LoopbackServer, http: httpx.AsyncClient) -> None:
        self.chunk_size = Decimal("500000")
        self.amount = Decimal("100000")
        self.provider = _provider(server.base_url, http, self.chunk_size)
        self.book = server.app.ctx.book
        self._http = http
        self._base_url = server.base_url

    async def queue(self, fault: Fault) -> None:
        await post_fault(self._http, self._base_url, fault)


@pytest.fixture
def horizon_mock(http: httpx.AsyncClient) -> Iterator[HorizonMock]:
    venue = HorizonMock(http)
    with respx.mock(assert_all_called=False) as router:
        router.route(host="api.horizon.test").mock(side_effect=venue.handle)
        yield venue


class TestHorizonContractWithMocks(LiquidityProviderContract):
    @pytest.fixture
    def lp_harness(self, horizon_mock: HorizonMock) -> HorizonMock:
        return horizon_mock


class TestHorizonContractOnFake(LiquidityProviderContract):
    @pytest.fixture
    async def lp_harness(self, loopback: Any, http: httpx.AsyncClient) -> HorizonLoopbackHarness:
        server: LoopbackServer = await loopback(create_app(API_KEY, seed=11))
        return HorizonLoopbackHarness(server, http)
