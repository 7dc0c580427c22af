"""The alert-sink contract, against respx mocks (embed and plain-text modes) and against the
fake on loopback."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import respx
from pydantic import SecretStr

from otc_channel_discord.client import DiscordAlertSink
from otc_channel_discord.config import DiscordConfig
from otc_channel_discord.fake import create_app, form_error, readable
from otc_framework.testing.alert_sink_contract import AlertSinkContract, LoopbackHarness, MockedVenue
from otc_framework.testing.fake_venue import LoopbackServer

WEBHOOK_ID = "1234567890123456789"
TOKEN = "contract-webhook-token_0123456789abcdefABCDEF"
PATH = f"/api/webhooks/{WEBHOOK_ID}/{TOKEN}"
WEBHOOK_URL = f"https://discord.com{PATH}"
TIMEOUT = 0.2


def _sink(webhook_url: str, http: httpx.AsyncClient, use_embed: bool = True) -> DiscordAlertSink:
    config = DiscordConfig(webhook_url=SecretStr(webhook_url), use_embed=use_embed, timeout_seconds=TIMEOUT)
    return DiscordAlertSink(config, http)


class DiscordMock(MockedVenue):
    """Execute Webhook as respx answers it, with Discord's own error bodies."""

    def deliver(self, request: httpx.Request) -> tuple[httpx.Response, str | None]:
        payload = json.loads(request.content)
        if form_error(payload) is not None:
            return httpx.Response(400, json={"message": "Invalid Form Body", "code": 50035}), None
        return httpx.Response(200, json={"id": "1", "type": 0, **payload}), readable(payload)

    def fault_answer(self, status: int, retry_after: float) -> httpx.Response:
        if status == 429:
            body = {"message": "You are being rate limited.", "retry_after": retry_after, "global": False}
            return httpx.Response(429, json=body, headers={"Retry-After": str(math.ceil(retry_after))})
        if status == 404:
            return httpx.Response(404, json={"message": "Unknown Webhook", "code": 10015})
        return httpx.Response(status, text="<html>upstream error</html>")


@pytest.fixture(params=["embed", "content"])
def discord_mock(request: pytest.FixtureRequest, http: httpx.AsyncClient) -> Iterator[DiscordMock]:
    sink = _sink(WEBHOOK_URL, http, use_embed=request.param == "embed")
    venue = DiscordMock(sink, secrets=(WEBHOOK_URL, TOKEN), refusal_status=404)
    with respx.mock(assert_all_called=False) as router:
        router.post(WEBHOOK_URL, params={"wait": "true"}).mock(side_effect=venue.handle)
        yield venue


class TestDiscordContractWithMocks(AlertSinkContract):
    @pytest.fixture
    def sink_harness(self, discord_mock: DiscordMock) -> DiscordMock:
        return discord_mock


class TestDiscordContractOnFake(AlertSinkContract):
    @pytest.fixture
    async def sink_harness(self, loopback: Any, http: httpx.AsyncClient) -> LoopbackHarness:
        server: LoopbackServer = await loopback(create_app(WEBHOOK_ID, TOKEN))
        webhook_url = server.base_url + PATH
        return LoopbackHarness(
            _sink(webhook_url, http), http, server.base_url,
            read=readable, secrets=(webhook_url, TOKEN), refusal_status=404, hang_seconds=TIMEOUT * 5,
        )
