"""Controls (SPEC §8, §9)."""

from __future__ import annotations

from sanic import Blueprint

bp = Blueprint("admin_controls")
