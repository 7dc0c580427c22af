"""Telling plugins what happened (notification hooks, DESIGN.md)."""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger(__name__)


def announce(hook: Any, **kwargs: Any) -> None:
    """Call a notification hook after the change it reports has committed.

    A plugin's exception is logged and swallowed: the change is done, and a plugin must never
    make the desk answer that it failed.
    """
    try:
        hook(**kwargs)
    except Exception:
        log.exception("a plugin failed on a notification hook", extra={"hook": getattr(hook, "name", str(hook))})
