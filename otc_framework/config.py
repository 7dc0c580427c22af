"""Deployment config: one TOML file per deployment, environment overrides, secrets by reference.

Resolution order, each step validated:

1. the TOML file (``deployments/<kind>/otc.toml``);
2. environment overrides ``OTC__<SECTION>__<KEY>=value`` (case-insensitive, ``__`` nests),
   so a container can change ``server.port`` without editing the file;
3. ``{"$env" = "NAME"}`` references anywhere in the tree are replaced by that variable's
   value; an unset variable stops start-up with one line naming the field and the variable.

Plugin sections (``[plugins.<name>]``) are kept raw here and validated by the plugin host
against each enabled plugin's own model (``otc_config_model``), so a disabled plugin's missing
secret never blocks start-up.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Iterable, Mapping
from datetime import time
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    HttpUrl,
    IPvAnyNetwork,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from otc_framework.errors import ConfigError
from otc_framework.ports import SEVERITIES, Severity

ENV_PREFIX = "OTC__"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ServerConfig(_Section):
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535)
    workers: int = Field(1, ge=1, le=64)
    access_log: bool = False
    # SIGTERM: how long in-flight requests may take to finish before their connections are cut
    # (the loops' hand-over comes first and takes at most HAND_OVER_GRACE_SECONDS).
    drain_seconds: float = Field(10.0, gt=0, le=300)
    # Addresses or networks of the load balancers: only a request from one of them has its
    # X-Forwarded-For believed (its last address, the one the proxy saw).
    trusted_proxies: tuple[IPvAnyNetwork, ...] = ()

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _listed(cls, value: object) -> object:
        # "10.0.0.10, 10.0.1.0/24" from an OTC__SERVER__TRUSTED_PROXIES variable.
        return tuple(item.strip() for item in value.split(",") if item.strip()) if isinstance(value, str) else value


class DatabaseConfig(_Section):
    url: SecretStr = Field(description="sqlite:///path/otc.sqlite3 or postgres://user:pass@host:5432/db")

    @field_validator("url")
    @classmethod
    def _known_scheme(cls, value: SecretStr) -> SecretStr:
        scheme = value.get_secret_value().split("://", 1)[0]
        if scheme not in {"sqlite", "postgres", "postgresql", "asyncpg"}:
            raise ValueError(f"unsupported database scheme {scheme!r} (use sqlite:// or postgres://)")
        return value


class StoreConfig(_Section):
    url: SecretStr = Field(description="memory:// (one worker), redis://[:password@]host:port/db, or "
                                      "redis+sentinel://[:password@]host:26379[,host:port…]/<service>[/db]")
    namespace: str = "otc"


class AuthConfig(_Section):
    jwt_secret: SecretStr | None = None
    token_ttl_hours: int = Field(12, ge=1, le=24)

    @field_validator("jwt_secret")
    @classmethod
    def _long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 32:
            raise ValueError("must be at least 32 characters")
        return value


class MarketHoursConfig(_Section):
    timezone: str = "America/Sao_Paulo"
    open: time = time(9, 5)
    close: time = time(16, 55)
    always_open: bool = False

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value


class SpotConfig(_Section):
    poll_interval_seconds: float = Field(1.0, gt=0, le=60)


class LpFeedConfig(_Section):
    """How the LP feed keeps its ticks in ``spot_ticks`` (SPEC §10). Ticks are written in
    batches: once ``batch_size`` are buffered, or when the oldest has waited ``flush_seconds``.
    Rows older than ``retention_days`` are deleted, at most once an hour."""

    retention_days: int = Field(30, ge=1, le=3650)
    batch_size: int = Field(100, ge=1, le=10_000)
    flush_seconds: float = Field(10.0, gt=0, le=3600)


class ExecutionConfig(_Section):
    """How the execution engine drives hedges (SPEC §10). ``concurrency`` hedges are worked at
    once; an LP's circuit breaker opens after ``breaker_failures`` consecutive failures and
    stays open ``breaker_cooldown_seconds``; an unknown outcome is asked of the venue after
    ``check_first_seconds``, then doubling up to ``check_max_seconds``; the venue's "not
    found" is believed only ``not_found_grace_seconds`` after the order's quote expired (an
    order still in flight cannot fill an expired quote)."""

    concurrency: int = Field(8, ge=1, le=256)
    breaker_failures: int = Field(3, ge=1, le=100)
    breaker_cooldown_seconds: float = Field(60.0, gt=0, le=3600)
    check_first_seconds: float = Field(1.0, gt=0, le=600)
    check_max_seconds: float = Field(60.0, gt=0, le=3600)
    not_found_grace_seconds: float = Field(2.0, ge=0, le=600)


class BotConfig(_Section):
    """The chat bot's session rhythm, deduplication and delivery (SPEC §12).

    A session sends ``max_quotes_per_session`` quotes ``quote_interval_seconds`` apart, then
    "Off" ``off_delay_seconds`` after the last, then accepts ``/fecha`` for
    ``closing_window_seconds``. Its state lives in the store for ``session_ttl_seconds``.
    A message id is remembered for ``dedup_seconds`` (Evolution 2.3 retries a webhook for about
    20 minutes), and a command older than ``max_message_age_seconds`` by its own timestamp is
    ignored (a retried ``/ref`` from a quarter of an hour ago must not start quoting). A reply
    is abandoned after ``send_timeout_seconds`` and retried, and given up after
    ``max_attempts`` tries.
    """

    max_quotes_per_session: int = Field(7, ge=1, le=50)
    quote_interval_seconds: float = Field(5.0, gt=0, le=300)
    off_delay_seconds: float = Field(5.0, ge=0, le=300)
    closing_window_seconds: float = Field(5.0, gt=0, le=300)
    session_ttl_seconds: float = Field(300.0, ge=30, le=3600)
    dedup_seconds: float = Field(1800.0, ge=120, le=86400)
    max_message_age_seconds: float = Field(120.0, gt=0, le=86400)
    send_timeout_seconds: float = Field(10.0, gt=0, le=120)
    max_attempts: int = Field(5, ge=1, le=100)
    max_backoff_seconds: float = Field(30.0, gt=0, le=3600)


class PricingConfig(_Section):
    """Which spot source prices quotes (SPEC §4 spot mode), and which one is snapshotted as
    the second reference (``binanceAtQuote``); names are spot sources' names."""

    spot_source: str = "valorpro"
    spot_instrument: str = "USD/BRL"
    second_source: str | None = "binance"
    second_instrument: str = "USDT/BRL"


