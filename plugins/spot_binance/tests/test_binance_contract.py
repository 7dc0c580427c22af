from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from otc_framework.testing.fake_venue import LoopbackServer
from otc_framework.testing.spot_contract import SpotSourceContract, unreachable_base_url
from otc_spot_binance.client import BinanceSpotSource
from otc_spot_binance.config import BinanceConfig
from otc_spot_binance.fake import create_app


@pytest.fixture
async def spot_source() -> AsyncIterator[BinanceSpotSource]:
    # The default fake leaves USDCBRL unlisted, so the contract also covers a partial answer.
    server = LoopbackServer(create_app(seed=3))
    base_url = await server.start()
    try:
        async with httpx.AsyncClient() as http:
            yield BinanceSpotSource(BinanceConfig(base_url=base_url), http)
    finally:
        await server.stop()


@pytest.fixture
async def stopped_spot_source() -> AsyncIterator[BinanceSpotSource]:
    async with httpx.AsyncClient() as http:
        yield BinanceSpotSource(BinanceConfig(base_url=unreachable_base_url()), http)


class TestBinanceContract(SpotSourceContract):
    pass
