"""A fake Discord webhook: Execute Webhook of ``client.py`` for one webhook id and token.

It answers the way Discord does (research/bot_alerts.md §3): an unknown id or token is 404
``Unknown Webhook`` (code 10015); a message with neither content nor embeds, content over
2000 characters, more than 10 embeds or an embed over its limits is 400 ``Invalid Form Body``
(code 50035); a saved message is 200 with the message when ``wait=true``, else 204. What it
saved is at ``GET /_inbox`` (``content, embeds, username, allowed_mentions, wait``) and
``POST /_fault`` makes the next requests fail (``otc_framework.testing.fake_venue``); a
forced 429 carries Discord's body, ``Retry-After`` and ``X-RateLimit-*`` headers.
"""

from __future__ import annotations

import math
import secrets
import time
import uuid
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any

from sanic import Request, Sanic
from sanic.exceptions import BadRequest
from sanic.response import HTTPResponse, empty, json

from otc_channel_discord.client import (
    FIELD_ALLOWED_MENTIONS,
    FIELD_CODE,
    FIELD_CONTENT,
    FIELD_EMBEDS,
    FIELD_MESSAGE,
    FIELD_RETRY_AFTER,
    FIELD_USERNAME,
    MAX_CONTENT_CHARS,
    MAX_DESCRIPTION_CHARS,
    MAX_EMBED_TOTAL_CHARS,
    MAX_EMBEDS,
    MAX_FIELD_NAME_CHARS,
    MAX_FIELD_VALUE_CHARS,
    MAX_TITLE_CHARS,
    UNKNOWN_WEBHOOK_CODE,
    WAIT_PARAM,
    WEBHOOK_PATH,
    unescape_markdown,
)
from otc_framework.testing.fake_venue import DemoSettings, DemoVenue, LoopbackServer, install_test_routes

INVALID_FORM_BODY_CODE = 50035
RATE_LIMIT_BUCKET = "fake0webhook0bucket"
# Discord's answers to a forced status, by status; others get the status phrase, code 0.
_FORCED = {
    401: ("401: Unauthorized", 0),
    403: ("Missing Access", 50001),
    404: ("Unknown Webhook", UNKNOWN_WEBHOOK_CODE),
}


def form_error(payload: Any) -> str | None:
    """Why Discord would refuse this Execute Webhook body with Invalid Form Body, or ``None``."""
    if not isinstance(payload, dict):
        return "body is not an object"
    content, embeds = payload.get(FIELD_CONTENT), payload.get(FIELD_EMBEDS) or []
    if not content and not embeds:
        return "Cannot send an empty message"
    if content is not None and (not isinstance(content, str) or len(content) > MAX_CONTENT_CHARS):
        return f"content: Must be {MAX_CONTENT_CHARS} or fewer in length."
    if not isinstance(embeds, list) or len(embeds) > MAX_EMBEDS or not all(isinstance(e, dict) for e in embeds):
        return f"embeds: Must be {MAX_EMBEDS} or fewer in length."
    total = 0
    for embed in embeds:
        limits = {"title": MAX_TITLE_CHARS, "description": MAX_DESCRIPTION_CHARS}
        for key, limit in limits.items():
            if len(embed.get(key) or "") > limit:
                return f"embeds.{key}: Must be {limit} or fewer in length."
        for field in embed.get("fields") or []:
            if not field.get("name") or not field.get("value"):
                return "embeds.fields: This field is required"
            if len(field["name"]) > MAX_FIELD_NAME_CHARS or len(field["value"]) > MAX_FIELD_VALUE_CHARS:
                return "embeds.fields: Must be within the field limits."
        total += sum(len(embed.get(key) or "") for key in limits)
        total += sum(len(f["name"]) + len(f["value"]) for f in embed.get("fields") or [])
        total += len((embed.get("footer") or {}).get("text") or "") + len((embed.get("author") or {}).get("name") or "")
    if total > MAX_EMBED_TOTAL_CHARS:
        return f"embeds: Embed size exceeds maximum size of {MAX_EMBED_TOTAL_CHARS}"
    return None


