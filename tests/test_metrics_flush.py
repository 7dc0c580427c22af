"""The hot path's counts and observations, added up in the worker (``metrics.count`` and
``metrics.observe``), reach their metrics as the direct calls would have written them."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import given
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from otc_framework import metrics
from otc_framework.metrics import LATENCY_BUCKETS, count, flush, observe

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def registry_with_metrics() -> tuple[CollectorRegistry, Counter, Histogram]:
    registry = CollectorRegistry()
    counter = Counter("probe_requests_total", "probe", ("route",), registry=registry)
    histogram = Histogram("probe_seconds", "probe", ("outcome",), buckets=LATENCY_BUCKETS, registry=registry)
    return registry, counter, histogram


def samples(registry: CollectorRegistry) -> Samples:
    return {(sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(generate_latest(registry).decode())
            for sample in family.samples}


durations = st.floats(min_value=0, max_value=20, allow_nan=False) | st.sampled_from(LATENCY_BUCKETS)
outcomes = st.sampled_from(["ok", "SESSION_EXPIRED", "error"])


@given(st.lists(st.tuples(outcomes, durations), max_size=60))
def test_flushed_observations_expose_what_direct_ones_do(observations: list[tuple[str, float]]) -> None:
    direct, direct_counter, direct_histogram = registry_with_metrics()
    buffered, buffered_counter, buffered_histogram = registry_with_metrics()
    for outcome, seconds in observations:
        direct_histogram.labels(outcome).observe(seconds)
        direct_counter.labels(outcome).inc()
        observe(buffered_histogram, seconds, outcome)  # no running loop: written at once
        count(buffered_counter, outcome)
    expected, got = samples(direct), samples(buffered)
    assert got.keys() == expected.keys()
    for key, value in expected.items():
        assert got[key] == pytest.approx(value, rel=1e-12, abs=1e-12), key


async def test_counts_wait_for_the_flush_and_a_timer_writes_them() -> None:
    registry, counter, histogram = registry_with_metrics()
    for _ in range(3):
        count(counter, "/v1/sessions")
        observe(histogram, 0.002, "ok")
    unwritten = samples(registry)
    assert unwritten[("probe_requests_total", frozenset({("route", "/v1/sessions")}))] == 0
    assert unwritten[("probe_seconds_count", frozenset({("outcome", "ok")}))] == 0

    flush()  # as a scrape does first
    written = samples(registry)
    assert written[("probe_requests_total", frozenset({("route", "/v1/sessions")}))] == 3
    assert written[("probe_seconds_bucket", frozenset({("outcome", "ok"), ("le", "0.0025")}))] == 3
    assert written[("probe_seconds_bucket", frozenset({("outcome", "ok"), ("le", "0.001")}))] == 0
    assert written[("probe_seconds_sum", frozenset({("outcome", "ok")}))] == pytest.approx(0.006)

    count(counter, "/v1/sessions")  # times a flush on this loop
    loop = asyncio.get_running_loop()
    deadline = loop.time() + metrics.FLUSH_SECONDS * 5
    while samples(registry)[("probe_requests_total", frozenset({("route", "/v1/sessions")}))] != 4:
        assert loop.time() < deadline, "the timed flush never came"
        await asyncio.sleep(0.05)
