"""A fake Evolution API: ``sendText`` of ``client.py`` for one instance, and webhooks to the
desk the way Evolution 2.3 posts them (research/bot_alerts.md §1).

``POST /message/sendText/<instance>`` checks what Evolution checks, in its guard order:
an unknown instance is 404 (before the key is looked at), a wrong or missing ``apikey``
header 401, a body of the other major version 400 with the schema validator's words, a
blank text 400 ``Text is required``, a number that cannot be a WhatsApp id 400 ``exists:
false``. Accepted messages are kept at ``GET /_inbox`` (``number, text, instance, id``) and
answered 201 with a ``prepareMessage``-like body (v2) or a raw Baileys message (v1).
``POST /_fault`` makes the next sends fail (``otc_framework.testing.fake_venue``).

The other direction, for tests and the demo (SPEC §19):

- ``POST /_say {group, participant, text, fromMe?, id?, lid?, pushName?}``: a group
  message, posted to the desk's webhook as a ``messages.upsert`` envelope in the
  configured version's shape, in the background with Evolution 2.3's retries
  (``RetryPolicy``); answers ``{"id", "event"}`` at once. Bare digits are made JIDs
  (``@g.us`` for the group, ``@s.whatsapp.net`` for the participant). With ``lid`` the
  participant is that ``…@lid`` and the phone JID goes in ``participantAlt`` (Baileys 7,
  Evolution 2.3.5+; v1 knows no LIDs and refuses it).
- ``POST /_redeliver {id}``: the same envelope posted again, as Evolution does when a
  slow answer timed out.
- ``GET /_webhooks``: ``{"items": [{id, attempt, status | error, done}]}``, every delivery
  attempt, newest last; ``done`` marks the last attempt of a delivery.
"""

from __future__ import annotations

import asyncio
import math
import random
import re
import secrets
import time
import uuid
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any

import httpx
import jwt
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sanic import Request, Sanic
from sanic.response import HTTPResponse, json

from otc_channel_whatsapp.client import APIKEY_HEADER, FIELD_ERROR, FIELD_MESSAGE, FIELD_RESPONSE, SEND_TEXT_PATH
from otc_channel_whatsapp.payloads import GROUP_SUFFIX, LID_SUFFIX, PERSON_SUFFIX
from otc_channel_whatsapp.routes import JWT_ALGORITHM, JWT_APP, WEBHOOK_PATH
from otc_framework.errors import ConfigError
from otc_framework.testing.fake_venue import (
    DemoSettings,
    DemoVenue,
    FaultAnswer,
    LoopbackServer,
    install_test_routes,
)

DEMO_INSTANCE = "otc-demo"
EVENT = "messages.upsert"
# With webhook_by_events Evolution appends the event, dashed and lower-cased.
BY_EVENTS_SUFFIX = "/" + EVENT.replace(".", "-")
# The connected account's own JID: the envelope's ``sender``, never a message's author.
OWN_JID = "5511900000000@s.whatsapp.net"
JWT_LIFETIME_SECONDS = 600
_LINK = re.compile(r"https?://|www\.", re.I)
_WHATSAPP_ID = re.compile(r"^[0-9][0-9-]*$")
SENT_LIMIT = 1000


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Evolution 2.3's webhook retries (``WEBHOOK_RETRY_*``; research §1.8): up to
    ``max_attempts``, waiting ``initial_delay`` doubling to ``max_delay`` with ±``jitter``,
    never again after a status in ``non_retryable``; each request times out."""

    max_attempts: int = 10
    initial_delay: float = 5.0
    max_delay: float = 300.0
    jitter: float = 0.2
    exponential: bool = True
    non_retryable: frozenset[int] = field(default_factory=lambda: frozenset({400, 401, 403, 404, 422}))
    timeout_seconds: float = 30.0

    def delay(self, attempts: int, rng: random.Random | None = None) -> float:
        """The wait after the ``attempts``-th failure, by Evolution's formula."""
        base = self.initial_delay * 2 ** (attempts - 1) if self.exponential else self.initial_delay
        base = min(base, self.max_delay)
        spread = base * self.jitter * ((rng or random).random() * 2 - 1)
        return max(self.initial_delay, base + spread)


