"""Nonco's RFQ API over one persistent WebSocket: market data, QuoteRequest → NewOrderSingle.

Nonco's API document is not public (SPEC §10). Nonco is a Talos-style venue; the names below
follow the public documents of venues on the same API and are kept here (the fake imports
them) so that correcting them against Nonco's document touches one place::

    wss://{host}/ws/v1     handshake headers ApiKey, ApiTimestamp, ApiSign
      ApiTimestamp  UTC ISO-8601 with microseconds: 2026-11-21T12:00:00.000000Z
      ApiSign       unpadded URL-safe base64 of HMAC-SHA256(secret, "GET\\n{ts}\\n{host}\\n/ws/v1")
                    ({host} bare: no scheme, no port)
    frames          JSON {"reqid", "type", "data": [...]}; replies carry the request's reqid,
                    "seqNum" (from 1 per reqid), "initial", "action" (Update|Remove)
    subscribe       {"type": "subscribe", "streams": [{"name": "MarketDataSnapshot",
                     "Symbol": "USDC-BRL", "SettlType": "D0"}]}
      → MarketDataSnapshot {"Symbol", "SettlType", "BidPx", "OfferPx", "BidSize",
                            "OfferSize", "Timestamp"}, first with initial=true
    QuoteRequest    {"QuoteReqID" (≤ 36 chars, unique), "Symbol", "Currency", "OrderQty",
                     "Side" (Buy|Sell), "SettlType", "TransactTime",
                     "Parameters": {"QuoteTTL": "17s"}}
      → Quote {"QuoteReqID", "RFQID", "QuoteID", "QuoteStatus", "BidPx", "OfferPx",
               "ValidUntilTime"}: PendingNew → Open → Canceled|Filled
    NewOrderSingle  {"ClOrdID", "RFQID", "QuoteID", "Side", "OrderQty", "Symbol",
                     "Currency", "OrdType": "RFQ", "TransactTime"}
      → ExecutionReport {"ClOrdID", "ExecID", "ExecType" (PendingNew|New|Trade|Rejected),
                         "OrdStatus", "CumQty", "AvgPx", "LastQty", "LastPx", "Text",
                         "TransactTime"}
    QuoteCancelRequest {"QuoteReqID", "RFQID", "TransactTime"}
    subscribe ExecutionReport {"name": "ExecutionReport", "StartDate": ts}
      → one frame, initial=true, with every report since StartDate (the replay)
    errors          {"reqid", "type": "error", "data": [{"Code": 429, "Text", "RetryAfter"}]}

Decisions taken while the vendor is silent:

- **Settlement.** D0/D1/D2 travel as a ``SettlType`` field (``SETTLEMENT_TYPES``) on the
  market-data stream, the QuoteRequest and its Quote, never as a symbol suffix: the symbol
  stays the pair (``USDC-BRL``).
- **Answers by reqid.** The Quote updates of a QuoteRequest and the ExecutionReports of a
  NewOrderSingle come back on that request's ``reqid``; frames on an unknown reqid are
  ignored. An ``error`` frame is the venue's answer to that request: ``Code`` 429 is
  ``VenueRateLimited`` (``RetryAfter`` seconds), 401/403 and any other 4xx but 408 are
  ``VenueRefused``, the rest ``VenueError`` (``VenueUnknownOutcome`` for an order).
- **Indicative price.** ``get_price`` answers from the latest MarketDataSnapshot of a stream
  the connection holds (subscribing on first use and waiting for its initial snapshot); it
  never sends a QuoteRequest. A snapshot older than ``STALE_SNAPSHOT_SECONDS`` is an error.
- **Lookup.** ``lookup_order`` subscribes to the ExecutionReport stream with ``StartDate`` =
  now − ``LOOKUP_WINDOW`` and reads the replay: a Trade naming the ClOrdID is FILLED (the
  executions by ``ExecID``, VWAP of ``LastQty``/``LastPx``), else the latest report decides
  (Rejected → REJECTED, PendingNew/New → PENDING); no report → NOT_FOUND.
- **Exactly once.** ``ClOrdID`` is the desk's client order id; the venue answers a repeated
  ClOrdID with the reports of the first order and never fills it twice.
- **Connection.** One socket per adapter, opened lazily by the first request, read by one
  task that dispatches frames by ``reqid``. When it drops (or stays silent for
  ``silence_seconds``) every request in flight fails at once: an order with
  ``VenueUnknownOutcome``, anything else with ``VenueError``; while market-data streams are
  wanted, a background task reconnects with jittered exponential back-off and subscribes
  them again. A request reconnects at once on its own. An order whose answer does not come
  within ``request_timeout_seconds`` is also an unknown outcome.
- **Live controls.** A hook cannot read live control values, so ``request_quote`` takes the
  quote validity from the ``controls`` the execution engine passes
  (``exec_nonco_validity_sec``) and, when absent, from the config (whose default is the
  control's default).
- **Handshake refused.** HTTP 401/403 on the upgrade is ``VenueRefused``, 429
  ``VenueRateLimited``, anything else ``VenueError``. No error or log line carries the key,
  the secret or the signature.
- Unknown ``QuoteStatus``/``ExecType`` values and frames that cannot be parsed are an error
  of the request they answer, never a fill. ``Ping``/``Pong`` is not used.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import itertools
import json
import logging
import random
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlsplit

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus, WebSocketException

from otc_framework.errors import VenueError, VenueRateLimited, VenueRefused, VenueUnknownOutcome
from otc_framework.ports import (
    Currency,
    LiquidityProvider,
    LpExecution,
    LpFill,
    LpPrice,
    LpQuote,
    OrderLookup,
    OrderState,
    Settlement,
    Side,
)
from otc_framework.venue_answers import one_line, wait_seconds
from otc_lp_nonco.config import CONTROL_VALIDITY, NoncoConfig

logger = logging.getLogger(__name__)


class _TransportLogger(logging.LoggerAdapter[logging.Logger]):
    """The websockets library's logger without its DEBUG lines: they trace the handshake
    headers, ``ApiKey`` included."""

    def isEnabledFor(self, level: int) -> bool:
        return level > logging.DEBUG and self.logger.isEnabledFor(level)


_transport_logger = _TransportLogger(logging.getLogger("websockets.client"), {})

PROVIDER_NAME = "nonco"
WS_PATH = "/ws/v1"
URL_TEMPLATE = "wss://{host}" + WS_PATH
HEADER_API_KEY = "ApiKey"
HEADER_TIMESTAMP = "ApiTimestamp"
HEADER_SIGN = "ApiSign"
TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"

SYMBOLS: Mapping[str, str] = {"USDC": "USDC-BRL", "USDT": "USDT-BRL"}
SETTLEMENT_TYPES: Mapping[str, str] = {"D0": "D0", "D1": "D1", "D2": "D2"}
SIDES: Mapping[str, str] = {"BUY": "Buy", "SELL": "Sell"}

# Envelope.
F_REQID = "reqid"
F_TYPE = "type"
F_DATA = "data"
F_SEQ = "seqNum"
F_INITIAL = "initial"
F_ACTION = "action"
F_NEXT = "next"  # a paging tag: more of this answer follows when asked for (TYPE_PAGE)
F_AFTER = "after"
F_STREAMS = "streams"
F_NAME = "name"
F_TS = "ts"

TYPE_SUBSCRIBE = "subscribe"
TYPE_PAGE = "page"
TYPE_ERROR = "error"
TYPE_MARKET_DATA = "MarketDataSnapshot"
TYPE_QUOTE_REQUEST = "QuoteRequest"
TYPE_QUOTE = "Quote"
TYPE_QUOTE_CANCEL = "QuoteCancelRequest"
TYPE_NEW_ORDER = "NewOrderSingle"
TYPE_EXECUTION_REPORT = "ExecutionReport"
ACTION_UPDATE = "Update"

# Fields of the data items.
F_SYMBOL = "Symbol"
F_SETTL_TYPE = "SettlType"
F_BID_PX = "BidPx"
F_OFFER_PX = "OfferPx"
F_BID_SIZE = "BidSize"
F_OFFER_SIZE = "OfferSize"
F_TIMESTAMP = "Timestamp"
F_QUOTE_REQ_ID = "QuoteReqID"
F_CURRENCY = "Currency"
F_ORDER_QTY = "OrderQty"
F_SIDE = "Side"
F_TRANSACT_TIME = "TransactTime"
F_PARAMETERS = "Parameters"
F_QUOTE_TTL = "QuoteTTL"
F_RFQ_ID = "RFQID"
F_QUOTE_ID = "QuoteID"
F_QUOTE_STATUS = "QuoteStatus"
F_VALID_UNTIL = "ValidUntilTime"
F_CL_ORD_ID = "ClOrdID"
F_ORD_TYPE = "OrdType"
F_EXEC_ID = "ExecID"
F_EXEC_TYPE = "ExecType"
F_ORD_STATUS = "OrdStatus"
F_CUM_QTY = "CumQty"
F_AVG_PX = "AvgPx"
F_LAST_QTY = "LastQty"
F_LAST_PX = "LastPx"
F_TEXT = "Text"
F_START_DATE = "StartDate"
F_CODE = "Code"
F_RETRY_AFTER = "RetryAfter"

ORD_TYPE_RFQ = "RFQ"
QUOTE_PENDING_NEW = "PendingNew"
QUOTE_OPEN = "Open"
QUOTE_CANCELED = "Canceled"
QUOTE_FILLED = "Filled"
QUOTE_STATUSES = (QUOTE_PENDING_NEW, QUOTE_OPEN, QUOTE_CANCELED, QUOTE_FILLED)
EXEC_PENDING_NEW = "PendingNew"
EXEC_NEW = "New"
EXEC_TRADE = "Trade"
EXEC_REJECTED = "Rejected"
EXEC_TYPES = (EXEC_PENDING_NEW, EXEC_NEW, EXEC_TRADE, EXEC_REJECTED)
ORD_STATUS_FILLED = "Filled"

MAX_QUOTE_REQ_ID = 36
STALE_SNAPSHOT_SECONDS = 5.0
LOOKUP_WINDOW = timedelta(days=7)
MAX_LOOKUP_PAGES = 1000
BACKOFF_INITIAL_SECONDS = 0.2
BACKOFF_MAX_SECONDS = 30.0
DEFAULT_RETRY_AFTER_SECONDS = 2.0
VENUE_TEXT_LIMIT = 120
MAX_FRAME_BYTES = 4 * 1024 * 1024


def _utcnow() -> datetime:
    return datetime.now(UTC)


def format_timestamp(moment: datetime) -> str:
    """``ApiTimestamp``'s form: UTC, microseconds, ``Z``."""
    return moment.astimezone(UTC).strftime(TIMESTAMP_FORMAT)


