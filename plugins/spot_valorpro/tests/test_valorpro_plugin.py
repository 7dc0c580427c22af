from __future__ import annotations

from decimal import Decimal
from importlib.metadata import entry_points

import httpx

from otc_framework.ports import USD_BRL
from otc_framework.testing.fake_venue import DemoSettings
from otc_framework.testing.plugin_host import plugin_manager
from otc_spot_valorpro import plugin
from otc_spot_valorpro.client import ValorProSpotSource
from otc_spot_valorpro.config import ValorProConfig
from otc_spot_valorpro.fake import ValorProDemoVenue


def test_entry_point_names_the_plugin_module() -> None:
    [ep] = entry_points(group="otc_framework", name="spot_valorpro")
    assert ep.load() is plugin


def test_config_model_hook() -> None:
    assert plugin_manager("spot_valorpro", plugin).hook.otc_config_model() == [ValorProConfig]


async def test_spot_sources_hook_builds_the_adapter() -> None:
    config = ValorProConfig(base_url="http://127.0.0.1:9", token="t")
    async with httpx.AsyncClient() as http:
        [sources] = plugin_manager("spot_valorpro", plugin).hook.otc_spot_sources(config=config, http=http)
    [source] = sources
    assert isinstance(source, ValorProSpotSource)
    assert source.name == "valorpro"
    assert source.instruments == (USD_BRL,)


async def test_demo_venue_serves_a_pinned_rate_end_to_end() -> None:
    [venue] = plugin_manager("spot_valorpro", plugin).hook.otc_demo_venue()
    assert isinstance(venue, ValorProDemoVenue)
    section = await venue.start("127.0.0.1", DemoSettings(sandbox_spot=Decimal("5.00")))
    try:
        config = ValorProConfig.model_validate(section)
        async with httpx.AsyncClient() as http:
            [sources] = plugin_manager("spot_valorpro", plugin).hook.otc_spot_sources(config=config, http=http)
            [quote] = await sources[0].fetch()
        assert quote.mid == quote.last == Decimal("5.00")
        assert quote.bid < quote.ask
    finally:
        await venue.stop()


async def test_demo_venue_drifts_without_a_sandbox_spot() -> None:
    venue = ValorProDemoVenue()
    section = await venue.start("127.0.0.1", DemoSettings())
    try:
        async with httpx.AsyncClient() as http:
            source = ValorProSpotSource(ValorProConfig.model_validate(section), http)
            [quote] = await source.fetch()
        assert Decimal("4.5") <= quote.mid <= Decimal("5.5")
    finally:
        await venue.stop()
