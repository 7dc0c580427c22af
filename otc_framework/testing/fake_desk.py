"""A fake of the desk's settlement endpoint (``[desk] url``), for tests and ``otc demo``.

It speaks what ``admin.desk_endpoint`` sends: a JSON trade notice, a bearer token when one is
configured, and ``Idempotency-Key``. Like the desk it stands for, it books a key once: a
repeated key answers 200 with ``duplicate: true`` and the first booking. Every request is
kept at ``GET /_inbox`` (key, whether it was a duplicate, the body); ``POST /_fault`` makes
the next ones fail (``fake_venue``).
"""

from __future__ import annotations

import secrets
import uuid
from typing import Any

from sanic import Request, Sanic
from sanic.response import HTTPResponse, json

from otc_framework.admin.desk_endpoint import IDEMPOTENCY_HEADER
from otc_framework.testing.fake_venue import DemoSettings, DemoVenue, LoopbackServer, install_test_routes

PATH = "/otc/notify"


def create_app(token: str | None = None) -> Sanic:
    app = Sanic(f"fake_desk_{uuid.uuid4().hex[:12]}")
    inbox, _ = install_test_routes(app)
    booked: dict[str, str] = {}

    @app.post(PATH)
    async def notify(request: Request) -> HTTPResponse:
        if token is not None and not secrets.compare_digest(
            request.headers.get("Authorization", "").encode(), f"Bearer {token}".encode()
        ):
            return json({"error": "unauthorized"}, status=401)
        key = request.headers.get(IDEMPOTENCY_HEADER)
        body: Any = request.json if request.body else None
        if not key or not isinstance(body, dict):
            return json({"error": "an Idempotency-Key header and a JSON body are required"}, status=400)
        duplicate = key in booked
        booking = booked.setdefault(key, uuid.uuid4().hex)
        inbox.add({"idempotencyKey": key, "duplicate": duplicate, "body": body})
        return json({"booking": booking, "duplicate": duplicate})

    return app


class DeskDemoVenue(DemoVenue):
    """The demo's desk: a fresh token; the section returned is the deployment's ``[desk]``."""

    async def start(self, host: str, settings: DemoSettings) -> dict[str, Any]:
        token = secrets.token_urlsafe(24)
        self.server = LoopbackServer(create_app(token))
        base_url = await self.server.start(host)
        return {"url": base_url + PATH, "token": token}
