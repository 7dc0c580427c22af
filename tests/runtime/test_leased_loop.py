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


async def test_a_step_longer_than_the_ttl_keeps_the_lease(store: Store) -> None:
    started, finished = asyncio.Event(), asyncio.Event()

    async def long_step() -> None:
        started.set()
        await asyncio.sleep(0.9)  # three times the lease's ttl
        finished.set()

    async def noop() -> None:
        return None

    a = LeasedLoop(store, "loop:long", long_step, interval=0.05, lease_ttl=0.3, holder="a")
    b = LeasedLoop(store, "loop:long", noop, interval=0.05, lease_ttl=0.3, holder="b")
    stepping = asyncio.create_task(a.turn())
    await asyncio.wait_for(started.wait(), 5)
    while not finished.is_set():
        assert await b.turn() is False, "the lease lapsed while its holder was still stepping"
        await asyncio.sleep(0.05)
    assert await stepping is True


async def test_a_step_is_cut_off_when_its_lease_passes_to_another(store: Store) -> None:
    cut = asyncio.Event()

    async def endless() -> None:
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            cut.set()
            raise

    a = LeasedLoop(store, "loop:cut", endless, interval=0.05, lease_ttl=0.3, holder="a")
    stepping = asyncio.create_task(a.turn())
    await asyncio.sleep(0.05)
    # As after a Redis failover that lost the lease's last write: another worker takes it.
    await store.release_lease("loop:cut", "a")
    assert await store.acquire_lease("loop:cut", "b", ttl=30)
    assert await asyncio.wait_for(stepping, 5) is True
    assert cut.is_set()
    assert await a.turn() is False and a.leading is False


async def test_stop_with_grace_lets_the_step_finish_then_hands_over(store: Store) -> None:
    started, finished = asyncio.Event(), asyncio.Event()

    async def step() -> None:
        started.set()
        await asyncio.sleep(0.3)
        finished.set()

    async def noop() -> None:
        return None

    a = LeasedLoop(store, "loop:drain", step, interval=0.05, lease_ttl=5, holder="a")
    a.start()
    await asyncio.wait_for(started.wait(), 5)
    await a.stop(grace=5)
    assert finished.is_set(), "the step under way was cut off"
    b = LeasedLoop(store, "loop:drain", noop, interval=0.05, lease_ttl=5, holder="b")
    assert await b.turn() is True, "the lease was not handed over"
