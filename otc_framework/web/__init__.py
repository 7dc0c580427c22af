"""The Sanic host: app factory, middleware, problem answers, health.

``create_app`` is imported on first use: domain modules import ``web.bodies`` and
``web.endpoint``, and the app factory imports every domain's routes, so an eager import
here would make those imports circular.
"""

from __future__ import annotations

from typing import Any

__all__ = ["create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from otc_framework.web.app import create_app

        return create_app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
