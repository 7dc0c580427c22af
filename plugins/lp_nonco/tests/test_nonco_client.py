"""The signature, the frame codec on recorded frames, and the connection's bad days."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from pydantic import SecretStr
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from otc_framework.errors import VenueError, VenueRefused, VenueUnknownOutcome
from otc_framework.ports import OrderState
from otc_framework.testing.fake_venue import LoopbackServer
from otc_framework.testing.lp_contract import lost_execution_fault
from otc_lp_nonco import fake
from otc_lp_nonco.client import (
    TYPE_NEW_ORDER,
    FrameError,
    NoncoProvider,
    decode_frame,
    encode_frame,
    format_timestamp,
    handshake_headers,
    sign,
)
from otc_lp_nonco.config import CONTROL_VALIDITY, NoncoConfig
from otc_lp_nonco.fake import create_app

API_KEY = "nc-client-secret-api-key-0123456789"
API_SECRET = "nc-client-signing-secret-abcdefghijkl"


def ws_url(server: LoopbackServer) -> str:
    return server.base_url.replace("http://", "ws://", 1) + "/ws/v1"


def provider_for(server: LoopbackServer, *, secret: str = API_SECRET, silence: float = 5.0) -> NoncoProvider:
    config = NoncoConfig(
        url=ws_url(server), api_key=SecretStr(API_KEY), api_secret=SecretStr(secret),
        request_timeout_seconds=0.5, silence_seconds=silence,
    )
    return NoncoProvider(config)

# Computed by hand: printf 'GET\n2026-11-21T12:00:00.000000Z\nnoncouat.com\n/ws/v1' |
#   openssl dgst -sha256 -hmac 'nonco-test-secret' -binary | base64 | tr '+/' '-_' | tr -d '='
KNOWN_SIGNATURE = "vgVBWhj-dU6a_WIFd2LGekR9WZp7v3_KRdSd0tkVRwA"

RECORDED_QUOTE = (
    '{"reqid":7,"type":"Quote","seqNum":2,"initial":false,"action":"Update","data":[{"QuoteReqID":'
    '"0b6f3c1e-2d4a-4f7e-9a51-3c2b1d0e9f88","RFQID":"rfq-1","QuoteID":"q-1","QuoteStatus":"Open",'
    '"BidPx":"5.0030","OfferPx":"5.0050","ValidUntilTime":"2026-11-21T12:00:17.000000Z"}]}'
)
RECORDED_SNAPSHOT = (
    '{"reqid":3,"type":"MarketDataSnapshot","seqNum":1,"initial":true,"action":"Update","data":[{"Symbol":'
    '"USDC-BRL","SettlType":"D0","BidPx":"5.0030","OfferPx":"5.0050","BidSize":"5000000","OfferSize":"5000000",'
    '"Timestamp":"2026-11-21T12:00:00.000000Z"}]}'
)


def test_signature_matches_the_hand_computed_vector() -> None:
    assert sign("nonco-test-secret", "2026-11-21T12:00:00.000000Z", "noncouat.com") == KNOWN_SIGNATURE
    assert "=" not in KNOWN_SIGNATURE and "+" not in KNOWN_SIGNATURE and "/" not in KNOWN_SIGNATURE


def test_timestamp_has_microseconds_and_z() -> None:
    assert format_timestamp(datetime(2026, 11, 21, 12, 0, tzinfo=UTC)) == "2026-11-21T12:00:00.000000Z"


def test_handshake_headers_sign_their_own_timestamp() -> None:
    now = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
    headers = handshake_headers("key", "nonco-test-secret", "noncouat.com", now)
    assert headers == {"ApiKey": "key", "ApiTimestamp": "2026-11-21T12:00:00.000000Z", "ApiSign": KNOWN_SIGNATURE}


def test_recorded_frames_decode_with_decimals() -> None:
    quote = decode_frame(RECORDED_QUOTE)
    assert (quote.type, quote.reqid, quote.seq_num, quote.initial, quote.action) == ("Quote", 7, 2, False, "Update")
    assert quote.data[0]["QuoteStatus"] == "Open" and quote.data[0]["OfferPx"] == "5.0050"
    snapshot = decode_frame(RECORDED_SNAPSHOT.encode())
    assert (snapshot.type, snapshot.initial) == ("MarketDataSnapshot", True)
    assert isinstance(decode_frame('{"type":"x","data":[{"p":5.1}]}').data[0]["p"], Decimal)


@pytest.mark.parametrize(
    "raw", ["not json", "[]", '{"data":[]}', '{"type":"Quote","data":{}}', '{"type":"Quote","reqid":true}',
            '{"type":"Quote","data":[1]}'],
)
def test_unparseable_frames_are_frame_errors(raw: str) -> None:
    with pytest.raises(FrameError):
        decode_frame(raw)


def test_encode_frame_sends_decimals_as_strings() -> None:
    text = encode_frame("QuoteRequest", 5, [{"OrderQty": Decimal("100000.50")}])
    assert text == '{"reqid":5,"type":"QuoteRequest","data":[{"OrderQty":"100000.50"}]}'
    assert decode_frame(text).data[0]["OrderQty"] == "100000.50"


def _config(**fields: Any) -> NoncoConfig:
    return NoncoConfig(api_key=SecretStr(API_KEY), api_secret=SecretStr(API_SECRET), **fields)


def test_unknown_exec_type_is_an_error_never_a_fill() -> None:
    provider = NoncoProvider(_config())
    with pytest.raises(VenueError):
        provider._apply_report({"ExecType": "Bizarre", "ExecID": "x"}, {}, Decimal(1), "order")
    with pytest.raises(VenueRefused):
        provider._apply_report({"ExecType": "Rejected", "Text": "expired"}, {}, Decimal(1), "order")


def test_url_defaults_to_the_uat_host() -> None:
    assert "wss://noncouat.com/ws/v1" in repr(NoncoProvider(_config()))
    assert "wss://noncotrading.com/ws/v1" in repr(NoncoProvider(_config(host="noncotrading.com")))


async def _server(loopback: Any) -> LoopbackServer:
    server: LoopbackServer = await loopback(create_app(API_KEY, API_SECRET, spot=Decimal("5.00")))
    return server


@pytest.mark.parametrize(
    "headers",
    [
        {},
        handshake_headers(API_KEY, "wrong-secret", "127.0.0.1", datetime.now(UTC)),
        handshake_headers("wrong-key", API_SECRET, "127.0.0.1", datetime.now(UTC)),
        handshake_headers(API_KEY, API_SECRET, "127.0.0.1", datetime.now(UTC) - timedelta(seconds=60)),
        handshake_headers(API_KEY, API_SECRET, "other.host", datetime.now(UTC)),
    ],
    ids=["missing", "bad-secret", "bad-key", "stale", "other-host"],
)
async def test_fake_refuses_a_bad_handshake(loopback: Any, headers: dict[str, str]) -> None:
    server = await _server(loopback)
    with pytest.raises(InvalidStatus) as caught:
        await connect(ws_url(server), additional_headers=headers, proxy=None)
    assert caught.value.response.status_code == 401


async def test_fake_accepts_the_plugins_handshake(loopback: Any) -> None:
    server = await _server(loopback)
    ws = await connect(
        ws_url(server), additional_headers=handshake_headers(API_KEY, API_SECRET, "127.0.0.1", datetime.now(UTC)),
        proxy=None,
    )
    await ws.close()
    provider = provider_for(server)
    try:
        price = await provider.get_price("USDC", "D0")
        assert (price.bid, price.ask) == (Decimal("5.0030"), Decimal("5.0050"))
        usdt = await provider.get_price("USDT", "D0")
        assert (usdt.bid, usdt.ask) == (Decimal("5.0040"), Decimal("5.0060"))
    finally:
        await provider.aclose()
    assert server.app.ctx.handshakes == 2


async def test_plugin_with_a_bad_secret_is_refused_without_showing_it(loopback: Any) -> None:
    server = await _server(loopback)
    provider = provider_for(server, secret="not-the-secret-value")
    try:
        with pytest.raises(VenueRefused) as caught:
            await provider.get_price("USDC", "D0")
    finally:
        await provider.aclose()
    assert "not-the-secret-value" not in str(caught.value) and API_KEY not in str(caught.value)


async def _eventually(check: Any, seconds: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not check():
        assert loop.time() < deadline, "condition never met"
        await asyncio.sleep(0.05)


async def test_reconnects_and_subscribes_again_after_a_drop(loopback: Any) -> None:
    server = await _server(loopback)
    provider = provider_for(server)
    try:
        await provider.get_price("USDC", "D1")
        assert server.app.ctx.subscriptions == 1
        await server.app.ctx.drop_connections()
        await _eventually(lambda: server.app.ctx.subscriptions == 2)
        assert provider.connections_opened == 2
        price = await provider.get_price("USDC", "D1")
        assert price.settlement == "D1" and price.bid > 0
        assert server.app.ctx.subscriptions == 2  # answered from the re-subscribed stream
    finally:
        await provider.aclose()


async def test_requests_in_flight_fail_at_once_when_the_socket_drops(loopback: Any) -> None:
    server = await _server(loopback)
    ctx = server.app.ctx
    provider = provider_for(server)
    try:
        quote = await provider.request_quote("SELL", "USDC", "D0", Decimal("1000"))
        assert quote.price == Decimal("5.0030")
        # Fills, never answers.
        ctx.faults.add(lost_execution_fault(TYPE_NEW_ORDER, executed=True, hang=True, hang_seconds=60))
        order = asyncio.create_task(provider.execute_quote(quote, "order-in-flight"))
        await _eventually(lambda: ctx.book.executions)
        await ctx.drop_connections()
        with pytest.raises(VenueUnknownOutcome) as unknown:
            await order
        assert unknown.value.client_order_id == "order-in-flight"
        assert "connection lost" in unknown.value.message
        lookup = await provider.lookup_order("order-in-flight")
        assert lookup.state is OrderState.FILLED and lookup.fill is not None
        assert lookup.fill.price == quote.price
        again = await provider.execute_quote(quote, "order-in-flight")
        assert again.execution_ids == lookup.fill.execution_ids
        assert len(ctx.book.executions) == 1
    finally:
        await provider.aclose()


async def test_a_silent_socket_is_treated_as_dropped(loopback: Any) -> None:
    server = await _server(loopback)
    provider = provider_for(server, silence=0.3)
    try:
        await provider.get_price("USDC", "D0")
        server.app.ctx.silent = True
        await _eventually(lambda: provider.connections_opened >= 2)
        server.app.ctx.silent = False
        await _eventually(lambda: server.app.ctx.subscriptions >= 2)
        await provider.get_price("USDC", "D0")
    finally:
        await provider.aclose()


async def test_aclose_stops_everything(loopback: Any) -> None:
    server = await _server(loopback)
    provider = provider_for(server)
    await provider.get_price("USDC", "D0")
    await provider.aclose()
    await _eventually(lambda: not server.app.ctx.sockets)
    with pytest.raises(VenueError):
        await provider.get_price("USDC", "D0")


async def test_live_validity_control_and_quote_cancel(loopback: Any) -> None:
    server = await _server(loopback)
    provider = provider_for(server)
    try:
        quote = await provider.request_quote("BUY", "USDC", "D2", Decimal("1000"), controls={CONTROL_VALIDITY: 3})
        assert quote.valid_until < datetime.now(UTC) + timedelta(seconds=10)
        assert quote.price == Decimal("5.0060")  # D2 forward points
        frames = [item["frame"] for item in server.app.ctx.inbox.items]
        [request] = [f["data"][0] for f in frames if f["type"] == "QuoteRequest"]
        assert request["Parameters"] == {"QuoteTTL": "3s"} and request["SettlType"] == "D2"
        assert len(request["QuoteReqID"]) <= 36 and request["Side"] == "Buy"
        await provider.cancel_quote(quote)
        with pytest.raises(VenueRefused):
            await provider.execute_quote(quote, "order-on-a-canceled-quote")
        lookup = await provider.lookup_order("order-on-a-canceled-quote")
        assert lookup.state is OrderState.REJECTED and lookup.fill is None
        assert server.app.ctx.book.executions == []
    finally:
        await provider.aclose()


async def test_a_lookup_reads_every_page_of_the_replay(loopback: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # A week of reports outgrows any frame: the venue pages its replay, and the order may be on any page.
    monkeypatch.setattr(fake, "REPLAY_PAGE", 2)
    server = await _server(loopback)
    provider = provider_for(server)
    try:
        for n in range(4):
            quote = await provider.request_quote("SELL", "USDC", "D0", Decimal("1000"))
            await provider.execute_quote(quote, f"order-{n}")
        first, last = await provider.lookup_order("order-0"), await provider.lookup_order("order-3")
        assert first.state is last.state is OrderState.FILLED
        assert (await provider.lookup_order("order-never-sent")).state is OrderState.NOT_FOUND
        pages = [item["frame"] for item in server.app.ctx.inbox.items if item["frame"]["type"] == "page"]
        per_lookup = -(-len(server.app.ctx.book.reports) // 2) - 1  # every page after the first is asked for
        assert per_lookup >= 3 and len(pages) == 3 * per_lookup and all(p["streams"][0]["after"] for p in pages)
    finally:
        await provider.aclose()
