"""A worker killed mid-load loses and doubles nothing (not a test; issue 13's "nothing gets weaker").

    .venv/bin/python bench/kill_mid_load.py --workers 2 --seconds 12 --kills 2

Starts ``otc serve`` with N workers on a fresh PostgreSQL database and Redis namespace, drives
quote→close pairs with a unique OID each from 32 connections, SIGKILLs a worker every few
seconds, then checks the record:

- every close answered 201 is exactly one closings row (by its closing id, OID and session);
- no OID and no session has two rows;
- every close whose answer was lost (the connection died with the worker) is asked again
  with the same OID: it answers the committed closing (200) or refuses (the session was not
  taken, or expired), and never makes a second row.

Each kill is followed until the worker is replaced (``web.supervise``); the report says after
how long.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

import asyncpg
import httpx

ROOT = Path(__file__).resolve().parents[1]
OTC = ROOT / ".venv" / "bin" / "otc"
sys.path.insert(0, str(ROOT))

from trading import PG, drop_namespace, wait_ready, write_config  # noqa: E402 (bench/trading.py, beside this file)

from tests.test_demo import free_port  # noqa: E402


async def load(url: str, token: str, until: float, answered: dict[str, str], lost: dict[str, str]) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=5) as http:
        while time.monotonic() < until:
            try:
                quote = await http.post("/v1/sessions", json={"currency": "USDT", "settlement": "D0", "amount": "1000"})
            except httpx.HTTPError:
                continue
            if quote.status_code != 201:
                continue
            session = quote.json()["sessionId"]
            oid = f"k-{session}"
            try:
                closed = await http.post(f"/v1/sessions/{session}/close", json={"oid": oid})
            except httpx.HTTPError:
                lost[oid] = session
                continue
            if closed.status_code == 201:
                answered[oid] = closed.json()["closingId"]
            else:
                lost[oid] = session


def children(main: int) -> list[int]:
    """The live processes Sanic spawned for ``main``, busiest first (a dead one is <defunct>,
    and multiprocessing's resource tracker is not spawned by Sanic)."""
    out = subprocess.run(["ps", "-ww", "--ppid", str(main), "-o", "pid=,pcpu=,args=", "--sort=-pcpu"],
                         capture_output=True, text=True).stdout
    return [int(line.split(None, 2)[0]) for line in out.splitlines() if "spawn_main" in line]


async def replaced(main: int, before: int, gone: int, bound: float = 30.0) -> float | None:
    """Seconds until ``main`` has ``before`` live children again, without ``gone``; None if never."""
    started = time.monotonic()
    while time.monotonic() - started < bound:
        now = children(main)
        if len(now) >= before and gone not in now:
            return round(time.monotonic() - started, 2)
        await asyncio.sleep(0.1)
    return None


async def run(args: argparse.Namespace) -> int:
    from otc_framework.testing.fake_venue import DemoSettings
    from otc_spot_valorpro.fake import ValorProDemoVenue

    tag = secrets.token_hex(3)
    database, namespace = f"kill_{tag}", f"kill{tag}"
    admin = await asyncpg.connect(f"{PG}/postgres")
    await admin.execute(f'CREATE DATABASE "{database}"')
    spot = ValorProDemoVenue()
    spot_section = await spot.start("127.0.0.1", DemoSettings(sandbox_spot=Decimal("5.00")))
    tmp = Path(tempfile.mkdtemp(prefix="kill-"))
    port = free_port()
    cfg = write_config(tmp, args, port, f"{PG}/{database}", namespace, {"spot_valorpro": spot_section})
    server = None
    try:
        subprocess.run([str(OTC), "migrate", "--config", str(cfg)], check=True, capture_output=True)
        made = subprocess.run([str(OTC), "client", "create", "--name", "kill", "--tier", "T1", "--config", str(cfg)],
                              check=True, capture_output=True, text=True)
        key = json.loads(made.stdout)["apiKey"]
        log = tmp / "serve.log"
        server = subprocess.Popen([str(OTC), "serve", "--config", str(cfg)], stdout=log.open("wb"),
                                  stderr=subprocess.STDOUT, start_new_session=True)
        url = f"http://127.0.0.1:{port}"
        await asyncio.to_thread(wait_ready, url, server, log)  # the spot fake answers from this loop
        async with httpx.AsyncClient(timeout=2) as http:
            token = (await http.post(f"{url}/v1/auth/login", json={"apiKey": key})).json()["token"]
        answered: dict[str, str] = {}
        lost: dict[str, str] = {}
        until = time.monotonic() + args.seconds
        loads = [asyncio.create_task(load(url, token, until, answered, lost)) for _ in range(32)]
        killed = []
        for _ in range(args.kills):
            await asyncio.sleep(args.seconds / (args.kills + 1))
            alive = children(server.pid)
            victim = alive[0]  # the busiest: an HTTP worker under this load
            os.kill(victim, signal.SIGKILL)
            at = round(time.monotonic() - until + args.seconds, 1)
            killed.append({"at_s": at, "pid": victim, "replaced_after_s": await replaced(server.pid, len(alive), victim)})
        await asyncio.gather(*loads)

        # Each lost answer asked again with its OID, on a worker still serving.
        again: dict[int, int] = {}
        async with httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=5) as http:
            for oid, session in lost.items():
                retry = await http.post(f"/v1/sessions/{session}/close", json={"oid": oid})
                again[retry.status_code] = again.get(retry.status_code, 0) + 1
                if retry.status_code in (200, 201):
                    answered[oid] = retry.json()["closingId"]
        db = await asyncpg.connect(f"{PG}/{database}")
        rows = await db.fetch("SELECT id::text, oid, session_id FROM closings")
        await db.close()
        by_id = {r["id"]: r for r in rows}
        report = {
            "workers": args.workers, "seconds": args.seconds, "kills": killed,
            "closes answered 201 or 200 on retry": len(answered), "answers lost": len(lost),
            "retries by status": again, "closings rows": len(rows),
            "distinct oids": len({r["oid"] for r in rows}), "distinct sessions": len({r["session_id"] for r in rows}),
            "answered but missing": sum(1 for cid in answered.values() if cid not in by_id),
            "rows never answered": len(set(by_id) - set(answered.values())),
        }
        print(json.dumps(report, indent=2))
        ok = (report["answered but missing"] == 0 and all(k["replaced_after_s"] is not None for k in killed) and report["rows never answered"] == 0
              and len(rows) == report["distinct oids"] == report["distinct sessions"])
        print("lost/duplicated: 0" if ok else "MISMATCH")
        return 0 if ok else 1
    finally:
        if server is not None and server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
        await spot.server.stop()
        await drop_namespace(namespace)
        await admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        await admin.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=12)
    parser.add_argument("--kills", type=int, default=1)
    return asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