def sign(secret: str, timestamp: str, host: str, path: str = WS_PATH) -> str:
    """``ApiSign``: unpadded URL-safe base64 of HMAC-SHA256 over ``GET\\n{ts}\\n{host}\\n{path}``."""
    message = "\n".join(("GET", timestamp, host, path)).encode()
    digest = hmac.new(secret.encode(), message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def handshake_headers(api_key: str, secret: str, host: str, now: datetime) -> dict[str, str]:
    timestamp = format_timestamp(now)
    return {HEADER_API_KEY: api_key, HEADER_TIMESTAMP: timestamp, HEADER_SIGN: sign(secret, timestamp, host)}


def encode_frame(frame_type: str, reqid: int | None = None, data: Sequence[Mapping[str, Any]] | None = None,
                 **extra: Any) -> str:
    """A frame as the venue takes it: ``{reqid?, type, data?, ...}`` with decimals as strings."""
    frame: dict[str, Any] = {}
    if reqid is not None:
        frame[F_REQID] = reqid
    frame[F_TYPE] = frame_type
    if data is not None:
        frame[F_DATA] = list(data)
    frame.update(extra)
    return json.dumps(frame, default=_json_default, separators=(",", ":"))


def _json_default(value: Any) -> str:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return format_timestamp(value)
    raise TypeError(f"{type(value).__name__} is not JSON")


@dataclass(frozen=True, slots=True)
class Frame:
    """One frame received: its envelope and its data items."""

    type: str
    reqid: int | None
    data: tuple[Mapping[str, Any], ...]
    seq_num: int | None = None
    initial: bool = False
    action: str | None = None
    next: str | None = None


class FrameError(ValueError):
    """A frame that cannot be parsed."""


def decode_frame(raw: str | bytes) -> Frame:
    """Parse a received frame; ``FrameError`` when it is not one (floats stay ``Decimal``)."""
    try:
        body = json.loads(raw, parse_float=Decimal)
    except (ValueError, UnicodeDecodeError):
        raise FrameError("not JSON") from None
    if not isinstance(body, dict):
        raise FrameError("not a JSON object")
    frame_type = body.get(F_TYPE)
    if not isinstance(frame_type, str) or not frame_type:
        raise FrameError(f"no {F_TYPE!r}")
    reqid = body.get(F_REQID)
    if reqid is not None and (isinstance(reqid, bool) or not isinstance(reqid, int)):
        raise FrameError(f"{F_REQID!r} is not an integer")
    data = body.get(F_DATA, [])
    if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
        raise FrameError(f"{F_DATA!r} is not a list of objects")
    seq = body.get(F_SEQ)
    action = body.get(F_ACTION)
    more = body.get(F_NEXT)
    return Frame(
        type=frame_type,
        reqid=reqid,
        data=tuple(data),
        seq_num=seq if isinstance(seq, int) and not isinstance(seq, bool) else None,
        initial=body.get(F_INITIAL) is True,
        action=action if isinstance(action, str) else None,
        next=str(more) if isinstance(more, (str, int)) and not isinstance(more, bool) and more != "" else None,
    )


@dataclass(frozen=True, slots=True)
class Execution:
    """One Trade report as Nonco sends it."""

    exec_id: str
    amount: Decimal
    price: Decimal
    at: datetime


def aggregate(executions: Sequence[Execution], quote_id: str) -> LpFill:
    """The fill of an order's Trade reports (``LpFill.aggregate``: total amount, VWAP), one
    ``LpExecution`` per report."""
    found = [LpExecution(e.exec_id, e.amount, e.price, e.at) for e in executions]
    return LpFill.aggregate(PROVIDER_NAME, quote_id, found)


class _Dropped:
    """Put in every waiting queue when the socket goes away."""

    def __init__(self, reason: str) -> None:
        self.reason = reason


@dataclass
class _Stream:
    """A market-data stream the adapter wants: its reqid on the current socket and the
    latest snapshot received there."""

    currency: Currency
    settlement: Settlement
    reqid: int | None = None
    bid: Decimal | None = None
    ask: Decimal | None = None
    received_at: datetime | None = None
    wanted: bool = False  # subscribed once: re-subscribed after a reconnect
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class NoncoProvider(LiquidityProvider):
    """Nonco: USDC/BRL and USDT/BRL, D0/D1/D2, 24/7, over one WebSocket."""

    name = PROVIDER_NAME
    trades_24x7 = True

    def __init__(self, config: NoncoConfig, *, now: Callable[[], datetime] = _utcnow) -> None:
        self._url = config.url or URL_TEMPLATE.format(host=config.host)
        self._sign_host = urlsplit(self._url).hostname or config.host
        self._api_key = config.api_key
        self._api_secret = config.api_secret
        self._timeout = config.request_timeout_seconds
        self._silence = config.silence_seconds
        self._validity_seconds = config.quote_validity_seconds
        self._now = now
        self._reqids = itertools.count(1)
        self._ws: ClientConnection | None = None
        self._reader: asyncio.Task[None] | None = None
        self._reconnector: asyncio.Task[None] | None = None
        self._connect_lock = asyncio.Lock()
        self._pending: dict[int, asyncio.Queue[Frame | _Dropped]] = {}
        self._streams: dict[tuple[str, str], _Stream] = {}
        self._closed = False
        self.connections_opened = 0

    def __repr__(self) -> str:
        return f"NoncoProvider(url={self._url!r})"

    # -- the port ---------------------------------------------------------------------------

    async def get_price(self, currency: Currency, settlement: Settlement) -> LpPrice:
        _symbol(currency), _settl_type(settlement)
        stream = self._streams.setdefault((currency, settlement), _Stream(currency, settlement))
        await self._ensure_stream(stream)
        if stream.bid is None or stream.ask is None or stream.received_at is None:
            raise VenueError(PROVIDER_NAME, f"no market data for {currency} {settlement}")
        age = (self._now() - stream.received_at).total_seconds()
        if age > STALE_SNAPSHOT_SECONDS:
            raise VenueError(PROVIDER_NAME, f"market data for {currency} {settlement} is {age:.0f} s old")
        return LpPrice(PROVIDER_NAME, currency, settlement, stream.bid, stream.ask, stream.received_at)

    async def request_quote(
        self,
        side: Side,
        currency: Currency,
        settlement: Settlement,
        amount: Decimal,
        *,
        controls: Mapping[str, Any] | None = None,
    ) -> LpQuote:
        """A tradable quote valid for the live ``exec_nonco_validity_sec`` (else the config's)."""
        symbol, settl_type, venue_side = _symbol(currency), _settl_type(settlement), _side(side)
        if not amount.is_finite() or amount <= 0:
            raise VenueRefused(PROVIDER_NAME, f"amount must be positive, got {amount}")
        validity = int((controls or {}).get(CONTROL_VALIDITY, self._validity_seconds))
        quote_req_id = str(uuid.uuid4())[:MAX_QUOTE_REQ_ID]
        item = {
            F_QUOTE_REQ_ID: quote_req_id, F_SYMBOL: symbol, F_CURRENCY: currency, F_ORDER_QTY: str(amount),
            F_SIDE: venue_side, F_SETTL_TYPE: settl_type, F_TRANSACT_TIME: format_timestamp(self._now()),
            F_PARAMETERS: {F_QUOTE_TTL: f"{validity}s"},
        }
        what = "quote request"
        async with self._request(TYPE_QUOTE_REQUEST, [item], what) as (reqid, queue):
            deadline = asyncio.get_running_loop().time() + self._timeout
            while True:
                frame = await self._next(queue, deadline, what)
                quote = self._quote_update(frame, what)
                status = _text(quote, F_QUOTE_STATUS, what)
                if status not in QUOTE_STATUSES:
                    raise VenueError(PROVIDER_NAME, f"{what}: unknown QuoteStatus {one_line(status, 40)!r}")
                if status == QUOTE_PENDING_NEW:
                    continue
                if status != QUOTE_OPEN:
                    raise VenueError(PROVIDER_NAME, f"{what}: quote {status.lower()} before it opened")
                price = _decimal(quote, F_OFFER_PX if side == "BUY" else F_BID_PX, what)
                valid_until = _time(quote, F_VALID_UNTIL, what)
                return LpQuote(
                    provider=PROVIDER_NAME,
                    quote_id=_text(quote, F_QUOTE_ID, what),
                    side=side,
                    currency=currency,
                    settlement=settlement,
                    amount=amount,
                    price=price,
                    valid_until=valid_until,
                    venue_data={
                        "rfq_id": _text(quote, F_RFQ_ID, what), "quote_req_id": quote_req_id, "symbol": symbol,
                        "reqid": reqid,
                    },
                )

    async def execute_quote(self, quote: LpQuote, client_order_id: str) -> LpFill:
        rfq_id, symbol = quote.venue_data.get("rfq_id"), quote.venue_data.get("symbol")
        if quote.provider != PROVIDER_NAME or not isinstance(rfq_id, str) or not isinstance(symbol, str):
            raise VenueRefused(PROVIDER_NAME, f"quote {quote.quote_id} was not obtained from {PROVIDER_NAME}")
        if quote.valid_until <= self._now():
            raise VenueRefused(PROVIDER_NAME, f"quote {quote.quote_id} expired at {quote.valid_until.isoformat()}")
        item = {
            F_CL_ORD_ID: client_order_id, F_RFQ_ID: rfq_id, F_QUOTE_ID: quote.quote_id, F_SIDE: _side(quote.side),
            F_ORDER_QTY: str(quote.amount), F_SYMBOL: symbol, F_CURRENCY: quote.currency, F_ORD_TYPE: ORD_TYPE_RFQ,
            F_TRANSACT_TIME: format_timestamp(self._now()),
        }
        what = "order"
        async with self._request(TYPE_NEW_ORDER, [item], what, client_order_id=client_order_id) as (_, queue):
            deadline = asyncio.get_running_loop().time() + self._timeout
            executions: dict[str, Execution] = {}
            while True:
                frame = await self._next(queue, deadline, what, client_order_id)
                if frame.type == TYPE_ERROR:
                    raise self._error_of(frame, what, client_order_id)
                if frame.type != TYPE_EXECUTION_REPORT:
                    raise VenueUnknownOutcome(PROVIDER_NAME, f"{what}: unexpected {one_line(frame.type, 40)!r} frame",
                                              client_order_id)
                for report in frame.data:
                    try:
                        done = self._apply_report(report, executions, quote.amount, what)
                    except VenueRefused:
                        raise
                    except VenueError as exc:
                        raise VenueUnknownOutcome(PROVIDER_NAME, exc.message, client_order_id) from None
                    if done:
                        return aggregate(list(executions.values()), quote.quote_id)

    async def cancel_quote(self, quote: LpQuote) -> None:
        """Withdraw an open quote (``QuoteCancelRequest``); best effort, answers ignored."""
        item = {
            F_QUOTE_REQ_ID: quote.venue_data.get("quote_req_id"), F_RFQ_ID: quote.venue_data.get("rfq_id"),
            F_TRANSACT_TIME: format_timestamp(self._now()),
        }
        async with self._request(TYPE_QUOTE_CANCEL, [item], "quote cancel"):
            pass

    async def lookup_order(self, client_order_id: str) -> OrderLookup:
        what = "order lookup"
        stream = {F_NAME: TYPE_EXECUTION_REPORT, F_START_DATE: format_timestamp(self._now() - LOOKUP_WINDOW)}
        found: list[Mapping[str, Any]] = []
        async with self._request(TYPE_SUBSCRIBE, None, what, streams=[stream]) as (reqid, queue):
            # The replay comes in pages (``next``): a week of reports in one frame would outgrow
            # any frame limit, and the order may be on any page.
            for _ in range(MAX_LOOKUP_PAGES):
                deadline = asyncio.get_running_loop().time() + self._timeout
                frame = await self._next(queue, deadline, what)
                if frame.type == TYPE_ERROR:
                    raise self._error_of(frame, what)
                if frame.type != TYPE_EXECUTION_REPORT:
                    raise VenueError(PROVIDER_NAME, f"{what}: unexpected {one_line(frame.type, 40)!r} frame")
                found += [r for r in frame.data if r.get(F_CL_ORD_ID) == client_order_id]
                if frame.next is None:
                    break
                await self._send_on(reqid, TYPE_PAGE, what, streams=[{**stream, F_AFTER: frame.next}])
            else:
                raise VenueError(PROVIDER_NAME, f"{what}: more than {MAX_LOOKUP_PAGES} pages of reports")
        reports = found
        executions: dict[str, Execution] = {}
        last: str | None = None
        text = ""
        for report in reports:
            exec_type = _text(report, F_EXEC_TYPE, what)
            if exec_type not in EXEC_TYPES:
                raise VenueError(PROVIDER_NAME, f"{what}: unknown ExecType {one_line(exec_type, 40)!r}")
            if exec_type == EXEC_TRADE:
                execution = _execution(report, what)
                executions[execution.exec_id] = execution
            last = exec_type
            text = one_line(report.get(F_TEXT), VENUE_TEXT_LIMIT)
        if executions:
            first = reports[0]
            fill = aggregate(list(executions.values()), str(first.get(F_QUOTE_ID) or ""))
            return OrderLookup(OrderState.FILLED, fill, f"{len(executions)} execution(s)")
        if last is None:
            return OrderLookup(OrderState.NOT_FOUND)
        if last == EXEC_REJECTED:
            return OrderLookup(OrderState.REJECTED, detail=text or None)
        return OrderLookup(OrderState.PENDING, detail=last)

    async def aclose(self) -> None:
        self._closed = True
        for task in (self._reconnector, self._reader):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        self._reconnector = self._reader = None
        if self._ws is not None:
            with contextlib.suppress(Exception):
                await self._ws.close()
        self._dropped(self._ws, "adapter closed")

    # -- requests ---------------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def _request(
        self,
        frame_type: str,
        data: Sequence[Mapping[str, Any]] | None,
        what: str,
        *,
        client_order_id: str | None = None,
        **extra: Any,
    ) -> Any:
        """Send one request; yields its reqid and the queue its answers arrive on."""
        ws = await self._connection(what)
        reqid = next(self._reqids)
        queue: asyncio.Queue[Frame | _Dropped] = asyncio.Queue()
        self._pending[reqid] = queue
        try:
            try:
                await asyncio.wait_for(ws.send(encode_frame(frame_type, reqid, data, **extra)), self._timeout)
            except (ConnectionClosed, WebSocketException, OSError, TimeoutError) as exc:
                reason = f"{what}: connection lost while sending ({type(exc).__name__})"
                if client_order_id is not None:
                    raise VenueUnknownOutcome(PROVIDER_NAME, reason, client_order_id) from None
                raise VenueError(PROVIDER_NAME, reason) from None
            yield reqid, queue
        finally:
            self._pending.pop(reqid, None)

    async def _send_on(self, reqid: int, frame_type: str, what: str, **extra: Any) -> None:
        """Send a further frame of a request already open (the next page of its answer)."""
        ws = await self._connection(what)
        try:
            await asyncio.wait_for(ws.send(encode_frame(frame_type, reqid, None, **extra)), self._timeout)
        except (ConnectionClosed, WebSocketException, OSError, TimeoutError) as exc:
            raise VenueError(PROVIDER_NAME, f"{what}: connection lost while sending ({type(exc).__name__})") from None

    async def _next(
        self, queue: asyncio.Queue[Frame | _Dropped], deadline: float, what: str, client_order_id: str | None = None
    ) -> Frame:
        remaining = deadline - asyncio.get_running_loop().time()
        try:
            item = await asyncio.wait_for(queue.get(), max(remaining, 0.0))
        except TimeoutError:
            reason = f"{what}: no answer within {self._timeout:g} s"
            if client_order_id is not None:
                raise VenueUnknownOutcome(PROVIDER_NAME, reason, client_order_id) from None
            raise VenueError(PROVIDER_NAME, reason) from None
        if isinstance(item, _Dropped):
            reason = f"{what}: {item.reason}"
            if client_order_id is not None:
                raise VenueUnknownOutcome(PROVIDER_NAME, reason, client_order_id)
            raise VenueError(PROVIDER_NAME, reason)
        return item

    def _quote_update(self, frame: Frame, what: str) -> Mapping[str, Any]:
        if frame.type == TYPE_ERROR:
            raise self._error_of(frame, what)
        if frame.type != TYPE_QUOTE or not frame.data:
            raise VenueError(PROVIDER_NAME, f"{what}: unexpected {one_line(frame.type, 40)!r} frame")
        return frame.data[-1]

    def _apply_report(
        self, report: Mapping[str, Any], executions: dict[str, Execution], amount: Decimal, what: str
    ) -> bool:
        """Take one ExecutionReport of an order; True once it is completely filled."""
        exec_type = _text(report, F_EXEC_TYPE, what)
        if exec_type not in EXEC_TYPES:
            raise VenueError(PROVIDER_NAME, f"{what}: unknown ExecType {one_line(exec_type, 40)!r}")
        if exec_type == EXEC_REJECTED:
            reason = one_line(report.get(F_TEXT), VENUE_TEXT_LIMIT)
            raise VenueRefused(PROVIDER_NAME, f"{what} rejected" + (f": {reason}" if reason else ""))
        if exec_type != EXEC_TRADE:
            return False
        execution = _execution(report, what)
        executions[execution.exec_id] = execution
        filled = sum((e.amount for e in executions.values()), Decimal(0))
        return report.get(F_ORD_STATUS) == ORD_STATUS_FILLED or filled >= amount

    def _error_of(self, frame: Frame, what: str, client_order_id: str | None = None) -> VenueError:
        item = frame.data[0] if frame.data else {}
        code = item.get(F_CODE)
        status = code if isinstance(code, int) and not isinstance(code, bool) else 0
        words = one_line(item.get(F_TEXT), VENUE_TEXT_LIMIT)
        for secret in (self._api_key.get_secret_value(), self._api_secret.get_secret_value()):
            words = words.replace(secret, "***")
        message = f"{what}: venue error {status}" + (f" ({words})" if words else "")
        return self._status_error(status, message, item.get(F_RETRY_AFTER), client_order_id)

    @staticmethod
    def _status_error(status: int, message: str, retry_after: Any, client_order_id: str | None) -> VenueError:
        if status == 429:
            wait = wait_seconds(retry_after, default=DEFAULT_RETRY_AFTER_SECONDS)
            return VenueRateLimited(PROVIDER_NAME, f"{message}, retry in {wait:g} s", wait)
        if status in (401, 403):
            return VenueRefused(PROVIDER_NAME, f"{message}: check the API key and secret")
        if 400 <= status < 500 and status != 408:
            return VenueRefused(PROVIDER_NAME, message)
        if client_order_id is not None:
            return VenueUnknownOutcome(PROVIDER_NAME, message, client_order_id)
        return VenueError(PROVIDER_NAME, message)

    # -- market-data streams ----------------------------------------------------------------

    async def _ensure_stream(self, stream: _Stream) -> None:
        """Subscribe ``stream`` on the current socket unless it already is."""
        async with stream.lock:
            if stream.reqid is not None and self._ws is not None:
                return
            what = f"market data {stream.currency} {stream.settlement}"
            spec = {F_NAME: TYPE_MARKET_DATA, F_SYMBOL: _symbol(stream.currency),
                    F_SETTL_TYPE: _settl_type(stream.settlement)}
            async with self._request(TYPE_SUBSCRIBE, None, what, streams=[spec]) as (reqid, queue):
                stream.reqid = reqid
                try:
                    frame = await self._next(queue, asyncio.get_running_loop().time() + self._timeout, what)
                    if frame.type == TYPE_ERROR:
                        raise self._error_of(frame, what)
                    if frame.type != TYPE_MARKET_DATA:
                        raise VenueError(PROVIDER_NAME, f"{what}: unexpected {one_line(frame.type, 40)!r} frame")
                    self._take_snapshot(stream, frame)
                    stream.wanted = True
                except BaseException:
                    stream.reqid = None
                    raise

    def _take_snapshot(self, stream: _Stream, frame: Frame) -> None:
        if not frame.data:
            return
        item = frame.data[-1]
        what = f"market data {stream.currency} {stream.settlement}"
        bid, ask = _decimal(item, F_BID_PX, what), _decimal(item, F_OFFER_PX, what)
        if bid > ask:
            raise VenueError(PROVIDER_NAME, f"{what}: crossed price: bid {bid} > ask {ask}")
        stream.bid, stream.ask, stream.received_at = bid, ask, self._now()

    # -- the socket -------------------------------------------------------------------------

    async def _connection(self, what: str) -> ClientConnection:
        if self._closed:
            raise VenueError(PROVIDER_NAME, f"{what}: adapter closed")
        async with self._connect_lock:
            if self._ws is not None:
                return self._ws
            headers = handshake_headers(
                self._api_key.get_secret_value(), self._api_secret.get_secret_value(), self._sign_host, self._now()
            )
            try:
                ws = await connect(
                    self._url, additional_headers=headers, open_timeout=self._timeout, ping_interval=None,
                    close_timeout=1, max_size=MAX_FRAME_BYTES, proxy=None, compression=None,
                    logger=_transport_logger,
                )
            except InvalidStatus as exc:
                status = exc.response.status_code
                message = f"{what}: handshake refused with HTTP {status}"
                raise self._status_error(
                    status, message, exc.response.headers.get("Retry-After"), None
                ) from None
            except (WebSocketException, OSError, TimeoutError) as exc:
                # The exception's text can echo the request; its class is enough.
                raise VenueError(PROVIDER_NAME, f"{what}: could not connect ({type(exc).__name__})") from None
            self._ws = ws
            self.connections_opened += 1
            self._reader = asyncio.create_task(self._read(ws), name="nonco-reader")
            logger.info("nonco: connected to %s", self._url)
            return ws

    async def _read(self, ws: ClientConnection) -> None:
        reason = "connection lost"
        try:
            while True:
                try:
                    raw = await asyncio.wait_for(ws.recv(), self._silence)
                except TimeoutError:
                    reason = f"no frame for {self._silence:g} s"
                    break
                try:
                    frame = decode_frame(raw)
                except FrameError as exc:
                    # Nothing tells whose answer it was: fail every request waiting.
                    logger.warning("nonco: unparseable frame (%s)", exc)
                    self._fail_pending(f"unparseable frame ({exc})")
                    continue
                self._dispatch(frame)
        except (ConnectionClosed, WebSocketException, OSError) as exc:
            reason = f"connection lost ({type(exc).__name__})"
        except asyncio.CancelledError:
            reason = "adapter closed"
            raise
        finally:
            logger.warning("nonco: socket dropped: %s", reason)
            self._dropped(ws, reason)
            with contextlib.suppress(Exception):
                await asyncio.shield(ws.close())

    def _dispatch(self, frame: Frame) -> None:
        if frame.reqid is None:
            return
        for stream in self._streams.values():
            if stream.reqid == frame.reqid and frame.type == TYPE_MARKET_DATA:
                try:
                    self._take_snapshot(stream, frame)
                except VenueError as exc:
                    logger.warning("nonco: %s", exc.message)
        queue = self._pending.get(frame.reqid)
        if queue is not None:
            queue.put_nowait(frame)

    def _fail_pending(self, reason: str) -> None:
        for queue in self._pending.values():
            queue.put_nowait(_Dropped(reason))

    def _dropped(self, ws: ClientConnection | None, reason: str) -> None:
        """The socket ``ws`` is gone: fail what waits on it, forget its streams, reconnect
        in the background while market data is wanted."""
        if ws is None or self._ws is not ws:
            return
        self._ws = None
        self._fail_pending(reason)
        for stream in self._streams.values():
            stream.reqid = None
            stream.bid = stream.ask = stream.received_at = None
        wanted = any(stream.wanted for stream in self._streams.values())
        if wanted and not self._closed and (self._reconnector is None or self._reconnector.done()):
            self._reconnector = asyncio.create_task(self._reconnect(), name="nonco-reconnect")

    async def _reconnect(self) -> None:
        """Reconnect with jittered exponential back-off and subscribe the wanted streams."""
        for attempt in itertools.count():
            delay = min(BACKOFF_MAX_SECONDS, BACKOFF_INITIAL_SECONDS * 2**attempt)
            await asyncio.sleep(delay * random.uniform(0.5, 1.0))
            if self._closed:
                return
            try:
                for stream in [s for s in self._streams.values() if s.wanted]:
                    await self._ensure_stream(stream)
            except VenueError as exc:
                logger.warning("nonco: reconnect attempt %d failed: %s", attempt + 1, exc.message)
                continue
            logger.info("nonco: reconnected and subscribed the market-data streams again")
            return


