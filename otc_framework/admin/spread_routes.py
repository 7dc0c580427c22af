"""Spread and LP spread grids (SPEC §9)."""

from __future__ import annotations

from sanic import Blueprint

bp = Blueprint("admin_spreads")
