"""The fake Evolution API: ``sendText`` answers and webhook deliveries with Evolution 2.3's
retries, which the tests and the demo rely on."""

from __future__ import annotations

import asyncio
import random
from typing import Any

import httpx
import pytest
from sanic import Request, Sanic
from sanic.response import HTTPResponse, json

from otc_channel_whatsapp.client import EvolutionChannel
from otc_channel_whatsapp.config import EvolutionConfig
from otc_channel_whatsapp.fake import RetryPolicy, create_app
from otc_channel_whatsapp.payloads import parse_event
from otc_channel_whatsapp.routes import blueprint
from otc_framework.errors import VenueError, VenueRateLimited, VenueRefused
from otc_framework.ports import InboundMessage
from otc_framework.testing.channel_contract import RecordingInbox, wait_until, webhook_desk_app
from otc_framework.testing.fake_venue import LoopbackServer

API_KEY = "FAKE-EVOLUTION-KEY-0123456789"
INSTANCE = "desk"
GROUP = "120363041234567890@g.us"
FAST = RetryPolicy(initial_delay=0.01, max_delay=0.02, jitter=0, timeout_seconds=0.5)


class Receiver:
    """A webhook endpoint answering the statuses it is given, in turn (200 once they run
    out), keeping each body it got; ``hang`` holds one answer past the fake's timeout."""

    def __init__(self, statuses: list[int | str]) -> None:
        self.statuses = list(statuses)
        self.bodies: list[Any] = []
        self.headers: list[dict[str, str]] = []
        self.paths: list[str] = []
        self.app = Sanic(f"receiver_{random.getrandbits(48):x}")
        self.app.add_route(self._hook, "/hook", methods=["POST"], name="hook")
        self.app.add_route(self._hook, "/hook/<suffix:str>", methods=["POST"], name="hook_by_event")

    async def _hook(self, request: Request, suffix: str | None = None) -> HTTPResponse:
        self.bodies.append(request.json)
        self.headers.append(dict(request.headers))
        self.paths.append(request.path)
        status = self.statuses.pop(0) if self.statuses else 200
        if status == "hang":
            await asyncio.sleep(FAST.timeout_seconds * 3)
            status = 200
        return json({}, status=int(status))


async def _serve(loopback: Any, version: int = 2, statuses: list[int | str] | None = None,
                 policy: RetryPolicy = FAST, **options: Any) -> tuple[LoopbackServer, Receiver]:
    receiver = Receiver(statuses or [])
    hook = await loopback(receiver.app)
    fake = await loopback(create_app(API_KEY, INSTANCE, version, f"{hook.base_url}/hook", policy, **options))
    return fake, receiver


async def _attempts(fake: LoopbackServer, http: httpx.AsyncClient, message_id: str, done: int = 1) -> list[dict[str, Any]]:
    async def finished() -> bool:
        items = (await http.get(f"{fake.base_url}/_webhooks")).json()["items"]
        return sum(1 for i in items if i["id"] == message_id and i["done"]) >= done

    await wait_until(finished, what="webhook delivery")
    items: list[dict[str, Any]] = (await http.get(f"{fake.base_url}/_webhooks")).json()["items"]
    return [{k: v for k, v in item.items() if k != "id"} for item in items if item["id"] == message_id]


async def _say(fake: LoopbackServer, http: httpx.AsyncClient, **fields: Any) -> httpx.Response:
    body = {"group": GROUP, "participant": "5511965525438", "text": "/ref 10k", **fields}
    return await http.post(f"{fake.base_url}/_say", json=body)


async def _send(fake: LoopbackServer, http: httpx.AsyncClient, body: Any, *, instance: str = INSTANCE,
                key: str | None = API_KEY) -> httpx.Response:
    headers = {"apikey": key} if key is not None else {}
    return await http.post(f"{fake.base_url}/message/sendText/{instance}", json=body, headers=headers)


# --- sendText -----------------------------------------------------------------------------


async def test_v2_send_is_kept_and_answered_like_prepare_message(loopback: Any, http: httpx.AsyncClient) -> None:
    fake, _ = await _serve(loopback)
    response = await _send(fake, http, {"number": GROUP, "text": "Olá 💵", "linkPreview": False})
    assert response.status_code == 201
    answer = response.json()
    assert answer["key"]["remoteJid"] == GROUP and answer["key"]["fromMe"] is True
    assert answer["key"]["id"].startswith("BAE5")
    assert (answer["status"], answer["messageType"], answer["message"]) == ("PENDING", "conversation", {"conversation": "Olá 💵"})
    assert isinstance(answer["messageTimestamp"], int) and answer["instanceId"]
    [item] = (await http.get(f"{fake.base_url}/_inbox")).json()["items"]
    assert {k: item[k] for k in ("number", "text", "instance", "id")} == {
        "number": GROUP, "text": "Olá 💵", "instance": INSTANCE, "id": answer["key"]["id"]}


