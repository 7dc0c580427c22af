"""Every error answer is RFC 7807 ``application/problem+json`` (SPEC §11).

``{type, title, status, code, detail?, traceId}`` plus extension members a ``ProblemError``
carries. Unknown exceptions answer INTERNAL with no detail; their traceback goes to the
(redacted) log only, never to the client.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from pydantic import ValidationError
from sanic import Request
from sanic.exceptions import MethodNotAllowed, RequestCancelled, SanicException
from sanic.handlers import ErrorHandler
from sanic.response import HTTPResponse

from otc_framework import errors
from otc_framework.config import first_error_line
from otc_framework.storage.database import unavailable as database_unavailable
from otc_framework.web import limits
from otc_framework.web.bodies import Answer
from otc_framework.web.tracing import HEADER, request_trace_id

log = logging.getLogger(__name__)

CONTENT_TYPE = "application/problem+json"
TYPE_PREFIX = "urn:otc-framework:problem:"

# Sanic raises these for routing and protocol failures before our handlers run.
_BY_STATUS: dict[int, type[errors.ProblemError]] = {
    400: errors.ValidationFailed,
    401: errors.Unauthorized,
    403: errors.Forbidden,
    404: errors.NotFound,
    405: errors.MethodNotAllowed,
    413: errors.PayloadTooLarge,
    # A WebSocket route's plain requests are answered by ``web.sockets``; this is a handshake
    # that claimed the upgrade but broke it (a missing key, say).
    426: errors.UpgradeRequired,
    503: errors.NotReady,
}
# Our words rather than Sanic's, which name neither limit.
_DETAILS: dict[type[errors.ProblemError], str] = {
    errors.PayloadTooLarge: f"the body may be at most {limits.MAX_BODY_BYTES // 1024} KiB and the headers "
                            f"(query string included) at most {limits.MAX_HEADER_BYTES // 1024} KiB",
    errors.UpgradeRequired: "this route speaks WebSocket only: connect with a WebSocket client",
}


def problem_response(
    problem: errors.ProblemError, trace_id: str, status: int | None = None
) -> HTTPResponse:
    status = status or problem.status
    body: dict[str, Any] = {
        "type": TYPE_PREFIX + problem.code,
        "title": problem.title,
        "status": status,
        "code": problem.code,
        "traceId": trace_id,
    }
    if problem.detail:
        body["detail"] = problem.detail
    # Extension members add to the RFC 7807 ones and never replace them: ``status`` stays the
    # HTTP status whatever a raiser names its members.
    body.update({name: value for name, value in problem.extra.items() if name not in body})
    headers = {**problem.headers, HEADER: trace_id}
    return Answer(json.dumps(body, default=str), status=status, headers=headers, content_type=CONTENT_TYPE)


def to_problem(exception: BaseException) -> tuple[errors.ProblemError, int | None]:
    """The problem an exception answers with, and the HTTP status when it is not the code's
    own (a Sanic 4xx without a code of ours, 411 say, is a VALIDATION_ERROR answered with it)."""
    if isinstance(exception, errors.ProblemError):
        return exception, None
    if isinstance(exception, ValidationError):
        return errors.ValidationFailed(first_error_line("", exception)), None
    if isinstance(exception, SanicException) and 400 <= exception.status_code < 500:
        cls = _BY_STATUS.get(exception.status_code, errors.ValidationFailed)
        return cls(_DETAILS.get(cls, str(exception) if cls is errors.ValidationFailed else None)), exception.status_code
    if isinstance(exception, SanicException) and exception.status_code == 503:
        return errors.NotReady(), None
    # An outage of a dependency, wherever a route met it: retry shortly, as SPEC §18 says.
    if isinstance(exception, errors.StoreError):
        return errors.NotReady("the store is unreachable; retry shortly"), None
    if database_unavailable(exception):
        return errors.NotReady("the database is unreachable; retry shortly"), None
    return errors.InternalError(), None


ROUTED_METHODS = ("DELETE", "GET", "PATCH", "POST", "PUT")


def allowed_methods(request: Request) -> list[str]:
    """The methods the request's path has. RFC 9110 wants them in a 405's ``Allow``; Sanic
    names them on its exception only for paths without parameters, so ask the router."""
    allowed = []
    for method in ROUTED_METHODS:
        try:
            request.app.router.get(request.path, method, None)
        except SanicException:
            continue
        allowed.append(method)
    return allowed


class ProblemErrorHandler(ErrorHandler):
    def default(self, request: Request, exception: Exception) -> HTTPResponse:
        trace_id = request_trace_id(request)
        problem, status = to_problem(exception)
        if isinstance(exception, MethodNotAllowed):
            problem.headers["Allow"] = ", ".join(allowed_methods(request))
        # A caller that hung up is not a fault of ours: no ERROR line for it.
        if isinstance(problem, errors.InternalError) and problem is not exception and not isinstance(
            exception, RequestCancelled
        ):
            log.error(
                "unhandled exception",
                exc_info=(type(exception), exception, exception.__traceback__),
                extra={"path": request.path, "method": request.method},
            )
        elif isinstance(problem, errors.NotReady) and problem is not exception:
            # Expected during an outage: one line, no traceback. The store's messages are scrubbed;
            # a driver's may carry the DSN, so of those only the class is told.
            detail = str(exception) if isinstance(exception, errors.StoreError) else type(exception).__name__
            log.warning("dependency unavailable", extra={"path": request.path, "error": detail})
        return problem_response(problem, trace_id, status)

    @staticmethod
    def log(request: Request, exception: Exception) -> None:
        """Sanic's own logging of handled errors is replaced by ``default``'s."""
