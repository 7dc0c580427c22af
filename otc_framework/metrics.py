"""Every Prometheus metric of the desk, defined once.

The ground floor: the store, the spot feed and the alerts import it, so it imports nothing
from the framework but the error tree. ``web.metrics`` serves them at ``GET /metrics`` and
sums every worker's values when ``otc serve`` runs several (prometheus-client's
multiprocess mode).

Labels are bounded sets: route templates, problem codes, currencies, sink and loop names. No
label carries a client's name, key or id, nor a raw path (which carries ids).
"""

from __future__ import annotations

import time
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
        labelled(self.histogram, outcome).observe(time.perf_counter() - self.started)
