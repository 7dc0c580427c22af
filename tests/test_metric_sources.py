"""The metrics the lower floors keep: store and database failures, leases held, timed blocks.

Values live in the process-wide registry, which other tests move too: each test compares
before and after."""

from __future__ import annotations

import asyncio
from contextlib import suppress

import pytest
from prometheus_client import REGISTRY

from otc_framework.errors import SessionExpired, StoreError
from otc_framework.metrics import QUOTE_DURATION, Timed
from otc_framework.runtime.leased_loop import LeasedLoop
from otc_framework.storage.database import DatabaseUnavailable, close_database, ping
from otc_framework.storage.store import Store, open_store


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_a_failing_redis_operation_counts_as_a_store_error() -> None:
    store = open_store("redis://127.0.0.1:1/0")
    before = value("otc_store_errors_total", operation="get")
    try:
        with pytest.raises(StoreError):
            await store.get("k")
    finally:
        await store.close()
    assert value("otc_store_errors_total", operation="get") == before + 1


async def test_a_failing_ping_counts_as_a_database_error() -> None:
    await close_database()
    before = value("otc_database_errors_total", where="ping")
    with pytest.raises(DatabaseUnavailable):
        await ping()
    assert value("otc_database_errors_total", where="ping") == before + 1


async def test_the_lease_gauge_follows_taking_losing_and_releasing(store: Store) -> None:
    async def noop() -> None:
        return None

    name = "loop:metrics-test"
    a = LeasedLoop(store, name, noop, interval=0.05, lease_ttl=0.2, holder="a")
    b = LeasedLoop(store, name, noop, interval=0.05, lease_ttl=0.2, holder="b")
    start = value("otc_lease_held", loop=name)
    assert await a.turn() and not await b.turn()
    assert value("otc_lease_held", loop=name) == start + 1
    await asyncio.sleep(0.35)  # a stops renewing: b takes over, then a learns it lost
    assert await b.turn() and not await a.turn()
    assert value("otc_lease_held", loop=name) == start + 1
    await b.stop()
    assert value("otc_lease_held", loop=name) == start


@pytest.mark.parametrize(
    ("raised", "outcome"), [(None, "ok"), (SessionExpired(), "SESSION_EXPIRED"), (RuntimeError(), "error")]
)
def test_a_timed_block_is_observed_under_its_outcome(raised: Exception | None, outcome: str) -> None:
    before = value("otc_quote_duration_seconds_count", outcome=outcome)
    with suppress(Exception), Timed(QUOTE_DURATION):
        if raised is not None:
            raise raised
    assert value("otc_quote_duration_seconds_count", outcome=outcome) == before + 1
