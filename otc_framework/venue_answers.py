"""Talking HTTP to a venue the same way in every adapter: one request whose transport
failures become the core's errors, how long the venue asks us to wait, and its own words
about a failure, made safe to show on one line."""

from __future__ import annotations

import math
from typing import Any

import httpx

from otc_framework.errors import VenueError

CUT_MARK = "…"


def wait_seconds(*candidates: Any, default: float) -> float:
    """The first candidate that is a positive, finite number of seconds (a number, or text such
    as a ``Retry-After`` header), else ``default``. A bool is never a number of seconds."""
    for raw in candidates:
        if isinstance(raw, bool) or not isinstance(raw, int | float | str):
            continue
        try:
            seconds = float(raw)
        except ValueError:
            continue
        if math.isfinite(seconds) and seconds > 0:
            return seconds
    return default


def one_line(text: Any, limit: int) -> str:
    """``text`` with its whitespace collapsed and cut to ``limit`` characters (ending in
    ``CUT_MARK`` when cut); empty when it is not a non-blank string."""
    if not isinstance(text, str):
        return ""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - len(CUT_MARK)] + CUT_MARK


async def send(http: httpx.AsyncClient, venue: str, method: str, url: str | httpx.URL, *, timeout: float,
               **kwargs: Any) -> httpx.Response:
    """One request; a timeout or transport failure is a ``VenueError`` naming only its kind,
    since httpx's text can echo the URL, and a URL can carry a token."""
    try:
        return await http.request(method, url, timeout=timeout, **kwargs)
    except httpx.TimeoutException:
        raise VenueError(venue, f"timed out after {timeout:g} s") from None
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        raise VenueError(venue, f"request failed ({type(exc).__name__})") from None
