"""What the Discord sink does beyond the alert-sink contract, against respx mocks."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import httpx
import pytest
import respx

from otc_channel_discord.client import COLOURS, MAX_CONTENT_CHARS, DiscordAlertSink, content, embed
from otc_channel_discord.config import DiscordConfig
from otc_channel_discord.fake import form_error, readable
from otc_framework.errors import VenueError, VenueRateLimited, VenueRefused
from otc_framework.testing.alert_sink_contract import make_alert

TOKEN = "client-webhook-token_0123456789abcdefABCDEF"
WEBHOOK_URL = f"https://discord.com/api/webhooks/1122334455667788990/{TOKEN}"
SAVED = httpx.Response(200, json={"id": "1", "type": 0})


def _sink(http: httpx.AsyncClient, **fields: Any) -> DiscordAlertSink:
    return DiscordAlertSink(DiscordConfig.model_validate({"webhook_url": WEBHOOK_URL, **fields}), http)


@pytest.fixture
def venue() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False) as router:
        yield router


def _sent(route: respx.Route) -> dict[str, Any]:
    return json.loads(route.calls.last.request.content)


async def test_waits_for_confirmation_and_pings_nobody(venue: respx.MockRouter, http: httpx.AsyncClient) -> None:
    route = venue.post(WEBHOOK_URL).mock(return_value=SAVED)
    await _sink(http).send(make_alert(detail="@everyone look"))
    assert route.calls.last.request.url.params["wait"] == "true"
    payload = _sent(route)
    assert payload["allowed_mentions"] == {"parse": []}
    assert payload["username"] == "OTC desk"


async def test_the_webhook_urls_own_query_is_kept(venue: respx.MockRouter, http: httpx.AsyncClient) -> None:
    route = venue.post(WEBHOOK_URL).mock(return_value=SAVED)
    await _sink(http, webhook_url=f"{WEBHOOK_URL}?thread_id=42&wait=false").send(make_alert())
    assert dict(route.calls.last.request.url.params) == {"thread_id": "42", "wait": "true"}


async def test_the_configured_timeout_applies_to_each_request(
    venue: respx.MockRouter, http: httpx.AsyncClient
) -> None:
    route = venue.post(WEBHOOK_URL).mock(return_value=SAVED)
    await _sink(http, timeout_seconds=1.5).send(make_alert())
    assert route.calls.last.request.extensions["timeout"]["read"] == 1.5


@pytest.mark.parametrize("severity", ["info", "warning", "critical"])
async def test_embed_mode_sends_one_coloured_embed(
    venue: respx.MockRouter, http: httpx.AsyncClient, severity: str
) -> None:
    route = venue.post(WEBHOOK_URL).mock(return_value=SAVED)
    await _sink(http, username="Desk bot").send(make_alert(severity=severity))
    payload = _sent(route)
    assert "content" not in payload
    assert payload["username"] == "Desk bot"
    [sent] = payload["embeds"]
    assert sent["color"] == COLOURS[severity]
    assert sent["title"] == "Spot source failing"
    assert sent["timestamp"] == "2026-11-21T12:30:05+00:00"
    assert {"name": "Kind", "value": "spot.failing", "inline": True} in sent["fields"]


async def test_content_mode_sends_text_only(venue: respx.MockRouter, http: httpx.AsyncClient) -> None:
    route = venue.post(WEBHOOK_URL).mock(return_value=SAVED)
    await _sink(http, use_embed=False).send(make_alert(severity="critical"))
    payload = _sent(route)
    assert "embeds" not in payload
    assert payload["content"].startswith("**CRITICAL: Spot source failing**\nspot.failing · 2026-11-21 12:30:05 UTC\n")


async def test_no_wait_answer_204_is_success_too(venue: respx.MockRouter, http: httpx.AsyncClient) -> None:
    venue.post(WEBHOOK_URL).mock(return_value=httpx.Response(204))
    await _sink(http).send(make_alert())


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        (httpx.Response(429, json={"message": "You are being rate limited.", "retry_after": 64.57, "global": False},
                        headers={"Retry-After": "65"}), 64.57),
        (httpx.Response(429, headers={"Retry-After": "12"}), 12),
        (httpx.Response(429, text="<html>slow down</html>"), 1.0),
    ],
)
async def test_rate_limit_wait_comes_from_the_body_then_the_header(
    venue: respx.MockRouter, http: httpx.AsyncClient, response: httpx.Response, expected: float
) -> None:
    venue.post(WEBHOOK_URL).mock(return_value=response)
    with pytest.raises(VenueRateLimited) as caught:
        await _sink(http).send(make_alert())
    assert caught.value.retry_after == expected


@pytest.mark.parametrize(
    ("status", "body", "said"),
    [
        (404, {"message": "Unknown Webhook", "code": 10015}, "Unknown Webhook (code 10015)"),
        (401, {"message": "401: Unauthorized", "code": 0}, "401: Unauthorized"),
        (403, {"message": "Missing Access", "code": 50001}, "Missing Access (code 50001)"),
        (400, {"message": "Invalid Form Body", "code": 50035}, "Invalid Form Body (code 50035)"),
    ],
)
async def test_client_errors_are_permanent(
    venue: respx.MockRouter, http: httpx.AsyncClient, status: int, body: dict[str, Any], said: str
) -> None:
    venue.post(WEBHOOK_URL).mock(return_value=httpx.Response(status, json=body))
    with pytest.raises(VenueRefused) as caught:
        await _sink(http).send(make_alert())
    assert said in caught.value.message
    assert TOKEN not in str(caught.value)


@pytest.mark.parametrize("status", [500, 502, 504, 302])
async def test_server_and_odd_answers_are_retryable(
    venue: respx.MockRouter, http: httpx.AsyncClient, status: int
) -> None:
    venue.post(WEBHOOK_URL).mock(return_value=httpx.Response(status, text="<html>cloudflare</html>"))
    with pytest.raises(VenueError) as caught:
        await _sink(http).send(make_alert())
    assert not isinstance(caught.value, VenueRateLimited | VenueRefused)


def test_markdown_is_escaped_so_nothing_formats() -> None:
    detail = "*bold* _it_ ~~s~~ `code` ||spoiler|| \\n\n> quote\n# heading\n  - item\n5 > 3 - 1"
    text = content(make_alert(detail=detail))
    assert "\\*bold\\* \\_it\\_ \\~\\~s\\~\\~ \\`code\\` \\|\\|spoiler\\|\\| \\\\n" in text
    assert "\n\\> quote\n\\# heading\n  \\- item\n5 > 3 - 1" in text
    assert detail in readable({"content": text})


def test_embed_respects_the_total_size_with_a_long_title() -> None:
    sent = embed(make_alert(title="T" * 1000, kind="k" * 2000, detail="d" * 10_000))
    assert len(sent["title"]) == 256 and sent["title"].endswith("…")
    assert form_error({"embeds": [sent]}) is None
    assert sent["description"].endswith("…")


def test_no_raised_time_means_no_timestamp() -> None:
    assert "timestamp" not in embed(make_alert(raised_at=None))
    assert " UTC" not in content(make_alert(raised_at=None))


def test_naive_raised_time_is_taken_as_utc() -> None:
    assert embed(make_alert(raised_at=datetime(2026, 1, 2, 3, 4, 5)))["timestamp"] == "2026-01-02T03:04:05+00:00"


def test_empty_detail_leaves_the_description_out() -> None:
    sent = embed(make_alert(detail=" "))
    assert "description" not in sent
    assert form_error({"embeds": [sent]}) is None


@pytest.mark.parametrize("length", range(1900, 2100, 7))
def test_a_cut_never_leaves_half_an_escape(length: int) -> None:
    detail = ("x" * (length % 3)) + "\\*" * length
    text = content(make_alert(detail=detail))
    assert len(text) <= MAX_CONTENT_CHARS
    shown = readable({"content": text})
    assert shown.endswith("…")
    assert detail.startswith(shown.split("\n", 2)[2].removesuffix("…"))


def test_astral_characters_count_as_discord_may_count_them() -> None:
    text = content(make_alert(detail="🚨" * MAX_CONTENT_CHARS))
    assert len(text.encode("utf-16-le")) // 2 <= MAX_CONTENT_CHARS
