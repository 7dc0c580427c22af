"""``otc demo``: the embedded default, one process, nothing to install but the packages.

SQLite and the in-process store under the data dir; every installed plugin enabled against
its fake venue on loopback, and the desk's settlement endpoint (``[desk] url``) pointed at a
fake desk, so every outside party is faked (SPEC §19; the fakes run on their own event loop
in a background thread, so their ports are known before the app's config is validated);
migrations applied; a demo admin and one client per tier created on first start and written
to ``credentials.json`` with their WhatsApp group ids; it also lists each fake under ``venues`` (each answers
``GET /_inbox`` and ``POST /_fault``).

The desk is open around the clock unless ``--market-hours real``. ``OTC_SANDBOX_SPOT`` pins
the fake ValorPro USD/BRL rate.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import secrets
import socket
import threading
import tomllib
from collections.abc import Coroutine, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import replace
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, TypeVar

from otc_framework.admin.access import Actor
from otc_framework.admin.clients import create_client
from otc_framework.auth.api_keys import hash_api_key
from otc_framework.config import DeploymentConfig, build_config
from otc_framework.errors import ConfigError
from otc_framework.logs import configure_logging
from otc_framework.plugins import PluginHost, build_plugin_host, demo_venues, enabled_names
from otc_framework.storage.database import close_database, migrate, open_database
from otc_framework.storage.models import AuditSource, Client, Role, Tier
from otc_framework.storage.seed import seed_controls
from otc_framework.testing.fake_desk import DeskDemoVenue
from otc_framework.testing.fake_venue import DemoSettings, DemoVenue
from otc_framework.web.serve import serve_single

log = logging.getLogger(__name__)

DEMO_CONFIG = Path("deployments/demo/otc.toml")
CREDENTIALS_FILE = "credentials.json"
DESK_VENUE = "desk"
T = TypeVar("T")


def sandbox_settings(env: Mapping[str, str]) -> DemoSettings:
    raw = env.get("OTC_SANDBOX_SPOT")
    if raw is None:
        return DemoSettings()
    try:
        spot = Decimal(raw)
    except InvalidOperation:
        raise ConfigError(f"OTC_SANDBOX_SPOT: not a decimal: {raw!r}") from None
    if not spot.is_finite() or spot <= 0:
        raise ConfigError(f"OTC_SANDBOX_SPOT: must be a positive decimal, got {raw!r}")
    return DemoSettings(sandbox_spot=spot)


class VenueThread:
    """An event loop in a daemon thread that hosts the fake venues for the demo's lifetime."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.venues: dict[str, DemoVenue] = {}
        threading.Thread(target=self.loop.run_forever, name="demo-venues", daemon=True).start()

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=30)

    def start(self, venues: Mapping[str, DemoVenue], settings: DemoSettings) -> dict[str, Any]:
        """Start each venue; the config section of each plugin, pointing at its venue."""
        sections = {}
        for name, venue in venues.items():
            sections[name] = self.run(venue.start("127.0.0.1", settings))
            self.venues[name] = venue
        return sections

    def urls(self) -> dict[str, str | None]:
        return {name: venue.url for name, venue in self.venues.items()}

    def listing(self) -> dict[str, Any]:
        """Each fake as ``credentials.json`` lists it (``DemoVenue.listing``)."""
        return {name: venue.listing() for name, venue in self.venues.items()}

    def stop(self) -> None:
        for venue in self.venues.values():
            self.run(venue.stop())
        self.venues.clear()


def _jwt_secret(data_dir: Path) -> str:
    """Persisted so demo tokens survive a restart."""
    path = data_dir / "jwt-secret"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


def demo_config(
    base: Path, data_dir: Path, host: str, port: int, market_hours: str, env: Mapping[str, str],
    venues: VenueThread,
) -> DeploymentConfig:
    """The demo deployment, with every plugin that has a fake venue pointed at it (started on
    ``venues``)."""
    try:
        tree = tomllib.loads(base.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"config: file not found: {base} (run otc demo from the repository root, or pass --config)") from None
    tree.setdefault("server", {}).update(host=host, port=port, workers=1)
    tree["database"] = {"url": f"sqlite://{(data_dir / 'otc.sqlite3').resolve()}"}
    tree["auth"] = {**tree.get("auth", {}), "jwt_secret": _jwt_secret(data_dir)}
    tree.setdefault("market_hours", {})["always_open"] = market_hours != "real"
    tree["demo"] = True
    config = build_config(tree, env)

    # Fakes that call the desk (Evolution's webhooks) reach it on loopback, whatever it binds.
    desk_host = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    settings = replace(sandbox_settings(env), desk_url=f"http://{desk_host}:{port}")
    sections = venues.start(demo_venues(enabled_names(config)), settings)
    # The fake's connection settings win; other settings the file gives a plugin (pacing) stay.
    plugins = tree.get("plugins", {})
    tree["plugins"] = {**plugins, **{name: {**plugins.get(name, {}), **section} for name, section in sections.items()}}
    if "url" not in tree.get("desk", {}):  # a desk the deployment file names is kept
        tree["desk"] = {**tree.get("desk", {}), **venues.start({DESK_VENUE: DeskDemoVenue()}, settings)[DESK_VENUE]}
    return build_config(tree, env)


