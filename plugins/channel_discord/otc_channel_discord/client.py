"""Alerts to a Discord channel through an Execute Webhook call (research/bot_alerts.md §3)::

    POST {webhook_url}?wait=true
    {"username": "OTC desk", "allowed_mentions": {"parse": []},
     "embeds": [{"title": …, "description": …, "color": …, "timestamp": …, "fields": […]}]}
     or {"content": "…", …} without embeds

    200 the created message (with wait=true; without it a 204 hides a message Discord dropped)
    429 {"message": "You are being rate limited.", "retry_after": 64.57, "global": false}
        + Retry-After: 65
    404 {"message": "Unknown Webhook", "code": 10015}

The webhook's token is part of its URL, so no error message here is ever built from an httpx
exception (its text can carry the request URL): each one is composed from the status and
Discord's ``message`` and ``code`` only.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import httpx

from otc_channel_discord.config import DiscordConfig
from otc_framework.errors import VenueError, VenueRateLimited, VenueRefused
from otc_framework.ports import Alert, AlertSink
from otc_framework.venue_answers import CUT_MARK, one_line, send, wait_seconds

VENUE = "discord"
WEBHOOK_PATH = "/api/webhooks/{webhook_id}/{token}"
WAIT_PARAM = "wait"
# The limits of message.mdx ("Embed Limits") and webhook.mdx (content).
MAX_CONTENT_CHARS = 2000
MAX_EMBEDS = 10
MAX_TITLE_CHARS = 256
MAX_DESCRIPTION_CHARS = 4096
MAX_FIELD_NAME_CHARS = 256
MAX_FIELD_VALUE_CHARS = 1024
MAX_EMBED_TOTAL_CHARS = 6000
# Discord does not document webhook limits; 30 a minute per webhook is what users measured
# (discord-api-docs#367), and the core paces the sink to it.
PER_WEBHOOK_PER_MINUTE = 30
# Used when a 429 says neither ``retry_after`` nor ``Retry-After``.
DEFAULT_RETRY_AFTER_SECONDS = 1.0
# Nobody is pinged by an alert, whatever its text says (@everyone, <@id>, roles).
NO_MENTIONS: dict[str, list[str]] = {"parse": []}
COLOURS = {"info": 0x3498DB, "warning": 0xF1C40F, "critical": 0xE74C3C}
UNKNOWN_WEBHOOK_CODE = 10015
# Discord's message is quoted in errors, shortened: it is for a person reading health.
MAX_REASON_CHARS = 200

FIELD_CONTENT = "content"
FIELD_EMBEDS = "embeds"
FIELD_USERNAME = "username"
FIELD_ALLOWED_MENTIONS = "allowed_mentions"
FIELD_RETRY_AFTER = "retry_after"
FIELD_MESSAGE = "message"
FIELD_CODE = "code"

# Markdown that would format the text: these anywhere, and quote, heading and list marks
# at the start of a line.
_INLINE_MARKUP = re.compile(r"([\\*_~`|])")
_LINE_MARKUP = re.compile(r"^([ \t]*)([>#-])", re.MULTILINE)
_ESCAPED = re.compile(r"\\(.)|\*\*", re.DOTALL)


def escape_markdown(text: str) -> str:
    """``text`` with every character Discord would format backslash-escaped."""
    return _LINE_MARKUP.sub(r"\1\\\2", _INLINE_MARKUP.sub(r"\\\1", text))


def unescape_markdown(text: str) -> str:
    """What a person reads of a text this module built: escapes resolved, bold marks gone
    (every ``*`` of the alert's own text is escaped, so a bare ``**`` is ours)."""
    return _ESCAPED.sub(lambda match: match.group(1) or "", text)


def _units(text: str) -> int:
    # Counted in UTF-16 code units, as JavaScript does: never fewer than code points.
    return len(text.encode("utf-16-le")) // 2


def fit(escaped: str, limit: int) -> str:
    """An escaped text cut to ``limit`` characters and marked with ``CUT_MARK`` if it does not
    fit. The cut never leaves half an escape (a lone trailing backslash)."""
    if _units(escaped) <= limit:
        return escaped
    budget = limit - _units(CUT_MARK)
    end = 0
    for char in escaped:
        budget -= _units(char)
        if budget < 0:
            break
        end += 1
    kept = escaped[:end]
    trailing = len(kept) - len(kept.rstrip("\\"))
    return (kept[:-1] if trailing % 2 else kept) + CUT_MARK


def _utc(raised: datetime) -> datetime:
    # Databases hand naive times back as UTC.
    return raised.replace(tzinfo=UTC) if raised.tzinfo is None else raised.astimezone(UTC)


def embed(alert: Alert) -> dict[str, Any]:
    """One embed: the title, severity and kind as fields, the detail as description (cut so
    the embed stays within both the description and the 6000-character total), the colour
    of the severity and, when known, the raised time (Discord shows it in the reader's zone)."""
    title = fit(escape_markdown(alert.title), MAX_TITLE_CHARS)
    fields: list[dict[str, Any]] = [
        {"name": "Severity", "value": alert.severity.upper(), "inline": True},
        {"name": "Kind", "value": fit(escape_markdown(alert.kind), MAX_FIELD_VALUE_CHARS), "inline": True},
    ]
    used = _units(title) + sum(_units(f["name"]) + _units(f["value"]) for f in fields)
    result: dict[str, Any] = {"title": title, "color": COLOURS[alert.severity], "fields": fields}
    if alert.detail.strip():
        budget = min(MAX_DESCRIPTION_CHARS, MAX_EMBED_TOTAL_CHARS - used)
        result["description"] = fit(escape_markdown(alert.detail), budget)
    if alert.raised_at is not None:
        result["timestamp"] = _utc(alert.raised_at).isoformat()
    return result


def content(alert: Alert) -> str:
    """Plain message text: severity and title in bold, the kind and raised time, the detail,
    cut so the whole stays within ``MAX_CONTENT_CHARS``.

    A long alert is cut rather than split into several messages: the core retries a failed
    send as a whole, so a retry after a partly delivered split would post the first parts
    twice.
    """
    head = f"**{alert.severity.upper()}: {fit(escape_markdown(alert.title), MAX_TITLE_CHARS)}**\n"
    head += fit(escape_markdown(alert.kind), MAX_FIELD_VALUE_CHARS)
    if alert.raised_at is not None:
        head += f" · {_utc(alert.raised_at):%Y-%m-%d %H:%M:%S} UTC"
    head += "\n"
    return head + fit(escape_markdown(alert.detail), MAX_CONTENT_CHARS - _units(head))


class DiscordAlertSink(AlertSink):
    """Posts each alert to one channel webhook, waiting for Discord to confirm it was saved."""

    name = VENUE
    per_minute = PER_WEBHOOK_PER_MINUTE
    retry_backoff_seconds = 1.0

    def __init__(self, config: DiscordConfig, http: httpx.AsyncClient) -> None:
        # Any query of the configured URL (thread_id, …) is kept; wait=true is added.
        self._url = httpx.URL(config.webhook_url.get_secret_value()).copy_merge_params({WAIT_PARAM: "true"})
        self._username = config.username
        self._use_embed = config.use_embed
        self._timeout = config.timeout_seconds
        self._http = http

    async def send(self, alert: Alert) -> None:
        payload: dict[str, Any] = {FIELD_USERNAME: self._username, FIELD_ALLOWED_MENTIONS: NO_MENTIONS}
        if self._use_embed:
            payload[FIELD_EMBEDS] = [embed(alert)]
        else:
            payload[FIELD_CONTENT] = content(alert)
        _raise_unless_sent(await self._post(payload))

    async def _post(self, payload: dict[str, Any]) -> httpx.Response:
        return await send(self._http, VENUE, "POST", self._url, json=payload, timeout=self._timeout)


def _json_object(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _raise_unless_sent(response: httpx.Response) -> None:
    status = response.status_code
    if 200 <= status < 300:
        return
    body = _json_object(response)
    said = _reason(body)
    if status == 429:
        retry_after = _retry_after(response, body)
        raise VenueRateLimited(VENUE, f"rate limited (HTTP 429{said}), retry in {retry_after:g} s", retry_after)
    if status == 404:
        raise VenueRefused(VENUE, f"refused (HTTP 404{said}): the webhook is gone; create one and set webhook_url")
    if 400 <= status < 500:
        raise VenueRefused(VENUE, f"refused (HTTP {status}{said})")
    if status >= 500:
        raise VenueError(VENUE, f"server error (HTTP {status}{said})")
    raise VenueError(VENUE, f"unexpected HTTP {status}")


def _reason(body: dict[str, Any]) -> str:
    text = one_line(body.get(FIELD_MESSAGE), MAX_REASON_CHARS)
    if not text:
        return ""
    code = body.get(FIELD_CODE)
    return f": {text} (code {code})" if isinstance(code, int) and code else f": {text}"


def _retry_after(response: httpx.Response, body: dict[str, Any]) -> float:
    """The body's ``retry_after`` (float seconds), else ``Retry-After``, else the default."""
    return wait_seconds(body.get(FIELD_RETRY_AFTER), response.headers.get("Retry-After"),
                        default=DEFAULT_RETRY_AFTER_SECONDS)