async def test_v1_send_answers_a_raw_baileys_message(loopback: Any, http: httpx.AsyncClient) -> None:
    fake, _ = await _serve(loopback, version=1)
    response = await _send(fake, http, {"number": "5531991819932", "textMessage": {"text": "oi"}})
    assert response.status_code == 201
    assert response.json()["key"]["remoteJid"] == "5531991819932@s.whatsapp.net"
    assert response.json()["message"] == {"extendedTextMessage": {"text": "oi"}}


@pytest.mark.parametrize(
    ("version", "body", "instance", "key", "status", "answer"),
    [
        (2, {"number": GROUP, "text": "x"}, "other", API_KEY, 404,
         {"status": 404, "error": "Not Found", "response": {"message": ['The "other" instance does not exist']}}),
        (2, {"number": GROUP, "text": "x"}, "other", None, 404, None),
        (2, {"number": GROUP, "text": "x"}, INSTANCE, "wrong", 401,
         {"status": 401, "error": "Unauthorized", "response": {"message": "Unauthorized"}}),
        (2, {"number": GROUP, "text": "x"}, INSTANCE, None, 401, None),
        (2, {"number": GROUP, "textMessage": {"text": "x"}}, INSTANCE, API_KEY, 400,
         {"status": 400, "error": "Bad Request", "response": {"message": [['instance requires property "text"']]}}),
        (1, {"number": GROUP, "text": "x"}, INSTANCE, API_KEY, 400,
         {"status": 400, "error": "Bad Request",
          "response": {"message": [['instance requires property "textMessage"']]}}),
        (2, {"text": "x"}, INSTANCE, API_KEY, 400, None),
        (2, ["x"], INSTANCE, API_KEY, 400, None),
        (2, {"number": GROUP, "text": "  \n"}, INSTANCE, API_KEY, 400,
         {"status": 400, "error": "Bad Request", "response": {"message": ["Text is required"]}}),
        (1, {"number": GROUP, "textMessage": {"text": ""}}, INSTANCE, API_KEY, 400, None),
        (2, {"number": "desk group", "text": "x"}, INSTANCE, API_KEY, 400,
         {"status": 400, "error": "Bad Request", "response": {"message": [
             {"jid": "desk group@s.whatsapp.net", "exists": False, "number": "desk group"}]}}),
    ],
)
async def test_send_errors_look_like_evolutions(
    loopback: Any, http: httpx.AsyncClient, version: int, body: Any, instance: str, key: str | None,
    status: int, answer: dict[str, Any] | None,
) -> None:
    fake, _ = await _serve(loopback, version=version)
    response = await _send(fake, http, body, instance=instance, key=key)
    assert response.status_code == status
    if answer is not None:
        assert response.json() == answer
    assert (await http.get(f"{fake.base_url}/_inbox")).json()["items"] == []


def _channel(fake: LoopbackServer, http: httpx.AsyncClient, **fields: Any) -> EvolutionChannel:
    values = {"base_url": fake.base_url, "api_key": API_KEY, "instance": INSTANCE, "webhook_secret": "s" * 16,
              "timeout_seconds": 0.5, **fields}
    return EvolutionChannel(EvolutionConfig.model_validate(values), http)


async def test_the_client_against_the_fakes_refusals(loopback: Any, http: httpx.AsyncClient) -> None:
    fake, _ = await _serve(loopback)
    with pytest.raises(VenueRefused, match="instance does not exist"):
        await _channel(fake, http, instance="gone").send_text(GROUP, "x")
    with pytest.raises(VenueRefused, match="check api_key"):
        await _channel(fake, http, api_key="wrong-key").send_text(GROUP, "x")
    with pytest.raises(VenueRefused, match='requires property \\\\?"text'):
        await _channel(fake, http, version=1).send_text(GROUP, "x")
    with pytest.raises(VenueRefused, match="Text is required"):
        await _channel(fake, http).send_text(GROUP, " ")
    with pytest.raises(VenueRefused, match="is not on WhatsApp"):
        await _channel(fake, http).send_text("someone", "x")


