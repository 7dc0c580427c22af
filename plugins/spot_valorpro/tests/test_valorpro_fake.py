"""The fake against the real adapter: the switches tests and the demo rely on."""

from __future__ import annotations

from decimal import Decimal

import httpx
import pytest

from otc_framework.errors import VenueError, VenueRateLimited
from otc_framework.testing.fake_venue import LoopbackServer
from otc_spot_valorpro.client import ValorProSpotSource
from otc_spot_valorpro.config import ValorProConfig
from otc_spot_valorpro.fake import create_app

TOKEN = "fake-token"


@pytest.fixture
async def fake(loopback) -> LoopbackServer:  # noqa: ANN001
    return await loopback(create_app(TOKEN, seed=1))


def _source(fake: LoopbackServer, http: httpx.AsyncClient, token: str = TOKEN) -> ValorProSpotSource:
    return ValorProSpotSource(ValorProConfig(base_url=fake.base_url, token=token), http)


async def test_wrong_token_is_refused(fake, http) -> None:
    with pytest.raises(VenueError, match="unauthorized"):
        await _source(fake, http, token="wrong").fetch()


async def test_drifting_price_stays_near_five_on_the_tick(fake, http) -> None:
    mids = set()
    for _ in range(20):
        [quote] = await _source(fake, http).fetch()
        assert quote.bid < quote.ask
        assert Decimal("4.5") <= quote.mid <= Decimal("5.5")
        assert quote.bid == quote.bid.quantize(Decimal("0.0001"))
        mids.add(quote.mid)
    assert len(mids) > 1


async def test_pinned_spot(fake, http) -> None:
    fake.app.ctx.rate.pinned = Decimal("5.2500")
    [quote] = await _source(fake, http).fetch()
    assert quote.mid == quote.last == Decimal("5.2500")


async def test_forced_failures(fake, http) -> None:
    source = _source(fake, http)
    fake.app.ctx.fail_with = 429
    fake.app.ctx.retry_after = 9
    with pytest.raises(VenueRateLimited) as caught:
        await source.fetch()
    assert caught.value.retry_after == 9
    fake.app.ctx.fail_with = 503
    with pytest.raises(VenueError, match="503"):
        await source.fetch()
    fake.app.ctx.fail_with = None
    assert await source.fetch()
    assert fake.app.ctx.requests == 3
