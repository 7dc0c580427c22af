"""A trace id per request: in the log lines (through a context variable), in every answer's
``X-Trace-Id`` header and in problem bodies. A well-formed id sent by a load balancer or
client is kept, so one id follows a request across systems."""

from __future__ import annotations

import re
import secrets

from sanic import Request, Sanic
from sanic.response import HTTPResponse

from otc_framework.logs import trace_id_var

HEADER = "X-Trace-Id"
_ACCEPTABLE = re.compile(r"^[A-Za-z0-9-]{8,64}$")


def new_trace_id() -> str:
    return secrets.token_hex(16)


def request_trace_id(request: Request) -> str:
    """The request's trace id, assigning one if the request never reached middleware
    (routing failures are raised before it runs)."""
    trace_id = getattr(request.ctx, "trace_id", None)
    if trace_id is None:
        sent = request.headers.get(HEADER, "")
        trace_id = sent if _ACCEPTABLE.match(sent) else new_trace_id()
        request.ctx.trace_id = trace_id
        trace_id_var.set(trace_id)
    return trace_id


async def _on_request(request: Request) -> None:
    request_trace_id(request)


async def _on_response(request: Request, response: HTTPResponse) -> None:
    response.headers[HEADER] = request_trace_id(request)


def install(app: Sanic) -> None:
    app.on_request(_on_request, priority=100)
    app.on_response(_on_response, priority=100)
