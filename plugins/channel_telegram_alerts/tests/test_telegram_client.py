"""What the Telegram sink does beyond the alert-sink contract, against respx mocks."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import respx

from otc_channel_telegram_alerts.client import MAX_TEXT_CHARS, TelegramAlertSink, escape_within, render
from otc_channel_telegram_alerts.config import TelegramAlertsConfig
from otc_channel_telegram_alerts.fake import parse_entities
from otc_framework.errors import VenueError, VenueRateLimited, VenueRefused
from otc_framework.testing.alert_sink_contract import make_alert

TOKEN = "123456789:AAH-client-secret-token-value"
API_BASE = "https://api.telegram.org"
URL = f"{API_BASE}/bot{TOKEN}/sendMessage"
CHAT_ID = -4001234567
SUPERGROUP_ID = -1004001234567
OK = httpx.Response(200, json={"ok": True, "result": {"message_id": 1, "chat": {"id": CHAT_ID}, "date": 1}})


def _sink(http: httpx.AsyncClient, **fields: Any) -> TelegramAlertSink:
    config = TelegramAlertsConfig.model_validate({"bot_token": TOKEN, "chat_id": CHAT_ID, **fields})
    return TelegramAlertSink(config, http)


def _error(status: int, description: str, **parameters: Any) -> httpx.Response:
    body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if parameters:
        body["parameters"] = parameters
    return httpx.Response(status, json=body)


def _sent(route: respx.Route) -> list[dict[str, Any]]:
    return [json.loads(call.request.content) for call in route.calls]


@pytest.fixture
def venue() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False) as router:
        yield router


async def test_payload_is_html_to_the_configured_chat(venue: respx.MockRouter, http: httpx.AsyncClient) -> None:
    route = venue.post(URL).mock(return_value=OK)
    await _sink(http).send(make_alert())
    [payload] = _sent(route)
    assert payload["chat_id"] == CHAT_ID
    assert payload["parse_mode"] == "HTML"
    assert "message_thread_id" not in payload
    assert payload["text"].startswith("<b>WARNING: Spot source failing</b>\n<code>spot.failing</code>")
    assert "2026-11-21 12:30:05 UTC" in payload["text"]


async def test_the_configured_timeout_applies_to_each_request(
    venue: respx.MockRouter, http: httpx.AsyncClient
) -> None:
    route = venue.post(URL).mock(return_value=OK)
    await _sink(http, timeout_seconds=1.5).send(make_alert())
    assert route.calls.last.request.extensions["timeout"]["read"] == 1.5


@pytest.mark.parametrize(("severity", "silent"), [("info", True), ("warning", True), ("critical", False)])
async def test_only_critical_alerts_make_a_sound(
    venue: respx.MockRouter, http: httpx.AsyncClient, severity: str, silent: bool
) -> None:
    route = venue.post(URL).mock(return_value=OK)
    await _sink(http).send(make_alert(severity=severity))
    assert _sent(route)[0]["disable_notification"] is silent


async def test_forum_topic_and_channel_username(venue: respx.MockRouter, http: httpx.AsyncClient) -> None:
    route = venue.post(URL).mock(return_value=OK)
    await _sink(http, chat_id="@desk_alerts", message_thread_id=42).send(make_alert())
    [payload] = _sent(route)
    assert payload["chat_id"] == "@desk_alerts"
    assert payload["message_thread_id"] == 42


async def test_migrated_group_is_adopted_and_retried_at_once(
    venue: respx.MockRouter, http: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    migrated = _error(400, "Bad Request: group chat was migrated to a supergroup chat", migrate_to_chat_id=SUPERGROUP_ID)
    route = venue.post(URL).mock(side_effect=[migrated, OK, OK])
    sink = _sink(http)
    with caplog.at_level(logging.WARNING):
        await sink.send(make_alert())
        await sink.send(make_alert())
    assert [p["chat_id"] for p in _sent(route)] == [CHAT_ID, SUPERGROUP_ID, SUPERGROUP_ID]
    [record] = [r for r in caplog.records if r.name.startswith("otc_channel_telegram_alerts")]
    assert record.levelno == logging.WARNING
    assert f"chat_id = {SUPERGROUP_ID}" in record.getMessage()
    assert TOKEN not in record.getMessage()


async def test_a_second_migration_in_one_send_is_retried_later(
    venue: respx.MockRouter, http: httpx.AsyncClient
) -> None:
    moved = _error(400, "Bad Request: group chat was migrated to a supergroup chat", migrate_to_chat_id=SUPERGROUP_ID)
    moved_again = _error(400, "Bad Request: group chat was migrated to a supergroup chat", migrate_to_chat_id=-100777)
    route = venue.post(URL).mock(side_effect=[moved, moved_again, OK])
    sink = _sink(http)
    with pytest.raises(VenueError) as caught:
        await sink.send(make_alert())
    assert not isinstance(caught.value, VenueRefused)
    await sink.send(make_alert())
    assert _sent(route)[-1]["chat_id"] == -100777


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        (_error(429, "Too Many Requests: retry after 35", retry_after=35), 35),
        (httpx.Response(429, headers={"Retry-After": "7"}, json={"ok": False, "error_code": 429}), 7),
        (httpx.Response(429, text="slow down"), 1.0),
        (_error(429, "Too Many Requests", retry_after=0), 1.0),
    ],
)
async def test_rate_limit_wait_comes_from_parameters_then_header(
    venue: respx.MockRouter, http: httpx.AsyncClient, response: httpx.Response, expected: float
) -> None:
    venue.post(URL).mock(return_value=response)
    with pytest.raises(VenueRateLimited) as caught:
        await _sink(http).send(make_alert())
    assert caught.value.retry_after == expected


@pytest.mark.parametrize(
    ("status", "description"),
    [
        (400, "Bad Request: chat not found"),
        (401, "Unauthorized"),
        (403, "Forbidden: bot was kicked from the group chat"),
        (404, "Not Found"),
    ],
)
async def test_permanent_refusals_quote_telegram(
    venue: respx.MockRouter, http: httpx.AsyncClient, status: int, description: str
) -> None:
    venue.post(URL).mock(return_value=_error(status, description))
    with pytest.raises(VenueRefused) as caught:
        await _sink(http).send(make_alert())
    assert description in caught.value.message
    assert TOKEN not in str(caught.value)


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(200, json={"ok": False, "error_code": 200, "description": "odd"}),
        httpx.Response(200, text="<html>captive portal</html>"),
        httpx.Response(502, text="<html>Bad Gateway</html>"),
        _error(409, "Conflict: terminated by other getUpdates request"),
    ],
)
async def test_other_answers_are_retryable(
    venue: respx.MockRouter, http: httpx.AsyncClient, response: httpx.Response
) -> None:
    venue.post(URL).mock(return_value=response)
    with pytest.raises(VenueError) as caught:
        await _sink(http).send(make_alert())
    assert not isinstance(caught.value, VenueRateLimited | VenueRefused)


async def test_unusable_api_base_is_a_venue_error(http: httpx.AsyncClient) -> None:
    with pytest.raises(VenueError, match="request failed") as caught:
        await _sink(http, api_base="ftp://api.telegram.org").send(make_alert())
    assert TOKEN not in str(caught.value)


def test_raised_time_is_shown_in_utc_and_left_out_when_unknown() -> None:
    naive = render(make_alert(raised_at=datetime(2026, 1, 2, 3, 4, 5)))
    assert "· 2026-01-02 03:04:05 UTC" in naive
    assert " UTC" not in render(make_alert(raised_at=None))
    aware = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC).astimezone()
    assert "· 2026-01-02 03:04:05 UTC" in render(make_alert(raised_at=aware))


@pytest.mark.parametrize("length", range(4000, 4200, 7))
def test_a_cut_never_splits_an_entity(length: int) -> None:
    text = render(make_alert(detail=("x" * (length % 5)) + "&<>" * length))
    assert len(text) <= MAX_TEXT_CHARS
    assert text.endswith("…")
    assert parse_entities(text) is not None


def test_astral_characters_count_as_telegram_may_count_them() -> None:
    text = render(make_alert(detail="🚨" * MAX_TEXT_CHARS))
    assert len(text.encode("utf-16-le")) // 2 <= MAX_TEXT_CHARS
    assert text.endswith("🚨…")


def test_escape_within_leaves_fitting_text_whole() -> None:
    assert escape_within("a<b", 6) == "a&lt;b"
    assert escape_within("a<b", 5) == "a…"
