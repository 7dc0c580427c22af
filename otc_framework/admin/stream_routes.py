"""WS /v1/ws/closings: the admin live stream."""

from __future__ import annotations

from sanic import Blueprint

bp = Blueprint("admin_stream")
