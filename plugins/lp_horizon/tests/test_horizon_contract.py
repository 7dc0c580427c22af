"""The LP contract, against respx mocks and against the fake on loopback.

Both venues share the fake's ``HorizonBook``, so a mocked Horizon keeps the same rules
(expiry, idempotency keys, lookups) as the served one.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest
import respx
from pydantic import SecretStr

from otc_framework.ports import Currency, Settlement
from otc_framework.testing.fake_venue import Fault, Faults, LoopbackServer, MarketRate
from otc_framework.testing.lp_contract import LiquidityProviderContract, VenueExecution
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
from otc_lp_horizon.fake import Answer, HorizonBook, LostConfirm, create_app, error_answer, fault_answer

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


class HorizonMock(_Common):
    """Horizon as respx answers it: the book behind the API key, faults as httpx sees them."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        # Odd sizes, so the chunking is not only tried at round numbers.
        self.chunk_size = Decimal("1250.5")
        self.amount = Decimal("1000.25")
        self.provider = _provider(BASE_URL, http, self.chunk_size)
        self.book = HorizonBook(MarketRate(seed=3))
        self._faults = Faults()
        self._lost: LostConfirm | None = None

    def handle(self, request: httpx.Request) -> httpx.Response:
        fault = self._faults.next()
        if fault is not None and fault.drop:
            raise httpx.RemoteProtocolError(f"{request.url}: server disconnected", request=request)
        if fault is not None and fault.delay:
            raise httpx.ReadTimeout(f"{request.url}: timed out", request=request)
        if fault is not None and fault.status is not None:
            return _response(fault_answer(fault.status, fault.retry_after))
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
        lost, self._lost = self._lost, None
        if lost is not None and not lost.executed:
            raise _lost_answer(request, lost)
        answer = self.book.confirm(json.loads(request.content), request.headers.get(IDEMPOTENCY_HEADER))
        if lost is not None:
            raise _lost_answer(request, lost)
        return _response(answer)

    async def fault(
        self,
        status: int | None = None,
        *,
        retry_after: float = 1.0,
        drop: bool = False,
        hang: bool = False,
        count: int = 1,
    ) -> None:
        self._faults.add(Fault(status=status, retry_after=retry_after, drop=drop, delay=1 if hang else 0, count=count))

    async def refuse(self) -> None:
        await self.fault(401)

    async def lose_next_execution(self, *, executed: bool, hang: bool = False) -> None:
        self._lost = LostConfirm(executed, delay=1 if hang else 0)


def _lost_answer(request: httpx.Request, lost: LostConfirm) -> httpx.TransportError:
    if lost.delay:
        return httpx.ReadTimeout(f"{request.url}: timed out", request=request)
    return httpx.RemoteProtocolError(f"{request.url}: server disconnected", request=request)


def _response(answer: Answer) -> httpx.Response:
    status, body, headers = answer
    return httpx.Response(status, json=body, headers=headers)


class HorizonLoopbackHarness(_Common):
    """The fake served on loopback: ``POST /_fault`` to make it fail, its ``app.ctx`` for the
    book and the lost-confirm switch (same process). A hang waits ``HANG_SECONDS`` (well past
    the adapter's timeout) and then drops the request unanswered and unexecuted."""

    def __init__(self, server: LoopbackServer, http: httpx.AsyncClient) -> None:
        self.chunk_size = Decimal("500000")
        self.amount = Decimal("100000")
        self.provider = _provider(server.base_url, http, self.chunk_size)
        self.book = server.app.ctx.book
        self._ctx = server.app.ctx
        self._http = http
        self._base_url = server.base_url

    async def fault(
        self,
        status: int | None = None,
        *,
        retry_after: float = 1.0,
        drop: bool = False,
        hang: bool = False,
        count: int = 1,
    ) -> None:
        body: dict[str, Any] = {"retryAfter": retry_after, "drop": drop or hang, "count": count}
        if status is not None:
            body["status"] = status
        if hang:
            body["delay"] = HANG_SECONDS
        response = await self._http.post(f"{self._base_url}/_fault", json=body)
        response.raise_for_status()

    async def refuse(self) -> None:
        await self.fault(401)

    async def lose_next_execution(self, *, executed: bool, hang: bool = False) -> None:
        self._ctx.lose_next_confirm = LostConfirm(executed, delay=HANG_SECONDS if hang else 0)


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
