"""Benchmark of the client trading path (quote, close, price stream) against a real deployment.

Not a test: it starts ``otc serve`` on PostgreSQL + Redis in a throw-away database and Redis
namespace, loads it from 1-2 separate processes with a minimal keep-alive HTTP/1.1 client (the
machine is small, so the load generator must cost as little CPU as possible), measures the bare
Redis/PostgreSQL operations one quote and one close need (the I/O floor) in the same run, and
checks that every 201 close left exactly one closing row. See bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from decimal import Decimal
from multiprocessing import get_context
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PG = "postgres://postgres@127.0.0.1:5432"
REDIS_URL = "redis://127.0.0.1:6379/15"
QUOTE_BODY = b'{"currency":"USDT","settlement":"D0","amount":"100000"}'
SEP = "\x1f"  # the store's owner separator (storage/store/base.py)
ALERT_SINKS = ("channel_telegram_alerts", "channel_discord")
LP_PLUGINS = ("lp_nonco", "lp_horizon")
TARGETS = {"a": "≥2000/s", "b": "p99 ≤10 ms, ≤3× floor", "c": "≥800/s", "d": "p99 ≤20 ms, ≤3× floor",
           "e": "p99 ≤100 ms"}


# --------------------------------------------------------------------------- load generator (child processes)


class Conn:
    """One keep-alive HTTP/1.1 connection; hand-written requests, so the client costs little CPU."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def connect(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)

    async def post(self, path: str, token: str, body: bytes) -> tuple[int, bytes]:
        """(status, body); status 0 when the connection failed (it is reopened)."""
        try:
            if self.writer is None:
                await self.connect()
            assert self.reader is not None and self.writer is not None
            self.writer.write(f"POST {path} HTTP/1.1\r\nHost: {self.host}\r\nAuthorization: Bearer {token}\r\n"
                              f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body)
            head = await self.reader.readuntil(b"\r\n\r\n")
            length, close = 0, False
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                name = name.strip().lower()
                if name == b"content-length":
                    length = int(value)
                elif name == b"connection" and value.strip().lower() == b"close":
                    close = True
            payload = await self.reader.readexactly(length) if length else b""
            if close:
                self.writer.close()
                self.writer = None
            return int(head[9:12]), payload
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
            if self.writer is not None:
                self.writer.close()
            self.writer = None
            return 0, b""


class Record:
    """What one process saw in one phase: latencies (s), statuses, and the 201 closes."""

    def __init__(self) -> None:
        self.lat: list[float] = []
        self.statuses: Counter[str] = Counter()
        self.done = 0
        self.closes_201 = 0
        self.max_lag = 0.0
        self.record_from = 0.0  # perf_counter: operations started before it are warm-up
        self.window_end = float("inf")  # perf_counter: completions after it do not count for throughput


async def quote(conn: Conn, token: str, rec: Record) -> str | None:
    status, body = await conn.post("/v1/sessions", token, QUOTE_BODY)
    rec.statuses[f"quote {status}"] += 1
    return json.loads(body)["sessionId"] if status == 201 else None


async def close(conn: Conn, token: str, sid: str, oid: str, rec: Record) -> tuple[int, float]:
    t0 = time.perf_counter()
    status, _ = await conn.post(f"/v1/sessions/{sid}/close", token, b'{"oid":"%s"}' % oid.encode())
    rec.statuses[f"close {status}"] += 1
    rec.closes_201 += status == 201
    return status, time.perf_counter() - t0


async def operation(kind: str, conn: Conn, token: str, oid: str, rec: Record, t0: float, end: float) -> None:
    """One quote (latency from ``t0``) or one quote+close (close latency from its own send)."""
    sid = await quote(conn, token, rec)
    ok, latency = sid is not None, time.perf_counter() - t0
    if kind == "close" and sid is not None:
        status, latency = await close(conn, token, sid, oid, rec)
        ok = status == 201
    finished = time.perf_counter()
    if ok and t0 >= rec.record_from and finished <= end:
        rec.lat.append(latency)
        rec.done += finished <= rec.window_end


