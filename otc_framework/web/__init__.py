"""The Sanic host: app factory, middleware, problem answers, health."""

from otc_framework.web.app import create_app

__all__ = ["create_app"]
