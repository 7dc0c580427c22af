"""Alerts to a Telegram chat through the Bot API's ``sendMessage`` (research/bot_alerts.md §2)::

    POST {api_base}/bot{token}/sendMessage
    {"chat_id": -1001332619709, "text": "<b>…</b>…", "parse_mode": "HTML",
     "disable_notification": true, "message_thread_id": 7}

    200 {"ok": true, "result": {"message_id": 1, "chat": {"id": …}, "date": …, "text": …}}
    4xx/5xx {"ok": false, "error_code": 400, "description": "Bad Request: chat not found",
             "parameters": {"retry_after": 5} | {"migrate_to_chat_id": -100…}}

The token is part of the URL, so no error message here is ever built from an httpx exception
(its text can carry the request URL): each one is composed from the status and Telegram's
``description`` only.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import httpx

from otc_channel_telegram_alerts.config import TelegramAlertsConfig
from otc_framework.errors import VenueError, VenueRateLimited, VenueRefused
from otc_framework.ports import SEVERITIES, Alert, AlertSink, Severity
from otc_framework.venue_answers import CUT_MARK, one_line, send, wait_seconds

VENUE = "telegram"
SEND_MESSAGE_PATH = "/bot{token}/sendMessage"
PARSE_MODE = "HTML"
# "1-4096 characters after entities parsing"; we keep the raw HTML within it (stricter).
MAX_TEXT_CHARS = 4096
# Telegram allows about 20 messages a minute to one group; an admin chat usually is one.
PER_GROUP_PER_MINUTE = 20
# Alerts below this severity arrive silently (no sound), so only what needs a person now rings.
LOUD_SEVERITY: Severity = "critical"
# Used when a 429 says neither ``parameters.retry_after`` nor ``Retry-After``.
DEFAULT_RETRY_AFTER_SECONDS = 1.0
# A supergroup upgrade moves the chat once; retrying at once with the new id loses nothing.
MIGRATION_RETRIES = 1
# With parse_mode HTML only these three must be escaped (Bot API "HTML style").
HTML_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
MAX_TITLE_CHARS = 256
MAX_KIND_CHARS = 128
# Telegram's description is quoted in errors, shortened: it is for a person reading health.
MAX_DESCRIPTION_CHARS = 200
REFUSED_STATUSES = frozenset({400, 401, 403, 404})

FIELD_OK = "ok"
FIELD_DESCRIPTION = "description"
FIELD_PARAMETERS = "parameters"
FIELD_RETRY_AFTER = "retry_after"
FIELD_MIGRATE_TO = "migrate_to_chat_id"

log = logging.getLogger(__name__)


def _units(char: str) -> int:
    # Telegram may count UTF-16 code units; counting them keeps either reading within limit.
    return 2 if ord(char) > 0xFFFF else 1


def escape_within(text: str, limit: int) -> str:
    """``text`` HTML-escaped in at most ``limit`` characters, cut with ``CUT_MARK`` when it
    does not fit. The cut falls between source characters, so never inside an entity."""
    escaped = "".join(HTML_ESCAPES.get(char, char) for char in text)
    if sum(map(_units, escaped)) <= limit:
        return escaped
    budget = limit - len(CUT_MARK)
    pieces: list[str] = []
    for char in text:
        piece = HTML_ESCAPES.get(char, char)
        budget -= sum(map(_units, piece))
        if budget < 0:
            break
        pieces.append(piece)
    return "".join(pieces) + CUT_MARK


def render(alert: Alert) -> str:
    """The message as Telegram HTML: severity and title in bold, the kind and raised time,
    then the detail, cut so the whole text stays within ``MAX_TEXT_CHARS``.

    A long alert is cut rather than split into several messages: the core retries a failed
    send as a whole, so a retry after a partly delivered split would post the first parts
    twice.
    """
    head = f"<b>{alert.severity.upper()}: {escape_within(alert.title, MAX_TITLE_CHARS)}</b>\n"
    head += f"<code>{escape_within(alert.kind, MAX_KIND_CHARS)}</code>"
    if alert.raised_at is not None:
        head += f" · {_utc_text(alert.raised_at)}"
    head += "\n\n"
    return head + escape_within(alert.detail, MAX_TEXT_CHARS - sum(map(_units, head)))


def _utc_text(raised: datetime) -> str:
    # Databases hand naive times back as UTC; an aware time is shown in UTC too.
    raised = raised.replace(tzinfo=UTC) if raised.tzinfo is None else raised.astimezone(UTC)
    return raised.strftime("%Y-%m-%d %H:%M:%S UTC")


class TelegramAlertSink(AlertSink):
    """Posts each alert to one chat (and forum topic). When Telegram says the group became a
    supergroup, it adopts the new chat id for the rest of its life and asks the operator, in
    a warning, to put the new id in the config."""

    name = VENUE
    per_minute = PER_GROUP_PER_MINUTE
    retry_backoff_seconds = 1.0

    def __init__(self, config: TelegramAlertsConfig, http: httpx.AsyncClient) -> None:
        path = SEND_MESSAGE_PATH.format(token=config.bot_token.get_secret_value())
        self._url = config.api_base.rstrip("/") + path
        self._chat_id: int | str = config.chat_id
        self._thread_id = config.message_thread_id
        self._timeout = config.timeout_seconds
        self._http = http

    async def send(self, alert: Alert) -> None:
        text = render(alert)
        for _ in range(MIGRATION_RETRIES + 1):
            response = await self._post(self._payload(alert, text))
            body = _json_object(response)
            new_chat_id = _migrated_to(response, body)
            if new_chat_id is None:
                _raise_unless_sent(response, body)
                return
            self._adopt(new_chat_id)
        raise VenueError(VENUE, f"chat moved again, to {self._chat_id}; will retry there")

    def _payload(self, alert: Alert, text: str) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "chat_id": self._chat_id,
            "text": text,
            "parse_mode": PARSE_MODE,
            "disable_notification": SEVERITIES.index(alert.severity) < SEVERITIES.index(LOUD_SEVERITY),
        }
        if self._thread_id is not None:
            payload["message_thread_id"] = self._thread_id
        return payload

    async def _post(self, payload: dict[str, Any]) -> httpx.Response:
        return await send(self._http, VENUE, "POST", self._url, json=payload, timeout=self._timeout)

    def _adopt(self, chat_id: int) -> None:
        log.warning(
            "telegram: chat %s was upgraded to a supergroup with id %s; alerts go there from now on. "
            "Set chat_id = %s in [plugins.channel_telegram_alerts].",
            self._chat_id, chat_id, chat_id,
        )
        self._chat_id = chat_id


def _json_object(response: httpx.Response) -> dict[str, Any] | None:
    try:
        body = response.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def _parameter(body: dict[str, Any] | None, name: str) -> Any:
    parameters = (body or {}).get(FIELD_PARAMETERS)
    return parameters.get(name) if isinstance(parameters, dict) else None


def _migrated_to(response: httpx.Response, body: dict[str, Any] | None) -> int | None:
    chat_id = _parameter(body, FIELD_MIGRATE_TO)
    if response.status_code != 400 or isinstance(chat_id, bool) or not isinstance(chat_id, int):
        return None
    return chat_id


def _raise_unless_sent(response: httpx.Response, body: dict[str, Any] | None) -> None:
    status = response.status_code
    if status == 200 and body is not None and body.get(FIELD_OK) is True:
        return
    said = _description(body)
    if status == 429:
        retry_after = _retry_after(response, body)
        raise VenueRateLimited(VENUE, f"rate limited (HTTP 429{said}), retry in {retry_after:g} s", retry_after)
    if status in REFUSED_STATUSES:
        raise VenueRefused(VENUE, f"refused (HTTP {status}{said}): check bot_token and chat_id")
    if status == 200:
        raise VenueError(VENUE, "answer is not a Bot API success")
    if status >= 500:
        raise VenueError(VENUE, f"server error (HTTP {status}{said})")
    raise VenueError(VENUE, f"unexpected HTTP {status}{said}")


def _description(body: dict[str, Any] | None) -> str:
    text = one_line((body or {}).get(FIELD_DESCRIPTION), MAX_DESCRIPTION_CHARS)
    return f": {text}" if text else ""


def _retry_after(response: httpx.Response, body: dict[str, Any] | None) -> float:
    """``parameters.retry_after``, else the ``Retry-After`` header, else the default."""
    return wait_seconds(_parameter(body, FIELD_RETRY_AFTER), response.headers.get("Retry-After"),
                        default=DEFAULT_RETRY_AFTER_SECONDS)

