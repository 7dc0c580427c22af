"""The contract every ``AlertSink`` adapter must keep, as a reusable pytest suite.

A plugin's tests subclass ``AlertSinkContract`` twice, once against respx mocks and once
against the plugin's fake served on loopback, each with a fixture ``sink_harness`` returning
an ``AlertSinkHarness``:

- ``sink``: the adapter under test, built with a tiny ``timeout_seconds`` (a hanging venue
  must fail the test quickly);
- ``secrets``: the values that must never appear in an error or a log line (the bot token,
  the webhook URL and its token);
- ``async received() -> list[str]``: the messages the venue accepted, oldest first, as a
  person would read them (tags and escapes removed, entities decoded). The venue side
  (fake or mock) must refuse what the real venue refuses (over-long text, bad markup), so
  "delivered" means "the venue would have taken it";
- ``async fault(status=None, *, retry_after=1.0, drop=False, hang=False, count=1)``: the
  next ``count`` requests are answered with ``status`` the way the venue answers it
  (``retry_after`` seconds where the venue sends one), or dropped (``drop``: the connection
  closes with no answer), or never answered within the sink's timeout (``hang``);
- ``async refuse()``: the next request is refused for good, the venue's own way (a revoked
  bot token, a deleted webhook).

``LoopbackHarness`` implements it over any fake built with
``otc_framework.testing.fake_venue.install_test_routes``; ``MockedVenue`` is the base of a
respx side effect that keeps the same interface::

    @pytest.fixture
    async def sink_harness(loopback, http):
        server = await loopback(create_app(token=TOKEN))
        sink = MySink(MyConfig(base_url=server.base_url, token=TOKEN, timeout_seconds=0.1), http)
        return LoopbackHarness(sink, http, server.base_url, read=visible_text,
                               secrets=(TOKEN,), refusal_status=401)

    class TestMySinkOnFake(AlertSinkContract):
        pass

The class has no ``Test`` prefix, so pytest collects it only through such subclasses. Its
tests run under pytest-asyncio's auto mode (the core's pytest configuration).
"""

from __future__ import annotations

import logging
from abc import ABC
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol

import httpx
import pytest

from otc_framework.errors import VenueError, VenueRateLimited, VenueRefused
from otc_framework.ports import SEVERITIES, Alert, AlertSink
from otc_framework.testing.venue_harness import LoopbackSendSide, MockedSendSide, SendSide

# Characters that mean something to HTML (Telegram) or Discord markdown, and a mass ping.
SPECIAL_TEXT = "<b>&</b> *x* _y_ @everyone"
LONG_DETAIL_CHARS = 10_000
CUT_MARK = "…"
# Loggers of the transport and the fake's server: httpx logs each request line, URL and all,
# and the core's log redactor masks the registered secrets in it (otc_framework.logs). What
# the sink itself logs is the contract's business.
TRANSPORT_LOGGERS = ("httpx", "httpcore", "sanic")


class AlertSinkHarness(SendSide[str], Protocol):
    """What a ``sink_harness`` fixture returns; see the module docstring."""

    @property
    def sink(self) -> AlertSink: ...

    @property
    def secrets(self) -> Sequence[str]: ...


class LoopbackHarness(LoopbackSendSide[str]):
    """The harness over a fake served on loopback: ``GET /_inbox`` for what it received
    (each item turned into readable text by ``read``), ``POST /_fault`` to make it fail.
    ``hang`` delays the answer by ``hang_seconds``, which must exceed the sink's timeout."""

    def __init__(
        self,
        sink: AlertSink,
        http: httpx.AsyncClient,
        base_url: str,
        *,
        read: Callable[[dict[str, Any]], str],
        secrets: Sequence[str],
        refusal_status: int,
        hang_seconds: float = 1.0,
    ) -> None:
        super().__init__(http, base_url, read=read, refusal_status=refusal_status, hang_seconds=hang_seconds)
        self.sink = sink
        self.secrets = tuple(secrets)


class MockedVenue(MockedSendSide[str], ABC):
    """A venue mocked with respx, as a harness: ``respx_mock.post(url).mock(side_effect=
    venue.handle)``. Subclasses say how the venue answers a delivery (the readable text when
    it accepted the message) and a forced status (``venue_harness.MockedSendSide``)."""

    def __init__(self, sink: AlertSink, secrets: Sequence[str], refusal_status: int) -> None:
        super().__init__(refusal_status)
        self.sink = sink
        self.secrets = tuple(secrets)


def make_alert(detail: str = "Spot source valorpro: timed out after 2 s", **fields: Any) -> Alert:
    """An alert as the core hands it to a sink."""
    values: dict[str, Any] = {
        "kind": "spot.failing",
        "title": "Spot source failing",
        "detail": detail,
        "dedup_key": "spot.failing:valorpro",
        "severity": "warning",
        "raised_at": datetime(2026, 11, 21, 12, 30, 5, tzinfo=UTC),
    }
    values.update(fields)
    return Alert(**values)


def _texts_of(error: BaseException) -> list[str]:
    return [str(error), repr(error), *(str(arg) for arg in error.args), getattr(error, "message", "")]


