"""A fake Telegram Bot API: ``sendMessage`` of ``client.py`` for one bot token.

It answers the way Telegram does (research/bot_alerts.md §2.4): a wrong token is 401
``Unauthorized``; an unknown chat 400 ``chat not found``; a chat in ``migrated`` 400 with
``parameters.migrate_to_chat_id``; HTML it cannot parse 400 ``can't parse entities``; a text
over 4096 characters once entities are parsed 400 ``message is too long``. Accepted messages
are kept at ``GET /_inbox`` (``chat_id, text, parse_mode, disable_notification,
message_thread_id``) and ``POST /_fault`` makes the next requests fail
(``otc_framework.testing.fake_venue``).
"""

from __future__ import annotations

import html
import math
import re
import secrets
import time
import uuid
from collections.abc import Iterable, Mapping
from http import HTTPStatus
from typing import Any

from sanic import Request, Sanic
from sanic.response import HTTPResponse, json

from otc_channel_telegram_alerts.client import (
    FIELD_DESCRIPTION,
    FIELD_MIGRATE_TO,
    FIELD_OK,
    FIELD_PARAMETERS,
    FIELD_RETRY_AFTER,
    MAX_TEXT_CHARS,
    PARSE_MODE,
    SEND_MESSAGE_PATH,
)
from otc_framework.testing.fake_venue import DemoSettings, DemoVenue, LoopbackServer, install_test_routes

# The tags Telegram's HTML parse mode knows (Bot API "HTML style"), and its entities.
_TAG = re.compile(
    r"</?(b|strong|i|em|u|ins|s|strike|del|code|pre|tg-spoiler|blockquote)>"
    r"|<a href=\"[^\"<>]*\">|</a>|<span class=\"tg-spoiler\">|</span>"
)
_ENTITY = re.compile(r"&(lt|gt|amp|quot|#[0-9]+|#x[0-9a-fA-F]+);")
_DESCRIPTIONS = {
    401: "Unauthorized",
    403: "Forbidden: bot was kicked from the group chat",
    404: "Not Found",
}


def parse_entities(text: str) -> str | None:
    """The text a person reads of an HTML-mode message, or ``None`` when Telegram could not
    parse it (a ``<``, ``>`` or ``&`` outside a known tag or entity)."""
    bare = _TAG.sub("", text)
    if "<" in bare or ">" in bare or "&" in _ENTITY.sub("", bare):
        return None
    return html.unescape(bare)


def _error(status: int, description: str, **parameters: Any) -> HTTPResponse:
    body: dict[str, Any] = {FIELD_OK: False, "error_code": status, FIELD_DESCRIPTION: description}
    if parameters:
        body[FIELD_PARAMETERS] = parameters
    return json(body, status=status)


def _fault_answer(status: int, retry_after: float) -> HTTPResponse:
    if status == 429:
        seconds = math.ceil(retry_after)
        return _error(429, f"Too Many Requests: retry after {seconds}", **{FIELD_RETRY_AFTER: seconds})
    return _error(status, _DESCRIPTIONS.get(status, HTTPStatus(status).phrase))


def create_app(
    token: str,
    chats: Iterable[int | str],
    *,
    migrated: Mapping[int | str, int] | None = None,
) -> Sanic:
    """A Bot API for ``token`` that knows ``chats``; ``migrated`` maps an old group id to its
    supergroup's (the new ids are known chats too)."""
    # Sanic refuses two apps of one name in a process; tests start many fakes.
    app = Sanic(f"fake_telegram_{uuid.uuid4().hex[:12]}")
    app.ctx.token = token
    app.ctx.migrated = {str(old): new for old, new in (migrated or {}).items()}
    app.ctx.chats = {str(chat) for chat in chats} | {str(new) for new in app.ctx.migrated.values()}
    app.ctx.message_id = 0
    inbox, _ = install_test_routes(app, _fault_answer)
    # "/bot{token}/sendMessage": Sanic parameters are whole segments, so match "bot…" in one.
    prefix, method = SEND_MESSAGE_PATH.split("{token}")
    bot = prefix.lstrip("/")

    @app.post(f"/<segment:str>{method}")
    async def send_message(request: Request, segment: str) -> HTTPResponse:
        ctx = request.app.ctx
        if not segment.startswith(bot):
            return _error(404, "Not Found")
        if not secrets.compare_digest(segment.encode(), f"{bot}{ctx.token}".encode()):
            return _error(401, "Unauthorized")
        body = request.json if isinstance(request.json, dict) else {}
        chat = str(body.get("chat_id", ""))
        if chat in ctx.migrated:
            return _error(400, "Bad Request: group chat was migrated to a supergroup chat",
                          **{FIELD_MIGRATE_TO: ctx.migrated[chat]})
        if chat not in ctx.chats:
            return _error(400, "Bad Request: chat not found")
        raw = body.get("text")
        if not isinstance(raw, str) or not raw.strip():
            return _error(400, "Bad Request: message text is empty")
        text = parse_entities(raw) if body.get("parse_mode") == PARSE_MODE else raw
        if text is None:
            return _error(400, "Bad Request: can't parse entities")
        if len(text) > MAX_TEXT_CHARS:
            return _error(400, "Bad Request: message is too long")
        inbox.add({
            "chat_id": body["chat_id"],
            "text": raw,
            "parse_mode": body.get("parse_mode"),
            "disable_notification": bool(body.get("disable_notification", False)),
            "message_thread_id": body.get("message_thread_id"),
        })
        ctx.message_id += 1
        chat_id = int(chat) if chat.lstrip("-").isdigit() else -1000000000000 - ctx.message_id
        message = {"message_id": ctx.message_id, "chat": {"id": chat_id}, "date": int(time.time()), "text": text}
        return json({FIELD_OK: True, "result": message})

    return app


class TelegramDemoVenue(DemoVenue):
    """Starts the fake with a fresh bot token and admin chat; the demo's config section
    points the sink at it."""

    async def start(self, host: str, settings: DemoSettings) -> dict[str, Any]:
        token = f"{secrets.randbelow(10**9) + 10**9}:{secrets.token_urlsafe(27)}"
        chat_id = -(10**12) - secrets.randbelow(10**12)
        self.server = LoopbackServer(create_app(token, [chat_id]))
        api_base = await self.server.start(host)
        return {"api_base": api_base, "bot_token": token, "chat_id": chat_id}