class RateLimitsConfig(_Section):
    """Token buckets (SPEC §7): login attempts per caller IP, quotes per client.

    ``*_burst`` is the bucket's capacity; ``*_per_second`` its refill rate.
    """

    login_burst: int = Field(10, ge=1)
    login_per_second: float = Field(0.2, gt=0)
    quote_burst: int = Field(50, ge=1)
    quote_per_second: float = Field(20.0, gt=0)


class DeskConfig(_Section):
    """Where ``send-to-desk`` posts a paid trade (SPEC §9): the desk's own settlement system.

    Without ``url`` the action answers NOT_READY. ``token`` goes out as ``Authorization:
    Bearer``; give it as ``{"$env" = "NAME"}``. A call is tried up to ``attempts`` times on
    transport errors, timeouts, 5xx and 429, sleeping ``retry_backoff_seconds`` × attempt
    between tries (or the desk's ``Retry-After``, capped at a few seconds).
    """

    url: HttpUrl | None = None
    token: SecretStr | None = None
    timeout_seconds: float = Field(5.0, gt=0, le=60)
    attempts: int = Field(3, ge=1, le=10)
    retry_backoff_seconds: float = Field(0.5, ge=0, le=30)


class SinkRouting(_Section):
    """Which alerts one sink receives (``[alerts.sinks.<sink name>]``, e.g. ``telegram``).

    ``kinds`` empty means every kind; an entry ending in ``.*`` matches a family
    (``spot.*``). ``per_minute`` overrides the sink's own pace when the venue's limit for
    this chat or webhook is lower.
    """

    min_severity: Severity = "info"
    kinds: list[str] = Field(default_factory=list)
    per_minute: int | None = Field(None, ge=1, le=600)

    def accepts(self, kind: str, severity: Severity) -> bool:
        if SEVERITIES.index(severity) < SEVERITIES.index(self.min_severity):
            return False
        return not self.kinds or any(
            kind == pattern or (pattern.endswith(".*") and kind.startswith(pattern[:-1])) for pattern in self.kinds
        )


class AlertsConfig(_Section):
    """Alert deduplication and delivery (SPEC §13).

    An alert whose dedup key was raised within ``dedup_seconds`` is dropped. A delivery is
    given up after ``max_attempts`` failed tries; back-off between tries doubles from the
    sink's own base up to ``max_backoff_seconds``; one try is abandoned (and retried) after
    ``send_timeout_seconds``.
    """

    dedup_seconds: float = Field(300, ge=0, le=86400)
    max_attempts: int = Field(12, ge=1, le=1000)
    max_backoff_seconds: float = Field(300, gt=0, le=86400)
    send_timeout_seconds: float = Field(10, gt=0, le=120)
    sinks: dict[str, SinkRouting] = Field(default_factory=dict)

    def routing(self, sink: str) -> SinkRouting:
        return self.sinks.get(sink) or SinkRouting()

    def check_sinks(self, enabled: Iterable[str]) -> None:
        """Refuse routing for a sink no enabled plugin provides (a typo would silently route nothing)."""
        unknown = sorted(set(self.sinks) - set(enabled))
        if unknown:
            raise ConfigError(f"config: alerts.sinks.{unknown[0]}: no enabled plugin provides an alert sink of that name")


