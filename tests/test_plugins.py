"""The plugin host loads exactly the enabled plugins and refuses what it cannot trust."""

from __future__ import annotations

import types

import pytest
from pydantic import BaseModel, SecretStr

from otc_framework.controls import ControlDefinition, ControlKind
from otc_framework.errors import ConfigError
from otc_framework.hookspecs import hookimpl
from otc_framework.plugins import build_plugin_host, installed_plugins
from tests import scripted_plugin
from tests.conftest import make_config


def plugin_module(name: str, **functions: object) -> types.ModuleType:
    module = types.ModuleType(name)
    for key, function in functions.items():
        setattr(module, key, function)
    return module


def config_with(*enabled: str, **sections: dict) -> object:
    return make_config("sqlite:///tmp/unused.sqlite3", plugins={"enabled": list(enabled), **sections})


def test_only_enabled_plugins_are_registered() -> None:
    host = build_plugin_host(config_with("scripted"), modules={"scripted": scripted_plugin.plugin}, env={})
    assert host.enabled == ["scripted"]
    assert [s.name for s in host.spot_sources(http=None)] == ["scripted"]


def test_enabled_but_not_installed_is_one_line() -> None:
    with pytest.raises(ConfigError) as error:
        build_plugin_host(config_with("lp_nowhere"), env={})
    assert str(error.value) == "plugin lp_nowhere: enabled but not installed (pip install otc-lp-nowhere)"


def test_bad_plugin_field_names_plugin_and_field() -> None:
    config = config_with("scripted", scripted={"rate": "not-a-number"})
    with pytest.raises(ConfigError, match=r"^plugin scripted: config plugins.scripted.rate: "):
        build_plugin_host(config, modules={"scripted": scripted_plugin.plugin}, env={})


def test_missing_plugin_secret_names_the_variable() -> None:
    config = config_with("scripted", scripted={"name": {"$env": "SCRIPTED_NAME"}})
    with pytest.raises(ConfigError, match="plugins.scripted.name: environment variable SCRIPTED_NAME is not set"):
        build_plugin_host(config, modules={"scripted": scripted_plugin.plugin}, env={})


def test_hook_without_otc_prefix_is_refused() -> None:
    @hookimpl
    def spot_sources(config, http):  # noqa: ANN001, ANN202 - the wrong name is the point
        return []

    with pytest.raises(ConfigError, match="hook 'spot_sources' must start with 'otc_'"):
        build_plugin_host(config_with("rogue"), modules={"rogue": plugin_module("rogue", spot_sources=spot_sources)}, env={})


def test_unknown_otc_hook_is_refused() -> None:
    @hookimpl
    def otc_spot_sourcez(config, http):  # noqa: ANN001, ANN202 - a typo must not pass silently
        return []

    with pytest.raises(ConfigError, match="plugin typo"):
        build_plugin_host(config_with("typo"), modules={"typo": plugin_module("typo", otc_spot_sourcez=otc_spot_sourcez)}, env={})


def test_plugin_controls_join_the_core_and_collisions_are_refused() -> None:
    mine = ControlDefinition("exec_mine_validity_sec", ControlKind.INT, 17, "validity")

    @hookimpl
    def otc_controls():  # noqa: ANN202
        return [mine]

    host = build_plugin_host(config_with("mine"), modules={"mine": plugin_module("mine", otc_controls=otc_controls)}, env={})
    owned = {c.key: c.owner for c in host.controls()}
    assert owned["exec_mine_validity_sec"] == "mine" and owned["quoting_enabled"] == "core"

    @hookimpl
    def otc_controls_clash():  # noqa: ANN202
        return [ControlDefinition("quoting_enabled", ControlKind.BOOL, False, "clash")]

    clash = plugin_module("clash", otc_controls=otc_controls_clash)
    with pytest.raises(ConfigError, match="control 'quoting_enabled' is already defined by core"):
        build_plugin_host(config_with("clash"), modules={"clash": clash}, env={}).controls()


def test_plugin_secrets_are_known_to_the_redactor() -> None:
    class WithSecret(BaseModel):
        token: SecretStr

    @hookimpl
    def otc_config_model():  # noqa: ANN202
        return WithSecret

    host = build_plugin_host(
        config_with("sec", sec={"token": "tok-123456789"}), modules={"sec": plugin_module("sec", otc_config_model=otc_config_model)}, env={}
    )
    assert host.secrets() == ["tok-123456789"]
    assert host.masked_configs() == {"sec": {"token": "**********"}}


def test_installed_spot_plugins_are_found_by_entry_point() -> None:
    names = {p.name for p in installed_plugins()}
    assert {"spot_valorpro", "spot_binance"} <= names