async def test_forced_faults_look_like_evolutions(loopback: Any, http: httpx.AsyncClient) -> None:
    fake, _ = await _serve(loopback)
    await http.post(f"{fake.base_url}/_fault", json={"status": 429, "retryAfter": 2.2})
    with pytest.raises(VenueRateLimited) as limited:
        await _channel(fake, http).send_text(GROUP, "x")
    assert limited.value.retry_after == 3
    await http.post(f"{fake.base_url}/_fault", json={"status": 400})
    response = await _send(fake, http, {"number": GROUP, "text": "x"})
    assert response.json() == {"status": 400, "error": "Bad Request", "response": {"message": ["Error: Connection Closed"]}}
    await http.post(f"{fake.base_url}/_fault", json={"status": 400})
    with pytest.raises(VenueError, match="not connected") as reconnecting:
        await _channel(fake, http).send_text(GROUP, "x")
    assert not isinstance(reconnecting.value, VenueRefused)


# --- webhooks -----------------------------------------------------------------------------


async def test_say_answers_at_once_and_posts_a_v2_upsert(loopback: Any, http: httpx.AsyncClient) -> None:
    fake, receiver = await _serve(loopback)
    response = await _say(fake, http, pushName="Rodrigo")
    assert response.status_code == 200
    said = response.json()
    assert await _attempts(fake, http, said["id"]) == [{"attempt": 1, "status": 200, "done": True}]
    [body] = receiver.bodies
    assert body == said["event"]
    assert body["event"] == "messages.upsert" and body["instance"] == INSTANCE and body["apikey"] is None
    data = body["data"]
    assert data["key"] == {"remoteJid": GROUP, "fromMe": False, "id": said["id"], "participant": "5511965525438@s.whatsapp.net"}
    assert (data["status"], data["message"], data["pushName"]) == ("DELIVERY_ACK", {"conversation": "/ref 10k"}, "Rodrigo")
    assert data["instanceId"] and body["sender"] != data["key"]["participant"]


async def test_v1_say_uses_v1_shapes(loopback: Any, http: httpx.AsyncClient) -> None:
    fake, receiver = await _serve(loopback, version=1)
    plain = (await _say(fake, http)).json()["event"]["data"]
    linked = (await _say(fake, http, text="/pix https://pix.example.com")).json()["event"]
    assert plain["message"] == {"conversation": "/ref 10k"} and plain["owner"] == INSTANCE
    assert "status" not in plain and "instanceId" not in plain
    assert linked["data"]["message"] == {"extendedTextMessage": {"text": "/pix https://pix.example.com"}}
    assert linked["data"]["messageType"] == "extendedTextMessage" and "apikey" not in linked
    message = parse_event(linked, INSTANCE)
    assert isinstance(message, InboundMessage) and message.text == "/pix https://pix.example.com"


async def test_lid_participant_carries_the_phone_jid(loopback: Any, http: httpx.AsyncClient) -> None:
    fake, _ = await _serve(loopback)
    event = (await _say(fake, http, lid="131159895875721", id="3AFIXEDID")).json()["event"]
    assert event["data"]["key"]["participant"] == "131159895875721@lid"
    assert event["data"]["key"]["participantAlt"] == "5511965525438@s.whatsapp.net"
    message = parse_event(event, INSTANCE)
    assert isinstance(message, InboundMessage)
    assert (message.message_id, message.sender, message.sender_alternates) == (
        "3AFIXEDID", "131159895875721@lid", ("5511965525438@s.whatsapp.net",))


@pytest.mark.parametrize(
    ("version", "body"),
    [(2, {"participant": "1", "text": "x"}), (2, {"group": "5511@s.whatsapp.net", "participant": "1", "text": "x"}),
     (2, {"group": GROUP, "participant": "1", "text": ""}), (2, {"group": GROUP, "participant": "1", "text": "x", "x": 1}),
     (1, {"group": GROUP, "participant": "1", "text": "x", "lid": "2"})],
)
async def test_say_refuses_what_it_cannot_make(loopback: Any, http: httpx.AsyncClient, version: int, body: Any) -> None:
    fake, receiver = await _serve(loopback, version=version)
    assert (await http.post(f"{fake.base_url}/_say", json=body)).status_code == 400
    assert (await http.get(f"{fake.base_url}/_webhooks")).json()["items"] == []


