"""Loading one plugin exactly as the core does, for that plugin's own tests: its hooks
registered under its name, and its config section resolved (``$env``) and validated."""

from __future__ import annotations

from types import ModuleType
from typing import Any

from otc_framework.config import build_config
from otc_framework.plugins import OtcPluginManager, PluginHost, build_plugin_host


def plugin_manager(name: str, module: ModuleType) -> OtcPluginManager:
    """A plugin manager holding only ``module``, registered as ``name``."""
    manager = OtcPluginManager()
    manager.register(module, name=name)
    return manager


def plugin_host(name: str, module: ModuleType, section: dict[str, Any], env: dict[str, str]) -> PluginHost:
    """The plugin host of a deployment enabling only ``name`` with ``section`` as its config,
    ``$env`` references read from ``env``."""
    config = build_config(
        {
            "database": {"url": "sqlite:///tmp/unused.sqlite3"},
            "store": {"url": "memory://"},
            "auth": {"jwt_secret": "j" * 32},
            "plugins": {"enabled": [name], name: section},
        },
        env={},
    )
    return build_plugin_host(config, modules={name: module}, env=env)
