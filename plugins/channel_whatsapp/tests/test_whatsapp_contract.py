"""The channel contract, both ways: against the fake Evolution on loopback (v2 with the path
secret, v1 with by-events URLs, v2 authenticating by JWT alone) and against respx mocks
whose answers are the fake's own code, with inbound events built by the fake's envelope
builder and posted to the webhook directly."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import respx
from sanic.response import HTTPResponse

from otc_channel_whatsapp.client import EvolutionChannel
from otc_channel_whatsapp.config import EvolutionConfig
from otc_channel_whatsapp.fake import RetryPolicy, body_error, create_app, evolution_error, fault_answer, message_upsert
from otc_channel_whatsapp.routes import WEBHOOK_PATH, blueprint
from otc_framework.testing.channel_contract import (
    ChannelContract,
    LoopbackHarness,
    MockedVenue,
    RecordingInbox,
    wait_until,
    webhook_desk_app,
)

API_KEY = "B6D711FC-DE4D-4FD5-9365-44120E713976"
WEBHOOK_SECRET = "contract-webhook-secret-0123456789"
JWT_KEY = "contract-jwt-key-0123456789-abcdefghijklmnop"
INSTANCE = "otc-contract"
GROUP = "120363041234567890@g.us"
PARTICIPANT = "5511965525438@s.whatsapp.net"
TIMEOUT = 0.2
FAST_RETRIES = RetryPolicy(initial_delay=0.01, max_delay=0.05, jitter=0, timeout_seconds=2)
MOCK_BASE = "https://evolution.example.com"


def _config(base_url: str, version: int, **fields: Any) -> EvolutionConfig:
    return EvolutionConfig.model_validate({
        "base_url": base_url, "api_key": API_KEY, "instance": INSTANCE, "version": version,
        "webhook_secret": WEBHOOK_SECRET, "timeout_seconds": TIMEOUT, **fields,
    })


def _read(item: dict[str, Any]) -> tuple[str, str]:
    return item["number"], item["text"]


class EvolutionOnLoopback(LoopbackHarness):
    """Inbound messages through the fake's ``/_say`` and ``/_redeliver``, waiting for its
    delivery to finish (``GET /_webhooks``)."""

    desk_url: str
    version: int

    async def _done(self, message_id: str) -> int:
        items = (await self.http.get(f"{self.venue_url}/_webhooks")).json()["items"]
        return sum(1 for item in items if item["id"] == message_id and item["done"])

    async def _wait(self, message_id: str, deliveries: int) -> None:
        async def finished() -> bool:
            return await self._done(message_id) >= deliveries

        await wait_until(finished, what=f"delivery {deliveries} of {message_id}")

    async def say(self, chat_id: str, sender: str, text: str, *, from_me: bool = False) -> str:
        response = await self.http.post(f"{self.venue_url}/_say",
                                        json={"group": chat_id, "participant": sender, "text": text, "fromMe": from_me})
        response.raise_for_status()
        message_id: str = response.json()["id"]
        await self._wait(message_id, 1)
        return message_id

    async def redeliver(self, message_id: str) -> None:
        before = await self._done(message_id)
        (await self.http.post(f"{self.venue_url}/_redeliver", json={"id": message_id})).raise_for_status()
        await self._wait(message_id, before + 1)

    async def unauthenticated_post(self) -> int:
        envelope = message_upsert(self.version, INSTANCE, group=GROUP, participant=PARTICIPANT, text="/ref",
                                  message_id="3AUNAUTHENTICATED000")
        response = await self.http.post(f"{self.desk_url}{WEBHOOK_PATH}/not-the-secret", json=envelope)
        return response.status_code


async def _on_loopback(loopback: Any, http: httpx.AsyncClient, version: int, *, jwt: bool = False,
                       by_events: bool = False) -> EvolutionOnLoopback:
    inbox = RecordingInbox()
    desk_config = _config("http://127.0.0.1:1", version, jwt_key=JWT_KEY if jwt else None)
    desk = await loopback(webhook_desk_app([blueprint(desk_config)], inbox))
    # With a JWT, Evolution needs no secret in the URL at all.
    webhook = f"{desk.base_url}{WEBHOOK_PATH}" + ("" if jwt else f"/{WEBHOOK_SECRET}")
    fake = await loopback(create_app(API_KEY, INSTANCE, version, webhook, FAST_RETRIES,
                                     jwt_key=JWT_KEY if jwt else None, by_events=by_events))
    harness = EvolutionOnLoopback(
        EvolutionChannel(_config(fake.base_url, version), http), http, fake.base_url, inbox,
        chat_id=GROUP, sender=PARTICIPANT, read=_read, secrets=(API_KEY, WEBHOOK_SECRET, JWT_KEY),
        refusal_status=401, hang_seconds=TIMEOUT * 5,
    )
    harness.desk_url, harness.version = desk.base_url, version
    return harness


class TestWhatsAppContractOnFakeV2(ChannelContract):
    @pytest.fixture
    async def channel_harness(self, loopback: Any, http: httpx.AsyncClient) -> EvolutionOnLoopback:
        return await _on_loopback(loopback, http, 2)


class TestWhatsAppContractOnFakeV1(ChannelContract):
    @pytest.fixture
    async def channel_harness(self, loopback: Any, http: httpx.AsyncClient) -> EvolutionOnLoopback:
        return await _on_loopback(loopback, http, 1, by_events=True)


class TestWhatsAppContractOnFakeWithJwt(ChannelContract):
    @pytest.fixture
    async def channel_harness(self, loopback: Any, http: httpx.AsyncClient) -> EvolutionOnLoopback:
        return await _on_loopback(loopback, http, 2, jwt=True)


def _httpx(response: HTTPResponse) -> httpx.Response:
    """A Sanic answer of the fake as respx hands it to the channel."""
    headers = {name: value for name, value in response.headers.items()}
    return httpx.Response(response.status, content=response.body or b"", headers=headers)


class EvolutionMock(MockedVenue):
    """``sendText`` mocked with the fake's own validation and error bodies; inbound events
    built by the fake's envelope builder and posted straight to the desk's webhook, as
    Evolution posts them."""

    def __init__(self, channel: EvolutionChannel, inbox: RecordingInbox, http: httpx.AsyncClient,
                 desk_url: str, version: int) -> None:
        super().__init__(channel, inbox, chat_id=GROUP, sender=PARTICIPANT,
                         secrets=(API_KEY, WEBHOOK_SECRET), refusal_status=401)
        self.http, self.desk_url, self.version = http, desk_url, version
        self._answer = fault_answer(INSTANCE)
        self._envelopes: dict[str, dict[str, Any]] = {}
        self._said = 0

    def deliver(self, request: httpx.Request) -> tuple[httpx.Response, tuple[str, str] | None]:
        if request.headers.get("apikey") != API_KEY:
            return _httpx(evolution_error(401, "Unauthorized")), None
        body = json.loads(request.content)
        complaint = body_error(self.version, body)
        if complaint is not None:
            return _httpx(evolution_error(400, complaint)), None
        text = body["textMessage"]["text"] if self.version == 1 else body["text"]
        if not text.strip():
            return _httpx(evolution_error(400, ["Text is required"])), None
        key = {"remoteJid": body["number"], "fromMe": True, "id": "BAE594145F4C59B4"}
        return httpx.Response(201, json={"key": key, "status": "PENDING"}), (body["number"], text)

    def fault_answer(self, status: int, retry_after: float) -> httpx.Response:
        return _httpx(self._answer(status, retry_after))

    async def _post(self, envelope: dict[str, Any], secret: str = WEBHOOK_SECRET) -> int:
        response = await self.http.post(f"{self.desk_url}{WEBHOOK_PATH}/{secret}", json=envelope)
        return response.status_code

    async def say(self, chat_id: str, sender: str, text: str, *, from_me: bool = False) -> str:
        self._said += 1
        message_id = f"3A{self._said:018X}"
        envelope = message_upsert(self.version, INSTANCE, group=chat_id, participant=sender, text=text,
                                  message_id=message_id, from_me=from_me)
        self._envelopes[message_id] = envelope
        assert await self._post(envelope) == 200
        return message_id

    async def redeliver(self, message_id: str) -> None:
        assert await self._post(self._envelopes[message_id]) == 200

    async def unauthenticated_post(self) -> int:
        envelope = message_upsert(self.version, INSTANCE, group=GROUP, participant=PARTICIPANT, text="/ref",
                                  message_id="3AUNAUTHENTICATED000")
        return await self._post(envelope, secret="not-the-secret")


@pytest.fixture(params=[1, 2], ids=["v1", "v2"])
async def evolution_mock(
    request: pytest.FixtureRequest, loopback: Any, http: httpx.AsyncClient
) -> AsyncIterator[EvolutionMock]:
    version: int = request.param
    inbox = RecordingInbox()
    desk = await loopback(webhook_desk_app([blueprint(_config(MOCK_BASE, version))], inbox))
    venue = EvolutionMock(EvolutionChannel(_config(MOCK_BASE, version), http), inbox, http, desk.base_url, version)
    with respx.mock(assert_all_called=False) as router:
        router.post(f"{MOCK_BASE}/message/sendText/{INSTANCE}").mock(side_effect=venue.handle)
        router.route(host="127.0.0.1").pass_through()
        yield venue


class TestWhatsAppContractWithMocks(ChannelContract):
    @pytest.fixture
    def channel_harness(self, evolution_mock: EvolutionMock) -> EvolutionMock:
        return evolution_mock
