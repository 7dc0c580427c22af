"""``GET /metrics`` (Prometheus text), the request counter, and summing every worker.

One process (the demo, tests) serves prometheus-client's default registry. ``otc serve``
runs N worker processes: ``shared_across_workers`` gives them one fresh directory
(``PROMETHEUS_MULTIPROC_DIR``) before they are spawned, each worker writes its values to
files of its own there, and a scrape, whichever worker answers it, sums every file.
The request counter and the trading metrics reach the files a second late at most
(``metrics.count``); the scraping worker writes its own first. Counters and histograms of a
worker that died stay in the sum, so totals never go backwards; its live gauges (leases
held) are dropped, when it stops or at the first scrape that finds it gone.

Spot and LP ages are not shared values: every worker follows the same feeds, and summing
would count each age N times. The scraping worker reads its own feeds at scrape time.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from functools import cache
from typing import ClassVar

from prometheus_client import CONTENT_TYPE_PLAIN_0_0_4, generate_latest, multiprocess, values
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import REGISTRY, Collector
from pydantic import RootModel
from sanic import Blueprint, Request, Sanic
from sanic.response import HTTPResponse

from otc_framework.liquidity import LpFeed
from otc_framework.metrics import HTTP_REQUESTS, count, flush
from otc_framework.runtime.lease_report import LeaseState, lease_states
from otc_framework.spot import SpotFeed
from otc_framework.web.endpoint import endpoint

MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"
UNMATCHED = "unmatched"
# Any other method is one label value, so a client cannot mint series.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_TYPED_PARAM = re.compile(r"<([^:>]+):[^>]*>")
_LIVE_GAUGE_FILE = re.compile(r"gauge_live[a-z]+_(\d+)\.db")


# ---- several workers ------------------------------------------------------------------------


@contextmanager
def shared_across_workers() -> Iterator[None]:
    """Workers spawned inside write their values to one fresh directory, removed afterwards.

    Always a new directory: files left by an earlier run would be summed into this one's."""
    directory = tempfile.mkdtemp(prefix="otc-metrics-")
    os.environ[MULTIPROCESS_DIR] = directory
    try:
        yield
    finally:
        os.environ.pop(MULTIPROCESS_DIR, None)
        shutil.rmtree(directory, ignore_errors=True)


def _shared_directory() -> str | None:
    return os.environ.get(MULTIPROCESS_DIR) or None


def check_shared_values() -> None:
    # prometheus-client picks per-process or file-backed values once, when it is first
    # imported. Sanic spawns workers, which import it with the variable already set; a
    # forked worker would inherit the main process's per-process values and count alone.
    if _shared_directory() and values.ValueClass is values.MutexValue:
        raise RuntimeError(
            f"metrics: {MULTIPROCESS_DIR} is set but prometheus_client was imported before it; "
            "workers must be spawned, not forked"
        )


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0 only asks whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # it exists, under another user
    return True


def _forget_dead_workers(directory: str) -> None:
    """Drop the live gauges of workers that died without stopping (killed, crashed): a lease
    they held must not count next to the worker that took it over."""
    pids = {int(match[1]) for name in os.listdir(directory) if (match := _LIVE_GAUGE_FILE.fullmatch(name))}
    for pid in pids:
        if not _running(pid):
            with suppress(FileNotFoundError):  # another worker's scrape removed them first
                multiprocess.mark_process_dead(pid, directory)


# ---- the scrape -----------------------------------------------------------------------------


def _spot_ages(feed: SpotFeed) -> GaugeMetricFamily:
    family = GaugeMetricFamily(
        "otc_spot_age_seconds", "Age of each spot source's newest rate, per instrument", labels=("source", "instrument")
    )
    now = datetime.now(UTC)
    for source, status in feed.status.items():
        for instrument, quote in status.quotes.items():
            family.add_metric((source, instrument), (now - quote.received_at).total_seconds())
    return family