def evolution_error(status: int, message: Any) -> HTTPResponse:
    """Evolution's error envelope (``src/main.ts`` error middleware)."""
    body = {"status": status, FIELD_ERROR: HTTPStatus(status).phrase, FIELD_RESPONSE: {FIELD_MESSAGE: message}}
    return json(body, status=status)


def fault_answer(instance: str) -> FaultAnswer:
    """How the fake answers a status forced with ``POST /_fault``, Evolution's way."""

    def answer(status: int, retry_after: float) -> HTTPResponse:
        if status == 401:
            return evolution_error(401, "Unauthorized")
        if status == 404:
            return evolution_error(404, [f'The "{instance}" instance does not exist'])
        if status in (400, 500):
            # What a socket that dropped its WhatsApp connection answers (#1772, #2229).
            return evolution_error(status, ["Error: Connection Closed"])
        response = evolution_error(status, [HTTPStatus(status).phrase])
        if status == 429:
            # Retry-After is whole seconds; round up so we never ask for less than meant.
            response.headers["Retry-After"] = str(max(1, math.ceil(retry_after)))
        return response

    return answer


def jid(value: str, suffix: str) -> str:
    """``value`` as a JID: kept when it has a server part, else ``value + suffix``."""
    return value if "@" in value else value + suffix


def _now_text() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def message_upsert(
    version: int,
    instance: str,
    *,
    group: str,
    participant: str,
    text: str,
    message_id: str,
    from_me: bool = False,
    lid: str | None = None,
    push_name: str | None = None,
    instance_id: str = "",
    destination: str = "",
    server_url: str = "",
    sent_at: int | None = None,
) -> dict[str, Any]:
    """The ``messages.upsert`` envelope Evolution ``version`` posts for a group text message
    (research §1.2, §1.4; the v1 shape follows 1.8.2, the v2 one ``prepareMessage`` of 2.3.6)."""
    key: dict[str, Any] = {"remoteJid": group, "fromMe": from_me, "id": message_id, "participant": participant}
    if lid is not None:
        key.update(participant=lid, participantAlt=participant, addressingMode="lid")
    timestamp = int(time.time()) if sent_at is None else sent_at
    envelope: dict[str, Any] = {"event": EVENT, "instance": instance}
    if version == 1:
        linked = bool(_LINK.search(text))
        data: dict[str, Any] = {
            "key": key,
            "pushName": push_name or key["participant"].split("@")[0],
            "message": {"extendedTextMessage": {"text": text}} if linked else {"conversation": text},
            "messageType": "extendedTextMessage" if linked else "conversation",
            "messageTimestamp": timestamp,
            "owner": instance,
            "source": "android",
        }
    else:
        data = {
            "key": key,
            "pushName": push_name or ("Você" if from_me else key["participant"].split("@")[0]),
            "status": "SERVER_ACK" if from_me else "DELIVERY_ACK",
            "message": {"conversation": text},
            "messageType": "conversation",
            "messageTimestamp": timestamp,
            "instanceId": instance_id,
            "source": "android",
        }
    envelope.update(data=data, destination=destination, date_time=_now_text(), sender=OWN_JID, server_url=server_url)
    if version != 1:
        envelope["apikey"] = None  # AUTHENTICATION_EXPOSE_IN_FETCH_INSTANCES off
    return envelope


class SayRequest(BaseModel):
    """The body of ``POST /_say``."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    group: str = Field(min_length=1, max_length=200)
    participant: str = Field(min_length=1, max_length=200)
    text: str = Field(min_length=1, max_length=65_536)
    from_me: bool = Field(default=False, alias="fromMe")
    id: str | None = Field(default=None, min_length=1, max_length=100)
    lid: str | None = Field(default=None, min_length=1, max_length=200)
    push_name: str | None = Field(default=None, alias="pushName", max_length=200)


def _message_id() -> str:
    # The shape of ids an iPhone gives (``3A`` + 18 hex digits).
    return "3A" + secrets.token_hex(9).upper()


def _sent_id() -> str:
    # Messages sent through Baileys get ``BAE5…`` ids.
    return "BAE5" + secrets.token_hex(6).upper()


def body_error(version: int, body: Any) -> list[list[str]] | None:
    """The schema validator's complaint about a ``sendText`` body, as Evolution words it."""
    if not isinstance(body, dict):
        return [["instance is not of a type(s) object"]]
    if not isinstance(body.get("number"), str):
        return [['instance requires property "number"']]
    if version == 1:
        message = body.get("textMessage")
        if not isinstance(message, dict):
            return [['instance requires property "textMessage"']]
        if not isinstance(message.get("text"), str):
            return [['instance.textMessage requires property "text"']]
        return None
    if not isinstance(body.get("text"), str):
        return [['instance requires property "text"']]
    return None


