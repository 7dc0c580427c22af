"""Running the app: one process (the demo), or Sanic's worker manager with N workers.

Workers are separate processes that each build their own app from the deployment file, so
the factory handed to Sanic is a picklable ``partial`` of a module-level function; command
line overrides travel to the workers as ``OTC__SERVER__*`` environment variables, and the
metrics directory every worker writes to (``web.metrics``) likewise.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
from collections.abc import Callable
from functools import partial
from pathlib import Path

from sanic import Sanic
from sanic.worker.loader import AppLoader

from otc_framework.config import DeploymentConfig, load_config
from otc_framework.logs import configure_logging
from otc_framework.plugins import PluginHost
from otc_framework.web import metrics
from otc_framework.web.app import create_app
from otc_framework.web.drain import close_port_on_stop
from otc_framework.web.supervise import replace_dead_workers

log = logging.getLogger(__name__)


def app_from_file(path: str) -> Sanic:
    config = load_config(path)
    configure_logging(config.logging.level)
    return serving(create_app(config))


def serving(app: Sanic) -> Sanic:
    """``app`` as a serving process runs it: its start-up heap frozen once it serves."""
    app.after_server_start(_freeze_heap)
    return app


async def _freeze_heap(_: Sanic) -> None:
    """Moves what start-up left alive (the app, its routes and schemas, the plugins, the
    libraries' modules) out of the cyclic collector's reach, after one collection of the
    start-up garbage. A full collection otherwise walks all of it: measured in the workers
    under bench/trading.py, 50 to 130 ms each, twice a run per worker while the load ran,
    during which the worker answers nothing and streams nothing. Nearly all of those objects
    live as long as the process; one dropped later is still freed by reference counting (only
    a cycle among them would stay), and what is made after start-up is collected as before.
    A serving process only: a test process builds and drops many apps."""
    gc.collect()
    gc.freeze()
    log.info("start-up heap frozen", extra={"objects": gc.get_freeze_count(), "pid": os.getpid()})


def serve_workers(config: DeploymentConfig, path: Path) -> int:
    """Serve until stopped; the exit status: 0, or 1 when the workers kept dying (``web.supervise``)."""
    loader = AppLoader(factory=partial(app_from_file, str(path)))
    app = loader.load()
    app.prepare(
        host=config.server.host,
        port=config.server.port,
        workers=config.server.workers,
        access_log=config.server.access_log,
        motd=False,
    )
    supervision = replace_dead_workers(app)
    close_port_on_stop(app)
    with metrics.shared_across_workers():
        Sanic.serve(primary=app, app_loader=loader)
    return 1 if supervision.gave_up else 0


def serve_single(config: DeploymentConfig, plugins: PluginHost, on_stopped: Callable[[], None] | None = None) -> None:
    """Serve in this process. ``on_stopped`` runs (in a thread) once the server has stopped,
    while other Sanic apps of the process still work: Sanic resets every app's routers when
    ``serve_single`` returns, so the demo's fakes must stop before that."""
    app = serving(create_app(config, plugins))
    if on_stopped is not None:
        async def stopped(_: Sanic) -> None:
            await asyncio.to_thread(on_stopped)

        app.after_server_stop(stopped)
    app.prepare(
        host=config.server.host,
        port=config.server.port,
        single_process=True,
        access_log=config.server.access_log,
        motd=False,
    )
    Sanic.serve_single(app)