async def prepare_data(config: DeploymentConfig, plugins: PluginHost, data_dir: Path) -> dict[str, Any]:
    """Migrate, seed plugin controls, and make sure the demo credentials exist and work."""
    url = config.database.url.get_secret_value()
    await migrate(url)
    await open_database(url)
    try:
        await seed_controls(plugins.controls())
        return await _credentials(data_dir / CREDENTIALS_FILE)
    finally:
        await close_database()


async def _credentials(path: Path) -> dict[str, Any]:
    if path.exists():
        saved = json.loads(path.read_text())
        keys = [saved["admin"]["apiKey"], *(c["apiKey"] for c in saved["clients"])]
        if await Client.filter(api_key_hash__in=[hash_api_key(k) for k in keys]).count() == len(keys):
            return saved
        log.warning("demo credentials do not match the database; creating new demo clients")
    suffix = secrets.token_hex(3)
    demo = Actor("demo", AuditSource.SYSTEM)
    admin = await create_client(demo, f"demo-admin-{suffix}", Tier.T1, role=Role.ADMIN)
    credentials: dict[str, Any] = {"admin": {"name": admin.client.name, "apiKey": admin.api_key}, "clients": []}
    for n, tier in enumerate(Tier, start=1):
        created = await create_client(demo, f"demo-{tier.value.lower()}-{suffix}", tier, group_id=demo_group(n))
        credentials["clients"].append({"name": created.client.name, "tier": tier.value, "apiKey": created.api_key,
                                       "groupId": created.client.group_id})
    credentials["unmappedGroupId"] = demo_group(0)
    write_credentials(path, credentials)
    return credentials


def demo_group(n: int) -> str:
    """A WhatsApp group id for demo client ``n`` (``0``: a group mapped to no client, test mode)."""
    return f"1203630000000000{n:02d}@g.us"


def write_credentials(path: Path, credentials: dict[str, Any]) -> None:
    path.write_text(json.dumps(credentials, indent=2))
    path.chmod(0o600)


@contextmanager
def _held(host: str, port: int) -> Iterator[None]:
    """Keep ``port`` bound (not listening) meanwhile, when it can be; a port that cannot be
    held now is left for the desk's own bind to report."""
    holder = socket.socket()
    try:
        holder.bind((host, port))
    except OSError:
        pass
    try:
        yield
    finally:
        holder.close()


def run_demo(*, host: str, port: int, data_dir: Path, market_hours: str, config_path: Path) -> None:
    data_dir.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    configure_logging()
    venues = VenueThread()
    try:
        # Hold the desk's port while the fakes take theirs (any free port), so none of them is
        # handed the desk's own; it is let go just before the desk binds it.
        with _held(host, port):
            config = demo_config(config_path, data_dir, host, port, market_hours, env, venues)
        logging.getLogger().setLevel(config.logging.level)
        plugins = build_plugin_host(config, env=env)
        credentials = asyncio.run(prepare_data(config, plugins, data_dir))
        # The fakes listen on new ports at every start.
        credentials["venues"] = venues.listing()
        write_credentials(data_dir / CREDENTIALS_FILE, credentials)
        # The demo's keys go to the terminal on purpose (DESIGN: "printed at start"), not to
        # the log, whose redactor would mask them.
        banner = {
            "demo": f"http://{host}:{port}",
            "ready": f"http://{host}:{port}/health/ready",
            "credentials": str((data_dir / CREDENTIALS_FILE).resolve()),
            "admin": credentials["admin"],
            "clients": credentials["clients"],
            "venues": credentials["venues"],
            "plugins": plugins.enabled,
        }
        print(json.dumps(banner, indent=2), flush=True)
        serve_single(config, plugins, on_stopped=venues.stop)
    finally:
        venues.stop()
