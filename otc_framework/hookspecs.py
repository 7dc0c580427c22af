# Hook specifications declare signatures only: pluggy never runs their bodies.
# mypy: disable-error-code="empty-body"
"""Every hook a plugin may implement. Names start with ``otc_``; the manager refuses others.

Two kinds (DESIGN.md): *registration* hooks are called once at start-up and return adapters
or definitions; *notification* hooks tell plugins what happened. Hooks are synchronous and
cheap: pluggy does not await, so all I/O lives in the adapters' async methods.

Registration hooks that build adapters are called once **per plugin**, each with that
plugin's own validated config section (the instance of the model it returned from
``otc_config_model``, or ``None`` when it declares none) and the core's shared
``httpx.AsyncClient``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    import httpx
    from pydantic import BaseModel
    from sanic import Blueprint

    from otc_framework.controls import ControlDefinition
    from otc_framework.ports import (
        AlertSink,
        Channel,
        ExecutionStrategy,
        LiquidityProvider,
        SpotSource,
    )
    from otc_framework.testing.fake_venue import DemoVenue

PROJECT = "otc_framework"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


# --- registration hooks --------------------------------------------------------------------


@hookspec
def otc_config_model() -> type[BaseModel] | None:
    """The pydantic model of this plugin's ``[plugins.<name>]`` config section.

    The core resolves ``{"$env" = "NAME"}`` references, validates the section against it and
    refuses to start, naming the plugin and the field, when it does not validate.
    """


@hookspec
def otc_spot_sources(config: BaseModel | None, http: httpx.AsyncClient) -> Sequence[SpotSource]:
    """Spot sources this plugin provides, built from its config."""


@hookspec
def otc_liquidity_providers(
    config: BaseModel | None, http: httpx.AsyncClient
) -> Sequence[LiquidityProvider]:
    """Liquidity providers this plugin provides, built from its config."""


@hookspec
def otc_channels(config: BaseModel | None, http: httpx.AsyncClient) -> Sequence[Channel]:
    """Chat transports this plugin provides, built from its config."""


@hookspec
def otc_alert_sinks(config: BaseModel | None, http: httpx.AsyncClient) -> Sequence[AlertSink]:
    """Alert sinks this plugin provides, built from its config."""


@hookspec
def otc_execution_strategies(config: BaseModel | None) -> Sequence[ExecutionStrategy]:
    """Execution modes (``exec_mode`` values) this plugin provides."""


@hookspec
def otc_controls() -> Sequence[ControlDefinition]:
    """Runtime controls this plugin owns; they are listed, validated and audited like the
    core's. Keys must not collide with another plugin's or the core's."""


@hookspec
def otc_routes(config: BaseModel | None) -> Sequence[Blueprint]:
    """Sanic blueprints to mount (e.g. a chat transport's webhook)."""


@hookspec
def otc_demo_venue() -> DemoVenue | None:
    """A fake venue for ``otc demo``: started on loopback, it returns the config section that
    points this plugin at it."""


# --- notification hooks --------------------------------------------------------------------


@hookspec
def otc_spot_status_changed(source: str, fresh: bool, detail: str) -> None:
    """A spot source went stale or failing (``fresh`` False), or recovered."""


@hookspec
def otc_closing_created(closing: dict[str, Any]) -> None:
    """A closing was committed. ``closing`` is its admin view (JSON-ready)."""


@hookspec
def otc_closing_status_changed(closing: dict[str, Any], previous_status: str, actor: str) -> None:
    """A closing moved through its lifecycle."""


@hookspec
def otc_hedge_recorded(hedge: dict[str, Any]) -> None:
    """A hedge was recorded or changed status (pending, filled, failed)."""


@hookspec
def otc_control_changed(key: str, old: Any, new: Any, actor: str) -> None:
    """A runtime control changed."""

