"""Soak with faults: minutes of trading through nginx while workers, lease holders, Redis and
PostgreSQL fail and hosts drain, on a schedule; then nothing may be lost or doubled (SPEC §18).

Two hosts (``otc serve``, ``--workers`` each) sit behind the shipped nginx.conf, on a private
PostgreSQL and a private Redis master/replica watched by a Sentinel (``redis+sentinel://``),
so the shared services of the machine are never touched. Hedging is ``auto_best`` against the
Nonco and Horizon fakes; the WhatsApp fake carries bot traffic (``/ref`` then ``/fecha``) to
the desk's webhook through nginx. API clients quote then close, each close under its own OID;
a close whose answer never came is asked again with its OID at the end, never re-sent blind.

The schedule spreads over the run: SIGKILL of HTTP workers (``--worker-kills``), SIGKILL of the
worker holding the execution lease (``--lease-kills``; every lease it held is followed until
another worker holds it), Redis failovers (the master killed; brought back as a replica a
while later) PostgreSQL restarts (stopped as by a crash, started 2 s later), and drains (``--drains``: a
host SIGTERMed as a deploy would, which must exit 0, then started again). A host that exits
on its own (its workers kept dying) is started again, as systemd would.

At the end it checks: every close answered 201 is one closings row; rows = distinct OIDs =
distinct sessions; every closing has one hedge, every hedge is final, the fakes received one
order per execution and no order id twice; every acknowledged bot ``/fecha`` traded once; the
audit trail has one CLOSE_SUCCESS per closing and no row twice. It prints the fault timeline,
the throughput before, during and after each fault, and how fast each lease moved.

    .venv/bin/python bench/soak.py --minutes 10
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import random
import re
import secrets
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from multiprocessing import get_context
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

import asyncpg
import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from trading import wait_ready, write_config  # noqa: E402 (bench/trading.py, beside this file)

from tests.nginx_proxy import NGINX, Nginx  # noqa: E402
from tests.postgres_cluster import PostgresServer  # noqa: E402
from tests.redis_sentinel import SentinelCluster  # noqa: E402
from tests.test_demo import free_port  # noqa: E402

OTC = ROOT / ".venv" / "bin" / "otc"
QUOTE = {"currency": "USDT", "settlement": "D0", "amount": "1000"}
FINAL = ("filled", "failed", "skipped")
STARTED = re.compile(r'"msg": "Starting worker \[(\d+)\]"')
BOT = """[bot]
max_quotes_per_session = 1
quote_interval_seconds = 1
off_delay_seconds = 1
closing_window_seconds = 5
"""


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is dead too: its parent has not reaped it yet.
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except FileNotFoundError:
        return False


@dataclass
class Host:
    name: str
    port: int
    config: Path
    log: Path
    process: subprocess.Popen[bytes] | None = None
    restarts: int = 0
    started_pids: list[int] = field(default_factory=list)
    read_up_to: int = 0
    draining: bool = False

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        with self.log.open("ab") as sink:
            self.process = subprocess.Popen(
                [str(OTC), "serve", "--config", str(self.config)], cwd=ROOT, stdout=sink, stderr=subprocess.STDOUT,
                start_new_session=True,
                # INFO: Sanic's "Starting worker [pid]" lines tell HTTP workers from its manager process.
                env={**os.environ, "OTC__SERVER__TRUSTED_PROXIES": "127.0.0.1", "OTC__LOGGING__LEVEL": "INFO"})

    def workers(self) -> list[int]:
        """The live HTTP workers (Sanic logs each as it starts; the manager process is not one)."""
        with self.log.open("rb") as log:
            log.seek(self.read_up_to)
            fresh = log.read()
        complete = fresh[:fresh.rfind(b"\n") + 1]
        self.read_up_to += len(complete)
        self.started_pids += map(int, STARTED.findall(complete.decode(errors="replace")))
        return [pid for pid in self.started_pids if alive(pid)]

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


@dataclass
class Record:
    answered: dict[str, str] = field(default_factory=dict)      # oid -> closing id (201)
    unknown: dict[str, tuple[str, str]] = field(default_factory=dict)  # oid -> (token, session id): no answer
    statuses: Counter[str] = field(default_factory=Counter)
    done_at: list[float] = field(default_factory=list)          # monotonic time of each 201 close
    bot_sent: Counter[str] = field(default_factory=Counter)     # group -> /fecha sent
    bot_acked: Counter[str] = field(default_factory=Counter)    # group -> "Fechado" received
    events: list[dict[str, Any]] = field(default_factory=list)
    lease_moves: list[dict[str, Any]] = field(default_factory=list)


async def api_load(url: str, token: str, until: float, record: Record, every: float) -> None:
    """Quote then close, one trade every ``every`` seconds at most."""
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=10) as http:
        next_at = time.monotonic()
        while time.monotonic() < until:
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))
            next_at = max(next_at + every, time.monotonic() - every)
            try:
                quote = await http.post("/v1/sessions", json=QUOTE)
            except httpx.HTTPError:
                record.statuses["quote:error"] += 1
                await asyncio.sleep(0.05)
                continue
            record.statuses[f"quote:{quote.status_code}"] += 1
            if quote.status_code != 201:
                await asyncio.sleep(0.05)
                continue
            session = quote.json()["sessionId"]
            oid = f"soak-{uuid.uuid4().hex}"
            try:
                closed = await http.post(f"/v1/sessions/{session}/close", json={"oid": oid})
            except httpx.HTTPError:
                record.statuses["close:error"] += 1
                record.unknown[oid] = (token, session)
                continue
            record.statuses[f"close:{closed.status_code}"] += 1
            if closed.status_code == 201:
                record.answered[oid] = closed.json()["closingId"]
                record.done_at.append(time.monotonic())
            elif closed.status_code >= 500:
                record.unknown[oid] = (token, session)  # NOT_READY or a proxy error: was it recorded?


async def bot_load(evolution: str, group: str, until: float, record: Record) -> None:
    """``/ref`` then ``/fecha`` once the "Off" came, in one group, again and again."""
    seen: set[str] = set()
    async with httpx.AsyncClient(base_url=evolution, timeout=10) as http:

        async def replies() -> list[str]:
            items = (await http.get("/_inbox")).json()["items"]
            fresh = [i for i in items if i["number"] == group and i["id"] not in seen]
            seen.update(i["id"] for i in fresh)
            return [i["text"] for i in fresh]

        async def wait_for(marker: str, bound: float) -> bool:
            deadline = time.monotonic() + bound
            while time.monotonic() < deadline:
                try:
                    if any(marker in text for text in await replies()):
                        return True
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.2)
            return False

        async def say(text: str) -> None:
            await http.post("/_say", json={"group": group, "participant": "5531999998888", "text": text})

        while time.monotonic() < until:
            try:
                await replies()
                await say("/ref 10k USDT D0")
                if not await wait_for("Off ·", 20):
                    continue
                await say("/fecha")
                record.bot_sent[group] += 1
                if await wait_for("Fechado:", 30):
                    record.bot_acked[group] += 1
            except httpx.HTTPError:
                await asyncio.sleep(0.5)


async def ready_of(host: Host) -> dict[str, Any] | None:
    try:
        async with httpx.AsyncClient(timeout=2) as http:
            answer = await http.get(f"{host.url}/health/ready")
        return answer.json() if answer.status_code == 200 else None
    except (httpx.HTTPError, ValueError):
        return None


async def holders(hosts: list[Host]) -> dict[str, str | None]:
    for host in hosts:
        body = await ready_of(host)
        if body is not None:
            return {name: lease["holder"] for name, lease in body["leases"].items() if lease["known"]}
    return {}


def pid_of(holder: str | None) -> int | None:
    return int(holder.split(":")[1]) if holder else None


class Faults:
    def __init__(self, hosts: list[Host], redis: SentinelCluster, postgres: PostgresServer, record: Record,
                 started: float) -> None:
        self.hosts, self.redis, self.postgres, self.record, self.started = hosts, redis, postgres, record, started

    def note(self, kind: str, **detail: Any) -> dict[str, Any]:
        event = {"at_s": round(time.monotonic() - self.started, 1), "kind": kind, **detail}
        self.record.events.append(event)
        print(f"  {event['at_s']:7.1f} s  {kind}  {json.dumps(detail)}", flush=True)
        return event

    async def worker_kill(self) -> None:
        host = random.choice(self.hosts)
        workers = host.workers()
        if not workers:
            self.note("worker kill skipped", host=host.name, reason="no live worker")
            return
        victim = random.choice(workers)
        os.kill(victim, signal.SIGKILL)
        event = self.note("worker SIGKILL", host=host.name, pid=victim)
        event["replaced_after_s"] = await self.replaced(host, victim)

    async def replaced(self, host: Host, victim: int, bound: float = 30.0) -> float | None:
        killed = time.monotonic()
        before = set(host.workers()) - {victim}
        while time.monotonic() - killed < bound:
            if set(host.workers()) - before - {victim}:
                return round(time.monotonic() - killed, 2)
            await asyncio.sleep(0.1)
        return None

    async def lease_kill(self) -> None:
        held = await holders(self.hosts)
        victim = pid_of(held.get("loop:execution"))
        if victim is None:
            self.note("lease kill skipped", reason="no execution lease holder")
            return
        leases = sorted(name for name, holder in held.items() if pid_of(holder) == victim)
        os.kill(victim, signal.SIGKILL)
        killed = time.monotonic()
        self.note("lease holder SIGKILL", pid=victim, leases=leases)
        moved: dict[str, float | None] = {name: None for name in leases}
        while time.monotonic() - killed < 30 and None in moved.values():
            now_held = await holders(self.hosts)
            for name in leases:
                holder = now_held.get(name)
                if moved[name] is None and holder and pid_of(holder) != victim:
                    moved[name] = round(time.monotonic() - killed, 2)
            await asyncio.sleep(0.1)
        self.record.lease_moves.append({"pid": victim, "moved_after_s": moved})
        print(f"           leases moved after (s): {json.dumps(moved)}", flush=True)

    async def redis_failover(self, back_after: float) -> None:
        self.note("redis master SIGKILL", port=self.redis.master_port)
        promoted = await asyncio.to_thread(self.redis.fail_over)
        self.note("redis replica promoted", port=self.redis.master_port, after_s=round(promoted, 2))
        await asyncio.sleep(back_after)
        await asyncio.to_thread(self.redis.restart_old_master)
        self.note("old redis master back as a replica")

    async def host_drain(self) -> None:
        """SIGTERM one host as a deploy would, then start it again once it has exited."""
        host = random.choice(self.hosts)
        assert host.process is not None
        host.draining = True
        signalled = time.monotonic()
        host.process.send_signal(signal.SIGTERM)
        self.note("host SIGTERM (drain)", host=host.name)
        code = await asyncio.to_thread(host.process.wait, 60)
        self.note("host drained", host=host.name, exit=code, after_s=round(time.monotonic() - signalled, 2))
        host.start()
        await asyncio.to_thread(wait_ready, host.url, host.process, host.log)
        host.draining = False
        self.note("host started again", host=host.name)

    async def postgres_restart(self) -> None:
        self.note("postgresql stop (immediate)")
        await asyncio.to_thread(self.postgres.restart, 2.0)
        self.note("postgresql started")

    async def keep_hosts_up(self, until: float) -> None:
        while time.monotonic() < until:
            for host in self.hosts:
                if not host.draining and host.process is not None and host.process.poll() is not None:
                    self.note("host exited; started again", host=host.name, exit=host.process.returncode)
                    host.restarts += 1
                    host.start()
            await asyncio.sleep(0.5)


def schedule(args: argparse.Namespace, duration: float) -> list[tuple[float, str]]:
    """Every fault at a time of its own, spread over the run (not in its first or last 10 %)."""
    kinds = (["worker"] * args.worker_kills + ["lease"] * args.lease_kills + ["failover"] * args.failovers
             + ["postgres"] * args.pg_restarts + ["drain"] * args.drains)
    random.shuffle(kinds)
    span = duration * 0.8
    return [(duration * 0.1 + span * (i + 0.5) / len(kinds), kind) for i, kind in enumerate(kinds)]


def throughput(done_at: list[float], start: float, end: float) -> float:
    return round(sum(1 for t in done_at if start <= t < end) / max(end - start, 1e-9), 1)


async def resolve_unknown(url: str, record: Record) -> dict[str, int]:
    """Ask each close whose answer never came again, as its client, under its OID: 200 = it was
    recorded, SESSION_EXPIRED = it was not (the quote ran out meanwhile)."""
    outcome: Counter[str] = Counter()
    async with httpx.AsyncClient(base_url=url, timeout=10) as http:
        for oid, (token, session) in record.unknown.items():
            for _ in range(20):
                answer = await http.post(f"/v1/sessions/{session}/close", json={"oid": oid},
                                         headers={"Authorization": f"Bearer {token}"})
                if answer.status_code < 500:
                    break
                await asyncio.sleep(0.5)
            if answer.status_code in (200, 201):
                record.answered[oid] = answer.json()["closingId"]
                outcome["recorded"] += 1
            else:
                outcome[answer.json().get("code", str(answer.status_code))] += 1
    return dict(outcome)


async def verify(dsn: str, record: Record, bot_clients: dict[str, str], venues: dict[str, Any],
                 patience: float) -> tuple[bool, dict[str, Any]]:
    conn = await asyncpg.connect(dsn)
    try:
        started = time.monotonic()
        while time.monotonic() - started < patience:
            open_hedges = await conn.fetchval("SELECT count(*) FROM hedges WHERE status <> ALL($1::text[])",
                                              list(FINAL))
            queued = await conn.fetchval("SELECT count(*) FROM chat_messages WHERE status IN ('queued', 'retrying')")
            if not open_hedges and not queued:
                break
            await asyncio.sleep(1)
        rows, oids, sessions = await conn.fetchrow(
            "SELECT count(*), count(DISTINCT oid), count(DISTINCT session_id) FROM closings")
        by_oid = {r["oid"]: r["n"] for r in await conn.fetch(
            "SELECT oid, count(*) AS n FROM closings WHERE oid = ANY($1::text[]) GROUP BY oid", list(record.answered))}
        hedges = {r["status"]: r["n"] for r in await conn.fetch("SELECT status, count(*) AS n FROM hedges GROUP BY 1")}
        without_hedge = await conn.fetchval(
            "SELECT count(*) FROM closings c WHERE (SELECT count(*) FROM hedges h WHERE h.closing_id = c.id) <> 1")
        executions = await conn.fetchval("SELECT count(*) FROM hedge_executions")
        filled_without_one = await conn.fetchval(
            "SELECT count(*) FROM hedges h WHERE h.status = 'filled' AND "
            "(SELECT count(*) FROM hedge_executions e WHERE e.hedge_id = h.id) < 1")
        audit_twice = await conn.fetchval(
            "SELECT count(*) FROM (SELECT action, closing_id FROM audit_logs WHERE closing_id IS NOT NULL "
            "AND action IN ('CLOSE_SUCCESS', 'BOT_CLOSE') GROUP BY 1, 2 HAVING count(*) > 1) AS twice")
        close_audits = await conn.fetchval("SELECT count(*) FROM audit_logs WHERE action = 'CLOSE_SUCCESS'")
        bot_rows = {r["group_id"]: r["n"] for r in await conn.fetch(
            "SELECT group_id, count(*) AS n FROM closings WHERE source = 'Bot' GROUP BY 1")}
    finally:
        await conn.close()
    sent = sum(v["received"] for v in venues.values())
    repeated = {name: v["repeated"] for name, v in venues.items() if v["repeated"]}
    lost = [oid for oid in record.answered if by_oid.get(oid, 0) == 0]
    doubled = [oid for oid, n in by_oid.items() if n > 1]
    bot_short = {g: (record.bot_acked[g], bot_rows.get(g, 0)) for g in bot_clients
                 if bot_rows.get(g, 0) < record.bot_acked[g]}
    checks = {
        "closes answered 201 (incl. resolved by OID)": len(record.answered),
        "closings rows / distinct oids / distinct sessions": [rows, oids, sessions],
        "answered closes lost": len(lost), "answered closes doubled": len(doubled),
        "hedges by status": hedges, "closings without exactly one hedge": without_hedge,
        "filled hedges without an execution": filled_without_one,
        "venue orders received / executions": [sent, executions], "order ids repeated": repeated or "none",
        "orders by venue": venues,
        "bot /fecha sent / acknowledged / bot closings": [sum(record.bot_sent.values()),
                                                          sum(record.bot_acked.values()), sum(bot_rows.values())],
        "acknowledged bot trades missing": bot_short or "none",
        "CLOSE_SUCCESS rows / closings": [close_audits, rows], "audit rows twice": audit_twice,
    }
    ok = (not lost and not doubled and rows == oids == sessions and without_hedge == 0 and not filled_without_one
          and all(status in FINAL for status in hedges) and sent == executions and not repeated and not bot_short
          and close_audits == rows and audit_twice == 0)
    return ok, checks


def serve_venues(conn: Connection, desk_url: str) -> None:
    """In a process of their own, so that the load this script makes never starves the fakes
    (a starved fake misses its WebSocket pings, and its drops would read as the desk's faults)."""
    from otc_framework.demo import VenueThread
    from otc_framework.plugins import demo_venues
    from otc_framework.testing.fake_venue import DemoSettings
    from otc_spot_valorpro.fake import ValorProDemoVenue

    logging.disable(logging.WARNING)  # their own chatter about the connections the soak kills
    venues = VenueThread()
    wanted = {"spot_valorpro": ValorProDemoVenue(), **demo_venues(("lp_nonco", "lp_horizon", "channel_whatsapp"))}
    sections = venues.start(wanted, DemoSettings(Decimal("5.0000"), desk_url=desk_url))
    conn.send((sections, venues.urls()))
    conn.recv()  # until told to stop
    venues.stop()


async def run(args: argparse.Namespace) -> int:
    from otc_framework.admin.access import Actor
    from otc_framework.admin.clients import create_client
    from otc_framework.storage.database import close_database, migrate, open_database
    from otc_framework.storage.models import AuditSource, Tier

    tmp = Path(tempfile.mkdtemp(prefix="otc-soak-"))
    postgres = PostgresServer().start()
    redis = SentinelCluster(tmp / "redis")
    (tmp / "redis").mkdir()
    redis.start()
    venues, child = get_context("spawn").Pipe()
    fakes: BaseProcess | None = None
    hosts: list[Host] = []
    proxy: Nginx | None = None
    duration = args.minutes * 60
    record = Record()
    try:
        dsn = f"{postgres.url}/postgres"
        await migrate(dsn)
        conn = await asyncpg.connect(dsn)
        for key, value in {"exec_mode": "auto_best", "lp_feed_nonco_usdt_enabled": "true",
                           "risk_max_open_exposure": "0"}.items():
            await conn.execute("UPDATE system_controls SET value = $1 WHERE key = $2", value, key)
        await conn.close()
        lb_port = free_port()
        jwt_secret = secrets.token_urlsafe(48)  # one per deployment: a token works on every host
        fakes = get_context("spawn").Process(target=serve_venues, args=(child, f"http://127.0.0.1:{lb_port}"),
                                             daemon=True)
        fakes.start()
        sections, urls = venues.recv()
        for index in range(2):
            directory = tmp / f"host{index}"
            directory.mkdir()
            port = free_port()
            config = write_config(directory, args, port, f"{dsn}?maxsize=10&application_name=host{index}", "soak",
                                  sections, store_url=redis.url, extra=BOT, jwt_secret=jwt_secret)
            hosts.append(Host(f"host{index}", port, config, directory / "serve.log"))
        hosts[0].start()
        await asyncio.to_thread(wait_ready, hosts[0].url, hosts[0].process, hosts[0].log)
        hosts[1].start()
        await asyncio.to_thread(wait_ready, hosts[1].url, hosts[1].process, hosts[1].log)
        proxy = Nginx(NGINX, tmp / "nginx", [h.port for h in hosts], lb_port)
        await open_database(dsn)
        try:
            actor = Actor("soak", AuditSource.SYSTEM)
            api = [await create_client(actor, f"soak-{i}", Tier.T1) for i in range(args.clients)]
            groups: dict[str, str] = {}
            for i in range(args.groups):
                group = f"1203630000000{i:05d}@g.us"
                made = await create_client(actor, f"soak-bot-{i}", Tier.T2, group_id=group)
                groups[group] = str(made.client.id)
        finally:
            await close_database()
        async with httpx.AsyncClient(base_url=proxy.url, timeout=10) as http:
            for _ in range(100):
                try:
                    if (await http.get("/health")).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.1)
            tokens = [(await http.post("/v1/auth/login", json={"apiKey": c.api_key})).json()["token"] for c in api]
        print(f"soak: {args.minutes} min, 2 hosts x {args.workers} workers behind nginx :{lb_port}; "
              f"{args.clients} API clients, {args.groups} bot groups; data in {tmp}", flush=True)

        started = time.monotonic()
        until = started + duration
        faults = Faults(hosts, redis, postgres, record, started)
        every = args.clients / args.rate
        loads = [asyncio.create_task(api_load(proxy.url, token, until, record, every)) for token in tokens]
        evolution = urls["channel_whatsapp"]
        loads += [asyncio.create_task(bot_load(evolution, group, until, record)) for group in groups]
        keeper = asyncio.create_task(faults.keep_hosts_up(until + 5))
        print("fault timeline:", flush=True)
        for at, kind in schedule(args, duration):
            await asyncio.sleep(max(0.0, started + at - time.monotonic()))
            if kind == "worker":
                await faults.worker_kill()
            elif kind == "lease":
                await faults.lease_kill()
            elif kind == "failover":
                await faults.redis_failover(back_after=min(20.0, duration * 0.02))
            elif kind == "drain":
                await faults.host_drain()
            else:
                await faults.postgres_restart()
        await asyncio.gather(*loads)
        await keeper
        resolved = await resolve_unknown(proxy.url, record) if record.unknown else {}

        orders = {}
        for name in ("lp_nonco", "lp_horizon"):
            orders[name] = httpx.get(f"{urls[name]}/_orders", timeout=10).json()
        ok, checks = await verify(dsn, record, groups, orders, patience=args.patience)

        print("\nthroughput (closes answered 201 per second, API), before / during / after each fault:")
        for event in record.events:
            at = started + event["at_s"]
            print(f"  {event['at_s']:7.1f} s {event['kind']:38} {throughput(record.done_at, at - 10, at):7.1f} "
                  f"{throughput(record.done_at, at, at + 5):7.1f} {throughput(record.done_at, at + 5, at + 15):7.1f}")
        print(f"whole run: {throughput(record.done_at, started, until)} closes/s; answers {dict(record.statuses)}")
        print(f"closes without an answer: {len(record.unknown)}, asked again by OID: {resolved or 'none'}")
        moves = [seconds for move in record.lease_moves for seconds in move["moved_after_s"].values()]
        print(f"lease moves after a holder's SIGKILL: {len(moves)} leases, "
              f"slowest {max((s for s in moves if s is not None), default=0):.2f} s, never moved "
              f"{sum(1 for s in moves if s is None)}")
        replacements = [e["replaced_after_s"] for e in record.events if "replaced_after_s" in e]
        print(f"worker kills: {len(replacements)}, replaced after (s) max "
              f"{max((r for r in replacements if r is not None), default=0)}, host restarts "
              f"{sum(h.restarts for h in hosts)}")
        print("\nchecks:")
        for name, value in checks.items():
            print(f"  {name}: {json.dumps(value)}")
        problems = [line for host in hosts for line in host.log.read_text(errors="replace").splitlines()
                    if '"level": "ERROR"' in line or "Traceback" in line]
        print(f"server log error lines: {len(problems)} (faults make some: workers died, outages)")
        print("RESULT: 0 lost, 0 duplicated" if ok else "RESULT: MISMATCH")
        if args.json:
            args.json.write_text(json.dumps({"events": record.events, "lease_moves": record.lease_moves,
                                             "checks": checks, "ok": ok}, indent=2, default=str))
        return 0 if ok else 1
    finally:
        for host in hosts:
            host.stop()
        if proxy is not None:
            proxy.stop()
        if fakes is not None:
            venues.send("stop")
            fakes.join(30)
        redis.stop()
        postgres.remove()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--workers", type=int, default=2, help="workers per host")
    parser.add_argument("--clients", type=int, default=8, help="API clients, each trading in a loop")
    parser.add_argument("--groups", type=int, default=3, help="WhatsApp groups, each trading with the bot")
    parser.add_argument("--rate", type=float, default=40,
                        help="API trades per second in all (the hedging engine must keep up: it hedges one by one)")
    parser.add_argument("--worker-kills", type=int, default=20)
    parser.add_argument("--lease-kills", type=int, default=5)
    parser.add_argument("--failovers", type=int, default=2)
    parser.add_argument("--pg-restarts", type=int, default=1)
    parser.add_argument("--drains", type=int, default=2, help="hosts SIGTERMed (drained) and started again")
    parser.add_argument("--patience", type=float, default=180, help="seconds to let hedges and replies finish")
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    # A SIGTERM'd soak still stops its hosts, nginx, Redis and PostgreSQL (``run``'s finally).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    random.seed(args.seed)
    os.chdir(ROOT)
    return asyncio.run(run(args))


if __name__ == "__main__":
    sys.exit(main())
