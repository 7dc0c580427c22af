"""A trace id per request: in the log lines (through a context variable), in every answer's
``X-Trace-Id`` header (``web.request``) and in problem bodies. A well-formed id sent by a load balancer or
client is kept, so one id follows a request across systems."""

from __future__ import annotations

import re
import secrets

from sanic import Request

from otc_framework.logs import trace_id_var

HEADER = "X-Trace-Id"
_ACCEPTABLE = re.compile(r"^[A-Za-z0-9-]{8,64}$")


def new_trace_id() -> str:
    return secrets.token_hex(16)


def request_trace_id(request: Request) -> str:
    """The request's trace id, assigned as the request is made (``web.request``)."""
    trace_id = getattr(request.ctx, "trace_id", None)
    if trace_id is None:
        sent = request.headers.get(HEADER, "")
        trace_id = sent if _ACCEPTABLE.match(sent) else new_trace_id()
        request.ctx.trace_id = trace_id
        trace_id_var.set(trace_id)
    return trace_id

