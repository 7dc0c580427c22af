"""Reading Evolution API's ``messages.upsert`` webhook into the core's ``InboundMessage``
(research/bot_alerts.md §1.2–1.6).

Both major versions post the same envelope ``{event, instance, data, destination,
date_time, sender, server_url, apikey?}``; ``data`` is the Baileys message:

- v2 (2.2+): ``data.message.conversation`` holds the text (extended text is folded into it),
  ``data.status`` and ``data.instanceId`` are set;
- v1 (1.8): plain text in ``data.message.conversation``, text with a link or a reply in
  ``data.message.extendedTextMessage.text``; ``data.owner`` is the instance name.

The author is ``data.key.participant`` in a group (``…@g.us``) and ``data.key.remoteJid``
in a 1:1 chat; the top-level ``sender`` is the connected account itself and is never read.
Evolution 2.3.x may name people by ``…@lid`` ids, with the phone JID beside them
(``participantAlt``/``remoteJidAlt`` from 2.3.5, ``senderPn`` in 2.3.3–2.3.4, the LID kept
in ``previousRemoteJid`` when 2.3.4 rewrote ``remoteJid``): those become
``sender_alternates``.

Anything else is a ``Skip`` with a short reason for the log line. The reasons never quote
the body beyond a cut event name, so the ``apikey`` field a body may carry cannot leak.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from otc_channel_whatsapp.config import DEFAULT_CHANNEL_NAME
from otc_framework.ports import InboundMessage
from otc_framework.venue_answers import one_line

EVENT_MESSAGES_UPSERT = "MESSAGES_UPSERT"
GROUP_SUFFIX = "@g.us"
PERSON_SUFFIX = "@s.whatsapp.net"
LID_SUFFIX = "@lid"
# status@broadcast are stories; other …@broadcast ids are broadcast lists the account sends.
BROADCAST_SUFFIX = "@broadcast"
MAX_EVENT_NAME_CHARS = 40
# A Baileys Long ``{low, high, unsigned}`` is two 32-bit halves.
_HALF = 2**32


@dataclass(frozen=True, slots=True)
class Skip:
    """An event the desk does not act on, with why (for an INFO log line)."""

    reason: str


def normalise_event(name: str) -> str:
    """Evolution's own rule, ``event.replace(/[.-]/g, '_').toUpperCase()``: the body's
    ``messages.upsert``, a configured ``MESSAGES_UPSERT`` and a by-events URL's
    ``messages-upsert`` are one event."""
    return re.sub(r"[.-]", "_", name).upper()


def parse_event(body: object, instance: str, channel: str = DEFAULT_CHANNEL_NAME) -> InboundMessage | Skip:
    """The text message ``body`` carries for ``instance``, or why it is skipped."""
    if not isinstance(body, dict):
        return Skip("body is not a JSON object")
    event = body.get("event")
    if not isinstance(event, str):
        return Skip("no event name")
    if normalise_event(event) != EVENT_MESSAGES_UPSERT:
        return Skip(f"event {one_line(event, MAX_EVENT_NAME_CHARS)!r} is not messages.upsert")
    if body.get("instance") != instance:
        return Skip("event of another instance")
    data = body.get("data")
    key = data.get("key") if isinstance(data, dict) else None
    if not isinstance(data, dict) or not isinstance(key, dict):
        return Skip("no data.key")
    chat_id = _text(key.get("remoteJid"))
    if chat_id is None:
        return Skip("no data.key.remoteJid")
    if chat_id.endswith(BROADCAST_SUFFIX):
        return Skip("status or broadcast message")
    message_id = _text(key.get("id"))
    if message_id is None:
        return Skip("no data.key.id")
    text = _message_text(data.get("message"))
    if text is None:
        return Skip("no text (media, reaction or protocol message)")
    is_group = chat_id.endswith(GROUP_SUFFIX)
    sender = (_text(key.get("participant")) or _text(data.get("participant"))) if is_group else chat_id
    if sender is None:
        return Skip("group message without data.key.participant")
    return InboundMessage(
        channel=channel,
        message_id=message_id,
        chat_id=chat_id,
        sender=sender,
        text=text,
        from_me=key.get("fromMe") is True,
        is_group=is_group,
        sent_at=timestamp(data.get("messageTimestamp")),
        sender_alternates=_alternates(key, data, sender, is_group),
        sender_name=_text(data.get("pushName")),
    )


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def _message_text(message: Any) -> str | None:
    """``conversation``, else ``extendedTextMessage.text`` (v1 keeps links and replies
    there); ``None`` when neither holds visible text. The text itself is kept verbatim."""
    if not isinstance(message, dict):
        return None
    text = _text(message.get("conversation"))
    if text is not None:
        return text
    extended = message.get("extendedTextMessage")
    return _text(extended.get("text")) if isinstance(extended, dict) else None


def _alternates(key: dict[str, Any], data: dict[str, Any], sender: str, is_group: bool) -> tuple[str, ...]:
    """Other ids of the author: the phone JID behind a LID, or the LID behind a phone JID.
    ``remoteJidAlt`` and ``previousRemoteJid`` name the chat, which is the author only in a
    1:1 chat."""
    candidates = [key.get("participantAlt"), key.get("senderPn"), data.get("participantAlt"), data.get("senderPn")]
    if not is_group:
        candidates += [key.get("remoteJidAlt"), key.get("previousRemoteJid")]
    found: list[str] = []
    for candidate in candidates:
        jid = _text(candidate)
        if jid is not None and jid != sender and jid not in found:
            found.append(jid)
    return tuple(found)


def timestamp(raw: Any) -> datetime | None:
    """``messageTimestamp`` (unix seconds) as an aware UTC time: a number, a numeric string
    (the older docs' samples), or a Baileys Long object ``{low, high, unsigned}`` (seen in a
    real v1 capture). ``None`` when it is none of those or not a plausible time."""
    seconds: float | None = None
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int | float):
        seconds = float(raw)
    elif isinstance(raw, str):
        try:
            seconds = float(raw.strip())
        except ValueError:
            return None
    elif isinstance(raw, dict):
        seconds = _long(raw)
    if seconds is None or not math.isfinite(seconds) or seconds <= 0:
        return None
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _long(raw: dict[str, Any]) -> float | None:
    low, high = raw.get("low"), raw.get("high", 0)
    if isinstance(low, bool) or isinstance(high, bool) or not isinstance(low, int) or not isinstance(high, int):
        return None
    # long.js keeps each half as a signed 32-bit int; the low half is always read unsigned.
    high = high % _HALF if raw.get("unsigned") is True else high
    return float(high * _HALF + low % _HALF)
