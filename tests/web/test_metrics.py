"""``GET /metrics``: requests by route template and status, trading latencies, leases and spot
ages, never a client's name, key or id in a label; with ``otc serve`` and two workers, the
sum of both whichever worker answers the scrape."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.mmap_dict import MmapedDict
from prometheus_client.parser import text_string_to_metric_families
from websockets.asyncio.client import connect

from otc_framework.admin.access import Actor
from otc_framework.admin.clients import create_client
from otc_framework.storage.database import close_database, open_database
from otc_framework.storage.models import AuditSource, Tier
from otc_framework.web.metrics import check_shared_values
from tests.desk import Desk, bearer
from tests.served import otc_serve

CLOSE_ROUTE = "/v1/sessions/<session_id>/close"
Sample = tuple[str, frozenset[tuple[str, str]]]


def parse(text: str) -> dict[Sample, float]:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def get(samples: dict[Sample, float], name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def label_values(samples: dict[Sample, float]) -> set[str]:
    return {value for _, labels in samples for _, value in labels}


def assert_no_secret_in_labels(samples: dict[Sample, float], *secrets: str) -> None:
    for secret in secrets:
        leaked = [value for value in label_values(samples) if secret in value]
        assert not leaked, f"{secret!r} in labels {leaked}"


async def scrape(http: httpx.AsyncClient) -> dict[Sample, float]:
    response = await http.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    return parse(response.text)


# ---- one process --------------------------------------------------------------------------


@pytest.mark.parametrize("migrated_database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("store_url", ["memory"], indirect=True)
async def test_one_worker_counts_by_route_template_and_times_trading(desk: Desk) -> None:
    created = await create_client(Actor("test", AuditSource.ADMIN), "Metrics Probe Ltda", Tier.T1)
    token = await desk.login(created.api_key)
    before = await scrape(desk.http)

    session_id = (await desk.quote(token)).json()["sessionId"]
    assert (await desk.close(token, session_id)).status_code == 201
    assert (await desk.close(token, session_id)).status_code == 409
    stray = uuid.uuid4().hex
    assert (await desk.http.get(f"/nowhere/{stray}")).status_code == 404
    ws_url = str(desk.http.base_url).replace("http", "ws", 1).rstrip("/") + f"/v1/ws/prices?token={token}"
    async with connect(ws_url, open_timeout=10, close_timeout=2) as ws:
        await asyncio.wait_for(ws.recv(), 10)

    after = await scrape(desk.http)

    def delta(name: str, **labels: str) -> float:
        return get(after, name, **labels) - get(before, name, **labels)

    requests = "otc_http_requests_total"
    assert delta(requests, method="POST", route="/v1/sessions", status="201") == 1
    assert delta(requests, method="POST", route=CLOSE_ROUTE, status="201") == 1
    assert delta(requests, method="POST", route=CLOSE_ROUTE, status="409") == 1
    assert delta(requests, method="GET", route="unmatched", status="404") == 1
    assert delta(requests, method="GET", route="/metrics", status="200") == 1  # the first scrape
    # A price stream is counted once, as its upgrade.
    streams = {dict(labels)["status"]: value - before.get((name, labels), 0.0) for (name, labels), value in after.items()
               if name == requests and ("route", "/v1/ws/prices") in labels}
    assert {status: n for status, n in streams.items() if n} == {"101": 1}

    assert delta("otc_quote_duration_seconds_count", outcome="ok") == 1
    assert delta("otc_close_duration_seconds_count", outcome="ok") == 1
    assert delta("otc_close_duration_seconds_count", outcome="SESSION_ALREADY_CLOSED") == 1
    assert delta("otc_close_duration_seconds_bucket", outcome="ok", le="+Inf") == 1

    assert after[("otc_spot_age_seconds", frozenset({("source", "vp"), ("instrument", "USD/BRL")}))] >= 0
    assert get(after, "otc_lease_held", loop="loop:spot-poller") >= 1  # this desk's poller runs

    assert_no_secret_in_labels(after, str(created.client.id), created.client.name, created.api_key, token,
                               session_id, stray)


@pytest.mark.parametrize("migrated_database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("store_url", ["memory"], indirect=True)
async def test_metrics_is_documented_as_prometheus_text(desk: Desk) -> None:
    document = (await desk.http.get("/openapi.json")).json()
    answer = document["paths"]["/metrics"]["get"]
    assert answer["x-auth"] == "none" and answer["tags"] == ["operations"]
    assert list(answer["responses"]["200"]["content"]) == ["text/plain; version=0.0.4"]


# ---- two worker processes -------------------------------------------------------------------


def test_a_worker_with_per_process_values_refuses_to_serve(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # This process imported prometheus_client without the variable, as a forked worker would have.
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    with pytest.raises(RuntimeError, match="spawned, not forked"):
        check_shared_values()


def served_by_worker(metrics_dir: Path) -> dict[int, float]:
    """The test's requests each worker counted (readiness probes and scrapes aside), read from
    the worker's own file: proof that both served."""
    counted: dict[int, float] = {}
    for path in metrics_dir.glob("counter_*.db"):
        pid = int(path.stem.rsplit("_", 1)[1])
        for key, value, _, _ in MmapedDict.read_all_values_from_file(str(path)):
            _, sample, labels, _ = json.loads(key)
            if sample == "otc_http_requests_total" and labels["route"] not in ("/health/ready", "/metrics"):
                counted[pid] = counted.get(pid, 0.0) + value
    return counted


