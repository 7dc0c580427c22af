"""A fake Nonco: the WebSocket RFQ API of ``client.py`` behind a signed handshake.

``NoncoBook`` is the venue's state and rules, free of any socket:

- prices follow ``MarketRate`` (the demo's market): USDC/BRL mid = rate × 1.0008, USDT/BRL
  mid = rate × 1.001, a little dearer for later settlement, ``HALF_SPREAD`` either side;
  market data registers nothing, a quote is counted in ``quotes_registered``;
- a quote is valid for the ``QuoteTTL`` asked (default 17 s); an order on it after that is a
  Rejected report; ``expire_quotes()`` ends every validity at once;
- an order fills the whole quote at its price (one Trade report with an ``ExecID``); a
  ClOrdID seen before is answered with its reports and fills nothing; a quote fills once;
- every execution report is kept for the ExecutionReport replay (``StartDate``), answered
  ``REPLAY_PAGE`` reports a frame: a frame with ``next`` is followed, when the client sends
  ``{"type": "page", "streams": [{..., "after": next}]}`` on the same reqid, by the next page.

The app (``create_app``) refuses the upgrade with 401 unless ``ApiKey`` is the key and
``ApiSign`` signs ``ApiTimestamp`` (within ``MAX_SKEW_SECONDS``) with the secret; it streams a
MarketDataSnapshot every ``SNAPSHOT_INTERVAL`` seconds for each subscription.

``/_inbox`` lists the frames received; ``/_orders`` counts the NewOrderSingle frames by
``ClOrdID`` and the orders the book executed; ``/_fault`` queues faults for the next requests
(all three from ``otc_framework.testing.fake_venue``), where a request is a handshake (HTTP
answers, as for any fake) or a frame received on a socket (``match`` names the frame's
``type``: ``NewOrderSingle``, ``QuoteRequest``): ``status`` → an ``error`` frame with that
``Code``; ``drop`` → the socket is closed, the frame unanswered and never acted on; ``delay``
with ``drop`` → the frame is ignored (a hang); ``delay`` alone → answered late. With
``"after": true`` the book acts on the frame first (an order fills) and then the answer is
dropped with the socket, or (``delay`` with ``drop``) never sent ("fill but never answer"),
or replaced by the ``status`` error frame. Switches on the app's ``ctx``:
``drop_connections()`` closes every socket now; ``silent`` stops the market-data pushes (a
silent socket). A ``"stream": true`` fault is taken at the next market-data push: ``drop``
closes the socket there (with ``{"status": 503, "count": N}`` for the reconnects'
handshakes, that stops the feed).
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json as jsonlib
import secrets
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from sanic import Request, Sanic
from sanic.response import HTTPResponse, json

from otc_framework.testing.fake_venue import (
    DemoSettings,
    DemoVenue,
    Fault,
    Faults,
    LoopbackServer,
    MarketRate,
    install_test_routes,
)
from otc_lp_nonco.client import (
    ACTION_UPDATE,
    EXEC_PENDING_NEW,
    EXEC_REJECTED,
    EXEC_TRADE,
    F_ACTION,
    F_AFTER,
    F_AVG_PX,
    F_BID_PX,
    F_BID_SIZE,
    F_CL_ORD_ID,
    F_CODE,
    F_CUM_QTY,
    F_DATA,
    F_EXEC_ID,
    F_EXEC_TYPE,
    F_INITIAL,
    F_LAST_PX,
    F_LAST_QTY,
    F_NAME,
    F_NEXT,
    F_OFFER_PX,
    F_OFFER_SIZE,
    F_ORD_STATUS,
    F_ORDER_QTY,
    F_PARAMETERS,
    F_QUOTE_ID,
    F_QUOTE_REQ_ID,
    F_QUOTE_STATUS,
    F_QUOTE_TTL,
    F_REQID,
    F_RETRY_AFTER,
    F_RFQ_ID,
    F_SEQ,
    F_SETTL_TYPE,
    F_SIDE,
    F_START_DATE,
    F_STREAMS,
    F_SYMBOL,
    F_TEXT,
    F_TIMESTAMP,
    F_TRANSACT_TIME,
    F_TYPE,
    F_VALID_UNTIL,
    HEADER_API_KEY,
    HEADER_SIGN,
    HEADER_TIMESTAMP,
    ORD_STATUS_FILLED,
    QUOTE_CANCELED,
    QUOTE_OPEN,
    QUOTE_PENDING_NEW,
    SETTLEMENT_TYPES,
    SIDES,
    SYMBOLS,
    TIMESTAMP_FORMAT,
    TYPE_ERROR,
    TYPE_EXECUTION_REPORT,
    TYPE_MARKET_DATA,
    TYPE_NEW_ORDER,
    TYPE_PAGE,
    TYPE_QUOTE,
    TYPE_QUOTE_CANCEL,
    TYPE_QUOTE_REQUEST,
    TYPE_SUBSCRIBE,
    WS_PATH,
    format_timestamp,
    sign,
)
from otc_lp_nonco.config import DEFAULT_VALIDITY_SECONDS, MAX_VALIDITY_SECONDS

PREMIUM = {"USDC-BRL": Decimal("1.0008"), "USDT-BRL": Decimal("1.001")}
HALF_SPREAD = Decimal("0.0010")
FORWARD_POINTS = {"D0": Decimal("0"), "D1": Decimal("0.0005"), "D2": Decimal("0.0010")}
TICK = Decimal("0.0001")
SIZE = "5000000"
SNAPSHOT_INTERVAL = 0.5
MAX_SKEW_SECONDS = 30.0
REPLAY_PAGE = 500  # reports per frame of an ExecutionReport replay

Item = dict[str, Any]


def error_item(code: int, text: str, retry_after: float | None = None) -> Item:
    item: Item = {F_CODE: code, F_TEXT: text}
    if retry_after is not None:
        item[F_RETRY_AFTER] = f"{retry_after:g}"
    return item


def fault_item(status: int, retry_after: float) -> Item:
    """A forced status, as an ``error`` frame's item."""
    if status == 429:
        return error_item(429, "too many requests", retry_after)
    if status in (401, 403):
        return error_item(status, "invalid API key or signature")
    return error_item(status, "forced failure")