async def http_phase(job: dict[str, Any]) -> Record:
    rec = Record()
    conns = [Conn(job["host"], job["port"]) for _ in range(job["conns"])]
    await asyncio.gather(*(c.connect() for c in conns))
    tokens = job["tokens"]
    start = time.perf_counter() + max(0.0, job["start_at"] - time.time())
    rec.record_from = start + job["warmup"]
    end = rec.window_end = rec.record_from + job["duration"]
    await asyncio.sleep(start - time.perf_counter())
    counter = iter(range(10**9))

    def oid() -> str:
        return f"{job['tag']}-{job['index']}-{next(counter)}"

    async def closed_loop(i: int) -> None:
        conn, token = conns[i], tokens[(job["index"] * len(conns) + i) % len(tokens)]
        while time.perf_counter() < end:
            await operation(job["kind"], conn, token, oid(), rec, time.perf_counter(), end)

    async def open_loop() -> None:
        idle: asyncio.Queue[int] = asyncio.Queue()
        for i in range(len(conns)):
            idle.put_nowait(i)

        async def one(scheduled: float) -> None:
            i = await idle.get()
            rec.max_lag = max(rec.max_lag, time.perf_counter() - scheduled)
            token = tokens[(job["index"] * len(conns) + i) % len(tokens)]
            await operation(job["kind"], conns[i], token, oid(), rec, scheduled, end + 5)
            idle.put_nowait(i)

        tasks: set[asyncio.Task[None]] = set()
        n = 0
        while (scheduled := start + n / job["rate"]) < end:
            if (delay := scheduled - time.perf_counter()) > 0:
                await asyncio.sleep(delay)
            task = asyncio.create_task(one(scheduled))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            n += 1
        await asyncio.gather(*tasks)

    if job["rate"]:
        await open_loop()
    else:
        await asyncio.gather(*(closed_loop(i) for i in range(len(conns))))
    for c in conns:
        if c.writer is not None:
            c.writer.close()
    return rec


async def ws_phase(job: dict[str, Any]) -> dict[str, Any]:
    """Subscribers connect first; only ticks published inside the window count, and each
    socket's first message (the latest tick, replayed on join) is skipped: it is old by design.
    A tick published before the window may sit unread in a socket's buffer while the other
    sockets connect; read later, it would count the load generator's set-up as delay."""
    from websockets.asyncio.client import connect

    delays: list[float] = []
    counts: list[int] = []
    failures: Counter[str] = Counter()
    gate = asyncio.Semaphore(50)
    ready: list[Any] = []

    async def subscribe(i: int) -> None:
        token = job["tokens"][(job["index"] * job["n"] + i) % len(job["tokens"])]
        try:
            async with gate:
                ws = await connect(f"ws://{job['host']}:{job['port']}/v1/ws/prices?token={token}",
                                   open_timeout=60, ping_interval=None, max_queue=None)
            ready.append(ws)
        except Exception as exc:
            failures[type(exc).__name__] += 1

    await asyncio.gather(*(subscribe(i) for i in range(job["n"])))
    start_wall = max(job["start_at"], time.time())
    end_wall = start_wall + job["duration"]

    async def follow(ws: Any) -> None:
        # One deadline per socket, not a ``wait_for`` per message: its task and timer for every
        # message of 500 sockets in one process added the load generator's own work to each delay.
        seen = received = 0
        try:
            async with asyncio.timeout(max(0.0, end_wall - time.time())):
                async for text in ws:
                    now = time.time()
                    seen += 1
                    at = datetime.fromisoformat(json.loads(text)["at"]).timestamp()
                    if seen == 1 or at < start_wall:
                        continue
                    delays.append(now - at)
                    received += 1
        except TimeoutError:
            pass
        except Exception as exc:
            failures[f"during: {type(exc).__name__}"] += 1
        counts.append(received)
        await ws.close()

    await asyncio.gather(*(follow(ws) for ws in ready))
    return {"delays": delays, "counts": counts, "failures": dict(failures)}


