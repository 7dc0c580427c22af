"""The outbound call of send-to-desk: one paid trade POSTed to the desk's endpoint (``[desk]``).

Protocol, kept in this one module so a correction touches one place::

    POST <desk.url>
    Authorization: Bearer <desk.token>          (when a token is configured)
    Idempotency-Key: <closing id>
    {"counterparty": "<client counterparty id>", "flow": "D0D0" | "D1D1" | "D2D2",
     "trade": {"closingId", "oid", "clientName", "side", "currency", "amount", "price",
               "totalBrl", "settlement", "settlementDate", "createdAt"}}

Decimals travel as strings. ``side`` is the desk's side as stored (``SELL``: the desk sells
the stablecoin), since the reader is the desk's own back office, not the client.

The idempotency key is the closing id: the same on every retry of a call and on every later
re-send of the same closing, so the desk can recognise a trade it already booked (a retry
after a timeout may reach it twice). Any 2xx is accepted. Transport errors, timeouts, 5xx
and 429 are retried up to ``attempts`` times, ``retry_backoff_seconds`` × attempt apart, or
after the desk's ``Retry-After`` (capped at ``RETRY_AFTER_CAP_SECONDS``) on a 429; any other
answer (a 4xx, a redirect) is final. Failure reasons are composed here, never copied from
httpx, so neither the URL nor the token reaches an audit row, an answer or a log line.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal
from uuid import UUID

import httpx

from otc_framework.config import DeskConfig
from otc_framework.errors import NotReady
from otc_framework.storage.models import Currency, Settlement, Side
from otc_framework.web.bodies import AmountText, AnswerModel, DecimalText

log = logging.getLogger(__name__)

IDEMPOTENCY_HEADER = "Idempotency-Key"
RETRY_AFTER_CAP_SECONDS = 5.0
FLOWS: dict[Settlement, str] = {Settlement.D0: "D0D0", Settlement.D1: "D1D1", Settlement.D2: "D2D2"}


class DeskTrade(AnswerModel):
    closing_id: UUID
    oid: str
    client_name: str
    side: Side
    currency: Currency
    amount: AmountText
    price: DecimalText
    total_brl: DecimalText
    settlement: Settlement
    settlement_date: date
    created_at: datetime

    @classmethod
    def of(cls, closing: Any) -> DeskTrade:
        fields = {name: getattr(closing, name) for name in cls.model_fields if name != "closing_id"}
        return cls.model_validate({**fields, "closing_id": closing.id})


def trade_notice(closing: Any, counterparty: str) -> dict[str, Any]:
    """The JSON body for ``closing`` (a ``Closing`` row)."""
    return {
        "counterparty": counterparty,
        "flow": FLOWS[Settlement(closing.settlement)],
        "trade": DeskTrade.of(closing).model_dump(mode="json", by_alias=True),
    }


@dataclass(frozen=True, slots=True)
class Delivery:
    outcome: Literal["accepted", "failed"]
    http_status: int | None
    attempts: int
    error: str | None = None

    @property
    def accepted(self) -> bool:
        return self.outcome == "accepted"


def endpoint_url(desk: DeskConfig) -> str:
    """The configured desk URL; NOT_READY when the deployment has none."""
    if desk.url is None:
        raise NotReady("no desk endpoint configured (set [desk] url in the deployment config)")
    return str(desk.url)


def retry_delay(attempt: int, backoff: float, retry_after: str | None = None) -> float:
    """Seconds to wait after failed ``attempt`` (1-based): the desk's ``Retry-After`` in
    seconds when it sent one (capped), else ``backoff`` × attempt."""
    if retry_after is not None:
        try:
            return min(max(float(retry_after), 0.0), RETRY_AFTER_CAP_SECONDS)
        except ValueError:
            pass  # an HTTP-date, or garbage: fall back to our own pace
    return backoff * attempt


def _retryable(status: int) -> bool:
    return status == 429 or status >= 500


async def deliver(http: httpx.AsyncClient, desk: DeskConfig, body: dict[str, Any], idempotency_key: str) -> Delivery:
    """POST ``body`` to the desk with retries (module docstring); never raises for the desk's
    or the network's failures, which come back as a ``failed`` delivery."""
    url = endpoint_url(desk)
    headers = {IDEMPOTENCY_HEADER: idempotency_key}
    if desk.token is not None:
        headers["Authorization"] = f"Bearer {desk.token.get_secret_value()}"
    status: int | None = None
    error = ""
    for attempt in range(1, desk.attempts + 1):
        retry_after = None
        try:
            response = await http.post(url, json=body, headers=headers, timeout=desk.timeout_seconds)
        except httpx.TimeoutException:
            status, error = None, f"timed out after {desk.timeout_seconds:g} s"
        except httpx.HTTPError as exc:
            status, error = None, f"could not reach the desk ({type(exc).__name__})"
        else:
            status = response.status_code
            if response.is_success:
                return Delivery("accepted", status, attempt)
            error = f"the desk answered HTTP {status}"
            if not _retryable(status):
                return Delivery("failed", status, attempt, error)
            retry_after = response.headers.get("Retry-After")
        log.warning("desk call failed", extra={"attempt": attempt, "reason": error, "closingId": idempotency_key})
        if attempt < desk.attempts:
            await asyncio.sleep(retry_delay(attempt, desk.retry_backoff_seconds, retry_after))
    return Delivery("failed", status, desk.attempts, error)
