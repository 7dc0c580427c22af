"""Who is operating, and what an operation may touch.

Every admin route starts with ``admin_caller`` (SPEC §9: role admin). Every write names its
``Actor`` (SPEC §14: actor, source, IP) and gets a ``Backoffice``: the shared things a change
must reach after it commits (the store's caches, the per-worker reference data, the admin
feed, the plugins' notification hooks). The app builds one from its runtime; the CLI builds
one of its own, so a change made from a shell takes effect and shows live exactly like one
made through the API.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sanic import Request

from otc_framework.admin.feed import AdminFeed
from otc_framework.auth.guard import Caller, authenticate
from otc_framework.controls.definition import ControlDefinition
from otc_framework.reference.cache import ReferenceCache
from otc_framework.storage.models import AuditSource
from otc_framework.storage.store import Store


@dataclass(frozen=True, slots=True)
class Actor:
    name: str
    source: AuditSource
    ip: str | None = None

    def audit(self) -> dict[str, Any]:
        """The ``actor``, ``source`` and ``ip_address`` arguments of ``audit.record``."""
        return {"actor": self.name, "source": self.source, "ip_address": self.ip}


@dataclass(frozen=True, slots=True)
class Backoffice:
    store: Store
    reference: ReferenceCache
    feed: AdminFeed
    # The plugin host's hook relay (``plugins.hook``): call through ``otc_framework.announce``.
    hooks: Any
    controls: dict[str, ControlDefinition]


async def admin_caller(request: Request) -> Caller:
    """The caller, who must hold an admin token (401 without a valid one, 403 for a client's).
    Admin routes answer even when ``api_enabled`` is off: that switch is for clients."""
    return await authenticate(request, admin=True)


def by_admin(caller: Caller) -> Actor:
    """The actor of a write made through the admin API."""
    return Actor(caller.client.name, AuditSource.ADMIN, caller.ip)


def backoffice(request: Request) -> Backoffice:
    office: Backoffice = request.app.ctx.runtime.backoffice
    return office
