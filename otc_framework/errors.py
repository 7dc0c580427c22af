"""The error tree. Domain code raises these; ``web.problems`` renders them as RFC 7807.

::

    OtcError                          any error the core knows how to answer
    ├── ProblemError                  has an HTTP answer (code, status, title)
    │   ├── ValidationFailed          VALIDATION_ERROR 400
    │   ├── Unauthorized              UNAUTHORIZED 401
    │   ├── Forbidden                 FORBIDDEN 403
    │   ├── NotFound                  NOT_FOUND 404
    │   ├── MethodNotAllowed          METHOD_NOT_ALLOWED 405 (Allow)
    │   ├── SessionAlreadyClosed      SESSION_ALREADY_CLOSED 409
    │   ├── MarketClosed              MARKET_CLOSED 409
    │   ├── StatusConflict            STATUS_CONFLICT 409
    │   ├── IllegalTransition         ILLEGAL_TRANSITION 409
    │   ├── SessionExpired            SESSION_EXPIRED 410
    │   ├── PayloadTooLarge           PAYLOAD_TOO_LARGE 413
    │   ├── UpgradeRequired           UPGRADE_REQUIRED 426 (Upgrade)
    │   ├── RateLimited               RATE_LIMITED 429 (Retry-After)
    │   ├── InternalError             INTERNAL 500
    │   ├── SpotUnavailable           SPOT_UNAVAILABLE 503
    │   ├── QuotingDisabled           QUOTING_DISABLED 503
    │   ├── ApiDisabled               API_DISABLED 503
    │   └── NotReady                  NOT_READY 503
    ├── ConfigError                   a deployment that cannot start; one line, no traceback
    ├── StoreError                    the store (Redis / in-process) failed or was misused
    └── VenueError                    an outside venue failed (adapters raise these, never
        │                             httpx/websockets errors); worth trying again later
        ├── VenueRateLimited          the venue asked us to wait: carries retry_after
        ├── VenueRefused              the venue refused for good (bad credentials, unknown
        │                             chat or webhook, an expired quote): trying again cannot help
        ├── VenueUnknownOutcome       a request was sent and no answer came: it may or may not
        │                             have happened; ask the venue (lookup_order), never resend
        └── VenuePartialFill          an order in chunks failed part-way: carries what filled
"""

from __future__ import annotations

from typing import Any, ClassVar


class OtcError(Exception):
    """Base of every error the core raises on purpose."""


class ProblemError(OtcError):
    """An error with an RFC 7807 answer. ``detail`` is shown to the caller: never put secrets,
    internal identifiers of other clients, or exception text from libraries in it."""

    code: ClassVar[str] = "INTERNAL"
    status: ClassVar[int] = 500
    title: ClassVar[str] = "Internal error"

    def __init__(self, detail: str | None = None, **extra: Any) -> None:
        super().__init__(detail or self.title)
        self.detail = detail
        self.extra = extra
        self.headers: dict[str, str] = {}


class ValidationFailed(ProblemError):
    code, status, title = "VALIDATION_ERROR", 400, "Request validation failed"


class Unauthorized(ProblemError):
    code, status, title = "UNAUTHORIZED", 401, "Authentication required"


class Forbidden(ProblemError):
    code, status, title = "FORBIDDEN", 403, "Not allowed"


class NotFound(ProblemError):
    code, status, title = "NOT_FOUND", 404, "Not found"


class MethodNotAllowed(ProblemError):
    code, status, title = "METHOD_NOT_ALLOWED", 405, "Method not allowed"


class SessionAlreadyClosed(ProblemError):
    code, status, title = "SESSION_ALREADY_CLOSED", 409, "Session already closed"


class MarketClosed(ProblemError):
    code, status, title = "MARKET_CLOSED", 409, "Market closed"


class StatusConflict(ProblemError):
    code, status, title = "STATUS_CONFLICT", 409, "Status changed meanwhile"


class IllegalTransition(ProblemError):
    code, status, title = "ILLEGAL_TRANSITION", 409, "Illegal status transition"


class SessionExpired(ProblemError):
    code, status, title = "SESSION_EXPIRED", 410, "Session expired"


class PayloadTooLarge(ProblemError):
    code, status, title = "PAYLOAD_TOO_LARGE", 413, "Request too large"


class UpgradeRequired(ProblemError):
    """A WebSocket route asked without the upgrade: the answer names the protocol to use."""

    code, status, title = "UPGRADE_REQUIRED", 426, "Upgrade required"

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(detail)
        self.headers["Upgrade"] = "websocket"


class RateLimited(ProblemError):
    code, status, title = "RATE_LIMITED", 429, "Too many requests"

    def __init__(self, retry_after_seconds: int, detail: str | None = None) -> None:
        super().__init__(detail)
        self.retry_after_seconds = max(1, int(retry_after_seconds))
        self.headers["Retry-After"] = str(self.retry_after_seconds)


class InternalError(ProblemError):
    code, status, title = "INTERNAL", 500, "Internal error"


class SpotUnavailable(ProblemError):
    code, status, title = "SPOT_UNAVAILABLE", 503, "Spot rate unavailable"


class QuotingDisabled(ProblemError):
    code, status, title = "QUOTING_DISABLED", 503, "Quoting is disabled"


class ApiDisabled(ProblemError):
    code, status, title = "API_DISABLED", 503, "API is disabled"


class NotReady(ProblemError):
    code, status, title = "NOT_READY", 503, "Not ready"


class ConfigError(OtcError):
    """A deployment that cannot start. The message is one line naming the culprit (plugin,
    field) and is printed as is by the CLI, without a traceback."""


class StoreError(OtcError):
    """The store could not do what was asked (unreachable, or misused)."""


class VenueError(OtcError):
    """An outside venue (spot source, LP, chat transport, alert sink) failed.

    ``venue`` names it; the message is safe to log (adapters never put keys or tokens in it).
    """

    def __init__(self, venue: str, message: str) -> None:
        super().__init__(f"{venue}: {message}")
        self.venue = venue
        self.message = message


class VenueRateLimited(VenueError):
    """The venue asked us to back off for ``retry_after`` seconds."""

    def __init__(self, venue: str, message: str, retry_after: float) -> None:
        super().__init__(venue, message)
        self.retry_after = retry_after


class VenueRefused(VenueError):
    """The venue refused the request permanently (bad credentials, an unknown chat or
    webhook, a request it will never accept): the caller stops rather than retry."""


class VenueUnknownOutcome(VenueError):
    """A request reached (or may have reached) the venue and its answer never came: a timeout
    after sending, or the connection lost with the request in flight. Whether it happened is
    unknown; the caller asks the venue (``LiquidityProvider.lookup_order``) and never sends it
    again blind. ``client_order_id`` names the order to ask about, when there is one."""

    def __init__(self, venue: str, message: str, client_order_id: str | None = None) -> None:
        super().__init__(venue, message)
        self.client_order_id = client_order_id


class VenuePartialFill(VenueError):
    """An order executed in chunks failed part-way. ``filled`` is what did execute (an
    ``otc_framework.ports.LpFill`` aggregating the chunks that filled), so nothing filled is
    forgotten; ``cause`` is the failure that stopped it."""

    def __init__(self, venue: str, message: str, filled: object, cause: VenueError) -> None:
        super().__init__(venue, message)
        self.filled = filled
        self.cause = cause
