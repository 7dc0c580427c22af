"""The audit log (SPEC §14)."""

from __future__ import annotations

from sanic import Blueprint

bp = Blueprint("admin_audit")
