"""The alert-sink contract, against respx mocks and against the fake on loopback."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import respx
from pydantic import SecretStr

from otc_channel_telegram_alerts.client import MAX_TEXT_CHARS, TelegramAlertSink
from otc_channel_telegram_alerts.config import TelegramAlertsConfig
from otc_channel_telegram_alerts.fake import create_app, parse_entities
from otc_framework.testing.alert_sink_contract import AlertSinkContract, LoopbackHarness, MockedVenue
from otc_framework.testing.fake_venue import LoopbackServer

TOKEN = "123456789:AAH-contract-secret-token-value"
CHAT_ID = -1001234567890
API_BASE = "https://api.telegram.org"
TIMEOUT = 0.2


def _sink(api_base: str, http: httpx.AsyncClient) -> TelegramAlertSink:
    config = TelegramAlertsConfig(bot_token=SecretStr(TOKEN), chat_id=CHAT_ID, api_base=api_base, timeout_seconds=TIMEOUT)
    return TelegramAlertSink(config, http)


def _answer(status: int, description: str, **parameters: Any) -> httpx.Response:
    body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if parameters:
        body["parameters"] = parameters
    return httpx.Response(status, json=body)


class TelegramMock(MockedVenue):
    """The Bot API as respx answers it, with Telegram's own error bodies."""

    def deliver(self, request: httpx.Request) -> tuple[httpx.Response, str | None]:
        body = json.loads(request.content)
        text = parse_entities(body["text"])
        if text is None:
            return _answer(400, "Bad Request: can't parse entities"), None
        if len(text) > MAX_TEXT_CHARS:
            return _answer(400, "Bad Request: message is too long"), None
        result = {"message_id": 1, "chat": {"id": body["chat_id"]}, "date": 1, "text": text}
        return httpx.Response(200, json={"ok": True, "result": result}), text

    def fault_answer(self, status: int, retry_after: float) -> httpx.Response:
        if status == 429:
            return _answer(429, f"Too Many Requests: retry after {retry_after:g}", retry_after=retry_after)
        return _answer(status, "Unauthorized" if status == 401 else "Internal Server Error")


@pytest.fixture
def telegram_mock(http: httpx.AsyncClient) -> Iterator[TelegramMock]:
    venue = TelegramMock(_sink(API_BASE, http), secrets=(TOKEN,), refusal_status=401)
    with respx.mock(assert_all_called=False) as router:
        router.post(f"{API_BASE}/bot{TOKEN}/sendMessage").mock(side_effect=venue.handle)
        yield venue


class TestTelegramContractWithMocks(AlertSinkContract):
    @pytest.fixture
    def sink_harness(self, telegram_mock: TelegramMock) -> TelegramMock:
        return telegram_mock


def _read(item: dict[str, Any]) -> str:
    return parse_entities(item["text"]) or ""


class TestTelegramContractOnFake(AlertSinkContract):
    @pytest.fixture
    async def sink_harness(self, loopback: Any, http: httpx.AsyncClient) -> LoopbackHarness:
        server: LoopbackServer = await loopback(create_app(TOKEN, [CHAT_ID]))
        return LoopbackHarness(
            _sink(server.base_url, http), http, server.base_url,
            read=_read, secrets=(TOKEN,), refusal_status=401, hang_seconds=TIMEOUT * 5,
        )
