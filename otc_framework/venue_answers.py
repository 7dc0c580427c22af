"""Reading a venue's answer the same way in every adapter: how long it asks us to wait, and
its own words about a failure, made safe to show on one line."""

from __future__ import annotations

import math
from typing import Any

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
