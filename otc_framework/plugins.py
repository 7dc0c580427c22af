"""The plugin host: a pluggy manager holding exactly the plugins a deployment enables.

Plugins are found by entry-point name in the group ``otc_framework`` (folder, entry point and
config key share one name, e.g. ``spot_valorpro``). Tests and embedders pass modules directly
(``modules=``) and no entry point is loaded: autoload is off there.

Registration hooks that build adapters are called per plugin, with that plugin's validated
config, so each adapter receives only its own section.

The core's built-in plugins (``BUILTIN_PLUGINS``: the four execution modes) are registered
first, always, through the same manager; they have no config and are not "enabled" plugins.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from importlib.metadata import EntryPoint, entry_points
from types import ModuleType
from typing import Any, cast

import pluggy
from pydantic import BaseModel, SecretStr, ValidationError

from otc_framework import hookspecs
from otc_framework.builtin import execution_modes
from otc_framework.config import DeploymentConfig, first_error_line, resolve_env
from otc_framework.controls import CORE_CONTROLS, ControlDefinition
from otc_framework.errors import ConfigError
from otc_framework.ports import AlertSink, Channel, ExecutionStrategy, LiquidityProvider

ENTRY_POINT_GROUP = "otc_framework"
HOOK_PREFIX = "otc_"
BUILTIN_PLUGINS: Mapping[str, ModuleType] = {"builtin_execution_modes": execution_modes}


class OtcPluginManager(pluggy.PluginManager):
    """Refuses marked hook implementations whose name does not start with ``otc_``."""

    def __init__(self) -> None:
        super().__init__(hookspecs.PROJECT)
        self.add_hookspecs(hookspecs)

    def parse_hookimpl_opts(self, plugin: Any, name: str) -> Any:
        opts = super().parse_hookimpl_opts(plugin, name)
        if opts is not None and not name.startswith(HOOK_PREFIX):
            raise ConfigError(
                f"plugin {self.get_name(plugin) or plugin!r}: hook {name!r} must start with {HOOK_PREFIX!r}"
            )
        return opts


@dataclass(frozen=True, slots=True)
class InstalledPlugin:
    name: str
    distribution: str
    version: str


def _entry_points() -> dict[str, EntryPoint]:
    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


def installed_plugins() -> list[InstalledPlugin]:
    """Every plugin package installed in this environment, by entry-point name."""
    found = []
    for name, ep in sorted(_entry_points().items()):
        dist = ep.dist
        found.append(InstalledPlugin(name, dist.name if dist else "?", dist.version if dist else "?"))
    return found


def enabled_names(config: DeploymentConfig) -> list[str]:
    """The deployment's enabled plugins; ``"*"`` stands for every installed plugin (the demo)."""
    names: list[str] = []
    for name in config.plugins.enabled:
        names.extend(sorted(_entry_points()) if name == "*" else [name])
    return list(dict.fromkeys(names))


def demo_venues(names: Iterable[str]) -> dict[str, Any]:
    """The fake venue each of ``names`` offers for the demo (plugins without one are absent)."""
    pm = OtcPluginManager()
    for name in names:
        pm.register(load_entry_point(name), name=name)
    return {impl.plugin_name: venue for impl in pm.hook.otc_demo_venue.get_hookimpls()
            if (venue := impl.function()) is not None}


def load_entry_point(name: str) -> ModuleType:
    ep = _entry_points().get(name)
    if ep is None:
        raise ConfigError(
            f"plugin {name}: enabled but not installed (pip install otc-{name.replace('_', '-')})"
        )
    try:
        return ep.load()
    except Exception as exc:  # a broken plugin must not take a traceback to the operator
        raise ConfigError(f"plugin {name}: failed to import: {type(exc).__name__}: {exc}") from None


