"""Who is operating: every admin route starts here (SPEC §9: role admin; every write audited
with actor and IP)."""

from __future__ import annotations

from typing import Any

from sanic import Request

from otc_framework.auth.guard import Caller, authenticate
from otc_framework.storage.models import AuditSource


async def admin_caller(request: Request) -> Caller:
    """The caller, who must hold an admin token (401 without a valid one, 403 for a client's).
    Admin routes answer even when ``api_enabled`` is off: that switch is for clients."""
    return await authenticate(request, admin=True)


def by_admin(caller: Caller) -> dict[str, Any]:
    """The audit fields of a write made by ``caller``: ``actor``, ``source`` and ``ip_address``."""
    return {"actor": caller.client.name, "source": AuditSource.ADMIN, "ip_address": caller.ip}