class Floor:
    """The bare store/database operations of one quote and one close, with the server's key shapes and values."""

    def __init__(self, job: dict[str, Any]) -> None:
        self.job = job
        self.ns = job["floor_ns"] + ":"
        self.client_id = job["client_id"]

    async def open(self, conc: int) -> None:
        import asyncpg
        from redis.asyncio import BlockingConnectionPool, Redis

        from otc_framework.audit.trail import _POSTGRES_INSERT as AUDIT_INSERT
        from otc_framework.closings.repository import _insert_with_audit_sql
        from otc_framework.storage.store.redis import GET_MANY_SPENDING, SET_OWNED, TAKE_OWNED

        self.redis = Redis.from_pool(BlockingConnectionPool.from_url(REDIS_URL, max_connections=64,
                                                                     decode_responses=True))
        self.pg = await asyncpg.create_pool(self.job["dsn"], min_size=min(conc, 20), max_size=20)
        self.read_and_spend = self.redis.register_script(GET_MANY_SPENDING.source)
        self.take = self.redis.register_script(TAKE_OWNED.source)
        self.set_owned = self.redis.register_script(SET_OWNED.source)
        self.close_sql = _insert_with_audit_sql(1)  # the API's close: one audit row
        self.audit_sql = AUDIT_INSERT  # the very statement the server issues
        self.read_keys = [self.ns + f"ver:{a}" for a in ("controls", "spreads", "holidays")]
        self.read_keys.append(self.ns + f"client:{self.client_id}")
        await self.redis.set(self.read_keys[-1], self.job["client_record"])

    async def quote(self) -> str:
        job, cid = self.job, self.client_id
        await self.read_and_spend(keys=[self.ns + f"ratelimit:quote:{cid}", *self.read_keys],
                                  args=[1000000, repr(1000000.0), 1])
        sid = uuid.uuid4().hex
        key = self.ns + f"session:{sid}"
        await self.set_owned(keys=[key, key + ":taken"], args=[job["session_value"], job["session_ttl_ms"]])
        await self.pg.fetchval(self.audit_sql, "SESSION_CREATED", job["actor"], "API", sid, None, None,
                               uuid.UUID(cid), "127.0.0.1", job["quote_detail"], datetime.now(UTC))
        return sid

    async def close(self, sid: str, oid: str) -> None:
        job, cid = self.job, self.client_id
        oid_key = self.ns + f"oid:{cid}:{oid}"
        await self.redis.mget([*self.read_keys, oid_key])
        key = self.ns + f"session:{sid}"
        await self.take(keys=[key, key + ":taken"], args=[cid, 3600000, SEP])
        now = datetime.now(UTC)
        row = {**job["closing_row"], "id": uuid.uuid4(), "oid": oid, "session_id": sid, "created_at": now,
               "updated_at": now}
        audit = ["CLOSE_SUCCESS", job["actor"], "API", sid, oid, row["id"], uuid.UUID(cid), "127.0.0.1",
                 job["close_detail"], now]
        # The floor's closings are not trades: their hedge intent is written (same cost) as skipped.
        hedge = {**job["hedge_row"], "id": uuid.uuid4(), "closing_id": row["id"], "status": "skipped",
                 "reason": "benchmark floor", "created_at": now, "updated_at": now}
        await self.pg.execute(self.close_sql, *(row[c] for c in job["closing_columns"]),
                              *(hedge[c] for c in job["hedge_columns"]), *audit)
        await self.redis.set(oid_key, job["oid_value"], px=86400 * 1000)


async def floor_phase(job: dict[str, Any]) -> Record:
    """``conc`` coroutines back to back for ``duration``; kind quote, or quote+close (close timed)."""
    rec = Record()
    floor = Floor(job)
    await floor.open(job["conns"])
    start = time.perf_counter() + max(0.0, job["start_at"] - time.time())
    rec.record_from = start + job["warmup"]
    end = rec.record_from + job["duration"]
    await asyncio.sleep(start - time.perf_counter())
    counter = iter(range(10**9))

    async def loop() -> None:
        while time.perf_counter() < end:
            t0 = time.perf_counter()
            sid = await floor.quote()
            if job["kind"] == "close":
                t0 = time.perf_counter()
                await floor.close(sid, f"floor-{job['tag']}-{next(counter)}")
            if (t1 := time.perf_counter()) <= end and t0 >= rec.record_from:
                rec.lat.append(t1 - t0)
                rec.done += 1

    await asyncio.gather(*(loop() for _ in range(job["conns"])))
    await floor.pg.close()
    await floor.redis.aclose()
    return rec