def create_app(
    api_key: str,
    instance: str,
    version: int,
    webhook_url: str,
    retry: RetryPolicy | None = None,
    *,
    jwt_key: str | None = None,
    by_events: bool = False,
) -> Sanic:
    """An Evolution API of major ``version`` serving ``instance`` with ``api_key``, posting
    webhooks to ``webhook_url`` (plus ``/messages-upsert`` when ``by_events``; with a
    ``Authorization: Bearer`` JWT when ``jwt_key`` is set, as 2.3's ``jwt_key`` header does)."""
    # Sanic refuses two apps of one name in a process; tests start many fakes.
    app = Sanic(f"fake_evolution_{uuid.uuid4().hex[:12]}")
    ctx = app.ctx
    ctx.api_key, ctx.instance, ctx.version = api_key, instance, version
    ctx.webhook_url = webhook_url + (BY_EVENTS_SUFFIX if by_events else "")
    ctx.retry, ctx.jwt_key = retry or RetryPolicy(), jwt_key
    ctx.instance_id = str(uuid.uuid4())
    ctx.webhooks = deque(maxlen=SENT_LIMIT)
    ctx.sent = OrderedDict()
    ctx.tasks = set()
    inbox, _ = install_test_routes(app, fault_answer(instance))

    @app.before_server_start
    async def _open(app: Sanic) -> None:
        app.ctx.http = httpx.AsyncClient()

    @app.before_server_stop
    async def _close(app: Sanic) -> None:
        for task in list(app.ctx.tasks):
            task.cancel()
        await asyncio.gather(*app.ctx.tasks, return_exceptions=True)
        await app.ctx.http.aclose()

    @app.post(SEND_TEXT_PATH.format(instance="<name:str>"))
    async def send_text(request: Request, name: str) -> HTTPResponse:
        if name != ctx.instance:
            return evolution_error(404, [f'The "{name}" instance does not exist'])
        if not secrets.compare_digest(request.headers.get(APIKEY_HEADER, "").encode(), ctx.api_key.encode()):
            return evolution_error(401, "Unauthorized")
        body = _json_body(request)
        complaint = body_error(ctx.version, body)
        if complaint is not None:
            return evolution_error(400, complaint)
        text = body["textMessage"]["text"] if ctx.version == 1 else body["text"]
        if not text.strip():
            return evolution_error(400, ["Text is required"])
        number: str = body["number"]
        if not _WHATSAPP_ID.match(number.split("@")[0]):
            return evolution_error(400, [{"jid": jid(number, PERSON_SUFFIX), "exists": False, "number": number}])
        sent_id = _sent_id()
        inbox.add({"number": number, "text": text, "instance": name, "id": sent_id})
        key = {"remoteJid": jid(number, PERSON_SUFFIX), "fromMe": True, "id": sent_id}
        now = int(time.time())
        if ctx.version == 1:
            return json({"key": key, "message": {"extendedTextMessage": {"text": text}},
                         "messageTimestamp": str(now), "status": "PENDING"}, status=201)
        return json({"key": key, "pushName": "", "status": "PENDING", "message": {"conversation": text},
                     "contextInfo": None, "messageType": "conversation", "messageTimestamp": now,
                     "instanceId": ctx.instance_id, "source": "unknown"}, status=201)

    @app.post("/_say")
    async def say(request: Request) -> HTTPResponse:
        try:
            said = SayRequest.model_validate(_json_body(request) or {})
        except ValidationError as exc:
            return json({"error": str(exc)}, status=400)
        group = jid(said.group, GROUP_SUFFIX)
        if not group.endswith(GROUP_SUFFIX):
            return json({"error": "group must be a group JID (…@g.us)"}, status=400)
        if said.lid is not None and ctx.version == 1:
            return json({"error": "Evolution v1 knows no @lid ids"}, status=400)
        envelope = message_upsert(
            ctx.version, ctx.instance, group=group, participant=jid(said.participant, PERSON_SUFFIX),
            text=said.text, message_id=said.id or _message_id(), from_me=said.from_me,
            lid=None if said.lid is None else jid(said.lid, LID_SUFFIX), push_name=said.push_name,
            instance_id=ctx.instance_id, destination=ctx.webhook_url,
            server_url=f"{request.scheme}://{request.host}",
        )
        return _post_in_background(app, envelope)

    @app.post("/_redeliver")
    async def redeliver(request: Request) -> HTTPResponse:
        body = _json_body(request)
        envelope = ctx.sent.get(body.get("id")) if isinstance(body, dict) else None
        if envelope is None:
            return json({"error": "no such message was said"}, status=404)
        return _post_in_background(app, envelope)

    @app.get("/_webhooks")
    async def webhooks(request: Request) -> HTTPResponse:
        return json({"items": list(ctx.webhooks)})

    return app