def _lp_ages(feed: LpFeed) -> GaugeMetricFamily:
    family = GaugeMetricFamily(
        "otc_lp_age_seconds", "Age of each liquidity provider's latest price", labels=("provider", "currency", "settlement")
    )
    now = datetime.now(UTC)
    for provider, status in feed.status.items():
        for (currency, settlement), price in status.prices.items():
            family.add_metric((provider, currency, settlement), (now - price.received_at).total_seconds())
    return family


def _lease_holders(states: dict[str, LeaseState]) -> GaugeMetricFamily:
    family = GaugeMetricFamily(
        "otc_lease_holder", "1 for the worker (host:pid:nonce) holding each background-loop lease, read from the store",
        labels=("loop", "holder"),
    )
    for loop, state in states.items():
        if state["holder"] is not None:
            family.add_metric((loop, state["holder"]), 1)
    return family


class _Scrape(Collector):
    """What one scrape reads: every worker's values (or this process's), this worker's spot and LP
    ages, and the lease holders as the store says."""

    def __init__(self, feed: SpotFeed, lp_feed: LpFeed, leases: dict[str, LeaseState]) -> None:
        self.feed = feed
        self.lp_feed = lp_feed
        self.leases = leases

    def collect(self) -> Iterable[Metric]:
        directory = _shared_directory()
        if directory is None:
            yield from REGISTRY.collect()
        else:
            _forget_dead_workers(directory)
            yield from multiprocess.MultiProcessCollector(None, directory).collect()
        yield _spot_ages(self.feed)
        yield _lp_ages(self.lp_feed)
        yield _lease_holders(self.leases)


class MetricsText(RootModel[str]):
    """Prometheus text exposition format 0.0.4."""

    openapi_media_type: ClassVar[str] = "text/plain; version=0.0.4"


bp = Blueprint("metrics")


@bp.get("/metrics")
@endpoint(
    "Prometheus metrics of the deployment",
    auth="none",
    responses={200: MetricsText},
    description="Counters and histograms are summed over every worker of this `otc serve`, whichever worker "
    "answers. No label carries a client's name, key or id. Expose it to the scraper only.",
    tags=("operations",),
)
async def metrics(request: Request) -> HTTPResponse:
    runtime = request.app.ctx.runtime
    leases = await lease_states(runtime.store, runtime.leased_loops)
    flush()  # this worker's last counts; the others' reach their files within FLUSH_SECONDS
    body = generate_latest(_Scrape(runtime.spot_feed, runtime.lp_feed, leases))
    return HTTPResponse(body, content_type=CONTENT_TYPE_PLAIN_0_0_4)


# ---- the request counter --------------------------------------------------------------------


@cache
def _route_label(template: str) -> str:
    """``/v1/sessions/<session_id:str>/close`` → ``/v1/sessions/<session_id>/close``."""
    return _TYPED_PARAM.sub(r"<\1>", template)


def count_request(request: Request, status: int) -> None:
    """Count an answer (``web.request``) or an upgrade, once per request: an error answer may
    follow an upgrade."""
    if getattr(request.ctx, "metrics_counted", False):
        return
    request.ctx.metrics_counted = True
    template = request.uri_template
    count(
        HTTP_REQUESTS,
        request.method if request.method in METHODS else "OTHER",
        _route_label(template) if template else UNMATCHED,  # never the path: it carries ids
        str(status),
    )


def install(app: Sanic) -> None:
    """The upgrade counter and the worker's part in summing; the route is ``bp``. Answers are
    counted as they are sent (``web.request``)."""

    @app.signal("websocket.handler.before")
    async def _upgraded(request: Request, websocket: object) -> None:
        # A WebSocket answers nothing that ``respond`` sees: its upgrade is counted here.
        count_request(request, 101)

    @app.before_server_start
    async def _check(app: Sanic) -> None:
        check_shared_values()

    @app.after_server_stop
    async def _gone(app: Sanic) -> None:
        flush()
        directory = _shared_directory()
        if directory is not None:
            multiprocess.mark_process_dead(os.getpid(), directory)