def lease_holder_pids(lines: list[dict[str, Any]], lease: str) -> list[int]:
    return [int(line["holder"].split(":")[1]) for line in lines
            if line["msg"] == "lease taken" and line.get("lease") == lease]


@pytest.mark.parametrize("migrated_database_url", ["postgres"], indirect=True)
@pytest.mark.parametrize("store_url", ["redis"], indirect=True)
async def test_two_workers_scrape_the_sum_of_both(migrated_database_url: str, store_namespace: str,
                                                  tmp_path: Path) -> None:
    await open_database(migrated_database_url)
    try:
        created = await create_client(Actor("test", AuditSource.ADMIN), "Metrics Probe Two Ltda", Tier.T1)
    finally:
        await close_database()
    temp = tmp_path / "tmp"
    temp.mkdir()
    # TMPDIR places the private metrics directory where the test can look into it.
    with otc_serve(tmp_path, migrated_database_url, store_namespace, env={"TMPDIR": str(temp)},
                   toml="[market_hours]\nalways_open = true\n") as served:
        served.wait_ready(lambda body: bool(body["spot"]["binance"]["lastError"]))
        (metrics_dir,) = temp.glob("otc-metrics-*")
        # A new connection per request, so the kernel hands requests to either worker.
        async with httpx.AsyncClient(base_url=served.url, headers={"Connection": "close"}, timeout=10) as http:
            login = await http.post("/v1/auth/login", json={"apiKey": created.api_key})
            token = login.json()["token"]
            sent: Counter[tuple[str, str, str]] = Counter({("POST", "/v1/auth/login", str(login.status_code)): 1})
            ids: list[str] = []

            async def send(method: str, route: str, path: str, **kwargs: Any) -> None:
                response = await http.request(method, path, **kwargs)
                sent[(method, route, str(response.status_code))] += 1

            for _ in range(100):  # until both workers have served; each round has 16 requests
                ids += [uuid.uuid4().hex for _ in range(4)]
                await asyncio.gather(
                    *(send("GET", "/health", "/health") for _ in range(4)),
                    *(send("POST", "/v1/sessions", "/v1/sessions", headers=bearer(token),
                           json={"currency": "USDT", "settlement": "D0", "amount": "1000"}) for _ in range(4)),
                    *(send("POST", CLOSE_ROUTE, f"/v1/sessions/{i}/close", headers=bearer(token)) for i in ids[-4:]),
                    *(send("GET", "unmatched", f"/nowhere/{i}") for i in ids[-4:]),
                )
                if len(served_by_worker(metrics_dir)) == 2:
                    break
            assert len(served_by_worker(metrics_dir)) == 2, "one worker served everything"

            quotes = sum(n for (_, route, _), n in sent.items() if route == "/v1/sessions")
            closes = sum(n for (_, route, _), n in sent.items() if route == CLOSE_ROUTE)

            def sums_sent(samples: dict[Sample, float]) -> bool:
                return (all(get(samples, "otc_http_requests_total", method=method, route=route, status=status) == count
                            for (method, route, status), count in sent.items())
                        and sum(v for (name, _), v in samples.items() if name == "otc_quote_duration_seconds_count")
                        == quotes
                        and sum(v for (name, _), v in samples.items() if name == "otc_close_duration_seconds_count")
                        == closes)

            # Each worker writes its counts within FLUSH_SECONDS (the scraping one at once).
            deadline = asyncio.get_running_loop().time() + 30
            while not sums_sent(samples := await scrape(http)):
                assert asyncio.get_running_loop().time() < deadline, "the workers' counts never reached the sum"
                await asyncio.sleep(0.2)
            for _ in range(6):  # each scrape may land on either worker: every one sees the sum
                samples = await scrape(http)
                assert sums_sent(samples)
                assert get(samples, "otc_lease_held", loop="loop:spot-poller") == 1
                assert get(samples, "otc_lease_held", loop="loop:price-ticker") == 1
            assert_no_secret_in_labels(samples, str(created.client.id), created.client.name, created.api_key, token,
                                       *ids)

            # A killed worker's counts stay in the totals; the lease it held is not counted
            # next to the survivor that takes it over.
            (victim,) = lease_holder_pids(served.log_lines(), "loop:spot-poller")
            os.kill(victim, signal.SIGKILL)
            for _ in range(300):  # the lease lapses after its TTL (seconds)
                if len(lease_holder_pids(served.log_lines(), "loop:spot-poller")) == 2:
                    break
                await asyncio.sleep(0.1)
            samples = await scrape(http)
            assert get(samples, "otc_lease_held", loop="loop:spot-poller") == 1
            (successor,) = set(lease_holder_pids(served.log_lines(), "loop:spot-poller")) - {victim}
            holders = [dict(labels)["holder"] for (name, labels), value in samples.items()
                       if name == "otc_lease_holder" and ("loop", "loop:spot-poller") in labels and value == 1]
            assert [int(holder.split(":")[1]) for holder in holders] == [successor]
            for (method, route, status), count in sent.items():
                assert get(samples, "otc_http_requests_total", method=method, route=route, status=status) == count
    assert not metrics_dir.exists()