def _json_body(request: Request) -> Any:
    try:
        return request.json
    except Exception:  # Sanic's BadRequest for a body that is not JSON
        return None


def _post_in_background(app: Sanic, envelope: dict[str, Any]) -> HTTPResponse:
    message_id = envelope["data"]["key"]["id"]
    app.ctx.sent[message_id] = envelope
    while len(app.ctx.sent) > SENT_LIMIT:
        app.ctx.sent.popitem(last=False)
    task = asyncio.get_running_loop().create_task(_deliver(app.ctx, message_id, envelope))
    app.ctx.tasks.add(task)
    task.add_done_callback(app.ctx.tasks.discard)
    return json({"id": message_id, "event": envelope})


def _headers(ctx: Any) -> dict[str, str]:
    if ctx.jwt_key is None:
        return {}
    now = int(time.time())
    claims = {"iat": now, "exp": now + JWT_LIFETIME_SECONDS, "app": JWT_APP, "action": "webhook"}
    return {"Authorization": "Bearer " + jwt.encode(claims, ctx.jwt_key, algorithm=JWT_ALGORITHM)}


async def _deliver(ctx: Any, message_id: str, envelope: dict[str, Any]) -> None:
    """Post ``envelope`` until the desk takes it, refuses it for good, or attempts run out
    (Evolution keeps no dead letters: a message failing every attempt is lost)."""
    policy: RetryPolicy = ctx.retry
    for attempt in range(1, policy.max_attempts + 1):
        record: dict[str, Any] = {"id": message_id, "attempt": attempt}
        try:
            response = await ctx.http.post(
                ctx.webhook_url, json=envelope, headers=_headers(ctx), timeout=policy.timeout_seconds
            )
        except httpx.HTTPError as exc:
            record["error"] = type(exc).__name__
        else:
            record["status"] = response.status_code
        finished = record.get("status") in policy.non_retryable or 200 <= record.get("status", 0) < 300
        record["done"] = finished or attempt == policy.max_attempts
        ctx.webhooks.append(record)
        if record["done"]:
            return
        await asyncio.sleep(policy.delay(attempt))


class EvolutionDemoVenue(DemoVenue):
    """Starts the fake with a fresh api key and webhook secret, delivering to the desk's
    webhook; the demo's config section points the channel at it."""

    def __init__(self) -> None:
        self.webhook: str | None = None

    async def start(self, host: str, settings: DemoSettings) -> dict[str, Any]:
        if settings.desk_url is None:
            # A ConfigError is printed by the CLI as one line, without a traceback.
            raise ConfigError(
                "plugin channel_whatsapp: the fake Evolution API needs the desk's URL (DemoSettings.desk_url) "
                "to post its webhooks to"
            )
        api_key, secret = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
        self.webhook = f"{settings.desk_url.rstrip('/')}{WEBHOOK_PATH}/{secret}"
        self.server = LoopbackServer(create_app(api_key, DEMO_INSTANCE, 2, self.webhook))
        base_url = await self.server.start(host)
        return {"base_url": base_url, "api_key": api_key, "instance": DEMO_INSTANCE, "version": 2,
                "webhook_secret": secret}

    def listing(self) -> Any:
        return {"url": self.url, "instance": DEMO_INSTANCE, "webhook": self.webhook}
