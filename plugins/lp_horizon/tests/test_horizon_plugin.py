"""The plugin as the core loads it: entry point, hooks, controls, config section, demo venue."""

from __future__ import annotations

from decimal import Decimal
from importlib.metadata import entry_points
from typing import Any

import httpx
import pytest
from pydantic import SecretStr, ValidationError

from otc_framework.controls import ControlKind
from otc_framework.errors import ConfigError
from otc_framework.testing.fake_venue import DemoSettings
from otc_framework.testing.plugin_host import plugin_host, plugin_manager
from otc_lp_horizon import plugin
from otc_lp_horizon.client import HorizonProvider
from otc_lp_horizon.config import HorizonConfig
from otc_lp_horizon.fake import HorizonDemoVenue

NAME = "lp_horizon"
API_KEY = "hz-plugin-secret-api-key-value"


def test_entry_point_names_the_plugin_module() -> None:
    [ep] = entry_points(group="otc_framework", name=NAME)
    assert ep.load() is plugin


def test_config_model_hook() -> None:
    assert plugin_manager(NAME, plugin).hook.otc_config_model() == [HorizonConfig]


def test_config_defaults_equal_the_controls_defaults() -> None:
    config = HorizonConfig(base_url="http://127.0.0.1:9", api_key=SecretStr(API_KEY))
    assert (config.timeout_seconds, config.chunk_size, config.quote_validity_seconds) == (5.0, Decimal("500000"), 8)
    [controls] = plugin_manager(NAME, plugin).hook.otc_controls()
    by_key = {c.key: c for c in controls}
    assert set(by_key) == {"exec_horizon_validity_sec", "exec_horizon_chunk_size"}
    validity, chunk = by_key["exec_horizon_validity_sec"], by_key["exec_horizon_chunk_size"]
    assert (validity.kind, validity.default) == (ControlKind.INT, config.quote_validity_seconds)
    assert (chunk.kind, chunk.default) == (ControlKind.DECIMAL, config.chunk_size)
    assert chunk.parse("250000") == Decimal("250000")


@pytest.mark.parametrize(
    "fields",
    [{"chunk_size": "0"}, {"chunk_size": "Infinity"}, {"quote_validity_seconds": 0}, {"timeout_seconds": 0}, {"extra": 1}],
)
def test_config_refuses_bad_values(fields: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        HorizonConfig.model_validate({"base_url": "http://x", "api_key": API_KEY, **fields})


def test_config_is_frozen() -> None:
    config = HorizonConfig(base_url="http://x", api_key=SecretStr(API_KEY))
    with pytest.raises(ValidationError):
        config.base_url = "http://y"  # type: ignore[misc]


def test_controls_reach_the_host_owned_by_the_plugin() -> None:
    host = plugin_host(NAME, plugin, {"base_url": "http://x", "api_key": API_KEY}, {})
    owned = {c.key: c.owner for c in host.controls() if c.key.startswith("exec_horizon_")}
    assert owned == {"exec_horizon_validity_sec": NAME, "exec_horizon_chunk_size": NAME}


async def test_liquidity_providers_hook_builds_the_adapter() -> None:
    config = HorizonConfig(base_url="http://127.0.0.1:9", api_key=SecretStr(API_KEY))
    async with httpx.AsyncClient() as http:
        [providers] = plugin_manager(NAME, plugin).hook.otc_liquidity_providers(config=config, http=http)
    [provider] = providers
    assert isinstance(provider, HorizonProvider)
    assert (provider.name, provider.trades_24x7) == ("horizon", False)


async def test_env_secret_is_resolved_and_never_shown() -> None:
    host = plugin_host(NAME, plugin, 
        {"base_url": "http://127.0.0.1:9", "api_key": {"$env": "OTC_HORIZON_API_KEY"}, "chunk_size": "250000"},
        {"OTC_HORIZON_API_KEY": API_KEY},
    )
    config = host.configs[NAME]
    assert isinstance(config, HorizonConfig)
    assert config.api_key.get_secret_value() == API_KEY
    assert config.chunk_size == Decimal("250000")
    assert API_KEY in host.secrets()
    assert API_KEY not in repr(config)
    assert API_KEY not in str(host.masked_configs())
    async with httpx.AsyncClient() as http:
        [provider] = host.collect("otc_liquidity_providers", http=http)
    assert API_KEY not in repr(provider)


def test_missing_env_secret_names_the_variable() -> None:
    with pytest.raises(ConfigError, match="OTC_HORIZON_API_KEY is not set"):
        plugin_host(NAME, plugin, {"base_url": "http://x", "api_key": {"$env": "OTC_HORIZON_API_KEY"}}, {})


def test_invalid_section_names_the_field_without_the_input() -> None:
    with pytest.raises(ConfigError, match="plugins.lp_horizon.chunk_size") as caught:
        plugin_host(NAME, plugin, {"base_url": "http://x", "api_key": API_KEY, "chunk_size": API_KEY}, {})
    assert API_KEY not in str(caught.value)
    with pytest.raises(ValidationError) as invalid:
        HorizonConfig.model_validate({"base_url": "http://x", "api_key": API_KEY, "api_kee": API_KEY})
    assert API_KEY not in str(invalid.value)


async def test_demo_venue_serves_the_pinned_market_end_to_end() -> None:
    [venue] = plugin_manager(NAME, plugin).hook.otc_demo_venue()
    assert isinstance(venue, HorizonDemoVenue)
    section = await venue.start("127.0.0.1", DemoSettings(sandbox_spot=Decimal("5.00")))
    try:
        config = HorizonConfig.model_validate(section)
        async with httpx.AsyncClient() as http:
            [providers] = plugin_manager(NAME, plugin).hook.otc_liquidity_providers(config=config, http=http)
            provider = providers[0]
            price = await provider.get_price("USDC", "D0")
            quote = await provider.request_quote("BUY", "USDC", "D0", Decimal("1200000"))
            fill = await provider.execute_quote(quote, "demo-order")
        assert (price.bid, price.ask) == (Decimal("5.0030"), Decimal("5.0050"))
        assert (fill.amount, fill.price, fill.chunks) == (Decimal("1200000"), Decimal("5.0050"), 3)
    finally:
        await venue.stop()