class AlertSinkContract:
    """Tests any ``AlertSink`` must pass; see the module docstring for the fixture."""

    def test_declares_its_name_and_pace(self, sink_harness: AlertSinkHarness) -> None:
        sink = sink_harness.sink
        assert isinstance(sink.name, str) and sink.name.strip()
        assert isinstance(sink.per_minute, int) and sink.per_minute > 0
        assert sink.retry_backoff_seconds > 0

    async def test_alert_is_delivered_once_with_title_and_detail_verbatim(
        self, sink_harness: AlertSinkHarness
    ) -> None:
        alert = make_alert(detail=f"line one {SPECIAL_TEXT}\nline two", title=f"Title {SPECIAL_TEXT}")
        await sink_harness.sink.send(alert)
        [text] = await sink_harness.received()
        assert alert.title in text
        assert alert.detail in text

    async def test_kind_and_severity_are_shown(self, sink_harness: AlertSinkHarness) -> None:
        for severity in SEVERITIES:
            await sink_harness.sink.send(make_alert(severity=severity, kind=f"test.{severity}"))
        texts = await sink_harness.received()
        assert len(texts) == len(SEVERITIES)
        for severity, text in zip(SEVERITIES, texts, strict=True):
            assert f"test.{severity}" in text
            assert severity in text.lower()

    async def test_alert_without_raised_time_is_delivered(self, sink_harness: AlertSinkHarness) -> None:
        await sink_harness.sink.send(make_alert(raised_at=None))
        assert len(await sink_harness.received()) == 1

    async def test_long_detail_is_cut_to_the_venue_limit_and_marked(self, sink_harness: AlertSinkHarness) -> None:
        # Special characters throughout, so a cut can land next to (never inside) an escape.
        detail = ("a&b<c>*d_ " * LONG_DETAIL_CHARS)[:LONG_DETAIL_CHARS]
        await sink_harness.sink.send(make_alert(detail=detail))
        [text] = await sink_harness.received()
        assert CUT_MARK in text
        assert detail[:1000] in text
        assert len(text) < len(detail)

    async def test_rate_limit_carries_the_venues_wait(self, sink_harness: AlertSinkHarness) -> None:
        await sink_harness.fault(429, retry_after=3)
        with pytest.raises(VenueRateLimited) as caught:
            await sink_harness.sink.send(make_alert())
        assert caught.value.retry_after == pytest.approx(3)
        assert await sink_harness.received() == []

    async def test_send_after_a_failure_delivers_once(self, sink_harness: AlertSinkHarness) -> None:
        await sink_harness.fault(503)
        with pytest.raises(VenueError):
            await sink_harness.sink.send(make_alert())
        await sink_harness.sink.send(make_alert())
        assert len(await sink_harness.received()) == 1

    async def test_permanent_refusal_is_venue_refused(self, sink_harness: AlertSinkHarness) -> None:
        await sink_harness.refuse()
        with pytest.raises(VenueRefused):
            await sink_harness.sink.send(make_alert())
        assert await sink_harness.received() == []

    @pytest.mark.parametrize("status", [500, 502, 503])
    async def test_server_error_is_retryable(self, sink_harness: AlertSinkHarness, status: int) -> None:
        await sink_harness.fault(status)
        with pytest.raises(VenueError) as caught:
            await sink_harness.sink.send(make_alert())
        assert not isinstance(caught.value, VenueRateLimited | VenueRefused)
        assert await sink_harness.received() == []

    async def test_dropped_connection_is_retryable(self, sink_harness: AlertSinkHarness) -> None:
        await sink_harness.fault(drop=True)
        with pytest.raises(VenueError) as caught:
            await sink_harness.sink.send(make_alert())
        assert not isinstance(caught.value, VenueRateLimited | VenueRefused)
        assert not isinstance(caught.value.__cause__, httpx.HTTPError)

    async def test_hanging_venue_times_out_as_venue_error(self, sink_harness: AlertSinkHarness) -> None:
        await sink_harness.fault(hang=True)
        with pytest.raises(VenueError) as caught:
            await sink_harness.sink.send(make_alert())
        assert not isinstance(caught.value, VenueRateLimited | VenueRefused)

    async def test_secrets_never_appear_in_errors_or_logs(
        self, sink_harness: AlertSinkHarness, caplog: pytest.LogCaptureFixture
    ) -> None:
        caplog.set_level(logging.DEBUG)
        texts = [repr(sink_harness.sink), str(sink_harness.sink)]
        for fault in ({"status": 429}, {"status": 500}, {"drop": True}, {"hang": True}):
            await sink_harness.fault(**fault)
            with pytest.raises(VenueError) as caught:
                await sink_harness.sink.send(make_alert())
            texts += _texts_of(caught.value)
        await sink_harness.refuse()
        with pytest.raises(VenueRefused) as refused:
            await sink_harness.sink.send(make_alert())
        texts += _texts_of(refused.value)
        await sink_harness.sink.send(make_alert())
        texts += [r.getMessage() for r in caplog.records if not r.name.startswith(TRANSPORT_LOGGERS)]
        assert sink_harness.secrets
        for secret in sink_harness.secrets:
            assert not [text for text in texts if secret in text]