def _fault_response(status: int, retry_after: float) -> HTTPResponse:
    headers = {"Retry-After": f"{retry_after:g}"} if status == 429 else None
    return json({F_TYPE: TYPE_ERROR, F_DATA: [fault_item(status, retry_after)]}, status=status, headers=headers)


@dataclass
class _Quote:
    quote_req_id: str
    rfq_id: str
    quote_id: str
    symbol: str
    side: str
    amount: Decimal
    price: Decimal
    valid_until: datetime
    status: str = QUOTE_OPEN


@dataclass
class NoncoBook:
    """The venue's state and rules; see the module docstring."""

    rate: MarketRate
    now: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    quotes_registered: int = 0
    reports: list[tuple[datetime, Item]] = field(default_factory=list)
    _quotes: dict[str, _Quote] = field(default_factory=dict)
    _orders: dict[str, list[Item]] = field(default_factory=dict)

    def bid_ask(self, symbol: str, settl_type: str) -> tuple[Decimal, Decimal]:
        mid = (self.rate.next() * PREMIUM[symbol] + FORWARD_POINTS[settl_type]).quantize(TICK)
        return mid - HALF_SPREAD, mid + HALF_SPREAD

    def snapshot(self, symbol: str, settl_type: str) -> Item:
        bid, ask = self.bid_ask(symbol, settl_type)
        return {
            F_SYMBOL: symbol, F_SETTL_TYPE: settl_type, F_BID_PX: str(bid), F_OFFER_PX: str(ask),
            F_BID_SIZE: SIZE, F_OFFER_SIZE: SIZE, F_TIMESTAMP: format_timestamp(self.now()),
        }

    @property
    def executions(self) -> list[Item]:
        return [report for _, report in self.reports if report[F_EXEC_TYPE] == EXEC_TRADE]

    def quote(self, item: Mapping[str, Any]) -> list[Item] | Item:
        """The Quote updates of a QuoteRequest, or an error item."""
        symbol, settl_type, side = (str(item.get(name)) for name in (F_SYMBOL, F_SETTL_TYPE, F_SIDE))
        quote_req_id = item.get(F_QUOTE_REQ_ID)
        amount = _amount(item.get(F_ORDER_QTY))
        if (
            symbol not in SYMBOLS.values() or settl_type not in SETTLEMENT_TYPES.values()
            or side not in SIDES.values() or amount is None or not isinstance(quote_req_id, str)
            or not 0 < len(quote_req_id) <= 36
        ):
            return error_item(400, "Symbol, SettlType, Side, OrderQty and QuoteReqID are required")
        if any(q.quote_req_id == quote_req_id for q in self._quotes.values()):
            return error_item(400, "duplicate QuoteReqID")
        seconds = _ttl(item.get(F_PARAMETERS))
        bid, ask = self.bid_ask(symbol, settl_type)
        quote = _Quote(
            quote_req_id, f"rfq-{uuid.uuid4().hex[:12]}", f"q-{uuid.uuid4().hex[:16]}", symbol, side, amount,
            ask if side == SIDES["BUY"] else bid, self.now() + timedelta(seconds=seconds),
        )
        self._quotes[quote.quote_id] = quote
        self.quotes_registered += 1
        base = {F_QUOTE_REQ_ID: quote_req_id, F_RFQ_ID: quote.rfq_id, F_SYMBOL: symbol, F_SETTL_TYPE: settl_type}
        return [
            {**base, F_QUOTE_STATUS: QUOTE_PENDING_NEW},
            {
                **base, F_QUOTE_ID: quote.quote_id, F_QUOTE_STATUS: QUOTE_OPEN, F_BID_PX: str(bid),
                F_OFFER_PX: str(ask), F_VALID_UNTIL: format_timestamp(quote.valid_until),
            },
        ]

    def cancel(self, item: Mapping[str, Any]) -> list[Item]:
        for quote in self._quotes.values():
            if quote.rfq_id == item.get(F_RFQ_ID) and quote.status == QUOTE_OPEN:
                quote.status = QUOTE_CANCELED
                return [{F_QUOTE_REQ_ID: quote.quote_req_id, F_RFQ_ID: quote.rfq_id, F_QUOTE_ID: quote.quote_id,
                         F_QUOTE_STATUS: QUOTE_CANCELED}]
        return []

    def order(self, item: Mapping[str, Any]) -> list[Item]:
        """The ExecutionReports of a NewOrderSingle (kept for the replay)."""
        cl_ord_id = item.get(F_CL_ORD_ID)
        if not isinstance(cl_ord_id, str) or not cl_ord_id:
            return [self._report("", EXEC_REJECTED, "Rejected", text="ClOrdID is required", keep=False)]
        if cl_ord_id in self._orders:
            return list(self._orders[cl_ord_id])
        quote = self._quotes.get(str(item.get(F_QUOTE_ID)))
        reports: list[Item] = []
        self._orders[cl_ord_id] = reports
        if quote is None or quote.rfq_id != item.get(F_RFQ_ID):
            reports.append(self._report(cl_ord_id, EXEC_REJECTED, "Rejected", text="unknown quote"))
        elif quote.status != QUOTE_OPEN:
            reports.append(self._report(cl_ord_id, EXEC_REJECTED, "Rejected", text=f"quote {quote.status.lower()}"))
        elif self.now() >= quote.valid_until:
            reports.append(self._report(cl_ord_id, EXEC_REJECTED, "Rejected", text="quote expired"))
        else:
            quote.status = "Filled"
            reports.append(self._report(cl_ord_id, EXEC_PENDING_NEW, "PendingNew", quote=quote))
            reports.append(self._report(cl_ord_id, EXEC_TRADE, ORD_STATUS_FILLED, quote=quote, trade=True))
        return list(reports)

    def _report(self, cl_ord_id: str, exec_type: str, status: str, *, quote: _Quote | None = None,
                trade: bool = False, text: str | None = None, keep: bool = True) -> Item:
        report: Item = {
            F_CL_ORD_ID: cl_ord_id, F_EXEC_ID: f"x-{uuid.uuid4().hex[:16]}", F_EXEC_TYPE: exec_type,
            F_ORD_STATUS: status, F_CUM_QTY: "0", F_TRANSACT_TIME: format_timestamp(self.now()),
        }
        if quote is not None:
            report.update({F_QUOTE_ID: quote.quote_id, F_RFQ_ID: quote.rfq_id, F_SYMBOL: quote.symbol,
                           F_SIDE: quote.side, F_ORDER_QTY: str(quote.amount)})
        if trade and quote is not None:
            report.update({F_CUM_QTY: str(quote.amount), F_AVG_PX: str(quote.price), F_LAST_QTY: str(quote.amount),
                           F_LAST_PX: str(quote.price)})
        if text:
            report[F_TEXT] = text
        if keep:
            self.reports.append((self.now(), report))
        return report

    def replay(self, start: Any) -> list[Item] | Item:
        try:
            since = datetime.strptime(str(start), TIMESTAMP_FORMAT).replace(tzinfo=UTC)
        except ValueError:
            return error_item(400, "StartDate is required")
        return [report for at, report in self.reports if at >= since]

    def expire_quotes(self) -> None:
        expired = self.now() - timedelta(seconds=1)
        for quote in self._quotes.values():
            quote.valid_until = min(quote.valid_until, expired)


