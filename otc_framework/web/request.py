"""The desk's request class: what every request and every answer gets, without middleware.

A request gets its trace id as it is made, so every log line of its handling carries it
(``web.tracing``). An answer gets its ``X-Trace-Id`` header and is counted
(``web.metrics``) as it is connected to the request: Sanic calls ``Request.respond`` once for
every answer it sends, a handler's or an error's (a routing failure, a bad header, a body too
large). Two request and two response middleware did this before and cost about a tenth of a
quote's CPU: Sanic runs middleware as coroutines through a loop of its own per request, and a
route with no middleware skips that loop (``docs/decisions.md``, "Performance").
"""

from __future__ import annotations

from typing import Any

from sanic import Request
from sanic.response import BaseHTTPResponse

from otc_framework.web.metrics import count_request
from otc_framework.web.tracing import HEADER, request_trace_id


class DeskRequest(Request):
    __slots__ = ()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        request_trace_id(self)

    def respond(self, response: BaseHTTPResponse | None = None, **kwargs: Any) -> Any:
        # Not a coroutine of its own: Sanic's, returned to be awaited as it would be.
        if response is not None:
            response.headers[HEADER] = request_trace_id(self)
            count_request(self, response.status)
        return super().respond(response, **kwargs)
