"""The webhook Evolution API posts its events to (SPEC §12)::

    POST /webhook/evolution/<secret>            one URL for every event
    POST /webhook/evolution/<secret>/<event>    with webhook_by_events (``/messages-upsert``)

Evolution signs nothing, so the deployment's secret is a path segment (a query string
would break the by-events URLs). Evolution 2.3 can instead send ``Authorization: Bearer
<JWT>`` made with its ``jwt_key`` header setting; when ``jwt_key`` is configured such a
token (HS256, ``app == "evolution"``, not expired) is accepted in place of the path secret,
including on a bare ``/webhook/evolution``.

Answers: no valid credentials, 401 and nothing done (Evolution 2.3 does not retry a 401);
a body that is not JSON, 400; an event that is not a text message for this instance, 200
``{"receipt": "ignored"}`` and an INFO line saying why; a text message, whatever the bot
engine's receipt (``handled``, ``duplicate``, ``ignored``) with 200; a desk that cannot
tell yet whether it saw the message (``NotReady``, a failing store), 503 so Evolution
retries later. The desk's own messages (``fromMe``) are handed on like any other, flagged:
the engine ignores them, and deciding that is its job.
"""

from __future__ import annotations

import hmac
import json
import logging

import jwt
from pydantic import BaseModel, SecretStr
from sanic import Blueprint, Request
from sanic.response import HTTPResponse
from sanic.response import json as json_response

from otc_channel_whatsapp.config import EvolutionConfig
from otc_channel_whatsapp.payloads import Skip, parse_event
from otc_framework import errors
from otc_framework.ports import Receipt
from otc_framework.web.channels import chat_inbox
from otc_framework.web.endpoint import endpoint
from otc_framework.web.problems import problem_response
from otc_framework.web.tracing import request_trace_id

WEBHOOK_PATH = "/webhook/evolution"
JWT_ALGORITHM = "HS256"
JWT_APP = "evolution"
# Evolution's token lives 10 minutes; a little leeway absorbs clock skew between hosts.
JWT_LEEWAY_SECONDS = 30
BEARER = "bearer "

log = logging.getLogger(__name__)


class WebhookReceipt(BaseModel):
    receipt: str  # handled, duplicate or ignored


WEBHOOK_DOC = """\
Evolution API posts its events here: the deployment's webhook secret is the path segment
(or, with `jwt_key` configured, an `Authorization: Bearer` JWT made with it). Any JSON body
is answered 200 with the bot engine's receipt; 503 asks Evolution to retry later.
"""


def blueprint(config: EvolutionConfig) -> Blueprint:
    """The webhook routes of one Evolution instance, checking ``config``'s credentials."""
    bp = Blueprint(f"{config.channel_name.replace('-', '_')}_evolution_webhook")
    secret = config.webhook_secret.get_secret_value().encode()

    @endpoint("Evolution API webhook (WhatsApp messages for the bot)", auth="none",
              responses={200: WebhookReceipt}, description=WEBHOOK_DOC, tags=("channels",),
              errors=(errors.Unauthorized, errors.ValidationFailed, errors.NotReady))
    async def webhook(request: Request, secret_given: str | None = None, event: str | None = None) -> HTTPResponse:
        given = (secret_given or "").encode()
        if not hmac.compare_digest(given, secret) and not _valid_bearer(request, config.jwt_key):
            log.warning("evolution webhook: refused a request without valid credentials",
                        extra={"ip": request.ip})
            return _problem(request, errors.Unauthorized("a valid webhook secret or bearer token is required"))
        try:
            body = json.loads(request.body)
        except (ValueError, RecursionError):
            return _problem(request, errors.ValidationFailed("the body is not JSON"))
        parsed = parse_event(body, config.instance, config.channel_name)
        if isinstance(parsed, Skip):
            log.info("evolution webhook: ignored an event: %s", parsed.reason,
                     extra={"instance": config.instance, "urlEvent": event})
            return json_response({"receipt": Receipt.IGNORED.value})
        try:
            receipt = await chat_inbox(request).receive(parsed)
        except errors.NotReady as exc:
            return _problem(request, exc)
        except errors.StoreError:
            return _problem(request, errors.NotReady("the desk cannot check this message now; retry later"))
        return json_response({"receipt": str(receipt)})

    bp.add_route(webhook, WEBHOOK_PATH, methods=["POST"], name="webhook_bare")
    bp.add_route(webhook, f"{WEBHOOK_PATH}/<secret_given:str>", methods=["POST"], name="webhook")
    bp.add_route(webhook, f"{WEBHOOK_PATH}/<secret_given:str>/<event:str>", methods=["POST"], name="webhook_by_event")
    return bp


def _problem(request: Request, problem: errors.ProblemError) -> HTTPResponse:
    # Answered here rather than raised, so the route behaves the same on any host app.
    return problem_response(problem, request_trace_id(request))


def _valid_bearer(request: Request, key: SecretStr | None) -> bool:
    """Whether the request carries a JWT Evolution made with ``key`` (never when no key)."""
    header = request.headers.get("authorization", "")
    if key is None or not header.lower().startswith(BEARER):
        return False
    token = header[len(BEARER):].strip()
    try:
        claims = jwt.decode(
            token, key.get_secret_value(), algorithms=[JWT_ALGORITHM],
            options={"require": ["exp"]}, leeway=JWT_LEEWAY_SECONDS,
        )
    except jwt.PyJWTError:
        return False
    return isinstance(claims, dict) and claims.get("app") == JWT_APP
