from __future__ import annotations

from decimal import Decimal
from importlib.metadata import entry_points

import httpx

from otc_framework.ports import USDC_BRL, USDT_BRL
from otc_framework.testing.fake_venue import DemoSettings
from otc_framework.testing.plugin_host import plugin_manager
from otc_spot_binance import plugin
from otc_spot_binance.client import BinanceSpotSource
from otc_spot_binance.config import BinanceConfig
from otc_spot_binance.fake import PREMIUM, TICK, BinanceDemoVenue


def test_entry_point_names_the_plugin_module() -> None:
    [ep] = entry_points(group="otc_framework", name="spot_binance")
    assert ep.load() is plugin


def test_config_model_hook() -> None:
    assert plugin_manager("spot_binance", plugin).hook.otc_config_model() == [BinanceConfig]


async def test_spot_sources_hook_builds_the_adapter() -> None:
    async with httpx.AsyncClient() as http:
        [sources] = plugin_manager("spot_binance", plugin).hook.otc_spot_sources(config=BinanceConfig(), http=http)
    [source] = sources
    assert isinstance(source, BinanceSpotSource)
    assert source.name == "binance"
    assert source.instruments == (USDT_BRL, USDC_BRL)


async def test_demo_venue_serves_a_pinned_rate_end_to_end() -> None:
    [venue] = plugin_manager("spot_binance", plugin).hook.otc_demo_venue()
    assert isinstance(venue, BinanceDemoVenue)
    section = await venue.start("127.0.0.1", DemoSettings(sandbox_spot=Decimal("5.00")))
    try:
        config = BinanceConfig.model_validate(section)
        async with httpx.AsyncClient() as http:
            [sources] = plugin_manager("spot_binance", plugin).hook.otc_spot_sources(config=config, http=http)
            [quote] = await sources[0].fetch()
        assert quote.instrument == USDT_BRL
        assert quote.mid == (Decimal("5.00") * PREMIUM["USDTBRL"]).quantize(TICK)
        assert quote.bid == Decimal("5.004") and quote.ask == Decimal("5.006")
    finally:
        await venue.stop()
