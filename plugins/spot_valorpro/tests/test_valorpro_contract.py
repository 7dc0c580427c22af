from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from otc_framework.testing.fake_venue import LoopbackServer
from otc_framework.testing.spot_contract import SpotSourceContract, unreachable_base_url
from otc_spot_valorpro.client import ValorProSpotSource
from otc_spot_valorpro.config import ValorProConfig
from otc_spot_valorpro.fake import create_app

TOKEN = "contract-token"


@pytest.fixture
async def spot_source() -> AsyncIterator[ValorProSpotSource]:
    server = LoopbackServer(create_app(TOKEN, seed=7))
    base_url = await server.start()
    try:
        async with httpx.AsyncClient() as http:
            yield ValorProSpotSource(ValorProConfig(base_url=base_url, token=TOKEN), http)
    finally:
        await server.stop()


@pytest.fixture
async def stopped_spot_source() -> AsyncIterator[ValorProSpotSource]:
    async with httpx.AsyncClient() as http:
        config = ValorProConfig(base_url=unreachable_base_url(), token=TOKEN)
        yield ValorProSpotSource(config, http)


class TestValorProContract(SpotSourceContract):
    pass
