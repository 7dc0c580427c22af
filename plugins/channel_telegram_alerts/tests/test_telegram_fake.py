"""The fake against the real sink: the answers tests and the demo rely on."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from otc_channel_telegram_alerts.client import TelegramAlertSink
from otc_channel_telegram_alerts.config import TelegramAlertsConfig
from otc_channel_telegram_alerts.fake import create_app
from otc_framework.errors import VenueRateLimited, VenueRefused
from otc_framework.testing.alert_sink_contract import make_alert
from otc_framework.testing.fake_venue import LoopbackServer

TOKEN = "987654321:AAF-fake-secret-token-value"
CHAT_ID = -1009876543210
OLD_GROUP = -4009876543


@pytest.fixture
async def fake(loopback: Any) -> LoopbackServer:
    return await loopback(create_app(TOKEN, [CHAT_ID], migrated={OLD_GROUP: CHAT_ID}))


def _sink(fake: LoopbackServer, http: httpx.AsyncClient, **fields: Any) -> TelegramAlertSink:
    values = {"bot_token": TOKEN, "chat_id": CHAT_ID, "api_base": fake.base_url, **fields}
    return TelegramAlertSink(TelegramAlertsConfig.model_validate(values), http)


async def _inbox(fake: LoopbackServer, http: httpx.AsyncClient) -> list[dict[str, Any]]:
    return (await http.get(f"{fake.base_url}/_inbox")).json()["items"]


async def test_inbox_records_what_telegram_would_show(fake: LoopbackServer, http: httpx.AsyncClient) -> None:
    await _sink(fake, http, message_thread_id=3).send(make_alert(severity="critical"))
    [item] = await _inbox(fake, http)
    assert item["chat_id"] == CHAT_ID
    assert item["parse_mode"] == "HTML"
    assert item["disable_notification"] is False
    assert item["message_thread_id"] == 3
    assert item["text"].startswith("<b>CRITICAL: ")


async def test_wrong_token_is_refused(fake: LoopbackServer, http: httpx.AsyncClient) -> None:
    with pytest.raises(VenueRefused, match="Unauthorized"):
        await _sink(fake, http, bot_token="111:wrong").send(make_alert())


async def test_unknown_chat_is_refused(fake: LoopbackServer, http: httpx.AsyncClient) -> None:
    with pytest.raises(VenueRefused, match="chat not found"):
        await _sink(fake, http, chat_id=-1).send(make_alert())


async def test_migrated_group_is_followed_end_to_end(fake: LoopbackServer, http: httpx.AsyncClient) -> None:
    await _sink(fake, http, chat_id=OLD_GROUP).send(make_alert())
    [item] = await _inbox(fake, http)
    assert item["chat_id"] == CHAT_ID


@pytest.mark.parametrize(
    ("text", "description"),
    [
        ("&amp;" * 4097, "Bad Request: message is too long"),
        ("a < b", "Bad Request: can't parse entities"),
        ("  ", "Bad Request: message text is empty"),
    ],
)
async def test_messages_telegram_would_refuse(
    fake: LoopbackServer, http: httpx.AsyncClient, text: str, description: str
) -> None:
    payload = {"chat_id": CHAT_ID, "text": text, "parse_mode": "HTML"}
    response = await http.post(f"{fake.base_url}/bot{TOKEN}/sendMessage", json=payload)
    assert response.status_code == 400
    assert response.json() == {"ok": False, "error_code": 400, "description": description}
    assert await _inbox(fake, http) == []


async def test_length_counts_parsed_text_not_markup(fake: LoopbackServer, http: httpx.AsyncClient) -> None:
    payload = {"chat_id": CHAT_ID, "text": "<b>" + "&amp;" * 4096 + "</b>", "parse_mode": "HTML"}
    response = await http.post(f"{fake.base_url}/bot{TOKEN}/sendMessage", json=payload)
    assert response.json()["ok"] is True
    assert response.json()["result"]["text"] == "&" * 4096


async def test_forced_429_looks_like_telegrams(fake: LoopbackServer, http: httpx.AsyncClient) -> None:
    await http.post(f"{fake.base_url}/_fault", json={"status": 429, "retryAfter": 2.2})
    response = await http.post(f"{fake.base_url}/bot{TOKEN}/sendMessage", json={"chat_id": CHAT_ID, "text": "x"})
    assert response.status_code == 429
    assert response.json() == {
        "ok": False, "error_code": 429, "description": "Too Many Requests: retry after 3",
        "parameters": {"retry_after": 3},
    }
    await http.post(f"{fake.base_url}/_fault", json={"status": 429, "retryAfter": 2.2})
    with pytest.raises(VenueRateLimited) as caught:
        await _sink(fake, http).send(make_alert())
    assert caught.value.retry_after == 3