def _symbol(currency: str) -> str:
    symbol = SYMBOLS.get(currency)
    if symbol is None:
        raise VenueRefused(PROVIDER_NAME, f"{currency} is not quoted (only {', '.join(SYMBOLS)})")
    return symbol


def _settl_type(settlement: str) -> str:
    code = SETTLEMENT_TYPES.get(settlement)
    if code is None:
        raise VenueRefused(PROVIDER_NAME, f"settlement {settlement} is not offered")
    return code


def _side(side: str) -> str:
    venue_side = SIDES.get(side)
    if venue_side is None:
        raise VenueRefused(PROVIDER_NAME, f"side {side} is not BUY or SELL")
    return venue_side


def _execution(report: Mapping[str, Any], what: str) -> Execution:
    qty = report.get(F_LAST_QTY) if report.get(F_LAST_QTY) is not None else report.get(F_CUM_QTY)
    px = report.get(F_LAST_PX) if report.get(F_LAST_PX) is not None else report.get(F_AVG_PX)
    at = _time(report, F_TRANSACT_TIME, what) if report.get(F_TRANSACT_TIME) is not None else _utcnow()
    return Execution(
        exec_id=_text(report, F_EXEC_ID, what),
        amount=_decimal({F_LAST_QTY: qty}, F_LAST_QTY, what),
        price=_decimal({F_LAST_PX: px}, F_LAST_PX, what),
        at=at,
    )


