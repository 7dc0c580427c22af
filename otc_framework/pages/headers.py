"""The security headers of every page and static file.

The Content-Security-Policy allows scripts, styles, images and fonts from the desk's own
origin only, no inline script or style attribute, no framing, and lists the WebSocket
origins explicitly in ``connect-src`` (``'self'`` does not cover ``ws:`` in every browser).
Those are derived from the request's ``Host``: the page connects back to where it came
from. A ``Host`` that is not a plain host[:port] (it could smuggle a directive) gets
``'self'`` alone.
"""

from __future__ import annotations

import re

_HOST = re.compile(r"^[A-Za-z0-9.\-]+(?::[0-9]{1,5})?$|^\[[0-9A-Fa-f:.]+\](?::[0-9]{1,5})?$")

_FIXED = (
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    "manifest-src 'self'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
    "object-src 'none'",
)


def content_security_policy(host: str) -> str:
    sockets = f" ws://{host} wss://{host}" if _HOST.fullmatch(host) else ""
    return "; ".join((*_FIXED, f"connect-src 'self'{sockets}"))


def page_headers(host: str) -> dict[str, str]:
    return {
        "Content-Security-Policy": content_security_policy(host),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "X-Frame-Options": "DENY",
        "Cross-Origin-Opener-Policy": "same-origin",
        "Cross-Origin-Resource-Policy": "same-origin",
    }
