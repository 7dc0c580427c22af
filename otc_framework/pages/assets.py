"""The static files the pages load, read once from ``static/`` into memory.

Only files found there at start are served, by exact name, so no request path reaches the
file system. Each carries a strong ETag; browsers revalidate (``no-cache``) so a redeploy
is seen at once, and a 304 costs no body.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

STATIC_DIR = Path(__file__).parent / "static"

_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".txt": "text/plain; charset=utf-8",
    ".woff2": "font/woff2",
}


@dataclass(frozen=True, slots=True)
class Asset:
    body: bytes
    content_type: str
    etag: str


@cache
def assets() -> dict[str, Asset]:
    """Every servable file under ``static/``, by its path relative to it (``js/api.js``)."""
    table: dict[str, Asset] = {}
    for path in sorted(STATIC_DIR.rglob("*")):
        kind = _TYPES.get(path.suffix)
        if not path.is_file() or kind is None:
            continue
        body = path.read_bytes()
        table[path.relative_to(STATIC_DIR).as_posix()] = Asset(
            body, kind, '"' + hashlib.sha256(body).hexdigest()[:20] + '"'
        )
    return table
