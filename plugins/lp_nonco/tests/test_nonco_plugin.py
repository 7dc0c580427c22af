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
from otc_lp_nonco import plugin
from otc_lp_nonco.client import NoncoProvider
from otc_lp_nonco.config import NoncoConfig
from otc_lp_nonco.fake import NoncoDemoVenue

NAME = "lp_nonco"
API_KEY = "nc-plugin-secret-api-key-value"
API_SECRET = "nc-plugin-signing-secret-value"


def _config(**fields: Any) -> NoncoConfig:
    return NoncoConfig(api_key=SecretStr(API_KEY), api_secret=SecretStr(API_SECRET), **fields)


def test_entry_point_names_the_plugin_module() -> None:
    [ep] = entry_points(group="otc_framework", name=NAME)
    assert ep.load() is plugin


def test_config_model_hook() -> None:
    assert plugin_manager(NAME, plugin).hook.otc_config_model() == [NoncoConfig]


def test_config_defaults_equal_the_controls_default() -> None:
    config = _config()
    assert (config.host, config.url, config.quote_validity_seconds) == ("noncouat.com", None, 17)
    [controls] = plugin_manager(NAME, plugin).hook.otc_controls()
    [validity] = controls
    assert (validity.key, validity.kind, validity.default) == ("exec_nonco_validity_sec", ControlKind.INT, 17)


@pytest.mark.parametrize(
    "fields",
    [{"quote_validity_seconds": 0}, {"request_timeout_seconds": 0}, {"silence_seconds": -1},
     {"url": "http://x/ws/v1"}, {"host": "wss://noncouat.com/ws"}, {"extra": 1}],
)
def test_config_refuses_bad_values(fields: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        NoncoConfig.model_validate({"api_key": API_KEY, "api_secret": API_SECRET, **fields})


def test_config_is_frozen() -> None:
    config = _config()
    with pytest.raises(ValidationError):
        config.host = "noncotrading.com"  # type: ignore[misc]


def test_controls_reach_the_host_owned_by_the_plugin() -> None:
    host = plugin_host(NAME, plugin, {"api_key": API_KEY, "api_secret": API_SECRET}, {})
    owned = {c.key: c.owner for c in host.controls() if c.key.startswith("exec_nonco_")}
    assert owned == {"exec_nonco_validity_sec": NAME}


async def test_liquidity_providers_hook_builds_the_adapter() -> None:
    async with httpx.AsyncClient() as http:
        [providers] = plugin_manager(NAME, plugin).hook.otc_liquidity_providers(config=_config(), http=http)
    [provider] = providers
    assert isinstance(provider, NoncoProvider)
    assert (provider.name, provider.trades_24x7) == ("nonco", True)


async def test_env_secrets_are_resolved_and_never_shown() -> None:
    host = plugin_host(NAME, plugin, 
        {"host": "noncotrading.com", "api_key": {"$env": "OTC_NONCO_API_KEY"},
         "api_secret": {"$env": "OTC_NONCO_API_SECRET"}},
        {"OTC_NONCO_API_KEY": API_KEY, "OTC_NONCO_API_SECRET": API_SECRET},
    )
    config = host.configs[NAME]
    assert isinstance(config, NoncoConfig)
    assert (config.api_key.get_secret_value(), config.api_secret.get_secret_value()) == (API_KEY, API_SECRET)
    assert {API_KEY, API_SECRET} <= set(host.secrets())
    for secret in (API_KEY, API_SECRET):
        assert secret not in repr(config)
        assert secret not in str(host.masked_configs())
    async with httpx.AsyncClient() as http:
        [provider] = host.collect("otc_liquidity_providers", http=http)
    assert API_KEY not in repr(provider) and API_SECRET not in repr(provider)
    assert "wss://noncotrading.com/ws/v1" in repr(provider)


def test_missing_env_secret_names_the_variable() -> None:
    with pytest.raises(ConfigError, match="OTC_NONCO_API_SECRET is not set"):
        plugin_host(NAME, plugin, {"api_key": API_KEY, "api_secret": {"$env": "OTC_NONCO_API_SECRET"}}, {})


def test_invalid_section_names_the_field_without_the_input() -> None:
    with pytest.raises(ConfigError, match="plugins.lp_nonco.silence_seconds") as caught:
        plugin_host(NAME, plugin, {"api_key": API_KEY, "api_secret": API_SECRET, "silence_seconds": API_SECRET}, {})
    assert API_SECRET not in str(caught.value)


async def test_demo_venue_serves_the_pinned_market_end_to_end() -> None:
    [venue] = plugin_manager(NAME, plugin).hook.otc_demo_venue()
    assert isinstance(venue, NoncoDemoVenue)
    section = await venue.start("127.0.0.1", DemoSettings(sandbox_spot=Decimal("5.00")))
    try:
        config = NoncoConfig.model_validate(section)
        async with httpx.AsyncClient() as http:
            [providers] = plugin_manager(NAME, plugin).hook.otc_liquidity_providers(config=config, http=http)
        provider = providers[0]
        try:
            price = await provider.get_price("USDC", "D0")
            quote = await provider.request_quote("BUY", "USDC", "D0", Decimal("1200000"))
            fill = await provider.execute_quote(quote, "demo-order")
        finally:
            await provider.aclose()
        assert (price.bid, price.ask) == (Decimal("5.0030"), Decimal("5.0050"))
        assert (fill.amount, fill.price, fill.chunks) == (Decimal("1200000"), Decimal("5.0050"), 1)
    finally:
        await venue.stop()
