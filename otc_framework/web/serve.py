"""Running the app: one process (the demo), or Sanic's worker manager with N workers.

Workers are separate processes that each build their own app from the deployment file, so
the factory handed to Sanic is a picklable ``partial`` of a module-level function; command
line overrides travel to the workers as ``OTC__SERVER__*`` environment variables, and the
metrics directory every worker writes to (``web.metrics``) likewise.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

from sanic import Sanic
from sanic.worker.loader import AppLoader

from otc_framework.config import DeploymentConfig, load_config
from otc_framework.logs import configure_logging
from otc_framework.plugins import PluginHost
from otc_framework.web import metrics
from otc_framework.web.app import create_app


def app_from_file(path: str) -> Sanic:
    config = load_config(path)
    configure_logging(config.logging.level)
    return create_app(config)


def serve_workers(config: DeploymentConfig, path: Path) -> None:
    loader = AppLoader(factory=partial(app_from_file, str(path)))
    app = loader.load()
    app.prepare(
        host=config.server.host,
        port=config.server.port,
        workers=config.server.workers,
        access_log=config.server.access_log,
        motd=False,
    )
    with metrics.shared_across_workers():
        Sanic.serve(primary=app, app_loader=loader)


def serve_single(config: DeploymentConfig, plugins: PluginHost) -> None:
    app = create_app(config, plugins)
    app.prepare(
        host=config.server.host,
        port=config.server.port,
        single_process=True,
        access_log=config.server.access_log,
        motd=False,
    )
    Sanic.serve_single(app)