async def test_failed_deliveries_are_retried_until_taken(loopback: Any, http: httpx.AsyncClient) -> None:
    fake, receiver = await _serve(loopback, statuses=[500, 503, "hang"])
    said = (await _say(fake, http)).json()
    assert await _attempts(fake, http, said["id"]) == [
        {"attempt": 1, "status": 500, "done": False},
        {"attempt": 2, "status": 503, "done": False},
        {"attempt": 3, "error": "ReadTimeout", "done": False},
        {"attempt": 4, "status": 200, "done": True},
    ]
    assert len(receiver.bodies) == 4 and all(body == said["event"] for body in receiver.bodies)


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
async def test_no_retry_after_a_refusal(loopback: Any, http: httpx.AsyncClient, status: int) -> None:
    fake, receiver = await _serve(loopback, statuses=[status, 200])
    said = (await _say(fake, http)).json()
    assert await _attempts(fake, http, said["id"]) == [{"attempt": 1, "status": status, "done": True}]
    await asyncio.sleep(FAST.max_delay * 3)
    assert len(receiver.bodies) == 1


async def test_attempts_run_out(loopback: Any, http: httpx.AsyncClient) -> None:
    policy = RetryPolicy(max_attempts=3, initial_delay=0.01, max_delay=0.01, jitter=0, timeout_seconds=0.5)
    fake, receiver = await _serve(loopback, statuses=[500] * 10, policy=policy)
    said = (await _say(fake, http)).json()
    attempts = await _attempts(fake, http, said["id"])
    assert [(a["attempt"], a["done"]) for a in attempts] == [(1, False), (2, False), (3, True)]


async def test_unreachable_webhook_is_an_error_attempt(loopback: Any, http: httpx.AsyncClient) -> None:
    fake = await loopback(create_app(API_KEY, INSTANCE, 2, "http://127.0.0.1:9/hook",
                                     RetryPolicy(max_attempts=2, initial_delay=0.01, jitter=0)))
    said = (await _say(fake, http)).json()
    assert await _attempts(fake, http, said["id"]) == [
        {"attempt": 1, "error": "ConnectError", "done": False}, {"attempt": 2, "error": "ConnectError", "done": True}]


async def test_redeliver_posts_the_same_event_again(loopback: Any, http: httpx.AsyncClient) -> None:
    fake, receiver = await _serve(loopback)
    said = (await _say(fake, http)).json()
    await _attempts(fake, http, said["id"])
    assert (await http.post(f"{fake.base_url}/_redeliver", json={"id": said["id"]})).json()["id"] == said["id"]
    await _attempts(fake, http, said["id"], done=2)
    assert receiver.bodies[0] == receiver.bodies[1]
    assert (await http.post(f"{fake.base_url}/_redeliver", json={"id": "nope"})).status_code == 404


async def test_by_events_and_jwt_reach_the_real_routes(loopback: Any, http: httpx.AsyncClient) -> None:
    jwt_key = "fake-jwt-key-0123456789-abcdefghijklmnopq"
    config = EvolutionConfig.model_validate({"base_url": "http://127.0.0.1:1", "api_key": API_KEY, "instance": INSTANCE,
                                             "webhook_secret": "w" * 20, "jwt_key": jwt_key})
    inbox = RecordingInbox()
    desk = await loopback(webhook_desk_app([blueprint(config)], inbox))
    fake = await loopback(create_app(API_KEY, INSTANCE, 2, f"{desk.base_url}/webhook/evolution/not-the-secret",
                                     FAST, jwt_key=jwt_key, by_events=True))
    said = (await _say(fake, http)).json()
    assert said["event"]["destination"].endswith("/not-the-secret/messages-upsert")
    assert await _attempts(fake, http, said["id"]) == [{"attempt": 1, "status": 200, "done": True}]
    [message] = inbox.messages
    assert message.message_id == said["id"]


def test_retry_delays_follow_evolutions_formula() -> None:
    policy = RetryPolicy(jitter=0)
    assert [policy.delay(n) for n in range(1, 10)] == [5, 10, 20, 40, 80, 160, 300, 300, 300]
    assert RetryPolicy(exponential=False, jitter=0).delay(4) == 5
    rng = random.Random(7)
    jittered = [RetryPolicy().delay(3, rng) for _ in range(200)]
    assert all(16 <= d <= 24 for d in jittered) and len(set(jittered)) > 100
    assert all(RetryPolicy().delay(1, rng) >= 5 for _ in range(50))
