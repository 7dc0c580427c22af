"""``EvolutionChannel.send_text`` against respx mocks: the request it makes, and each row of
its error mapping (client.py's docstring)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import respx

from otc_channel_whatsapp.client import EvolutionChannel, error_text
from otc_channel_whatsapp.config import EvolutionConfig
from otc_framework.errors import VenueError, VenueRateLimited, VenueRefused

API_KEY = "B6D711FCDE4D4FD5936544120E713976"
BASE = "https://evolution.example.com"
INSTANCE = "desk otc"
URL = f"{BASE}/message/sendText/desk%20otc"
GROUP = "120363041234567890@g.us"
SENT = httpx.Response(201, json={"key": {"remoteJid": GROUP, "fromMe": True, "id": "BAE594145F4C59B4"},
                                 "status": "PENDING", "message": {"conversation": "oi"}})


def _channel(http: httpx.AsyncClient, **fields: Any) -> EvolutionChannel:
    values = {"base_url": BASE, "api_key": API_KEY, "instance": INSTANCE, "webhook_secret": "s" * 32, **fields}
    return EvolutionChannel(EvolutionConfig.model_validate(values), http)


def _error(status: int, message: Any, **headers: str) -> httpx.Response:
    body = {"status": status, "error": "whatever", "response": {"message": message}}
    return httpx.Response(status, json=body, headers=headers)


@pytest.fixture
def venue() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False) as router:
        yield router


async def test_v2_body_header_and_timeout(venue: respx.MockRouter, http: httpx.AsyncClient) -> None:
    route = venue.post(URL).mock(return_value=SENT)
    await _channel(http, timeout_seconds=2.5).send_text(GROUP, "Olá\nR$ 5,43")
    request = route.calls.last.request
    assert json.loads(request.content) == {"number": GROUP, "text": "Olá\nR$ 5,43", "linkPreview": False}
    assert request.headers["apikey"] == API_KEY
    assert request.extensions["timeout"]["read"] == 2.5


async def test_v1_body(venue: respx.MockRouter, http: httpx.AsyncClient) -> None:
    route = venue.post(URL).mock(return_value=SENT)
    await _channel(http, version=1).send_text(GROUP, "oi")
    assert json.loads(route.calls.last.request.content) == {
        "number": GROUP, "options": {"linkPreview": False}, "textMessage": {"text": "oi"},
    }


async def test_base_url_path_prefix_is_kept(venue: respx.MockRouter, http: httpx.AsyncClient) -> None:
    route = venue.post(f"{BASE}/evo/message/sendText/desk%20otc").mock(return_value=SENT)
    await _channel(http, base_url=f"{BASE}/evo/").send_text(GROUP, "oi")
    assert route.called


def test_pace_and_name_come_from_the_config(http: httpx.AsyncClient) -> None:
    channel = _channel(http, per_minute=20, per_chat_per_minute=6, channel_name="wa-desk")
    assert (channel.name, channel.per_minute, channel.per_chat_per_minute) == ("wa-desk", 20, 6)
    assert API_KEY not in repr(channel)


@pytest.mark.parametrize("status", [200, 201])
async def test_200_and_201_are_sent(venue: respx.MockRouter, http: httpx.AsyncClient, status: int) -> None:
    venue.post(URL).mock(return_value=httpx.Response(status, json={"key": {"id": "x"}}))
    await _channel(http).send_text(GROUP, "oi")


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        (_error(429, "Too Many Requests", **{"Retry-After": "7"}), 7.0),
        (httpx.Response(429, text="slow down"), 5.0),
        (httpx.Response(429, headers={"Retry-After": "Wed, 21 Oct 2026 07:28:00 GMT"}), 5.0),
    ],
)
async def test_429_is_rate_limited_with_retry_after_else_a_default(
    venue: respx.MockRouter, http: httpx.AsyncClient, response: httpx.Response, expected: float
) -> None:
    venue.post(URL).mock(return_value=response)
    with pytest.raises(VenueRateLimited) as caught:
        await _channel(http).send_text(GROUP, "oi")
    assert caught.value.retry_after == expected


@pytest.mark.parametrize(
    ("response", "words"),
    [
        (_error(401, "Unauthorized"), "HTTP 401: Unauthorized): check api_key"),
        (_error(401, "conflict: device_removed"), "device_removed"),
        (_error(403, "Forbidden"), "HTTP 403: Forbidden): check api_key"),
        (_error(404, ['The "desk otc" instance does not exist']), 'The "desk otc" instance does not exist'),
        (_error(404, ["Cannot POST /message/sendText/x"]), "check instance and base_url"),
        (_error(400, [{"jid": "274860794187802@s.whatsapp.net", "exists": False, "number": "274860794187802"}]),
         "274860794187802 is not on WhatsApp"),
        (_error(400, [{"jid": "1@lid", "exists": False, "name": "x"}]), "1@lid is not on WhatsApp"),
        (_error(400, [['instance requires property "text"']]), 'instance requires property "text"'),
        (_error(400, ["Text is required"]), "Text is required"),
        (_error(413, "request entity too large"), "HTTP 413"),
    ],
)
async def test_refusals(venue: respx.MockRouter, http: httpx.AsyncClient, response: httpx.Response, words: str) -> None:
    venue.post(URL).mock(return_value=response)
    with pytest.raises(VenueRefused) as caught:
        await _channel(http).send_text(GROUP, "oi")
    assert words in caught.value.message


@pytest.mark.parametrize(
    "message",
    [["Error: Connection Closed"], "Connection Closed", ["SessionError: No sessions"], ["No sessions"]],
)
async def test_400_of_a_reconnecting_instance_is_retryable(
    venue: respx.MockRouter, http: httpx.AsyncClient, message: Any
) -> None:
    venue.post(URL).mock(return_value=_error(400, message))
    with pytest.raises(VenueError) as caught:
        await _channel(http).send_text(GROUP, "oi")
    assert not isinstance(caught.value, VenueRefused | VenueRateLimited)
    assert "will retry" in caught.value.message


@pytest.mark.parametrize(
    "response",
    [
        _error(500, ["Error: Connection Closed"]),
        httpx.Response(502, text="<html>Bad Gateway</html>"),
        httpx.Response(503),
        httpx.Response(201, text="<html>captive portal</html>"),
        httpx.Response(200, json=["not", "an", "object"]),
        httpx.Response(204),
        httpx.Response(302, headers={"Location": "https://login.example.com"}),
        _error(409, "Conflict"),
    ],
)
async def test_other_answers_are_retryable(
    venue: respx.MockRouter, http: httpx.AsyncClient, response: httpx.Response
) -> None:
    venue.post(URL).mock(return_value=response)
    with pytest.raises(VenueError) as caught:
        await _channel(http).send_text(GROUP, "oi")
    assert not isinstance(caught.value, VenueRefused | VenueRateLimited)


@pytest.mark.parametrize(
    "error",
    [httpx.ConnectTimeout("t"), httpx.ReadTimeout("t"), httpx.ConnectError(f"{URL}?apikey={API_KEY}"),
     httpx.RemoteProtocolError("closed")],
)
async def test_transport_failures_are_retryable_and_quote_nothing(
    venue: respx.MockRouter, http: httpx.AsyncClient, error: Exception
) -> None:
    venue.post(URL).mock(side_effect=error)
    with pytest.raises(VenueError) as caught:
        await _channel(http).send_text(GROUP, "oi")
    assert not isinstance(caught.value, VenueRefused | VenueRateLimited)
    assert API_KEY not in str(caught.value)
    assert caught.value.__cause__ is None


async def test_the_api_key_is_masked_if_evolution_echoes_it(venue: respx.MockRouter, http: httpx.AsyncClient) -> None:
    venue.post(URL).mock(return_value=_error(401, f"apikey {API_KEY} is not valid"))
    with pytest.raises(VenueRefused) as caught:
        await _channel(http).send_text(GROUP, "oi")
    assert API_KEY not in str(caught.value)
    assert "[REDACTED]" in caught.value.message


@pytest.mark.parametrize(
    ("body", "text"),
    [
        ({"status": 401, "error": "Unauthorized", "response": {"message": "Unauthorized"}}, "Unauthorized"),
        ({"response": {"message": ["a", "b"]}}, "a; b"),
        ({"response": {"message": [["x requires y", "z"]]}}, "x requires y; z"),
        ({"response": {"message": [{"code": 7, "nested": {"deep": 1}}]}}, '{"code":7}'),
        ({"response": {"message": [[["too", "deep"]]]}}, ""),
        ({"status": 500, "error": "Internal Server Error"}, "Internal Server Error"),
        ({"response": {"message": "  line one\n\tline two  "}}, "line one line two"),
        (["no"], ""),
        (None, ""),
    ],
)
def test_error_text_renders_every_message_shape(body: Any, text: str) -> None:
    assert error_text(body) == text


async def test_long_messages_are_cut_to_one_line(venue: respx.MockRouter, http: httpx.AsyncClient) -> None:
    venue.post(URL).mock(return_value=_error(400, ["x" * 1000]))
    with pytest.raises(VenueRefused) as caught:
        await _channel(http).send_text(GROUP, "oi")
    assert len(caught.value.message) < 260 and caught.value.message.endswith("…)")
