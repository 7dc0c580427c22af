"""How big a request may be, so bad input answers 4xx instead of costing memory or a crash.

- A request body is at most ``MAX_BODY_BYTES``; beyond it Sanic stops reading and the answer
  is 413 PAYLOAD_TOO_LARGE. Request headers (the request line and query string included) are
  at most ``MAX_HEADER_BYTES``, answered the same way.
- A JSON body nests at most ``MAX_JSON_DEPTH`` arrays and objects (``web.bodies``): the
  parser recurses, and a deep enough document would exhaust the stack.
- A number in a JSON body is at most ``MAX_NUMBER_CHARS`` characters and below
  10^``MAX_NUMBER_CHARS``, checked on its text before it becomes a ``Decimal`` or an ``int``;
  a decimal string is plain digits, shorter still (each field's pattern, ``web.bodies``). So
  no ``Decimal`` made from input can overflow an operation, and no integer literal reaches
  Python's limit on the digits it converts.

``install(app)`` applies the sizes to an app; the API document states them (``web.openapi``).
"""

from __future__ import annotations

from sanic import Sanic

MAX_BODY_BYTES = 64 * 1024
MAX_HEADER_BYTES = 8 * 1024
MAX_JSON_DEPTH = 32
MAX_NUMBER_CHARS = 40


def install(app: Sanic) -> None:
    app.config.REQUEST_MAX_SIZE = MAX_BODY_BYTES
    app.config.REQUEST_MAX_HEADER_SIZE = MAX_HEADER_BYTES


def describe() -> str:
    """The limits in words, for the API document."""
    return (
        f"A request body is at most {MAX_BODY_BYTES // 1024} KiB and the request headers (the query string "
        f"included) at most {MAX_HEADER_BYTES // 1024} KiB: beyond, 413 PAYLOAD_TOO_LARGE. JSON nests at most "
        f"{MAX_JSON_DEPTH} levels, and a JSON number is at most {MAX_NUMBER_CHARS} characters and below "
        f"1e{MAX_NUMBER_CHARS}."
    )
