"""Every Prometheus metric of the desk, defined once.

The ground floor: the store, the spot feed and the alerts import it, so it imports nothing
from the framework but the error tree. ``web.metrics`` serves them at ``GET /metrics`` and
sums every worker's values when ``otc serve`` runs several (prometheus-client's
multiprocess mode).

Labels are bounded sets: route templates, problem codes, currencies, sink and loop names. No
label carries a client's name, key or id, nor a raw path (which carries ids).
"""

from __future__ import annotations

import asyncio
import math
import time
from bisect import bisect_left
from types import TracebackType
from typing import Any, TypeVar, cast

from prometheus_client import Counter, Gauge, Histogram, disable_created_metrics
from prometheus_client.metrics import MetricWrapperBase

from otc_framework.errors import ProblemError

# Multiprocess mode cannot serve the ``*_created`` series; without them one worker and N
# workers expose the same series.
disable_created_metrics()

# A quote is a few store round trips, a close a database transaction: milliseconds, with a
# tail that matters up to the lock's seconds.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)

HTTP_REQUESTS = Counter(
    "otc_http_requests_total", "HTTP requests answered, by route template and status", ("method", "route", "status")
)
QUOTE_DURATION = Histogram(
    "otc_quote_duration_seconds", "Time to answer POST /v1/sessions, by outcome (ok or the problem code)",
    ("outcome",), buckets=LATENCY_BUCKETS,
)
CLOSE_DURATION = Histogram(
    "otc_close_duration_seconds", "Time to answer POST /v1/sessions/{id}/close, by outcome (ok or the problem code)",
    ("outcome",), buckets=LATENCY_BUCKETS,
)
CLOSINGS_CREATED = Counter(
    "otc_closings_created_total", "Closings recorded", ("currency", "settlement", "source")
)
ALERTS_RAISED = Counter("otc_alerts_raised_total", "Alerts raised", ("kind", "severity"))
ALERTS_SUPPRESSED = Counter(
    "otc_alerts_suppressed_total", "Alerts dropped as duplicates within the dedup window", ("kind",)
)
ALERT_DELIVERIES = Counter(
    "otc_alert_deliveries_total", "Alert delivery attempts by sink; outcome is sent, retry or failed", ("sink", "outcome")
)
CHAT_REPLIES = Counter(
    "otc_chat_replies_total", "Chat reply delivery outcomes by channel; outcome is sent, retry, failed or expired",
    ("channel", "outcome"),
)
BOT_COMMANDS = Counter(
    "otc_bot_commands_total", "Bot commands by kind; outcome is handled, refused (participant not allowed) or invalid",
    ("command", "outcome"),
)
BOT_SESSIONS = Counter("otc_bot_sessions_total", "Bot sessions ended, by how they ended", ("ended",))
# livesum: how many of this machine's live workers hold the lease (sum() over machines in
# Prometheus). Above 1, a loop meant to run once runs twice; 0, nobody runs it.
LEASES_HELD = Gauge(
    "otc_lease_held", "Background-loop leases held, summed over the live workers (1 is healthy)", ("loop",),
    multiprocess_mode="livesum",
)
HEDGES_RECORDED = Counter(
    "otc_hedges_recorded_total", "Hedge status changes, by the status reached and the LP", ("status", "provider")
)
# livemax: only the process running the engine sets it; 1 = that LP is skipped for now.
LP_BREAKER_OPEN = Gauge(
    "otc_lp_breaker_open", "LP circuit breakers open (1) or closed (0)", ("provider",), multiprocess_mode="livemax",
)
# Set each turn by the one process publishing exposure (``risk.publisher``); livemostrecent,
# so a worker that lost the lease, whose last value is older, never masks the current one.
OPEN_EXPOSURE = Gauge(
    "otc_open_exposure", "Notional of hedges the desk still owes, in stablecoin units, by hedge currency",
    ("currency",), multiprocess_mode="livemostrecent",
)
STORE_ERRORS = Counter("otc_store_errors_total", "Store (Redis) operations that failed", ("operation",))
DATABASE_ERRORS = Counter("otc_database_errors_total", "Database operations that failed, by where", ("where",))


def database_error(where: str) -> None:
    """Count a database failure caught at ``where`` (a fixed name such as ``"close"``)."""
    DATABASE_ERRORS.labels(where=where).inc()


