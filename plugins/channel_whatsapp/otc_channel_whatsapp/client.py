"""Sending WhatsApp text through Evolution API's ``sendText`` (research/bot_alerts.md §1.10)::

    POST {base_url}/message/sendText/{instance}          header  apikey: <key>
    v2  {"number": "1203…@g.us", "text": "…", "linkPreview": false}
    v1  {"number": "1203…@g.us", "options": {"linkPreview": false}, "textMessage": {"text": "…"}}

    201 {"key": {"remoteJid": …, "fromMe": true, "id": "BAE5…"}, "status": "PENDING", …}
    4xx/5xx {"status": 400, "error": "Bad Request", "response": {"message": <text | [text] | [{…}]>}}

How an answer maps onto the core's errors (``Channel.send_text``):

======================================  ===================  ====================================
answer                                  raises               why
======================================  ===================  ====================================
200/201 with a JSON object              (sent)
429                                     VenueRateLimited     a proxy in front of Evolution paces
                                                             us: ``Retry-After``, else 5 s
401, 403                                VenueRefused         a bad api key (or the device was
                                                             removed): retrying cannot help
404                                     VenueRefused         an unknown instance, or no such
                                                             route (a wrong base_url)
400 "Connection Closed" / "No           VenueError           the instance is reconnecting to
sessions" / "SessionError"                                   WhatsApp: Evolution wraps every
                                                             send failure as a 400
other 400 (``exists: false``, a         VenueRefused         this message can never be sent
validation error), 413                                       (not on WhatsApp, a bad body)
5xx                                     VenueError           Evolution or WhatsApp failed
timeout, transport error                VenueError           ``sendText`` can hang: retried
2xx not a JSON object, any other        VenueError           not Evolution's answer (a proxy,
status                                                       a portal): retried
======================================  ===================  ====================================

The api key travels in a header only; no error message here is built from an httpx
exception or echoes the key, and Evolution's own words are cut to one short line.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import httpx

from otc_channel_whatsapp.config import EvolutionConfig
from otc_framework.errors import VenueError, VenueRateLimited, VenueRefused
from otc_framework.ports import Channel
from otc_framework.venue_answers import one_line, send, wait_seconds

VENUE = "evolution"
SEND_TEXT_PATH = "/message/sendText/{instance}"
APIKEY_HEADER = "apikey"
SENT_STATUSES = frozenset({200, 201})
# Evolution has no rate limiter of its own; a 429 comes from a proxy that may not say how long.
DEFAULT_RETRY_AFTER_SECONDS = 5.0
# A reconnecting instance takes seconds, not milliseconds, to come back.
RETRY_BACKOFF_SECONDS = 2.0
REFUSED_STATUSES = frozenset({401, 403, 404, 413})
# Words of a 400 that means "the socket to WhatsApp is down", not "this message is bad".
RECONNECTING_MARKERS = ("connection closed", "no sessions", "sessionerror")
MAX_MESSAGE_CHARS = 200
REDACTED = "[REDACTED]"

FIELD_RESPONSE = "response"
FIELD_MESSAGE = "message"
FIELD_ERROR = "error"


def send_text_body(version: int, chat_id: str, text: str) -> dict[str, Any]:
    """The ``sendText`` body of Evolution's major ``version``; link previews off, since the
    bot's answers are quotes, not links to unfurl."""
    if version == 1:
        return {"number": chat_id, "options": {"linkPreview": False}, "textMessage": {"text": text}}
    return {"number": chat_id, "text": text, "linkPreview": False}


