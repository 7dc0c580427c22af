"""The fake against the real adapter: the switches tests and the demo rely on."""

from __future__ import annotations

from decimal import Decimal

import httpx
import pytest

from otc_framework.errors import VenueError, VenueRateLimited
from otc_framework.ports import USDC_BRL, USDT_BRL
from otc_framework.testing.fake_venue import LoopbackServer
from otc_spot_binance.client import BinanceSpotSource
from otc_spot_binance.config import BinanceConfig
from otc_spot_binance.fake import create_app


@pytest.fixture
async def fake(loopback) -> LoopbackServer:  # noqa: ANN001
    return await loopback(create_app(seed=5))


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _source(
    fake: LoopbackServer, http: httpx.AsyncClient, symbols: tuple[str, ...] | None = None, **clocks
) -> BinanceSpotSource:
    config = BinanceConfig(base_url=fake.base_url, **({"symbols": symbols} if symbols else {}))
    return BinanceSpotSource(config, http, **clocks)


async def test_unlisted_usdc_is_left_out_then_served_once_listed(fake, http) -> None:
    clock = Clock()
    source = _source(fake, http, clock=clock)
    assert [q.instrument for q in await source.fetch()] == [USDT_BRL]
    assert sorted(fake.app.ctx.requests) == ["USDCBRL", "USDTBRL"]
    fake.app.ctx.listed.add("USDCBRL")
    await source.fetch()
    assert fake.app.ctx.requests[2:] == ["USDTBRL"]
    clock.now += 600
    assert {q.instrument for q in await source.fetch()} == {USDT_BRL, USDC_BRL}


async def test_drifting_prices_are_on_the_tick_with_a_premium(fake, http) -> None:
    source = _source(fake, http, clock=Clock())
    mids = set()
    for _ in range(20):
        [quote] = await source.fetch()
        assert quote.bid < quote.ask
        assert quote.bid == quote.bid.quantize(Decimal("0.001"))
        assert Decimal("4.5") < quote.mid < Decimal("5.6")
        mids.add(quote.mid)
    assert len(mids) > 1


@pytest.mark.parametrize("status", [429, 418])
async def test_forced_back_off_is_honoured(fake, http, status: int) -> None:
    fake.app.ctx.fail_with = status
    fake.app.ctx.retry_after = 12
    source = _source(fake, http, clock=Clock(), symbols=("USDTBRL",))
    with pytest.raises(VenueRateLimited) as caught:
        await source.fetch()
    assert caught.value.retry_after == 12
    with pytest.raises(VenueRateLimited):
        await source.fetch()
    assert fake.app.ctx.requests == ["USDTBRL"]


async def test_forced_server_error(fake, http) -> None:
    fake.app.ctx.fail_with = 503
    with pytest.raises(VenueError, match="503"):
        await _source(fake, http).fetch()


async def test_reported_weight_drives_the_ceiling(fake, http) -> None:
    # Two requests report 4997 and 4999; the next read (USDTBRL only, weight 2) would pass 5000.
    fake.app.ctx.weight_offset = 4995
    # A wall clock pinned at the start of a minute keeps the test away from its turn.
    source = _source(fake, http, clock=Clock(), wall_clock=lambda: 60.0 * 29_916_667)
    await source.fetch()
    with pytest.raises(VenueRateLimited, match="ceiling"):
        await source.fetch()
    assert len(fake.app.ctx.requests) == 2


async def test_without_a_symbol_every_listed_ticker_is_served(fake, http) -> None:
    response = await http.get(fake.base_url + "/api/v3/ticker/bookTicker")
    assert [t["symbol"] for t in response.json()] == ["USDTBRL"]
    assert int(response.headers["X-MBX-USED-WEIGHT-1M"]) >= 2
