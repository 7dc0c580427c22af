"""``create_app(config)``: the Sanic app of one deployment.

Built once per worker process. Shared objects live on ``app.ctx`` (``config``, ``plugins``,
``runtime``); the runtime opens in ``before_server_start`` and closes in
``after_server_stop``, so a worker that cannot reach its dependencies never serves.
"""

from __future__ import annotations

import re
import uuid

from sanic import Sanic

from otc_framework.admin.routes import BLUEPRINTS as ADMIN_BLUEPRINTS
from otc_framework.auth import routes as auth_routes
from otc_framework.closings import routes as closing_routes
from otc_framework.config import DeploymentConfig
from otc_framework.logs import register_secrets
from otc_framework.pages import routes as page_routes
from otc_framework.plugins import PluginHost, build_plugin_host
from otc_framework.pricing import routes as price_routes
from otc_framework.pricing import stream_routes as price_stream_routes
from otc_framework.runtime.worker import Runtime
from otc_framework.sessions import routes as session_routes
from otc_framework.web import drain, health, limits, metrics, openapi
from otc_framework.web.problems import ProblemErrorHandler
from otc_framework.web.request import DeskRequest


def _app_name(config: DeploymentConfig, unique: bool) -> str:
    base = re.sub(r"[^A-Za-z0-9_]", "_", config.name) or "otc"
    base = base if base[0].isalpha() else f"otc_{base}"
    return f"{base}_{uuid.uuid4().hex[:8]}" if unique else base


def create_app(
    config: DeploymentConfig, plugins: PluginHost | None = None, *, unique_name: bool = False
) -> Sanic:
    """Build the app. ``plugins`` defaults to the enabled plugins loaded from entry points;
    ``unique_name`` lets one process hold several apps (tests)."""
    plugins = plugins or build_plugin_host(config)
    register_secrets([*config.secrets(), *plugins.secrets()])
    app = Sanic(_app_name(config, unique_name), configure_logging=False, error_handler=ProblemErrorHandler(),
                request_class=DeskRequest)
    app.config.ACCESS_LOG = config.server.access_log
    app.config.FALLBACK_ERROR_FORMAT = "json"
    app.config.GRACEFUL_SHUTDOWN_TIMEOUT = config.server.drain_seconds
    app.ctx.config = config
    app.ctx.plugins = plugins
    app.ctx.runtime = Runtime(config, plugins)

    limits.install(app)
    metrics.install(app)
    for blueprint in (
        health.bp, metrics.bp, openapi.bp, auth_routes.bp, price_routes.bp, price_stream_routes.bp, session_routes.bp,
        closing_routes.bp, *ADMIN_BLUEPRINTS, page_routes.bp,
    ):
        app.blueprint(blueprint)
    for blueprint in plugins.routes():
        app.blueprint(blueprint)

    @app.before_server_start
    async def _open(app: Sanic) -> None:
        await app.ctx.runtime.start()
        # Chat channel routes hand their messages here (``web.channels.chat_inbox``).
        app.ctx.chat_inbox = app.ctx.runtime.bot

    drain.drain_workers(app)

    @app.after_server_stop
    async def _close(app: Sanic) -> None:
        await app.ctx.runtime.stop()

    return app