Metric = TypeVar("Metric", bound=MetricWrapperBase)
_CHILDREN: dict[tuple[MetricWrapperBase, tuple[str, ...]], Any] = {}


def labelled(metric: Metric, *values: str) -> Metric:
    """``metric.labels(*values)``, kept: ``labels`` takes a lock and checks every value on each
    call, and the hot path counts on every request. Label values are bounded sets (above)."""
    key = (metric, values)
    child = _CHILDREN.get(key)
    if child is None:
        child = _CHILDREN[key] = metric.labels(*values)
    return cast(Metric, child)


# ---- what every request writes, added up in the worker ---------------------------------------
#
# Each prometheus-client write in multiprocess mode takes a lock, asks the kernel for the
# process id and writes the new value into the worker's file; a quote made three of them
# (its request, the sum and one bucket of its latency), which measured 8 % of its worker
# CPU. The counts and observations of the hot path are added up here instead and written
# once, at most ``FLUSH_SECONDS`` after the first of them, and at once before a scrape and
# when the worker stops: a scrape may miss another worker's last second, and a worker killed
# outright loses its last second's counts (docs/decisions.md, "Performance").

FLUSH_SECONDS = 1.0


class _Pending:
    __slots__ = ("counts", "observed", "loop")

    def __init__(self) -> None:
        self.counts: dict[Counter, int] = {}
        self.observed: dict[Histogram, list[float]] = {}
        self.loop: asyncio.AbstractEventLoop | None = None  # the loop a flush is timed on


_PENDING = _Pending()


def count(metric: Counter, *values: str) -> None:
    """``labelled(metric, *values).inc()``, written with the next flush."""
    child = labelled(metric, *values)
    counts = _PENDING.counts
    counts[child] = counts.get(child, 0) + 1
    _flush_soon()


def observe(histogram: Histogram, seconds: float, *values: str) -> None:
    """``labelled(histogram, *values).observe(seconds)``, written with the next flush. The
    histograms here are latencies: a duration, never an amount of money."""
    child = labelled(histogram, *values)
    observed = _PENDING.observed.get(child)
    if observed is None:
        _PENDING.observed[child] = [seconds]
    else:
        observed.append(seconds)
    _flush_soon()


def _flush_soon() -> None:
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:  # no loop to time it on (a script, a synchronous test)
        flush()
        return
    if _PENDING.loop is not loop:  # none timed yet, or on a loop that has since closed
        _PENDING.loop = loop
        loop.call_later(FLUSH_SECONDS, flush)


def flush() -> None:
    """Write what ``count`` and ``observe`` added up since the last flush."""
    counts, observed = _PENDING.counts, _PENDING.observed
    _PENDING.counts, _PENDING.observed, _PENDING.loop = {}, {}, None
    for counter, n in counts.items():
        counter.inc(n)
    for histogram, durations in observed.items():
        _observe_all(histogram, durations)


def _observe_all(child: Histogram, durations: list[float]) -> None:
    """``child.observe`` of every duration, in one write per bucket and one of the sum.

    prometheus-client has no public call for it: this writes the child's bucket and sum values
    as its ``observe`` does (one bucket a value, the first whose bound holds it; cumulative
    counts are made at collection), and ``tests/test_metrics_flush.py`` holds the two to the
    same exposition."""
    bounds = child._upper_bounds  # noqa: SLF001
    per_bucket: dict[int, int] = {}
    for duration in durations:
        i = bisect_left(bounds, duration)
        per_bucket[i] = per_bucket.get(i, 0) + 1
    child._sum.inc(math.fsum(durations))  # noqa: SLF001
    for i, n in per_bucket.items():
        child._buckets[i].inc(n)  # noqa: SLF001


class Timed:
    """``with Timed(histogram):`` observes the block's duration under ``outcome``: ``ok``, the
    problem code it raised, ``error`` for any other exception, ``cancelled`` when the caller
    went away (a CancelledError)."""

    __slots__ = ("histogram", "started")

    def __init__(self, histogram: Histogram) -> None:
        self.histogram = histogram
        self.started = 0.0

    def __enter__(self) -> None:
        self.started = time.perf_counter()

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if exc is None:
            outcome = "ok"
        elif isinstance(exc, ProblemError):
            outcome = exc.code
        else:
            outcome = "error" if isinstance(exc, Exception) else "cancelled"
        observe(self.histogram, time.perf_counter() - self.started, outcome)
