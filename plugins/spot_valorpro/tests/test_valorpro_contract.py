from __future__ import annotations

import pytest

from otc_framework.testing.spot_contract import SpotSourceContract, unreachable_base_url
from otc_spot_valorpro.client import ValorProSpotSource
from otc_spot_valorpro.config import ValorProConfig
from otc_spot_valorpro.fake import create_app

TOKEN = "contract-token"


@pytest.fixture
async def spot_source(loopback, http) -> ValorProSpotSource:  # noqa: ANN001
    server = await loopback(create_app(TOKEN, seed=7))
    return ValorProSpotSource(ValorProConfig(base_url=server.base_url, token=TOKEN), http)


@pytest.fixture
def stopped_spot_source(http) -> ValorProSpotSource:  # noqa: ANN001
    return ValorProSpotSource(ValorProConfig(base_url=unreachable_base_url(), token=TOKEN), http)


class TestValorProContract(SpotSourceContract):
    pass
