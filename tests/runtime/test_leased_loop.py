"""Background loops run in one process at a time and hand over when the holder dies."""

from __future__ import annotations

import asyncio

import pytest

from otc_framework.runtime.leased_loop import LeasedLoop
from otc_framework.storage.store import Store


async def test_one_holder_steps_and_the_other_waits(store: Store) -> None:
    steps: list[str] = []

    async def step_a() -> None:
        steps.append("a")

    async def step_b() -> None:
        steps.append("b")

    a = LeasedLoop(store, "loop:test", step_a, interval=0.05, lease_ttl=0.3, holder="a")
    b = LeasedLoop(store, "loop:test", step_b, interval=0.05, lease_ttl=0.3, holder="b")
    assert await a.turn() is True
    assert await b.turn() is False
    assert await a.turn() is True
    assert steps == ["a", "a"]


async def test_lease_passes_on_when_the_holder_stops_renewing(store: Store) -> None:
    async def noop() -> None:
        return None

    a = LeasedLoop(store, "loop:handover", noop, interval=0.05, lease_ttl=0.2, holder="a")
    b = LeasedLoop(store, "loop:handover", noop, interval=0.05, lease_ttl=0.2, holder="b")
    assert await a.turn() is True
    assert await b.turn() is False
    await asyncio.sleep(0.35)  # a's process "died": no renewal
    assert await b.turn() is True
    assert await a.turn() is False


async def test_a_failing_step_keeps_the_loop_alive(store: Store) -> None:
    calls = 0

    async def flaky() -> None:
        nonlocal calls
        calls += 1
        raise RuntimeError("bad turn")

    loop = LeasedLoop(store, "loop:flaky", flaky, interval=0.05, lease_ttl=0.3, holder="a")
    assert await loop.turn() is True
    assert await loop.turn() is True
    assert calls == 2


async def test_stop_releases_the_lease(store: Store) -> None:
    async def noop() -> None:
        return None

    a = LeasedLoop(store, "loop:release", noop, interval=0.05, lease_ttl=5, holder="a")
    a.start()
    b = LeasedLoop(store, "loop:release", noop, interval=0.05, lease_ttl=5, holder="b")
    for _ in range(50):
        if a.leading:
            break
        await asyncio.sleep(0.02)
    await a.stop()
    assert await b.turn() is True


def test_lease_must_outlive_the_interval(store: Store) -> None:
    with pytest.raises(ValueError):
        LeasedLoop(store, "x", lambda: None, interval=1, lease_ttl=1)  # type: ignore[arg-type]
