"""Before and after a change to the hot path, on two servers at once (not a test).

    .venv/bin/python bench/ab.py --base HEAD~1 [--load quote.lua] [--rounds 6] [--seconds 5]

Checks ``--base`` out into a temporary git worktree and starts two ``otc serve`` of one worker
each, as ``bench/cpu_per_request.py`` does: A runs the core package (``otc_framework``) of that
checkout, B the working tree's (the plugins are the working tree's for both). Then it drives
them with ``wrk`` at 16 connections in alternated rounds (A B, B A, …) and prints, per round
and as medians, each server's worker CPU per answered request and its rate, and B / A.

On this shared 2-core machine a server's CPU per request drifts by up to a tenth within
minutes; two servers measured in the same minutes, round after round, drift together, so B / A
holds to a percent or two where separate runs do not. Needs what side_by_side.py needs (wrk,
PostgreSQL, Redis).
"""

from __future__ import annotations

import argparse
import http.server
import json
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT.parent / "shared" / "bench"))
import side_by_side as sbs  # noqa: E402

from bench.cpu_per_request import OTC, cpu_seconds  # noqa: E402
from bench.trading import write_config  # noqa: E402


def start(name: str, tree: Path, spot_port: int, work: Path) -> dict:
    tag = secrets.token_hex(3)
    database, namespace = f"ab_{name.lower()}_{tag}", f"ab{name.lower()}{tag}"
    sbs.psql(f"CREATE DATABASE {database}")
    port = sbs.free_port()
    config = write_config(work, argparse.Namespace(workers=1), port, f"{sbs.PG}/{database}", namespace,
                          {"spot_valorpro": {"base_url": f"http://127.0.0.1:{spot_port}", "token": "ab"}},
                          store_url="redis://127.0.0.1:6379/14")
    env = {**os.environ, "PYTHONPATH": str(tree)}
    server = {"name": name, "database": database, "namespace": namespace, "port": port, "cpu": [], "rate": []}
    subprocess.run([str(OTC), "migrate", "--config", str(config)], cwd=tree, env=env, check=True, capture_output=True)
    made = subprocess.run([str(OTC), "client", "create", "--name", "ab", "--tier", "T1", "--config", str(config)],
                          cwd=tree, env=env, check=True, capture_output=True, text=True)
    server["key"] = json.loads(made.stdout)["apiKey"]
    server["log"] = work / "serve.log"
    server["process"] = subprocess.Popen([str(OTC), "serve", "--config", str(config)], cwd=tree, env=env,
                                         stdout=server["log"].open("wb"), stderr=subprocess.STDOUT,
                                         start_new_session=True)
    return server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--base", required=True, help="the git revision A runs")
    parser.add_argument("--load", default="quote.lua")
    parser.add_argument("--seconds", type=int, default=5, help="seconds per wrk run")
    parser.add_argument("--rounds", type=int, default=6)
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="ab-"))
    base = scratch / "base"
    subprocess.run(["git", "worktree", "add", "--detach", "-q", str(base), args.base], cwd=ROOT, check=True)
    spot = http.server.ThreadingHTTPServer(("127.0.0.1", 0), sbs.Spot)
    threading.Thread(target=spot.serve_forever, daemon=True).start()
    servers: list[dict] = []
    try:
        for name, tree in (("A", base), ("B", ROOT)):
            work = scratch / name
            work.mkdir()
            servers.append(start(name, tree, spot.server_address[1], work))
        for server in servers:
            sbs.wait_ready(f"http://127.0.0.1:{server['port']}/health/ready", server["process"], server["log"])
        time.sleep(2)  # the first spot reads
        for server in servers:
            _, body = sbs.post(f"http://127.0.0.1:{server['port']}/v1/auth/login", {"apiKey": server["key"]})
            server["token"] = body["token"]
            server["children"] = [int(pid) for pid in subprocess.run(
                ["pgrep", "-P", str(server["process"].pid)], capture_output=True, text=True).stdout.split()]
            sbs.wrk(args.load, server["port"], server["token"], 16, 2)  # warm up
        for round_ in range(args.rounds):
            for server in servers if round_ % 2 == 0 else servers[::-1]:
                before = {pid: cpu_seconds(pid) for pid in server["children"]}
                answered = sbs.wrk(args.load, server["port"], server["token"], 16, args.seconds)
                used = max(cpu_seconds(pid) - before[pid] for pid in server["children"])  # the worker
                rate = answered.get("quotes/s", 0)
                server["cpu"].append(1e6 * used / max(rate * args.seconds, 1))
                server["rate"].append(rate)
        unit = "pair" if args.load == "trade.lua" else "request"
        for server in servers:
            print(f"{server['name']} CPU per {unit} (µs): {' '.join(f'{x:.0f}' for x in server['cpu'])}; "
                  f"median {statistics.median(server['cpu']):.1f}")
            print(f"{server['name']} per second: {' '.join(f'{x:.0f}' for x in server['rate'])}; "
                  f"median {statistics.median(server['rate']):.0f}")
        a, b = servers
        for figure in ("cpu", "rate"):
            ratios = [y / x for x, y in zip(a[figure], b[figure], strict=True) if x]
            print(f"B / A {figure}: {' '.join(f'{r:.3f}' for r in ratios)}; median {statistics.median(ratios):.3f}")
    finally:
        for server in servers:
            sbs.stop(server["process"])
            subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc",
                            f"DROP DATABASE IF EXISTS {server['database']} WITH (FORCE)"], capture_output=True)
            subprocess.run(["redis-cli", "-n", "14", "EVAL",
                            "for _, k in ipairs(redis.call('KEYS', ARGV[1])) do redis.call('DEL', k) end", "0",
                            f"{server['namespace']}:*"], capture_output=True)
        spot.shutdown()
        subprocess.run(["git", "worktree", "remove", "--force", str(base)], cwd=ROOT, capture_output=True)
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
