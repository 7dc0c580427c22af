"""The LP contract against the fake Nonco served on loopback (a WebSocket venue: no respx).

Faults go through the fake's ``POST /_fault``: each hits the next request, a handshake or a
frame on the socket. A hang is a frame the fake ignores, so the adapter's timeout fires; a
lost execution is a fault matched to the NewOrderSingle frame.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from otc_framework.ports import Currency, Settlement
from otc_framework.testing.fake_venue import LoopbackServer
from otc_framework.testing.lp_contract import (
    LiquidityProviderContract,
    VenueExecution,
    harness_fault,
    lost_execution_fault,
    post_fault,
)
from otc_lp_nonco.client import F_EXEC_ID, F_LAST_PX, F_LAST_QTY, TYPE_NEW_ORDER, WS_PATH, NoncoProvider
from otc_lp_nonco.config import NoncoConfig
from otc_lp_nonco.fake import NoncoBook, create_app

API_KEY = "nc-contract-secret-api-key-0123456789"
API_SECRET = "nc-contract-signing-secret-abcdefghijkl"
TIMEOUT = 0.3
HANG_SECONDS = 1.0


def ws_url(server: LoopbackServer) -> str:
    return server.base_url.replace("http://", "ws://", 1) + WS_PATH


def provider_for(server: LoopbackServer, *, secret: str = API_SECRET, silence: float = 5.0) -> NoncoProvider:
    config = NoncoConfig(
        url=ws_url(server), api_key=SecretStr(API_KEY), api_secret=SecretStr(secret),
        request_timeout_seconds=TIMEOUT, silence_seconds=silence,
    )
    return NoncoProvider(config)


class NoncoLoopbackHarness:
    secrets = (API_KEY, API_SECRET)
    currency: Currency = "USDC"
    settlement: Settlement = "D0"
    amount = Decimal("100000")
    chunk_size = None

    def __init__(self, server: LoopbackServer, http: httpx.AsyncClient) -> None:
        self.provider = provider_for(server)
        self.book: NoncoBook = server.app.ctx.book
        self._http = http
        self._base_url = server.base_url

    async def quotes_registered(self) -> int:
        return self.book.quotes_registered

    async def executions(self) -> list[VenueExecution]:
        return [VenueExecution(r[F_EXEC_ID], Decimal(r[F_LAST_QTY]), Decimal(r[F_LAST_PX])) for r in self.book.executions]

    async def expire_quotes(self) -> None:
        self.book.expire_quotes()

    async def fault(
        self,
        status: int | None = None,
        *,
        retry_after: float = 1.0,
        drop: bool = False,
        hang: bool = False,
        count: int = 1,
    ) -> None:
        fault = harness_fault(
            status, retry_after=retry_after, drop=drop, hang=hang, count=count, hang_seconds=HANG_SECONDS
        )
        await post_fault(self._http, self._base_url, fault)

    async def refuse(self) -> None:
        await self.fault(401)

    async def lose_next_execution(self, *, executed: bool, hang: bool = False) -> None:
        fault = lost_execution_fault(TYPE_NEW_ORDER, executed=executed, hang=hang, hang_seconds=HANG_SECONDS)
        await post_fault(self._http, self._base_url, fault)


class TestNoncoContractOnFake(LiquidityProviderContract):
    @pytest.fixture
    async def lp_harness(self, loopback: Any, http: httpx.AsyncClient) -> AsyncIterator[NoncoLoopbackHarness]:
        server: LoopbackServer = await loopback(create_app(API_KEY, API_SECRET, seed=11))
        harness = NoncoLoopbackHarness(server, http)
        yield harness
        await harness.provider.aclose()
