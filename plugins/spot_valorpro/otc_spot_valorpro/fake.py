"""A fake ValorPro: the quote endpoint of ``client.py`` behind the same bearer token.

Test switches live on ``app.ctx`` and may be changed while it serves:

- ``fail_with``: an HTTP status to answer instead of a quote (``429`` adds ``Retry-After``
  from ``retry_after``); ``None`` serves normally.
- ``spot``: pins the mid; ``None`` lets it drift.
- ``requests``: how many quote requests arrived (authorised or not).

It also answers ``/_inbox`` and ``/_fault`` (``otc_framework.testing.fake_venue``).
"""

from __future__ import annotations

import secrets
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sanic import Request, Sanic
from sanic.response import HTTPResponse, json

from otc_framework.testing.fake_venue import DemoSettings, DemoVenue, LoopbackServer, MarketRate, install_test_routes
from otc_spot_valorpro.client import (
    AUTH_HEADER,
    AUTH_SCHEME,
    FIELD_ASK,
    FIELD_BID,
    FIELD_LAST,
    FIELD_SYMBOL,
    FIELD_TIMESTAMP,
    QUOTE_PATH,
    SYMBOL,
)

HALF_SPREAD = Decimal("0.0010")


def create_app(
    token: str,
    *,
    spot: Decimal | None = None,
    seed: int | None = None,
    fail_with: int | None = None,
    retry_after: int = 5,
) -> Sanic:
    """A Sanic app serving ValorPro's quote for ``token``; see the module docstring."""
    # Sanic refuses two apps of one name in a process; tests start many fakes.
    app = Sanic(f"fake_valorpro_{uuid.uuid4().hex[:12]}")
    app.ctx.token = token
    app.ctx.rate = MarketRate(spot, seed)
    app.ctx.fail_with = fail_with
    app.ctx.retry_after = retry_after
    app.ctx.requests = 0
    install_test_routes(app, _error)

    @app.get(QUOTE_PATH)
    async def quote(request: Request) -> HTTPResponse:
        ctx = request.app.ctx
        ctx.requests += 1
        expected = f"{AUTH_SCHEME} {ctx.token}".encode()
        if not secrets.compare_digest(request.headers.get(AUTH_HEADER, "").encode(), expected):
            return json({"error": "unauthorized"}, status=401)
        if ctx.fail_with is not None:
            return _error(ctx.fail_with, ctx.retry_after)
        return json(_quote_body(ctx.rate.next()))

    return app


def _error(status: int, retry_after: float) -> HTTPResponse:
    headers = {"Retry-After": f"{retry_after:g}"} if status == 429 else None
    return json({"error": "forced failure"}, status=status, headers=headers)


def _quote_body(mid: Decimal) -> dict[str, str]:
    now = datetime.now(UTC)
    return {
        FIELD_SYMBOL: SYMBOL,
        FIELD_BID: str(mid - HALF_SPREAD),
        FIELD_ASK: str(mid + HALF_SPREAD),
        FIELD_LAST: str(mid),
        FIELD_TIMESTAMP: now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z",
    }


class ValorProDemoVenue(DemoVenue):
    """Starts the fake with a fresh token; the demo's config section carries that token."""

    async def start(self, host: str, settings: DemoSettings) -> dict[str, Any]:
        token = secrets.token_urlsafe(24)
        self.server = LoopbackServer(create_app(token, spot=settings.sandbox_spot))
        base_url = await self.server.start(host)
        return {"base_url": base_url, "token": token}
