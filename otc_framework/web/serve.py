"""Running the app: one process (the demo), or Sanic's worker manager with N workers.

Workers are separate processes that each build their own app from the deployment file, so
the factory handed to Sanic is a picklable ``partial`` of a module-level function; command
line overrides travel to the workers as ``OTC__SERVER__*`` environment variables, and the
metrics directory every worker writes to (``web.metrics``) likewise.
"""

from __future__ import annotations

import asyncio
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


def app_from_file(path: str) -> Sanic:
    config = load_config(path)
    configure_logging(config.logging.level)
    return create_app(config)


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
    app = create_app(config, plugins)
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