def readable(message: dict[str, Any]) -> str:
    """What a person sees of a message (an inbox item or an Execute Webhook body), top to
    bottom: the content, then each embed's title, fields, description and time."""
    lines = [message.get(FIELD_CONTENT) or ""]
    for embed in message.get(FIELD_EMBEDS) or []:
        lines.append(embed.get("title") or "")
        lines += [f"{field['name']}: {field['value']}" for field in embed.get("fields") or []]
        lines += [embed.get("description") or "", embed.get("timestamp") or ""]
    return unescape_markdown("\n".join(line for line in lines if line))


def _answer(status: int, message: str, code: int, **extra: Any) -> HTTPResponse:
    return json({FIELD_MESSAGE: message, FIELD_CODE: code, **extra}, status=status)


def _fault_answer(status: int, retry_after: float) -> HTTPResponse:
    if status == 429:
        body = {FIELD_MESSAGE: "You are being rate limited.", FIELD_RETRY_AFTER: retry_after, "global": False}
        headers = {
            "Retry-After": str(math.ceil(retry_after)),
            "X-RateLimit-Limit": "5",
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": f"{time.time() + retry_after:.3f}",
            "X-RateLimit-Reset-After": f"{retry_after:.3f}",
            "X-RateLimit-Bucket": RATE_LIMIT_BUCKET,
            "X-RateLimit-Scope": "shared",
        }
        return json(body, status=429, headers=headers)
    message, code = _FORCED.get(status, (HTTPStatus(status).phrase, 0))
    return _answer(status, message, code)


def create_app(webhook_id: str, token: str) -> Sanic:
    """A Discord serving Execute Webhook for one webhook; see the module docstring."""
    # Sanic refuses two apps of one name in a process; tests start many fakes.
    app = Sanic(f"fake_discord_{uuid.uuid4().hex[:12]}")
    app.ctx.webhook_id, app.ctx.token = webhook_id, token
    app.ctx.message_id = 0
    inbox, _ = install_test_routes(app, _fault_answer)

    @app.post(WEBHOOK_PATH.format(webhook_id="<webhook_id:str>", token="<token:str>"))
    async def execute(request: Request, webhook_id: str, token: str) -> HTTPResponse:
        ctx = request.app.ctx
        known = secrets.compare_digest(f"{webhook_id}/{token}".encode(), f"{ctx.webhook_id}/{ctx.token}".encode())
        if not known:
            return _answer(404, "Unknown Webhook", UNKNOWN_WEBHOOK_CODE)
        try:
            payload = request.json
        except BadRequest:
            payload = None
        problem = form_error(payload)
        if problem is not None:
            return _answer(400, "Invalid Form Body", INVALID_FORM_BODY_CODE, errors={"_errors": [problem]})
        wait = request.args.get(WAIT_PARAM, "false").lower() in ("true", "1")
        inbox.add({
            FIELD_CONTENT: payload.get(FIELD_CONTENT),
            FIELD_EMBEDS: payload.get(FIELD_EMBEDS) or [],
            FIELD_USERNAME: payload.get(FIELD_USERNAME),
            FIELD_ALLOWED_MENTIONS: payload.get(FIELD_ALLOWED_MENTIONS),
            WAIT_PARAM: wait,
        })
        if not wait:
            return empty()
        ctx.message_id += 1
        return json({
            "id": str(10**18 + ctx.message_id),
            "type": 0,
            "channel_id": str(10**18 + 1),
            "webhook_id": ctx.webhook_id,
            "author": {"id": ctx.webhook_id, "username": payload.get(FIELD_USERNAME) or "Captain Hook", "bot": True},
            FIELD_CONTENT: payload.get(FIELD_CONTENT) or "",
            FIELD_EMBEDS: payload.get(FIELD_EMBEDS) or [],
            "timestamp": datetime.now(UTC).isoformat(),
        })

    return app


class DiscordDemoVenue(DemoVenue):
    """Starts the fake with a fresh webhook id and token; the demo's config section carries
    the webhook URL."""

    async def start(self, host: str, settings: DemoSettings) -> dict[str, Any]:
        webhook_id, token = str(10**18 + secrets.randbelow(10**18)), secrets.token_urlsafe(48)
        self.server = LoopbackServer(create_app(webhook_id, token))
        base_url = await self.server.start(host)
        return {"webhook_url": base_url + WEBHOOK_PATH.format(webhook_id=webhook_id, token=token)}