class EvolutionChannel(Channel):
    """The bot's answers to WhatsApp chats (group JIDs ``…@g.us`` or people) through one
    Evolution instance. Paced by the core to ``per_minute`` / ``per_chat_per_minute``
    (Evolution does not pace, and WhatsApp bans accounts that send too fast)."""

    retry_backoff_seconds = RETRY_BACKOFF_SECONDS

    def __init__(self, config: EvolutionConfig, http: httpx.AsyncClient) -> None:
        self.name = config.channel_name
        self.per_minute = config.per_minute
        self.per_chat_per_minute = config.per_chat_per_minute
        self._url = config.api_base + SEND_TEXT_PATH.format(instance=quote(config.instance, safe=""))
        self._api_key = config.api_key
        self._version = config.version
        self._timeout = config.timeout_seconds
        self._http = http

    def __repr__(self) -> str:
        return f"EvolutionChannel(name={self.name!r}, url={self._url!r}, version={self._version})"

    async def send_text(self, chat_id: str, text: str) -> None:
        response = await send(
            self._http, VENUE, "POST", self._url, timeout=self._timeout,
            json=send_text_body(self._version, chat_id, text),
            headers={APIKEY_HEADER: self._api_key.get_secret_value()},
        )
        raise_unless_sent(response, self._api_key.get_secret_value())


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except (ValueError, UnicodeDecodeError):
        return None


def raise_unless_sent(response: httpx.Response, api_key: str = "") -> None:
    """Return when Evolution took the message; raise what the table above says otherwise."""
    status = response.status_code
    body = _json(response)
    if status in SENT_STATUSES:
        if isinstance(body, dict):
            return
        raise VenueError(VENUE, f"HTTP {status} answer is not Evolution's JSON")
    full = _masked(error_text(body), api_key)
    said = f": {one_line(full, MAX_MESSAGE_CHARS)}" if full else ""
    if status == 429:
        retry_after = wait_seconds(response.headers.get("Retry-After"), default=DEFAULT_RETRY_AFTER_SECONDS)
        raise VenueRateLimited(VENUE, f"rate limited (HTTP 429{said}), retry in {retry_after:g} s", retry_after)
    if status in (401, 403):
        raise VenueRefused(VENUE, f"refused (HTTP {status}{said}): check api_key")
    if status == 404:
        raise VenueRefused(VENUE, f"refused (HTTP 404{said}): check instance and base_url")
    if status == 400 and any(marker in full.lower() for marker in RECONNECTING_MARKERS):
        raise VenueError(VENUE, f"instance not connected to WhatsApp (HTTP 400{said}); will retry")
    if status in (400, *REFUSED_STATUSES):
        raise VenueRefused(VENUE, f"refused (HTTP {status}{said})")
    if status >= 500:
        raise VenueError(VENUE, f"server error (HTTP {status}{said})")
    raise VenueError(VENUE, f"unexpected HTTP {status}{said}")


def _masked(text: str, secret: str) -> str:
    return text.replace(secret, REDACTED) if secret else text


def error_text(body: Any) -> str:
    """Evolution's ``response.message`` (a string, a list of strings, a list of lists from a
    schema validation, or a list of objects such as ``{jid, exists: false, number}``) as one
    line, else its ``error`` phrase; empty when the body says nothing."""
    if not isinstance(body, dict):
        return ""
    response = body.get(FIELD_RESPONSE)
    message = response.get(FIELD_MESSAGE) if isinstance(response, dict) else None
    parts = _parts(message)
    if not parts and isinstance(body.get(FIELD_ERROR), str):
        parts = [body[FIELD_ERROR]]
    return " ".join("; ".join(part for part in parts if part.strip()).split())


def _parts(message: Any, depth: int = 0) -> list[str]:
    if isinstance(message, str):
        return [message]
    if isinstance(message, dict):
        return [_object_text(message)]
    if isinstance(message, list) and depth < 2:
        return [part for item in message for part in _parts(item, depth + 1)]
    return []


def _object_text(item: dict[str, Any]) -> str:
    if item.get("exists") is False:
        who = item.get("number") or item.get("jid")
        return f"{who} is not on WhatsApp" if isinstance(who, str) else "not on WhatsApp"
    scalars = {k: v for k, v in item.items() if isinstance(v, str | int | float | bool) or v is None}
    return json.dumps(scalars, ensure_ascii=False, separators=(",", ":"))