class PluginHost:
    """The enabled plugins, their validated configs, and typed access to what they register."""

    def __init__(self, pm: OtcPluginManager, configs: Mapping[str, BaseModel | None]) -> None:
        self.pm = pm
        self.configs = dict(configs)

    @property
    def hook(self) -> Any:
        """Notification hooks: ``host.hook.otc_closing_created(closing=...)``."""
        return self.pm.hook

    @property
    def enabled(self) -> list[str]:
        return list(self.configs)

    def per_plugin(self, hook_name: str, **kwargs: Any) -> dict[str, Any]:
        """Call a registration hook once per implementing plugin, each with its own config."""
        results = {}
        for impl in getattr(self.pm.hook, hook_name).get_hookimpls():
            args = dict(kwargs)
            if "config" in impl.argnames:
                args["config"] = self.configs.get(impl.plugin_name)
            result = impl.function(**{k: v for k, v in args.items() if k in impl.argnames})
            if result is not None:
                results[impl.plugin_name] = result
        return results

    def collect(self, hook_name: str, **kwargs: Any) -> list[Any]:
        """Flatten the per-plugin sequences a registration hook returns."""
        return [item for items in self.per_plugin(hook_name, **kwargs).values() for item in items]

    def spot_sources(self, http: Any) -> list[Any]:
        return self._unique("spot source", self.collect("otc_spot_sources", http=http))

    def liquidity_providers(self, http: Any) -> list[LiquidityProvider]:
        return self._unique("liquidity provider", self.collect("otc_liquidity_providers", http=http))

    def channels(self, http: Any) -> list[Channel]:
        return self._unique("chat channel", self.collect("otc_channels", http=http))

    def alert_sinks(self, http: Any) -> list[tuple[AlertSink, str]]:
        """Every enabled alert sink, each with the fingerprint of its plugin's configuration
        (a sink stopped for a bad configuration is active again once that changes)."""
        found = [(sink, self.fingerprint(plugin))
                 for plugin, sinks in self.per_plugin("otc_alert_sinks", http=http).items() for sink in sinks]
        self._unique("alert sink", [sink for sink, _ in found])
        return found

    def fingerprint(self, plugin: str) -> str:
        """A digest of ``plugin``'s validated config, secrets included, never the secrets themselves."""
        model = self.configs.get(plugin)
        raw = json.dumps(_revealed(model.model_dump()) if model is not None else None, sort_keys=True, default=str)
        return hashlib.sha256(raw.encode()).hexdigest()[:16]

    def routes(self) -> list[Any]:
        return self.collect("otc_routes")

    def execution_strategies(self) -> dict[str, ExecutionStrategy]:
        """Every registered ``exec_mode`` by name, the built-ins first, refusing a name registered twice."""
        found: dict[str, ExecutionStrategy] = {}
        owners: dict[str, str] = {}
        for plugin, strategies in self.per_plugin("otc_execution_strategies").items():
            for strategy in strategies:
                if strategy.name in owners:
                    raise ConfigError(
                        f"plugin {plugin}: exec_mode {strategy.name!r} is already registered by {owners[strategy.name]}"
                    )
                owners[strategy.name] = plugin
                found[strategy.name] = strategy
        return found

    def controls(self) -> list[ControlDefinition]:
        """The core's controls and every plugin's, refusing a key defined twice. ``exec_mode``
        accepts exactly the registered modes (the catalog's choices are the built-ins alone)."""
        modes = tuple(self.execution_strategies())
        core = [replace(c, choices=modes) if c.key == "exec_mode" else c for c in CORE_CONTROLS]
        seen = {c.key: c for c in core}
        merged = list(core)
        for plugin, defs in self.per_plugin("otc_controls").items():
            for defn in defs:
                if defn.key in seen:
                    raise ConfigError(f"plugin {plugin}: control {defn.key!r} is already defined by {seen[defn.key].owner}")
                defn = replace(defn, owner=plugin)
                seen[defn.key] = defn
                merged.append(defn)
        return merged

    def secrets(self) -> list[str]:
        """Secret values in plugin configs, for the log redactor."""
        return [s for model in self.configs.values() if model is not None for s in _secret_values(model)]

    def masked_configs(self) -> dict[str, Any]:
        return {name: (model.model_dump(mode="json") if model else {}) for name, model in self.configs.items()}

    @staticmethod
    def _unique(kind: str, adapters: list[Any]) -> list[Any]:
        names = [a.name for a in adapters]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ConfigError(f"plugins: two {kind}s are named {dupes[0]!r}")
        return adapters


def _revealed(value: Any) -> Any:
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    if isinstance(value, dict):
        return {k: _revealed(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_revealed(v) for v in value]
    return value


def _secret_values(model: BaseModel) -> Iterable[str]:
    for value in model.__dict__.values():
        if isinstance(value, SecretStr):
            yield value.get_secret_value()
        elif isinstance(value, BaseModel):
            yield from _secret_values(value)


def build_plugin_host(
    config: DeploymentConfig,
    *,
    modules: Mapping[str, ModuleType] | None = None,
    env: Mapping[str, str] | None = None,
) -> PluginHost:
    """Register the built-in plugins, then exactly the enabled ones, and validate each enabled
    plugin's config section.

    ``modules`` maps plugin names to already imported modules (tests, embedding); names not
    in it are loaded from their entry point. Any problem is one ``ConfigError`` line naming
    the plugin and, for config problems, the field.
    """
    env = os.environ if env is None else env
    modules = dict(modules or {})
    pm = OtcPluginManager()
    for name, module in BUILTIN_PLUGINS.items():
        pm.register(module, name=name)
    enabled = enabled_names(config)
    for name in enabled:
        module = modules.get(name) or load_entry_point(name)
        pm.register(module, name=name)
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        raise ConfigError(f"plugin {pm.get_name(exc.plugin)}: {exc}") from None

    configs: dict[str, BaseModel | None] = {name: None for name in enabled}
    for impl in pm.hook.otc_config_model.get_hookimpls():
        name = impl.plugin_name
        model_cls = cast("type[BaseModel] | None", impl.function())
        if model_cls is None:
            continue
        section = resolve_env(config.plugins.section(name), env, f"plugins.{name}")
        try:
            configs[name] = model_cls.model_validate(section)
        except ValidationError as exc:
            raise ConfigError(first_error_line(f"plugin {name}: config plugins.{name}.", exc)) from None
    return PluginHost(pm, configs)
