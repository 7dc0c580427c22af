"""The store (SPEC §15): short-lived state shared by every worker. ``open_store`` picks the
adapter from a URL; callers only ever see the ``Store`` port."""

from __future__ import annotations

from otc_framework.errors import ConfigError
from otc_framework.storage.store.base import Bucket, RateDecision, Store, Subscription, TakeOutcome
from otc_framework.storage.urls import split_url

__all__ = ["Bucket", "RateDecision", "Store", "Subscription", "TakeOutcome", "open_store"]


def open_store(url: str, *, namespace: str = "otc", workers: int = 1) -> Store:
    """The store at ``url``: ``memory://`` (one process), ``redis://`` / ``rediss://`` with an
    optional ``/db``, or ``redis+sentinel://host:26379[,host:port…]/<service>[/db]`` (``store.sentinel``). Every key and channel is prefixed ``"{namespace}:"``.

    Raises ``ConfigError`` (one line, no secrets) for a URL that cannot serve ``workers``.
    """
    if not namespace:
        raise ConfigError("store: the namespace must not be empty")
    scheme = split_url(url).scheme.lower()
    if scheme == "memory":
        if workers > 1:
            raise ConfigError(
                "store: the in-process store (memory://) serves a single worker; "
                f"use a Redis URL (redis://…) to run {workers} workers"
            )
        # Imported here so a deployment never loads the adapter it does not use.
        from otc_framework.storage.store.memory import MemoryStore

        return MemoryStore(namespace)
    if scheme in ("redis", "rediss", "redis+sentinel"):
        from otc_framework.storage.store.redis import RedisStore

        return RedisStore(url, namespace)
    raise ConfigError(
        f"store: unsupported URL scheme {scheme + '://' if scheme else '(none)'}; "
        "use memory://, redis:// / rediss:// or redis+sentinel://"
    )
