"""``POST /v1/sessions`` (take a quote) and ``POST /v1/sessions/{id}/close`` (trade it)."""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

import orjson
from pydantic import Field
from sanic import Blueprint, Request
from sanic.response import HTTPResponse

from otc_framework.auth.guard import admitted, authenticate_token, bearer_token, last_view
from otc_framework.closings.schemas import ClosingAnswer
from otc_framework.errors import (
    ApiDisabled,
    MarketClosed,
    NotFound,
    NotReady,
    QuotingDisabled,
    RateLimited,
    SessionAlreadyClosed,
    SessionExpired,
    SpotUnavailable,
    ValidationFailed,
)
from otc_framework.metrics import CLOSE_DURATION, QUOTE_DURATION, Timed
from otc_framework.sessions.service import AMOUNT_PLACES, CloseResult, oid_key
from otc_framework.sessions.session import QuoteSession
from otc_framework.storage.models import Currency, Settlement
from otc_framework.web.bodies import (
    AmountText,
    AnswerModel,
    DecimalText,
    RequestModel,
    amount_text,
    answer_json,
    decimal_text,
    parse_body,
)
from otc_framework.web.decimals import DecimalInput
from otc_framework.web.endpoint import endpoint

bp = Blueprint("sessions")

OID_PATTERN = r"^[A-Za-z0-9._:\-]{1,128}$"
# What ``TradingDesk.quote`` hands out (a UUID's 32 hex digits); anything else names no session.
SESSION_ID = {"type": "string", "pattern": "^[0-9a-f]{32}$"}
_SESSION_ID = re.compile("[0-9a-f]{32}")
# Far above any order limit (the ``min_order_amount`` / ``max_order_amount`` controls decide),
# and within the closing's numeric(24, 6) amount column.
Amount = Annotated[Decimal, DecimalInput(places=AMOUNT_PLACES, digits=15, positive=True)]


class CreateSession(RequestModel):
    currency: Currency
    settlement: Settlement
    amount: Amount = Field(description="Stablecoin units, as a decimal string or a JSON number (read exactly); "
                                       "the order limits are the min_order_amount and max_order_amount controls")
    validity_seconds: Literal[5, 10] | None = Field(None, description="Ask for a 5 s or 10 s lock instead of the default")


class SessionCreated(AnswerModel):
    session_id: str
    side: Literal["BUY"] = "BUY"
    currency: Currency
    settlement: Settlement
    amount: AmountText
    price: DecimalText
    total_brl: DecimalText
    expires_at: datetime


def session_created(session: QuoteSession) -> str:
    """``SessionCreated`` of ``session``, as JSON. Written by orjson from the session's own
    values rather than by validating and dumping the model: nothing here came from the caller
    unchecked, and the model's validation and serializers cost a quote about 8 % of its worker
    CPU (docs/decisions.md, "Performance"). ``SessionCreated`` stays the documented schema, and
    a test holds this text to the model's."""
    return orjson.dumps(
        {"sessionId": session.session_id, "side": "BUY", "currency": session.currency,
         "settlement": session.settlement, "amount": amount_text(session.amount), "price": decimal_text(session.price),
         "totalBrl": decimal_text(session.total_brl), "expiresAt": session.expires_at},
        option=orjson.OPT_UTC_Z,
    ).decode()


class CloseSession(RequestModel):
    oid: str | None = Field(None, pattern=OID_PATTERN,
                            description="Idempotency key: a close repeated with it answers the first closing (200)")


@bp.post("/v1/sessions")
@endpoint(
    "Take a quote: a price locked for a few seconds",
    auth="client",
    request=CreateSession,
    responses={201: SessionCreated},
    errors=(MarketClosed, SpotUnavailable, QuotingDisabled, ApiDisabled, RateLimited),
    description="MARKET_CLOSED carries `nextOpen`. The lock lasts `session_ttl_seconds` unless `validitySeconds` asks for 5 or 10.",
    tags=("trading",),
)
async def create_session(request: Request) -> HTTPResponse:
    with Timed(QUOTE_DURATION):
        runtime = request.app.ctx.runtime
        desk = runtime.desk
        token = bearer_token(request)
        claims = runtime.tokens.decode(token)
        try:
            body = parse_body(request, CreateSession)
        except ValidationFailed:
            await authenticate_token(request, token, spends=desk.quote_bucket)  # who may ask answers first
            raise
        order = (body.currency, body.settlement, body.amount, body.validity_seconds)
        # Priced from this worker's last view of the caller and locked in the round trip that
        # confirms the view is current (one store round trip); otherwise as the store has it.
        view = last_view(request, claims)
        outcome = None if view is None else await desk.quote_if_current(view[0], view[1], *order)
        if isinstance(outcome, QuoteSession):
            session = outcome
        else:
            if outcome is None:
                caller = await authenticate_token(request, token, spends=desk.quote_bucket)
            else:
                values, spent = outcome
                reference, rest = await runtime.reference.of_values(values)
                caller = await admitted(request, claims, reference, rest, spent)
            session = await desk.quote(caller, *order)
        return answer_json(session_created(session), status=201)


@bp.post("/v1/sessions/<session_id:str>/close")
@endpoint(
    "Confirm a quote: record the trade exactly once",
    auth="client",
    request=CloseSession,
    responses={201: ClosingAnswer, 200: ClosingAnswer},
    errors=(SessionExpired, SessionAlreadyClosed, NotFound, QuotingDisabled, ApiDisabled, NotReady),
    description="201 with the new closing; 200 with the first closing when the OID was used before. "
                "The body may be left out (no OID). An id not of the form is NOT_FOUND.",
    tags=("trading",),
    path={"session_id": SESSION_ID},
    body_optional=True,
)
async def close_session(request: Request, session_id: str) -> HTTPResponse:
    with Timed(CLOSE_DURATION):
        body = parse_body(request, CloseSession, optional=True)
        oid = body.oid
        runtime = request.app.ctx.runtime
        token = bearer_token(request)
        claims = runtime.tokens.decode(token)
        # Taken in the round trip that confirms this worker's view of the caller is current
        # (and that the OID has no answer yet); otherwise as the store has it.
        view = last_view(request, claims) if _SESSION_ID.fullmatch(session_id) else None
        outcome = None if view is None else await runtime.desk.close_if_current(view[0], view[1], session_id, oid)
        if isinstance(outcome, CloseResult):
            result = outcome
        else:
            if outcome is None:
                caller = await authenticate_token(
                    request, token, extra_keys=(lambda claims: [oid_key(claims.client_id, oid)]) if oid else None)
            else:
                reference, rest = await runtime.reference.of_values(outcome)
                caller = await admitted(request, claims, reference, rest, None)
            if not _SESSION_ID.fullmatch(session_id):
                raise NotFound("no such session")
            replay = caller.extras[0] if oid else None
            result = await runtime.desk.close(caller, session_id, oid, replay)
        return answer_json(result.answer, status=201 if result.created else 200)
