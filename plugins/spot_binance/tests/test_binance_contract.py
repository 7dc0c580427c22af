from __future__ import annotations

import pytest

from otc_framework.testing.spot_contract import SpotSourceContract, unreachable_base_url
from otc_spot_binance.client import BinanceSpotSource
from otc_spot_binance.config import BinanceConfig
from otc_spot_binance.fake import create_app


@pytest.fixture
async def spot_source(loopback, http) -> BinanceSpotSource:  # noqa: ANN001
    # The default fake leaves USDCBRL unlisted, so the contract also covers a partial answer.
    server = await loopback(create_app(seed=3))
    return BinanceSpotSource(BinanceConfig(base_url=server.base_url), http)


@pytest.fixture
def stopped_spot_source(http) -> BinanceSpotSource:  # noqa: ANN001
    return BinanceSpotSource(BinanceConfig(base_url=unreachable_base_url()), http)


class TestBinanceContract(SpotSourceContract):
    pass