def run_job(job: dict[str, Any]) -> Any:
    """Entry point of a load process."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    phase = {"http": http_phase, "ws": ws_phase, "floor": floor_phase}[job["type"]]
    return asyncio.run(phase(job))


# --------------------------------------------------------------------------- deployment (main process)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_config(tmp: Path, args: argparse.Namespace, port: int, dsn: str, ns: str,
                 sections: dict[str, dict[str, Any]], *, store_url: str = REDIS_URL, extra: str = "",
                 jwt_secret: str | None = None) -> Path:
    from otc_framework.testing.fake_venue import plugin_toml

    path = tmp / "otc.toml"
    path.write_text(f"""name = "otc-bench"
[server]
host = "127.0.0.1"
port = {port}
workers = {args.workers}
[database]
url = "{dsn}?maxsize=20"
[store]
url = "{store_url}"
namespace = "{ns}"
[auth]
jwt_secret = "{jwt_secret or secrets.token_urlsafe(48)}"
[market_hours]
always_open = true
[pricing]
second_source = ""
[rate_limits]
quote_burst = 1000000
quote_per_second = 1000000
login_burst = 100000
login_per_second = 100000
[logging]
level = "WARNING"
[plugins]
enabled = {json.dumps(list(sections))}
""" + plugin_toml(sections) + extra)
    return path


def wait_ready(base: str, server: subprocess.Popen[bytes], log: Path) -> None:
    import httpx

    deadline = time.time() + 60
    while time.time() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"otc serve exited ({server.returncode}):\n{log.read_text()[-3000:]}")
        try:
            r = httpx.get(f"{base}/health/ready", timeout=2)
            if r.status_code == 200 and all(s["fresh"] for s in r.json()["spot"].values()):
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise SystemExit(f"server not ready within 60 s:\n{log.read_text()[-3000:]}")


async def create_clients(dsn: str, k: int) -> list[tuple[str, str]]:
    """(client id, api key) of ``k`` fresh T1 clients."""
    from otc_framework.admin.access import Actor
    from otc_framework.admin.clients import create_client
    from otc_framework.storage.database import close_database, open_database
    from otc_framework.storage.models import AuditSource, Tier

    await open_database(dsn)
    try:
        bench = Actor("bench", AuditSource.SYSTEM)
        made = [await create_client(bench, f"bench-{i}", Tier.T1) for i in range(k)]
    finally:
        await close_database()
    return [(str(c.client.id), c.api_key) for c in made]


async def samples(base: str, dsn: str, ns: str, client: tuple[str, str], token: str) -> dict[str, Any]:
    """Real values of one quote and one close (session, records, rows), for the floor to write alike."""
    import asyncpg
    import httpx
    from redis.asyncio import Redis

    from otc_framework.closings.repository import _CLOSING_COLUMNS
    from otc_framework.execution import intent

    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base, headers=headers) as http:
        sid = (await http.post("/v1/sessions", content=QUOTE_BODY)).json()["sessionId"]
        redis = Redis.from_url(REDIS_URL, decode_responses=True)
        session_value = await redis.get(f"{ns}:session:{sid}")
        closed = await http.post(f"/v1/sessions/{sid}/close", json={"oid": "sample-1"})
        assert closed.status_code == 201, closed.text
        oid_value = await redis.get(f"{ns}:oid:{client[0]}:sample-1")
        client_record = await redis.get(f"{ns}:client:{client[0]}")
        await redis.aclose()
    conn = await asyncpg.connect(dsn)
    row = dict(await conn.fetchrow("SELECT * FROM closings WHERE oid = 'sample-1'"))
    hedge_row = dict(await conn.fetchrow("SELECT * FROM hedges WHERE closing_id = $1", row["id"]))
    quote_detail = await conn.fetchval("SELECT detail::text FROM audit_logs WHERE session_id = $1", sid)
    close_detail = await conn.fetchval("SELECT detail::text FROM audit_logs WHERE action = 'CLOSE_SUCCESS'")
    await conn.close()
    return {"session_value": session_value, "session_ttl_ms": json.loads(session_value.split(SEP, 1)[1])
            ["validity_seconds"] * 1000, "oid_value": oid_value, "client_record": client_record,
            "closing_row": row, "closing_columns": list(_CLOSING_COLUMNS), "hedge_row": hedge_row,
            "hedge_columns": list(intent.COLUMNS), "quote_detail": quote_detail,
            "close_detail": close_detail, "actor": row["client_name"], "client_id": client[0]}


def pct(values: list[float], q: float) -> float:
    """Percentile in ms (nearest rank); NaN when nothing was measured."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))] * 1000