class LoggingConfig(_Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"


class PluginsConfig(BaseModel):
    """``enabled`` names plugins by entry-point name; every other key is a plugin's section."""

    model_config = ConfigDict(extra="allow")
    enabled: list[str] = Field(default_factory=list)

    def section(self, name: str) -> dict[str, Any]:
        raw = (self.model_extra or {}).get(name, {})
        if not isinstance(raw, dict):
            raise ConfigError(f"config: plugins.{name}: expected a table")
        return raw


class DeploymentConfig(_Section):
    name: str = "otc"
    demo: bool = False
    server: ServerConfig = Field(default_factory=ServerConfig)
    database: DatabaseConfig
    store: StoreConfig
    auth: AuthConfig = Field(default_factory=AuthConfig)
    market_hours: MarketHoursConfig = Field(default_factory=MarketHoursConfig)
    spot: SpotConfig = Field(default_factory=SpotConfig)
    lp_feed: LpFeedConfig = Field(default_factory=LpFeedConfig)
    execution: ExecutionConfig = Field(default_factory=ExecutionConfig)
    pricing: PricingConfig = Field(default_factory=PricingConfig)
    rate_limits: RateLimitsConfig = Field(default_factory=RateLimitsConfig)
    desk: DeskConfig = Field(default_factory=DeskConfig)
    alerts: AlertsConfig = Field(default_factory=AlertsConfig)
    bot: BotConfig = Field(default_factory=BotConfig)
    logging: LoggingConfig = Field(default_factory=LoggingConfig)
    plugins: PluginsConfig = Field(default_factory=PluginsConfig)

    @model_validator(mode="after")
    def _secret_outside_demo(self) -> DeploymentConfig:
        if not self.demo and self.auth.jwt_secret is None:
            raise ValueError("auth.jwt_secret: required outside the demo (e.g. {\"$env\" = \"OTC_JWT_SECRET\"})")
        return self

    def secrets(self) -> list[str]:
        """Secret values of the core sections, for the log redactor."""
        values = [self.database.url, self.store.url, self.auth.jwt_secret, self.desk.token]
        return [v.get_secret_value() for v in values if v is not None]


def resolve_env(value: Any, env: Mapping[str, str], path: str = "") -> Any:
    """Replace ``{"$env" = "NAME"}`` references with the variable's value, recursively."""
    if isinstance(value, dict):
        if set(value) == {"$env"}:
            name = value["$env"]
            if name not in env:
                raise ConfigError(f"config: {path}: environment variable {name} is not set")
            return env[name]
        return {k: resolve_env(v, env, f"{path}.{k}" if path else k) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve_env(v, env, f"{path}[{i}]") for i, v in enumerate(value)]
    return value


def apply_env_overrides(tree: dict[str, Any], env: Mapping[str, str]) -> dict[str, Any]:
    """Apply ``OTC__SECTION__KEY=value`` variables onto the raw tree."""
    for name, value in sorted(env.items()):
        if not name.upper().startswith(ENV_PREFIX):
            continue
        path = [part.lower() for part in name[len(ENV_PREFIX):].split("__") if part]
        if not path:
            continue
        node = tree
        for part in path[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise ConfigError(f"config: {name}: {'.'.join(path)} crosses a non-table value")
            node = child
        node[path[-1]] = value
    return tree


def first_error_line(prefix: str, error: ValidationError) -> str:
    """One line for a pydantic error: where, and what; the rest counted, not listed."""
    errors = error.errors(include_url=False, include_input=False)
    first = errors[0]
    where = ".".join(str(p) for p in first["loc"])
    message = first["msg"].removeprefix("Value error, ")
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{prefix}{where}: {message}{more}" if where else f"{prefix}{message}{more}"


def build_config(tree: dict[str, Any], env: Mapping[str, str] | None = None) -> DeploymentConfig:
    """Validate a raw config tree (already read from TOML) with overrides and secrets applied."""
    env = os.environ if env is None else env
    tree = apply_env_overrides(dict(tree), env)
    plugins = tree.pop("plugins", {})
    resolved = resolve_env(tree, env)
    try:
        config = DeploymentConfig.model_validate({**resolved, "plugins": plugins})
    except ValidationError as exc:
        raise ConfigError(first_error_line("config: ", exc)) from None
    return config


def load_config(path: str | Path, env: Mapping[str, str] | None = None) -> DeploymentConfig:
    """Read and validate a deployment file; any problem is one ``ConfigError`` line."""
    path = Path(path)
    try:
        tree = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"config: file not found: {path}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config: {path}: invalid TOML: {exc}") from None
    return build_config(tree, env)