def _text(body: Mapping[str, Any], name: str, what: str) -> str:
    raw = body.get(name)
    if not isinstance(raw, str) or not raw.strip():
        raise VenueError(PROVIDER_NAME, f"{what}: no {name!r}")
    return raw


def _decimal(body: Mapping[str, Any], name: str, what: str) -> Decimal:
    """A positive decimal sent as a string (an exact JSON number is tolerated)."""
    raw = body.get(name)
    if isinstance(raw, bool) or not isinstance(raw, str | int | Decimal):
        raise VenueError(PROVIDER_NAME, f"{what}: {name!r} is missing or not a decimal")
    try:
        value = raw if isinstance(raw, Decimal) else Decimal(str(raw).strip())
    except InvalidOperation:
        raise VenueError(PROVIDER_NAME, f"{what}: {name!r} is not a decimal") from None
    if not value.is_finite() or value <= 0:
        raise VenueError(PROVIDER_NAME, f"{what}: {name!r} is not positive")
    return value


def _time(body: Mapping[str, Any], name: str, what: str) -> datetime:
    raw = body.get(name)
    if not isinstance(raw, str):
        raise VenueError(PROVIDER_NAME, f"{what}: {name!r} is missing or not a string")
    try:
        parsed = datetime.fromisoformat(raw)
    except ValueError:
        raise VenueError(PROVIDER_NAME, f"{what}: {name!r} is not ISO-8601") from None
    if parsed.utcoffset() is None:
        raise VenueError(PROVIDER_NAME, f"{what}: {name!r} has no UTC offset")
    return parsed.astimezone(UTC)
