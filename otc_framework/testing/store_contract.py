"""The behaviour every ``Store`` adapter must have, as one reusable pytest class.

To check a new adapter, subclass ``StoreContract`` in a test module (a name starting with
``Test`` so pytest collects it) and provide two fixtures there:

- ``store``: an open store of your adapter, with a fresh namespace, closed after the test;
- ``make_store``: a callable ``namespace -> Store`` opening another store on the same
  backend (the suite uses it for namespace isolation; close what it opens after the test).

::

    from otc_framework.testing.store_contract import StoreContract

    class TestMyStore(StoreContract):
        @pytest.fixture
        async def store(self): ...

        @pytest.fixture
        def make_store(self): ...

The tests are async and marked ``pytest.mark.asyncio``; with pytest-asyncio in strict mode,
declare async fixtures with ``pytest_asyncio.fixture``. They sleep briefly for TTLs, never
assert on speed, and publish about a thousand messages to overflow the default subscriber
queue (1000).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable

import pytest

from otc_framework.errors import StoreError
from otc_framework.storage.store.base import Bucket, Store, Subscription, TakeOutcome

QUEUE_OVERFLOW = 1100
RECEIVE_TIMEOUT = 5.0


async def receive(sub: Subscription, count: int) -> list[str]:
    """The next ``count`` messages of ``sub``, failing rather than hanging."""
    messages: list[str] = []

    async def collect() -> None:
        async for message in sub:
            messages.append(message)
            if len(messages) == count:
                return

    await asyncio.wait_for(collect(), RECEIVE_TIMEOUT)
    return messages


async def ends(sub: Subscription) -> list[str]:
    """What ``sub`` still yields before its iteration ends (which must happen)."""

    async def drain() -> list[str]:
        return [message async for message in sub]

    return await asyncio.wait_for(drain(), RECEIVE_TIMEOUT)


@pytest.mark.asyncio
class StoreContract:
    # -- key/value -------------------------------------------------------------------------

    async def test_get_set_delete(self, store: Store) -> None:
        assert await store.get("k") is None
        await store.set("k", "v1")
        assert await store.get("k") == "v1"
        await store.set("k", "v2")
        assert await store.get("k") == "v2"
        assert await store.delete("k") is True
        assert await store.get("k") is None
        assert await store.delete("k") is False

    async def test_values_round_trip_as_text(self, store: Store) -> None:
        value = '{"amount": "1234.567890123456789", "name": "ação ✓"}'
        await store.set("json", value)
        assert await store.get("json") == value

    async def test_ttl_reports_seconds_left(self, store: Store) -> None:
        assert await store.ttl("absent") is None
        await store.set("plain", "v")
        assert await store.ttl("plain") is None
        await store.set("timed", "v", ttl=30)
        left = await store.ttl("timed")
        assert left is not None and 0 < left <= 30

    async def test_everything_with_a_ttl_expires(self, store: Store) -> None:
        # One sleep for every kind of expiry keeps the suite fast.
        await store.set("short", "v", ttl=0.2)
        await store.set("forever", "v")
        await store.set("cleared", "v", ttl=0.2)
        await store.set("cleared", "w")
        await store.set("oid", "v", ttl=0.2)
        assert await store.set_if_absent("dedup", "first", ttl=0.2) is True
        assert await store.set_if_absent("dedup", "second", ttl=0.2) is False
        await store.set("swapped", "a")
        assert await store.replace("swapped", "a", "b", ttl=0.2) is True
        assert await store.acquire_lease("feed", "worker-1", ttl=0.2) is True
        assert await store.get("short") == "v"

        await asyncio.sleep(0.4)

        assert await store.get("short") is None
        assert await store.ttl("short") is None
        assert await store.delete("short") is False
        assert await store.get("forever") == "v", "a key without ttl never expires"
        assert await store.get("cleared") == "w", "set without ttl clears the previous ttl"
        assert await store.take("oid") is None
        assert await store.get("swapped") is None
        assert await store.set_if_absent("dedup", "third") is True
        assert await store.get("dedup") == "third"
        assert await store.acquire_lease("feed", "worker-2", ttl=30) is True, (
            "a lease not renewed within its ttl passes to the next holder"
        )
        assert await store.acquire_lease("feed", "worker-1", ttl=30) is False

    async def test_non_positive_ttl_is_refused(self, store: Store) -> None:
        for ttl in (0, -1):
            with pytest.raises(StoreError):
                await store.set("k", "v", ttl=ttl)
            with pytest.raises(StoreError):
                await store.set_if_absent("k", "v", ttl=ttl)
            with pytest.raises(StoreError):
                await store.acquire_lease("lease", "a", ttl=ttl)

    # -- take / set_if_absent --------------------------------------------------------------

    async def test_take_returns_value_once(self, store: Store) -> None:
        await store.set("oid", "v")
        assert await store.take("oid") == "v"
        assert await store.take("oid") is None
        assert await store.get("oid") is None

    async def test_concurrent_take_gives_value_to_exactly_one(self, store: Store) -> None:
        await store.set("oid", "v")
        results = await asyncio.gather(*(store.take("oid") for _ in range(50)))
        assert results.count("v") == 1
        assert results.count(None) == 49

    async def test_get_many_in_order_with_gaps(self, store: Store) -> None:
        await store.set("a", "1")
        await store.set("c", "3")
        assert await store.get_many(["a", "b", "c"]) == ["1", None, "3"]
        assert await store.get_many([]) == []

    async def test_take_owned_once_then_tombstone(self, store: Store) -> None:
        await store.set_owned("session", "alice", "payload|with|bars", ttl=30)
        assert await store.take_owned("session", "alice", tombstone_ttl=30) == (TakeOutcome.TAKEN, "payload|with|bars")
        assert await store.take_owned("session", "alice", tombstone_ttl=30) == (TakeOutcome.TAKEN_BEFORE, None)
        assert await store.take_owned("session", "bob", tombstone_ttl=30) == (TakeOutcome.NOT_OWNER, None)

    async def test_take_owned_refuses_another_owner_and_keeps_the_value(self, store: Store) -> None:
        await store.set_owned("session", "alice", "v", ttl=30)
        assert await store.take_owned("session", "bob", tombstone_ttl=30) == (TakeOutcome.NOT_OWNER, None)
        assert await store.take_owned("session", "alice", tombstone_ttl=30) == (TakeOutcome.TAKEN, "v")

    async def test_take_owned_absent_and_expired(self, store: Store) -> None:
        assert await store.take_owned("never", "alice", tombstone_ttl=30) == (TakeOutcome.ABSENT, None)
        await store.set_owned("brief", "alice", "v", ttl=0.05)
        await asyncio.sleep(0.15)
        assert await store.take_owned("brief", "alice", tombstone_ttl=30) == (TakeOutcome.ABSENT, None)

    async def test_set_owned_clears_the_tombstone(self, store: Store) -> None:
        await store.set_owned("session", "alice", "v", ttl=30)
        await store.take_owned("session", "alice", tombstone_ttl=30)
        await store.set_owned("session", "alice", "v", ttl=30)  # put back after a failed use
        assert await store.take_owned("session", "alice", tombstone_ttl=30) == (TakeOutcome.TAKEN, "v")

    async def test_concurrent_take_owned_gives_value_to_exactly_one(self, store: Store) -> None:
        await store.set_owned("session", "alice", "v", ttl=30)
        results = await asyncio.gather(*(store.take_owned("session", "alice", tombstone_ttl=30) for _ in range(50)))
        assert results.count((TakeOutcome.TAKEN, "v")) == 1
        assert results.count((TakeOutcome.TAKEN_BEFORE, None)) == 49

    async def test_concurrent_set_if_absent_lets_exactly_one_win(self, store: Store) -> None:
        results = await asyncio.gather(
            *(store.set_if_absent("dedup", str(i), ttl=30) for i in range(50))
        )
        assert results.count(True) == 1
        assert await store.get("dedup") == str(results.index(True))

    async def test_replace_only_from_the_expected_value(self, store: Store) -> None:
        assert await store.replace("state", "v1", "v2") is False, "an absent key holds no expected value"
        await store.set("state", "v1")
        assert await store.replace("state", "other", "v2") is False
        assert await store.get("state") == "v1"
        assert await store.replace("state", "v1", "v2", ttl=30) is True
        assert await store.get("state") == "v2"
        left = await store.ttl("state")
        assert left is not None and 0 < left <= 30
        assert await store.replace("state", "v2", "v3") is True
        assert await store.ttl("state") is None, "replace without ttl clears the previous ttl"

    async def test_concurrent_replace_lets_exactly_one_win(self, store: Store) -> None:
        await store.set("state", "start")
        results = await asyncio.gather(*(store.replace("state", "start", str(i), ttl=30) for i in range(50)))
        assert results.count(True) == 1
        assert await store.get("state") == str(results.index(True))

    async def test_bucket_allows_capacity_then_refuses(self, store: Store) -> None:
        for i in range(3):
            decision = await store.rate_limit("client", capacity=3, refill_per_second=0.1)
            assert decision.allowed, i
            assert decision.retry_after == 0
        refused = await store.rate_limit("client", capacity=3, refill_per_second=0.1)
        assert not refused.allowed
        assert refused.retry_after > 0
        assert refused.remaining < 1

    async def test_bucket_refills_over_time(self, store: Store) -> None:
        for _ in range(2):
            assert (await store.rate_limit("client", 2, refill_per_second=10)).allowed
        refused = await store.rate_limit("client", 2, refill_per_second=10)
        assert not refused.allowed
        await asyncio.sleep(refused.retry_after + 0.1)
        assert (await store.rate_limit("client", 2, refill_per_second=10)).allowed

    async def test_bucket_cost_above_one(self, store: Store) -> None:
        first = await store.rate_limit("client", 5, refill_per_second=0.1, cost=3)
        assert first.allowed
        assert first.remaining == pytest.approx(2, abs=0.05)
        second = await store.rate_limit("client", 5, refill_per_second=0.1, cost=3)
        assert not second.allowed
        assert second.retry_after > 0
        assert (await store.rate_limit("client", 5, refill_per_second=0.1, cost=2)).allowed

    async def test_bucket_cost_above_capacity_is_refused(self, store: Store) -> None:
        with pytest.raises(StoreError):
            await store.rate_limit("client", 2, refill_per_second=1, cost=3)

    async def test_buckets_are_independent(self, store: Store) -> None:
        assert (await store.rate_limit("a", 1, refill_per_second=0.1)).allowed
        assert not (await store.rate_limit("a", 1, refill_per_second=0.1)).allowed
        assert (await store.rate_limit("b", 1, refill_per_second=0.1)).allowed

    async def test_bucket_does_not_collide_with_plain_key(self, store: Store) -> None:
        await store.set("client", "v")
        assert (await store.rate_limit("client", 1, refill_per_second=0.1)).allowed
        assert await store.get("client") == "v"

    async def test_get_many_spending_reads_and_spends_one_bucket(self, store: Store) -> None:
        await store.set("a", "1")
        await store.set("c", "3")
        bucket = Bucket("client", capacity=2, refill_per_second=0.1)
        for left in (1.0, 0.0):
            values, decision = await store.get_many_spending(["a", "b", "c"], bucket)
            assert values == ["1", None, "3"] and decision.allowed and decision.remaining == pytest.approx(left, abs=0.01)
        values, refused = await store.get_many_spending(["a"], bucket)
        assert values == ["1"] and not refused.allowed and refused.retry_after > 0
        # The same bucket as rate_limit's, and reading alone spends nothing else.
        assert not (await store.rate_limit("client", 2, refill_per_second=0.1)).allowed
        assert (await store.get_many_spending([], Bucket("other", 1, 0.1)))[1].allowed

    async def test_set_owned_if_current_sets_only_what_was_priced_from_the_current_values(self, store: Store) -> None:
        await store.set("record", "r1")
        await store.set("version", "v1")
        bucket = Bucket("client", capacity=2, refill_per_second=0.1)
        expected = [("record", "r1"), ("version", "v1"), ("absent", None)]
        values, decision, done = await store.set_owned_if_current(expected, bucket, "s1", "alice", "price", ttl=5)
        assert done and values == ["r1", "v1", None] and decision.allowed
        assert await store.take_owned("s1", "alice", tombstone_ttl=5) == (TakeOutcome.TAKEN, "price")
        # A key changed since: nothing set, the current values come back (the bucket is spent).
        await store.set("record", "r2")
        values, decision, done = await store.set_owned_if_current(expected, bucket, "s2", "alice", "price", ttl=5)
        assert not done and values == ["r2", "v1", None] and decision.allowed and decision.remaining < 0.5
        assert await store.get("s2") is None
        # A key that appeared counts as changed too.
        await store.set("absent", "x")
        expected = [("record", "r2"), ("version", "v1"), ("absent", None)]
        assert not (await store.set_owned_if_current(expected, Bucket("other", 5, 1), "s3", "alice", "p", ttl=5))[2]
        # Current, but the bucket is spent: nothing set.
        values, refused, done = await store.set_owned_if_current(
            [("record", "r2")], bucket, "s4", "alice", "price", ttl=5)
        assert not done and not refused.allowed and await store.get("s4") is None

    async def test_set_owned_if_current_clears_the_tombstone_like_set_owned(self, store: Store) -> None:
        await store.set_owned("s", "alice", "first", ttl=5)
        assert (await store.take_owned("s", "alice", tombstone_ttl=5))[0] is TakeOutcome.TAKEN
        done = (await store.set_owned_if_current([("k", None)], Bucket("b", 5, 1), "s", "alice", "again", ttl=5))[2]
        assert done and await store.take_owned("s", "alice", tombstone_ttl=5) == (TakeOutcome.TAKEN, "again")

    async def test_take_owned_if_current_takes_only_while_the_values_hold(self, store: Store) -> None:
        await store.set("record", "r1")
        await store.set_owned("s", "alice", "price", ttl=5)
        expected = [("record", "r1"), ("oid", None)]
        await store.set("oid", "answered")  # a value appeared: nothing is taken
        assert await store.take_owned_if_current(expected, "s", "alice", tombstone_ttl=5) == (["r1", "answered"], None)
        assert await store.get_many(["s"]) != [None]
        await store.delete("oid")
        assert await store.take_owned_if_current(expected, "s", "alice", tombstone_ttl=5) == (
            ["r1", None], (TakeOutcome.TAKEN, "price"))
        assert await store.take_owned_if_current(expected, "s", "alice", tombstone_ttl=5) == (
            ["r1", None], (TakeOutcome.TAKEN_BEFORE, None))
        assert (await store.take_owned_if_current(expected, "s", "bob", tombstone_ttl=5))[1] == (
            TakeOutcome.NOT_OWNER, None)
        assert (await store.take_owned_if_current(expected, "gone", "alice", tombstone_ttl=5))[1] == (
            TakeOutcome.ABSENT, None)
        await store.set("record", "r2")
        await store.set_owned("t", "alice", "p", ttl=5)
        assert await store.take_owned_if_current(expected, "t", "alice", tombstone_ttl=5) == (["r2", None], None)
        assert await store.take_owned("t", "alice", tombstone_ttl=5) == (TakeOutcome.TAKEN, "p")

    async def test_get_many_spending_refuses_an_impossible_bucket(self, store: Store) -> None:
        with pytest.raises(StoreError):
            await store.get_many_spending(["a"], Bucket("client", capacity=2, refill_per_second=1, cost=3))

    # -- pub/sub ---------------------------------------------------------------------------

    async def test_subscriber_receives_in_order(self, store: Store) -> None:
        sub = await store.subscribe("ticks")
        try:
            for i in range(20):
                await store.publish("ticks", str(i))
            assert await receive(sub, 20) == [str(i) for i in range(20)]
        finally:
            await sub.close()

    async def test_two_subscribers_both_receive(self, store: Store) -> None:
        first = await store.subscribe("events")
        second = await store.subscribe("events")
        try:
            await store.publish("events", "hello")
            await store.publish("events", "world")
            assert await receive(first, 2) == ["hello", "world"]
            assert await receive(second, 2) == ["hello", "world"]
        finally:
            await first.close()
            await second.close()

    async def test_message_before_subscribing_is_not_received(self, store: Store) -> None:
        await store.publish("events", "early")
        sub = await store.subscribe("events")
        try:
            await store.publish("events", "late")
            assert await receive(sub, 1) == ["late"]
        finally:
            await sub.close()

    async def test_late_subscriber_on_busy_channel_starts_from_now(self, store: Store) -> None:
        early = await store.subscribe("events")
        try:
            await store.publish("events", "before")
            late = await store.subscribe("events")
            try:
                await store.publish("events", "after")
                assert await receive(late, 1) == ["after"]
                assert await receive(early, 2) == ["before", "after"]
            finally:
                await late.close()
        finally:
            await early.close()

    async def test_channels_are_separate(self, store: Store) -> None:
        sub = await store.subscribe("a")
        try:
            await store.publish("b", "not for a")
            await store.publish("a", "for a")
            assert await receive(sub, 1) == ["for a"]
        finally:
            await sub.close()

    async def test_close_stops_delivery_and_is_idempotent(self, store: Store) -> None:
        sub = await store.subscribe("events")
        other = await store.subscribe("events")
        try:
            await sub.close()
            await store.publish("events", "after close")
            assert await receive(other, 1) == ["after close"]
            assert await ends(sub) == []
            await sub.close()
        finally:
            await other.close()

    async def test_close_wakes_a_waiting_reader(self, store: Store) -> None:
        sub = await store.subscribe("events")
        waiting = asyncio.create_task(ends(sub))
        await asyncio.sleep(0.05)
        await sub.close()
        assert await waiting == []

    async def test_resubscribe_after_last_subscriber_closed(self, store: Store) -> None:
        sub = await store.subscribe("events")
        await sub.close()
        again = await store.subscribe("events")
        try:
            await store.publish("events", "back")
            assert await receive(again, 1) == ["back"]
        finally:
            await again.close()

    async def test_slow_subscriber_is_dropped_others_keep_receiving(self, store: Store) -> None:
        slow = await store.subscribe("flood")
        fast = await store.subscribe("flood")
        expected = [str(i) for i in range(QUEUE_OVERFLOW)]
        reading = asyncio.create_task(receive(fast, QUEUE_OVERFLOW))
        try:
            for message in expected:
                await store.publish("flood", message)
            assert await reading == expected
            # Dropped: its iteration ends instead of blocking, without a full backlog.
            assert len(await ends(slow)) < QUEUE_OVERFLOW
            await store.publish("flood", "still here")
            assert await receive(fast, 1) == ["still here"]
        finally:
            reading.cancel()
            await slow.close()
            await fast.close()

    # -- leases ----------------------------------------------------------------------------

    async def test_lease_is_exclusive_and_renewable(self, store: Store) -> None:
        assert await store.acquire_lease("feed", "worker-1", ttl=30) is True
        assert await store.acquire_lease("feed", "worker-2", ttl=30) is False
        assert await store.acquire_lease("feed", "worker-1", ttl=30) is True
        assert await store.acquire_lease("other", "worker-2", ttl=30) is True

    async def test_renewal_extends_the_lease(self, store: Store) -> None:
        assert await store.acquire_lease("feed", "worker-1", ttl=0.3)
        for _ in range(2):
            await asyncio.sleep(0.15)
            assert await store.acquire_lease("feed", "worker-1", ttl=0.3)
        assert await store.acquire_lease("feed", "worker-2", ttl=0.3) is False

    async def test_release_by_non_holder_has_no_effect(self, store: Store) -> None:
        assert await store.acquire_lease("feed", "worker-1", ttl=30)
        await store.release_lease("feed", "worker-2")
        assert await store.acquire_lease("feed", "worker-2", ttl=30) is False
        await store.release_lease("feed", "worker-1")
        assert await store.acquire_lease("feed", "worker-2", ttl=30) is True
        await store.release_lease("absent", "worker-1")

    async def test_lease_holders_name_who_holds_each_lease(self, store: Store) -> None:
        assert await store.lease_holders([]) == {}
        assert await store.acquire_lease("feed", "worker-1", ttl=30)
        assert await store.acquire_lease("short", "worker-2", ttl=0.1)
        await store.set("plain", "not a lease")
        await asyncio.sleep(0.2)
        assert await store.lease_holders(["feed", "short", "plain"]) == {
            "feed": "worker-1", "short": None, "plain": None,
        }
        await store.release_lease("feed", "worker-1")
        assert await store.lease_holders(["feed"]) == {"feed": None}

    async def test_lease_does_not_collide_with_plain_key(self, store: Store) -> None:
        await store.set("feed", "value")
        assert await store.acquire_lease("feed", "worker-1", ttl=30)
        assert await store.get("feed") == "value"

    # -- namespaces and lifecycle ----------------------------------------------------------

    async def test_namespaces_are_isolated(
        self, store: Store, make_store: Callable[[str], Store]
    ) -> None:
        other = make_store(f"otctest:{uuid.uuid4().hex[:12]}")
        await store.set("k", "mine")
        assert await other.get("k") is None
        await other.set("k", "theirs")
        assert await store.get("k") == "mine"
        assert await other.acquire_lease("feed", "x", ttl=30)
        assert await store.acquire_lease("feed", "y", ttl=30)
        sub = await store.subscribe("events")
        try:
            await other.publish("events", "theirs")
            await store.publish("events", "mine")
            assert await receive(sub, 1) == ["mine"]
        finally:
            await sub.close()

    async def test_ping(self, store: Store) -> None:
        await store.ping()

    async def test_close_is_idempotent_and_final(self, store: Store) -> None:
        sub = await store.subscribe("events")
        await store.close()
        assert await ends(sub) == []
        await sub.close()
        await store.close()
        with pytest.raises(StoreError):
            await store.ping()
        with pytest.raises(StoreError):
            await store.get("k")