def _amount(raw: Any) -> Decimal | None:
    try:
        amount = Decimal(str(raw))
    except (InvalidOperation, ValueError):
        return None
    return amount if amount.is_finite() and amount > 0 else None


def _ttl(parameters: Any) -> int:
    raw = parameters.get(F_QUOTE_TTL) if isinstance(parameters, dict) else None
    try:
        seconds = int(str(raw).removesuffix("s"))
    except ValueError:
        seconds = DEFAULT_VALIDITY_SECONDS
    return min(MAX_VALIDITY_SECONDS, max(1, seconds))


def signature_ok(headers: Mapping[str, str], host: str, api_key: str, secret: str, now: datetime) -> bool:
    """Whether a handshake's headers carry ``api_key`` and a fresh, valid signature."""
    key, timestamp, signature = (headers.get(h, "") for h in (HEADER_API_KEY, HEADER_TIMESTAMP, HEADER_SIGN))
    if not hmac.compare_digest(key.encode(), api_key.encode()):
        return False
    try:
        moment = datetime.strptime(timestamp, TIMESTAMP_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        return False
    if abs((now - moment).total_seconds()) > MAX_SKEW_SECONDS:
        return False
    return hmac.compare_digest(signature.encode(), sign(secret, timestamp, host).encode())


def create_app(api_key: str, api_secret: str, *, spot: Decimal | None = None, seed: int | None = None) -> Sanic:
    """A Sanic app serving Nonco's WebSocket API for ``api_key``/``api_secret``."""
    app = Sanic(f"fake_nonco_{uuid.uuid4().hex[:12]}")
    book = app.ctx.book = NoncoBook(MarketRate(spot, seed))
    app.ctx.silent = False
    app.ctx.sockets = set()
    app.ctx.handshakes = 0
    app.ctx.subscriptions = 0
    install_test_routes(app, _fault_response, executed=lambda: len(book.executions))

    async def drop_connections() -> None:
        for ws in list(app.ctx.sockets):
            with contextlib.suppress(Exception):
                await ws.close(code=1011, reason="dropped")

    app.ctx.drop_connections = drop_connections

    @app.on_request
    async def _verify(request: Request) -> HTTPResponse | None:
        if request.path != WS_PATH:
            return None
        host = request.headers.get("host", "").rsplit(":", 1)[0]
        if not signature_ok(request.headers, host, api_key, api_secret, datetime.now(UTC)):
            return json({F_TYPE: TYPE_ERROR, F_DATA: [error_item(401, "invalid API key or signature")]}, status=401)
        request.app.ctx.handshakes += 1
        return None

    @app.websocket(WS_PATH)
    async def _socket(request: Request, ws: Any) -> None:
        ctx = request.app.ctx
        ctx.sockets.add(ws)
        try:
            await _Session(ws, ctx).run()
        finally:
            ctx.sockets.discard(ws)

    return app


# What the venue answers to one frame: (type, data) of each frame it sends back, in order.
Replies = list[tuple[str, list[Item]]]


class _Session:
    """One socket: the frames it receives, the answers it sends, its market-data pushes."""

    def __init__(self, ws: Any, ctx: Any) -> None:
        self.ws, self.ctx = ws, ctx
        self.book: NoncoBook = ctx.book
        self.faults: Faults = ctx.faults
        self.streams: dict[int, tuple[str, str]] = {}
        self.seqs: dict[int, int] = {}
        # An ExecutionReport replay answered in pages: reqid -> (the reports, where the next page starts).
        self.replays: dict[int, tuple[list[Item], int]] = {}
        self.tasks: set[asyncio.Task[None]] = set()

    async def run(self) -> None:
        pusher = asyncio.create_task(self.push())
        try:
            while (raw := await self.ws.recv()) is not None:
                try:
                    frame = _loads(raw)
                except ValueError:
                    await self.send(None, TYPE_ERROR, [error_item(400, "not a JSON object")])
                    continue
                if not await self.take(frame):
                    return
        finally:
            pusher.cancel()
            for task in self.tasks:
                task.cancel()

    async def take(self, frame: Item) -> bool:
        """Act on one frame and answer it as the fault it meets says; False once the socket
        is closed."""
        self.ctx.inbox.add({"frame": frame})
        kind = str(frame.get(F_TYPE))
        reqid = frame.get(F_REQID) if isinstance(frame.get(F_REQID), int) else None
        data = frame.get(F_DATA) if isinstance(frame.get(F_DATA), list) else []
        first: Item = data[0] if data and isinstance(data[0], dict) else {}
        if kind == TYPE_NEW_ORDER and isinstance(first.get(F_CL_ORD_ID), str):
            self.ctx.orders.add(first[F_CL_ORD_ID])
        fault = self.faults.next_frame(kind)
        if fault is not None and not fault.after and (fault.drop or fault.status is not None):
            return await self.answer(reqid, [], fault)  # the book never sees it
        return await self.answer(reqid, self.reply(kind, reqid, frame, first), fault)

    def reply(self, kind: str, reqid: int | None, frame: Item, first: Item) -> Replies:
        """What the book does with a frame, as the frames it answers."""
        if kind == TYPE_SUBSCRIBE:
            return self.subscribe(reqid, frame.get(F_STREAMS))
        if kind == TYPE_PAGE:
            return self.next_page(reqid, frame.get(F_STREAMS))
        if kind == TYPE_QUOTE_REQUEST:
            answer = self.book.quote(first)
            return [(TYPE_ERROR, [answer])] if isinstance(answer, dict) else [(TYPE_QUOTE, [u]) for u in answer]
        if kind == TYPE_QUOTE_CANCEL:
            return [(TYPE_QUOTE, self.book.cancel(first))]
        if kind == TYPE_NEW_ORDER:
            return [(TYPE_EXECUTION_REPORT, [report]) for report in self.book.order(first)]
        return [(TYPE_ERROR, [error_item(400, f"unknown type {kind[:40]}")])]

    async def answer(self, reqid: int | None, replies: Replies, fault: Fault | None) -> bool:
        """Send ``replies`` as ``fault`` (if any) makes them: ``drop`` closes the socket, or
        with ``delay`` sends nothing (a hang); ``status`` sends that error instead; ``delay``
        sends late. False once the socket is closed."""
        if fault is not None and fault.drop:
            if fault.delay:
                return True
            await self.ws.close(code=1011, reason="dropped")
            return False
        if fault is not None and fault.status is not None:
            replies = [(TYPE_ERROR, [fault_item(fault.status, fault.retry_after)])]
        if fault is not None and fault.delay:
            # Later frames are answered meanwhile, as a venue busy with one request would.
            task = asyncio.create_task(self.send_late(fault.delay, reqid, replies))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)
            return True
        for frame_type, data in replies:
            await self.send(reqid, frame_type, data)
        return True

    async def send_late(self, delay: float, reqid: int | None, replies: Replies) -> None:
        await asyncio.sleep(delay)
        for frame_type, data in replies:
            await self.send(reqid, frame_type, data)

    async def send(self, reqid: int | None, frame_type: str, data: list[Item]) -> None:
        frame: Item = {F_TYPE: frame_type, F_DATA: data}
        if reqid is not None:
            self.seqs[reqid] = self.seqs.get(reqid, 0) + 1
            frame.update({F_REQID: reqid, F_SEQ: self.seqs[reqid]})
            frame.setdefault(F_INITIAL, self.seqs[reqid] == 1)
            frame.setdefault(F_ACTION, ACTION_UPDATE)
            if frame_type == TYPE_EXECUTION_REPORT and reqid in self.replays:
                frame[F_NEXT] = str(self.replays[reqid][1])
        await self.ws.send(_dumps(frame))

    async def push(self) -> None:
        while True:
            await asyncio.sleep(SNAPSHOT_INTERVAL)
            if self.ctx.silent or not self.streams:
                continue
            fault = self.faults.next_push()
            if fault is not None and fault.drop:
                await self.ws.close(code=1011, reason="dropped")
                return
            for reqid, (symbol, settl_type) in list(self.streams.items()):
                await self.send(reqid, TYPE_MARKET_DATA, [self.book.snapshot(symbol, settl_type)])

    def page(self, reqid: int, reports: list[Item], start: int) -> Replies:
        """One page of a replay; ``send`` tags the frame with ``next`` while more remain."""
        end = start + REPLAY_PAGE
        if end < len(reports):
            self.replays[reqid] = (reports, end)
        else:
            self.replays.pop(reqid, None)
        return [(TYPE_EXECUTION_REPORT, reports[start:end])]

    def next_page(self, reqid: int | None, wanted: Any) -> Replies:
        spec = wanted[0] if isinstance(wanted, list) and wanted and isinstance(wanted[0], dict) else {}
        pending = self.replays.get(reqid) if reqid is not None else None
        if reqid is None or pending is None or str(spec.get(F_AFTER)) != str(pending[1]):
            return [(TYPE_ERROR, [error_item(400, "no such page")])]
        return self.page(reqid, *pending)

    def subscribe(self, reqid: int | None, wanted: Any) -> Replies:
        specs = wanted if isinstance(wanted, list) and wanted and all(isinstance(s, dict) for s in wanted) else None
        if reqid is None or specs is None:
            return [(TYPE_ERROR, [error_item(400, "reqid and streams are required")])]
        spec = specs[0]
        name = spec.get(F_NAME)
        if name == TYPE_MARKET_DATA:
            symbol, settl_type = spec.get(F_SYMBOL), spec.get(F_SETTL_TYPE, "D0")
            if symbol not in SYMBOLS.values() or settl_type not in SETTLEMENT_TYPES.values():
                return [(TYPE_ERROR, [error_item(400, "unknown Symbol or SettlType")])]
            self.streams[reqid] = (symbol, settl_type)
            self.ctx.subscriptions += 1
            return [(TYPE_MARKET_DATA, [self.book.snapshot(symbol, settl_type)])]
        if name == TYPE_EXECUTION_REPORT:
            answer = self.book.replay(spec.get(F_START_DATE))
            return [(TYPE_ERROR, [answer])] if isinstance(answer, dict) else self.page(reqid, answer, 0)
        return [(TYPE_ERROR, [error_item(400, f"unknown stream {str(name)[:40]}")])]


def _dumps(frame: Item) -> str:
    return jsonlib.dumps(frame, separators=(",", ":"))


def _loads(raw: str | bytes) -> Item:
    body = jsonlib.loads(raw)
    if not isinstance(body, dict):
        raise ValueError("not an object")
    return body


class NoncoDemoVenue(DemoVenue):
    """Starts the fake with a fresh key and secret; the demo's config section carries them."""

    async def start(self, host: str, settings: DemoSettings) -> dict[str, Any]:
        api_key, api_secret = secrets.token_urlsafe(24), secrets.token_urlsafe(32)
        self.server = LoopbackServer(create_app(api_key, api_secret, spot=settings.sandbox_spot))
        base_url = await self.server.start(host)
        return {"url": base_url.replace("http://", "ws://", 1) + WS_PATH, "api_key": api_key, "api_secret": api_secret}
