"""The fake against the real sink: the answers tests and the demo rely on."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from otc_channel_discord.client import DiscordAlertSink
from otc_channel_discord.config import DiscordConfig
from otc_channel_discord.fake import create_app
from otc_framework.errors import VenueRateLimited, VenueRefused
from otc_framework.testing.alert_sink_contract import make_alert
from otc_framework.testing.fake_venue import LoopbackServer

WEBHOOK_ID = "998877665544332211"
TOKEN = "fake-webhook-token_0123456789abcdefABCDEF"


@pytest.fixture
async def fake(loopback: Any) -> LoopbackServer:
    return await loopback(create_app(WEBHOOK_ID, TOKEN))


def _url(fake: LoopbackServer, webhook_id: str = WEBHOOK_ID, token: str = TOKEN) -> str:
    return f"{fake.base_url}/api/webhooks/{webhook_id}/{token}"


def _sink(fake: LoopbackServer, http: httpx.AsyncClient, **fields: Any) -> DiscordAlertSink:
    return DiscordAlertSink(DiscordConfig.model_validate({"webhook_url": _url(fake), **fields}), http)


async def _inbox(fake: LoopbackServer, http: httpx.AsyncClient) -> list[dict[str, Any]]:
    return (await http.get(f"{fake.base_url}/_inbox")).json()["items"]


async def test_inbox_records_what_discord_would_show(fake: LoopbackServer, http: httpx.AsyncClient) -> None:
    await _sink(fake, http).send(make_alert())
    [item] = await _inbox(fake, http)
    assert item["wait"] is True
    assert item["username"] == "OTC desk"
    assert item["allowed_mentions"] == {"parse": []}
    assert item["content"] is None
    assert item["embeds"][0]["title"] == "Spot source failing"


@pytest.mark.parametrize(("webhook_id", "token"), [("1", TOKEN), (WEBHOOK_ID, "wrong")])
async def test_unknown_webhook_is_refused(
    fake: LoopbackServer, http: httpx.AsyncClient, webhook_id: str, token: str
) -> None:
    config = DiscordConfig(webhook_url=SecretStr(_url(fake, webhook_id, token)))
    with pytest.raises(VenueRefused, match="Unknown Webhook"):
        await DiscordAlertSink(config, http).send(make_alert())


async def test_without_wait_it_answers_204(fake: LoopbackServer, http: httpx.AsyncClient) -> None:
    response = await http.post(_url(fake), json={"content": "hi"})
    assert response.status_code == 204
    [item] = await _inbox(fake, http)
    assert item["wait"] is False


async def test_with_wait_it_answers_the_message(fake: LoopbackServer, http: httpx.AsyncClient) -> None:
    response = await http.post(_url(fake), params={"wait": "true"}, json={"content": "hi", "username": "u"})
    assert response.status_code == 200
    assert response.json()["content"] == "hi"
    assert response.json()["webhook_id"] == WEBHOOK_ID


@pytest.mark.parametrize(
    "payload",
    [
        {"username": "nobody said anything"},
        {"content": "x" * 2001},
        {"embeds": [{"title": "t"}] * 11},
        {"embeds": [{"description": "d" * 4000}, {"description": "d" * 2001}]},
        {"embeds": [{"title": "t" * 257}]},
    ],
)
async def test_bodies_discord_would_refuse(fake: LoopbackServer, http: httpx.AsyncClient, payload: dict[str, Any]) -> None:
    response = await http.post(_url(fake), params={"wait": "true"}, json=payload)
    assert response.status_code == 400
    assert response.json()["message"] == "Invalid Form Body"
    assert response.json()["code"] == 50035
    assert await _inbox(fake, http) == []


async def test_forced_429_looks_like_discords(fake: LoopbackServer, http: httpx.AsyncClient) -> None:
    await http.post(f"{fake.base_url}/_fault", json={"status": 429, "retryAfter": 2.5})
    response = await http.post(_url(fake), json={"content": "x"})
    assert response.status_code == 429
    assert response.json() == {"message": "You are being rate limited.", "retry_after": 2.5, "global": False}
    assert response.headers["Retry-After"] == "3"
    assert response.headers["X-RateLimit-Remaining"] == "0"
    assert response.headers["X-RateLimit-Reset-After"] == "2.500"
    await http.post(f"{fake.base_url}/_fault", json={"status": 429, "retryAfter": 2.5})
    with pytest.raises(VenueRateLimited) as caught:
        await _sink(fake, http).send(make_alert())
    assert caught.value.retry_after == 2.5