def run_parallel(pool: ProcessPoolExecutor, jobs: list[dict[str, Any]]) -> list[Any]:
    return [f.result() for f in [pool.submit(run_job, j) for j in jobs]]


def summary(recs: list[Record], duration: float) -> dict[str, Any]:
    lat = [x for r in recs for x in r.lat]
    statuses = sum((r.statuses for r in recs), Counter())
    return {"throughput": sum(r.done for r in recs) / duration, "p50": pct(lat, 50), "p99": pct(lat, 99),
            "n": len(lat), "statuses": dict(statuses), "closes_201": sum(r.closes_201 for r in recs),
            "max_lag_ms": max(r.max_lag for r in recs) * 1000}


def phases(pool: ProcessPoolExecutor, args: argparse.Namespace, port: int, tokens: list[str],
           sample: dict[str, Any], dsn: str, floor_ns: str) -> dict[str, Any]:
    w, out = args.workers, {}
    base = {"host": "127.0.0.1", "port": port, "tokens": tokens, "duration": args.duration, "warmup": args.warmup}

    def http(tag: str, kind: str, conns: int, rate: float) -> dict[str, Any]:
        print(f"phase {tag}: {kind} conns={conns} rate={rate or 'max'} ...", flush=True)
        jobs = [{**base, "type": "http", "tag": tag, "kind": kind, "conns": max(1, conns // w), "rate": rate / w,
                 "index": i, "start_at": time.time() + 2} for i in range(w)]
        return summary(run_parallel(pool, jobs), args.duration)

    def floor(kind: str, conns: int, procs: int) -> dict[str, Any]:
        jobs = [{**sample, "type": "floor", "kind": kind, "conns": max(1, conns // procs), "duration": args.duration,
                 "warmup": args.warmup, "dsn": dsn, "floor_ns": floor_ns, "tag": f"{conns}x{i}",
                 "start_at": time.time() + 2} for i in range(procs)]
        return summary(run_parallel(pool, jobs), args.duration)

    out["a"] = http("a", "quote", args.conns, 0)
    out["b"] = http("b", "quote", 64, args.quote_rate)
    out["c"] = http("c", "close", args.conns, 0)
    out["d"] = http("d", "close", 64, args.close_rate)
    print("phase e: price stream ...", flush=True)
    n = args.subscribers // w
    results = run_parallel(pool, [{**base, "type": "ws", "n": n, "index": i, "start_at": time.time() + 1}
                                  for i in range(w)])
    delays = [d for r in results for d in r["delays"]]
    counts = [c for r in results for c in r["counts"]]
    out["e"] = {"subscribers": len(counts), "messages": len(delays), "p50": pct(delays, 50), "p99": pct(delays, 99),
                "max": max(delays, default=float("nan")) * 1000, "per_sub_min": min(counts, default=0),
                "per_sub_median": statistics.median(counts) if counts else 0, "per_sub_max": max(counts, default=0),
                "failures": dict(sum((Counter(r["failures"]) for r in results), Counter()))}
    print("floor: quote/close latency (1 coroutine) and throughput (same concurrency) ...", flush=True)
    out["floor_quote_seq"] = floor("quote", 1, 1)
    out["floor_close_seq"] = floor("close", 1, 1)
    out["floor_quote_conc"] = floor("quote", args.conns, w)
    out["floor_close_conc"] = floor("close", args.conns, w)
    return out


def report(out: dict[str, Any], args: argparse.Namespace) -> None:
    names = {"a": "a quotes, max (closed loop)", "b": f"b quotes at {args.quote_rate:g}/s (open loop)",
             "c": "c quote→close, max", "d": f"d closes at {args.close_rate:g}/s (open loop)"}
    floors = {"a": "floor_quote_conc", "b": "floor_quote_seq", "c": "floor_close_conc", "d": "floor_close_seq"}
    print(f"\n{'phase':34} {'ops/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'floor p50':>9} {'ratio':>6}  target")
    for key, name in names.items():
        r, f = out[key], out[floors[key]]
        print(f"{name:34} {r['throughput']:8.0f} {r['p50']:8.2f} {r['p99']:8.2f} {f['p50']:9.2f} "
              f"{r['p50'] / f['p50']:5.1f}×  {TARGETS[key]}")
    e = out["e"]
    print(f"{'e price stream, ' + str(e['subscribers']) + ' subs':34} {e['messages'] / args.duration:8.0f} "
          f"{e['p50']:8.2f} {e['p99']:8.2f} {'':>9} {'':>6}  {TARGETS['e']}  (max {e['max']:.1f} ms; msgs/sub "
          f"min/median/max {e['per_sub_min']}/{e['per_sub_median']:g}/{e['per_sub_max']}; failures {e['failures']})")
    print("\nI/O floor (direct redis-py + asyncpg, same key shapes and values):")
    for key, label in (("floor_quote_seq", "quote, 1 coroutine"), ("floor_close_seq", "close, 1 coroutine"),
                       ("floor_quote_conc", f"quote, {args.conns} coroutines"),
                       ("floor_close_conc", f"quote→close, {args.conns} coroutines")):
        f = out[key]
        print(f"  {label:34} {f['throughput']:8.0f}/s  p50 {f['p50']:6.2f} ms  p99 {f['p99']:6.2f} ms")
    print("\nanswers by status:", {k: out[k]["statuses"] for k in "abcd"})
    print("open-loop max start lag (ms):", {k: round(out[k]["max_lag_ms"], 1) for k in "bd"})


async def verify(dsn: str) -> tuple[int, int]:
    import asyncpg

    conn = await asyncpg.connect(dsn)
    count, distinct = await conn.fetchrow(
        "SELECT count(*), count(DISTINCT oid) FROM closings WHERE oid NOT LIKE 'floor-%'")
    await conn.close()
    return count, distinct


async def hedging(dsn: str, patience: float) -> dict[str, Any]:
    """Once the engine has worked off what the load left (or ``patience`` ran out): the trades'
    hedges by status, and how long working them off took after the load stopped."""
    import asyncpg

    conn = await asyncpg.connect(dsn)
    started = time.monotonic()
    open_statuses = ("pending", "quoting", "executing", "unknown")
    try:
        while True:
            rows = await conn.fetch("SELECT h.status, count(*) FROM hedges h JOIN closings c ON c.id = h.closing_id "
                                    "WHERE c.oid NOT LIKE 'floor-%' GROUP BY h.status")
            statuses = {row[0]: row[1] for row in rows}
            if not any(statuses.get(s) for s in open_statuses) or time.monotonic() - started > patience:
                break
            await asyncio.sleep(0.5)
        closings_without = await conn.fetchval(
            "SELECT count(*) FROM closings c LEFT JOIN hedges h ON h.closing_id = c.id WHERE h.id IS NULL")
        executions = await conn.fetchval("SELECT count(*) FROM hedge_executions")
    finally:
        await conn.close()
    return {"statuses": statuses, "closings_without_hedge": closings_without, "executions": executions,
            "drain_seconds": round(time.monotonic() - started, 1)}


async def set_controls(dsn: str, values: dict[str, str]) -> None:
    import asyncpg

    conn = await asyncpg.connect(dsn)
    try:
        for key, value in values.items():
            await conn.execute("UPDATE system_controls SET value = $1 WHERE key = $2", value, key)
    finally:
        await conn.close()


async def reference_modes(dsn: str) -> dict[str, int]:
    import asyncpg

    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch("SELECT reference_mode, count(*) FROM closings WHERE oid NOT LIKE 'floor-%' "
                                "GROUP BY reference_mode")
    finally:
        await conn.close()
    return {row[0]: row[1] for row in rows}


def replay_check(config: Path) -> dict[str, Any]:
    """``otc closings verify`` over the run's closings: every price replays from its snapshot."""
    done = subprocess.run([str(ROOT / ".venv/bin/otc"), "closings", "verify", "--config", str(config)],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    found: dict[str, Any] = json.loads(done.stdout) if done.stdout.strip() else {"error": done.stderr[-300:]}
    found["exit"] = done.returncode
    return found


async def admin_sql(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(f"{PG}/postgres")
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def drop_namespace(prefix: str) -> int:
    from redis.asyncio import Redis

    redis, n = Redis.from_url(REDIS_URL), 0
    async for key in redis.scan_iter(match=f"{prefix}*", count=1000):
        n += await redis.delete(key)
    await redis.aclose()
    return n


def stop_server(server: subprocess.Popen[bytes] | None) -> None:
    if server is None or server.poll() is not None:
        return
    os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(15)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()


def server_problems(log: Path) -> list[str]:
    lines = log.read_text(errors="replace").splitlines()
    return [line for line in lines if any(w in line for w in ("ERROR", "Traceback", "CRITICAL", "Exception"))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2, help="server workers, and load processes")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per phase")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds of unrecorded load before each phase")
    parser.add_argument("--conns", type=int, default=64, help="connections of the max-throughput phases")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--subscribers", type=int, default=1000)
    parser.add_argument("--quote-rate", type=float, default=500)
    parser.add_argument("--close-rate", type=float, default=200)
    parser.add_argument("--json", type=Path, help="write the figures here")
    parser.add_argument("--lp-mode", choices=("none", "off", "on"), default="none",
                        help="enable the Nonco and Horizon LPs against their fakes (their feed polls every 2 s); "
                             "'on' also switches LP quote mode on (and Nonco USDT D0 polling, which USDT D0 quotes need)")
    parser.add_argument("--exec-mode", choices=("off", "auto_best"), default="off",
                        help="hedge every closing (auto_best: the cheapest LP of the feed; enables the LPs against "
                             "their fakes, and Nonco USDT D0 polling) and check, once the load stops, that every "
                             "closing's hedge filled with one order at the venue")
    parser.add_argument("--alert-sinks", choices=("none", "ok", "hang"), default="none",
                        help="enable the Telegram and Discord sinks against their fakes and alert on every close "
                             "(alert_large_trade_amount = 1); 'hang' makes both fakes hang 60 s on every request")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    resource.setrlimit(resource.RLIMIT_NOFILE, (resource.getrlimit(resource.RLIMIT_NOFILE)[1],) * 2)
    sys.path.insert(0, str(ROOT))
    os.chdir(ROOT)
    import httpx

    from otc_framework.demo import VenueThread
    from otc_framework.plugins import demo_venues
    from otc_framework.storage.database import migrate
    from otc_framework.testing.fake_venue import DemoSettings
    from otc_spot_valorpro.fake import ValorProDemoVenue

    tag = secrets.token_hex(4)
    db, ns = f"otc_bench_{tag}", f"otcbench:{tag}"
    dsn, port, tmp = f"{PG}/{db}", free_port(), Path(tempfile.mkdtemp(prefix="otc-bench-"))
    log = tmp / "server.log"
    server: subprocess.Popen[bytes] | None = None
    venues = VenueThread()
    pool = ProcessPoolExecutor(args.workers, mp_context=get_context("spawn"))
    created = False
    try:
        asyncio.run(admin_sql(f"CREATE DATABASE {db}"))
        created = True
        asyncio.run(migrate(dsn))
        wanted: dict[str, Any] = {"spot_valorpro": ValorProDemoVenue()}
        if args.alert_sinks != "none":
            wanted.update(demo_venues(ALERT_SINKS))
            asyncio.run(set_controls(dsn, {"alert_large_trade_amount": "1"}))
        if args.lp_mode != "none" or args.exec_mode != "off":
            wanted.update(demo_venues(LP_PLUGINS))
        if args.exec_mode != "off":
            # The load outruns the hedging on purpose; lift the exposure limit so quotes are not refused as
            # what is owed builds up (the limit has its own tests), and see how long the engine takes to catch up.
            asyncio.run(set_controls(dsn, {"exec_mode": args.exec_mode, "lp_feed_nonco_usdt_enabled": "true",
                                           "risk_max_open_exposure": "0"}))
        if args.lp_mode == "on":
            asyncio.run(set_controls(dsn, {"lp_quote_mode_enabled": "true", "lp_feed_nonco_usdt_enabled": "true"}))
        sections = venues.start(wanted, DemoSettings(Decimal("5.0000")))
        if args.alert_sinks == "hang":
            for name in ALERT_SINKS:
                httpx.post(f"{venues.urls()[name]}/_fault", json={"delay": 60, "count": 100_000})
        config = write_config(tmp, args, port, dsn, ns, sections)
        with log.open("wb") as sink:
            server = subprocess.Popen([str(ROOT / ".venv/bin/otc"), "serve", "--config", str(config)], cwd=ROOT,
                                      stdout=sink, stderr=subprocess.STDOUT, start_new_session=True)
        base = f"http://127.0.0.1:{port}"
        wait_ready(base, server, log)
        clients = asyncio.run(create_clients(dsn, args.clients))
        tokens = [httpx.post(f"{base}/v1/auth/login", json={"apiKey": key}).json()["token"] for _, key in clients]
        sample = asyncio.run(samples(base, dsn, ns, clients[0], tokens[0]))
        print(f"server on :{port}, {args.workers} workers; db {db}; namespace {ns}; {len(tokens)} clients", flush=True)
        out = phases(pool, args, port, tokens, sample, dsn, f"{ns}-floor")
        report(out, args)
        closes_201 = 1 + sum(out[k]["closes_201"] for k in "abcd")  # 1: the sample close
        count, distinct = asyncio.run(verify(dsn))
        ok = count == distinct == closes_201
        print(f"\ncorrectness: close answers 201 = {closes_201}; closings rows = {count}, distinct oids = {distinct}")
        print("lost/duplicated: 0" if ok else f"MISMATCH: {closes_201 - count} lost, {count - distinct} duplicated")
        if args.exec_mode != "off":
            hedged = asyncio.run(hedging(dsn, patience=300))
            orders = {name: httpx.get(f"{venues.urls()[name]}/_orders").json() for name in LP_PLUGINS}
            sent = sum(o["received"] for o in orders.values())
            repeated = {name: o["repeated"] for name, o in orders.items() if o["repeated"]}
            filled = hedged["statuses"].get("filled", 0)
            hedges_ok = (filled == closes_201 and hedged["closings_without_hedge"] == 0 and not repeated
                         and sent == hedged["executions"])
            ok = ok and hedges_ok
            by_venue = ", ".join(f"{name}: {o['received']}" for name, o in orders.items())
            print(f"hedges: {hedged['statuses']} (closings {closes_201}; closings without a hedge "
                  f"{hedged['closings_without_hedge']}); worked off {hedged['drain_seconds']} s after the load; "
                  f"venue orders {sent} ({by_venue}), "
                  f"executions {hedged['executions']}, order ids repeated: {repeated or 'none'}")
            print("hedged exactly once: yes" if hedges_ok else "HEDGE MISMATCH")
            out["hedging"] = {**hedged, "orders": orders, "ok": hedges_ok}
        modes = asyncio.run(reference_modes(dsn))
        replayed = replay_check(config)
        ok = ok and replayed["exit"] == 0
        print(f"reference modes: {modes}; price replay (otc closings verify): checked {replayed.get('checked')}, "
              f"mismatches {len(replayed.get('mismatches', []))}, exit {replayed['exit']}")
        problems = server_problems(log)
        print(f"server log: {len(problems)} error lines" + "".join(f"\n  {p[:300]}" for p in problems[:10]))
        if args.json:
            out["correctness"] = {"closes_201": closes_201, "rows": count, "distinct_oids": distinct, "ok": ok,
                                  "reference_modes": modes, "replay": replayed}
            args.json.write_text(json.dumps(out, indent=2, default=str))
        return 0 if ok else 1
    finally:
        pool.shutdown(cancel_futures=True)
        stop_server(server)
        venues.stop()
        if created:
            asyncio.run(admin_sql(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)"))
        print(f"cleanup: dropped {db}, deleted {asyncio.run(drop_namespace(ns))} redis keys", flush=True)


if __name__ == "__main__":
    sys.exit(main())
