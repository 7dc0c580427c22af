"""The Evolution webhook routes, served on loopback with a recording inbox as the bot engine."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest

from otc_channel_whatsapp.config import EvolutionConfig
from otc_channel_whatsapp.routes import blueprint
from otc_framework.errors import StoreError
from otc_framework.ports import InboundMessage, Receipt
from otc_framework.testing.channel_contract import RecordingInbox, webhook_desk_app
from otc_framework.testing.fake_venue import LoopbackServer

SECRET = "hook-secret-0123456789-abcdef"
JWT_KEY = "jwt-key-0123456789-abcdefghijklmnopqrstuvwxyz"
API_KEY = "EVOLUTION-API-KEY-0000-1111"
INSTANCE = "nome-da-instancia"
FIXTURES = Path(__file__).parent / "fixtures"
BODY: dict[str, Any] = {**json.loads((FIXTURES / "derived_v2_group.json").read_text()), "apikey": API_KEY}
PROBLEM = "application/problem+json"


def _config(**fields: Any) -> EvolutionConfig:
    values = {"base_url": "http://127.0.0.1:1", "api_key": API_KEY, "instance": INSTANCE,
              "webhook_secret": SECRET, **fields}
    return EvolutionConfig.model_validate(values)


class Desk:
    def __init__(self, server: LoopbackServer, inbox: Any, http: httpx.AsyncClient) -> None:
        self.server, self.inbox, self.http = server, inbox, http

    async def post(self, path: str, body: Any = BODY, **kwargs: Any) -> httpx.Response:
        content = body if isinstance(body, bytes) else json.dumps(body).encode()
        return await self.http.post(f"{self.server.base_url}{path}", content=content, **kwargs)


@pytest.fixture
async def desk(loopback: Any, http: httpx.AsyncClient) -> Desk:
    inbox = RecordingInbox()
    server = await loopback(webhook_desk_app([blueprint(_config(jwt_key=JWT_KEY))], inbox))
    return Desk(server, inbox, http)


def _token(key: str = JWT_KEY, *, exp_in: int = 600, **claims: Any) -> str:
    now = int(time.time())
    payload = {"iat": now, "exp": now + exp_in, "app": "evolution", "action": "webhook", **claims}
    return jwt.encode({k: v for k, v in payload.items() if v is not None}, key, algorithm="HS256")


def _assert_problem(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["code"] == code
    assert response.json()["status"] == status


async def test_message_reaches_the_inbox(desk: Desk) -> None:
    response = await desk.post(f"/webhook/evolution/{SECRET}")
    assert response.status_code == 200
    assert response.json() == {"receipt": "handled"}
    [message] = desk.inbox.messages
    assert (message.chat_id, message.text, message.channel) == ("120363041234567890@g.us", "/ref 1,5kk USDT D0", "whatsapp")


async def test_by_events_suffix_is_served(desk: Desk) -> None:
    response = await desk.post(f"/webhook/evolution/{SECRET}/messages-upsert")
    assert response.json() == {"receipt": "handled"}
    assert len(desk.inbox.messages) == 1


@pytest.mark.parametrize(
    "path",
    ["/webhook/evolution", "/webhook/evolution/wrong-secret-0123456789",
     f"/webhook/evolution/{SECRET[:-1]}", "/webhook/evolution/wrong/messages-upsert",
     f"/webhook/evolution/{SECRET}x"],
)
async def test_wrong_or_missing_secret_is_401_and_does_nothing(desk: Desk, path: str) -> None:
    response = await desk.post(path)
    _assert_problem(response, 401, "UNAUTHORIZED")
    assert desk.inbox.messages == []


async def test_auth_is_checked_before_the_body(desk: Desk) -> None:
    _assert_problem(await desk.post("/webhook/evolution/nope", b"not json"), 401, "UNAUTHORIZED")


@pytest.mark.parametrize("path", ["/webhook/evolution", "/webhook/evolution/whatever", "/webhook/evolution/x/messages-upsert"])
async def test_evolution_jwt_is_accepted_in_place_of_the_secret(desk: Desk, path: str) -> None:
    response = await desk.post(path, headers={"Authorization": f"Bearer {_token()}"})
    assert response.json() == {"receipt": "handled"}


@pytest.mark.parametrize(
    "token",
    [
        _token("another-key-0123456789-abcdefghijklmnopqrstuvwxyz"),
        _token(exp_in=-120),
        _token(app="other"),
        _token(app=None),
        _token(exp=None),
        jwt.encode({"app": "evolution", "exp": int(time.time()) + 600}, None, algorithm="none"),
        "not-a-jwt",
    ],
    ids=["other-key", "expired", "other-app", "no-app", "no-exp", "alg-none", "garbage"],
)
async def test_bad_or_expired_jwt_is_refused(desk: Desk, token: str) -> None:
    _assert_problem(await desk.post("/webhook/evolution", headers={"Authorization": f"Bearer {token}"}),
                    401, "UNAUTHORIZED")
    assert desk.inbox.messages == []


async def test_jwt_is_refused_when_no_jwt_key_is_configured(loopback: Any, http: httpx.AsyncClient) -> None:
    inbox = RecordingInbox()
    server = await loopback(webhook_desk_app([blueprint(_config())], inbox))
    response = await http.post(f"{server.base_url}/webhook/evolution/x", json=BODY,
                               headers={"Authorization": f"Bearer {_token()}"})
    assert response.status_code == 401
    assert (await http.post(f"{server.base_url}/webhook/evolution/{SECRET}", json=BODY)).status_code == 200


@pytest.mark.parametrize("body", [b"not json", b"{", b"\xff\xfe", b"[" * 100_000, b""])
async def test_body_that_is_not_json_is_400(desk: Desk, body: bytes) -> None:
    _assert_problem(await desk.post(f"/webhook/evolution/{SECRET}", body), 400, "VALIDATION_ERROR")
    assert desk.inbox.messages == []


@pytest.mark.parametrize(
    "body",
    [None, [], "x", 1, {}, {**BODY, "event": "connection.update"}, {**BODY, "instance": "other"},
     {**BODY, "data": {"key": {"remoteJid": "status@broadcast", "id": "1"}, "message": {"conversation": "x"}}}],
)
async def test_ignored_events_are_200(desk: Desk, body: Any, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="otc_channel_whatsapp")
    response = await desk.post(f"/webhook/evolution/{SECRET}", body)
    assert response.status_code == 200
    assert response.json() == {"receipt": "ignored"}
    assert desk.inbox.messages == []
    [record] = [r for r in caplog.records if r.name == "otc_channel_whatsapp.routes"]
    assert record.levelno == logging.INFO
    assert "ignored an event: " in record.getMessage()
    assert API_KEY not in str(vars(record))


async def test_own_messages_are_handed_on_flagged(desk: Desk) -> None:
    body = json.loads(json.dumps(BODY))
    body["data"]["key"]["fromMe"] = True
    assert (await desk.post(f"/webhook/evolution/{SECRET}", body)).json() == {"receipt": "ignored"}
    [message] = desk.inbox.messages
    assert message.from_me is True


async def test_not_ready_is_503_so_evolution_retries(desk: Desk) -> None:
    desk.inbox.not_ready()
    response = await desk.post(f"/webhook/evolution/{SECRET}")
    _assert_problem(response, 503, "NOT_READY")
    assert (await desk.post(f"/webhook/evolution/{SECRET}")).json() == {"receipt": "handled"}


class FailingStore:
    async def receive(self, message: InboundMessage) -> Receipt:
        raise StoreError("redis: connection refused")


class Duplicates:
    async def receive(self, message: InboundMessage) -> Receipt:
        return Receipt.DUPLICATE


@pytest.mark.parametrize("inbox", [None, FailingStore()])
async def test_desk_starting_or_store_down_is_503(loopback: Any, http: httpx.AsyncClient, inbox: Any) -> None:
    app = webhook_desk_app([blueprint(_config())], inbox)
    if inbox is None:
        del app.ctx.chat_inbox
    server = await loopback(app)
    response = await http.post(f"{server.base_url}/webhook/evolution/{SECRET}", json=BODY)
    _assert_problem(response, 503, "NOT_READY")
    assert "redis" not in response.text


async def test_the_engines_receipt_is_answered(loopback: Any, http: httpx.AsyncClient) -> None:
    server = await loopback(webhook_desk_app([blueprint(_config())], Duplicates()))
    response = await http.post(f"{server.base_url}/webhook/evolution/{SECRET}", json=BODY)
    assert response.json() == {"receipt": "duplicate"}


async def test_channel_name_is_the_configured_one(loopback: Any, http: httpx.AsyncClient) -> None:
    inbox = RecordingInbox()
    server = await loopback(webhook_desk_app([blueprint(_config(channel_name="wa-vip"))], inbox))
    await http.post(f"{server.base_url}/webhook/evolution/{SECRET}", json=BODY)
    assert inbox.messages[0].channel == "wa-vip"


async def test_secrets_are_never_logged(desk: Desk, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    await desk.post(f"/webhook/evolution/{SECRET}")
    await desk.post(f"/webhook/evolution/{SECRET}", {**BODY, "instance": "other"})
    await desk.post(f"/webhook/evolution/{SECRET}", b"nope")
    await desk.post("/webhook/evolution/guess")
    await desk.post("/webhook/evolution", headers={"Authorization": f"Bearer {_token(exp_in=-100)}"})
    desk.inbox.not_ready()
    await desk.post(f"/webhook/evolution/{SECRET}")
    ours = [r for r in caplog.records if not r.name.startswith(("httpx", "httpcore", "sanic"))]
    assert ours
    for record in ours:
        for secret in (SECRET, JWT_KEY, API_KEY):
            assert secret not in record.getMessage() and secret not in str(vars(record))
