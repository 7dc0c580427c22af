"""The worker's CPU per answered request under the side-by-side load (not a test).

    .venv/bin/python bench/cpu_per_request.py [--loads quote.lua,trade.lua] [--seconds 10] [--reps 3]

Starts `otc serve` with one worker as ../shared/bench/side_by_side.py does (its config, its
stand-in ValorPro feed, its wrk scripts; run it from the project root after `make install`,
with wrk, PostgreSQL and Redis), drives it with wrk at 16 connections, and divides the
worker's CPU time (user + system, from /proc) by the requests it answered. Throughput on a
shared 2-core machine swings by a fifth between runs; CPU per request moves by a few
percent, so it is the figure to compare before and after a change to the hot path
(docs/decisions.md, "Performance"). For `trade.lua` the figure is per quote→close pair.
"""

from __future__ import annotations

import argparse
import http.server
import json
import os
import secrets
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

from bench.trading import write_config  # noqa: E402

OTC = ROOT / ".venv" / "bin" / "otc"


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--loads", default="quote.lua,trade.lua")
    parser.add_argument("--seconds", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--reps", type=int, default=3, help="wrk runs per load")
    args = parser.parse_args()
    tag = secrets.token_hex(3)
    database, namespace = f"cpu_per_request_{tag}", f"cpr{tag}"
    spot = http.server.ThreadingHTTPServer(("127.0.0.1", 0), sbs.Spot)
    threading.Thread(target=spot.serve_forever, daemon=True).start()
    work = Path(tempfile.mkdtemp(prefix="cpu-per-request-"))
    server = None
    try:
        sbs.psql(f"CREATE DATABASE {database}")
        port = sbs.free_port()
        # bench/trading.py's configuration, with side_by_side.py's one worker and stand-in feed.
        cfg = write_config(work, argparse.Namespace(workers=1), port, f"{sbs.PG}/{database}", namespace,
                           {"spot_valorpro": {"base_url": f"http://127.0.0.1:{spot.server_address[1]}",
                                              "token": "cpu-per-request"}},
                           store_url="redis://127.0.0.1:6379/14")
        subprocess.run([str(OTC), "migrate", "--config", str(cfg)], cwd=ROOT, check=True, capture_output=True)
        made = subprocess.run([str(OTC), "client", "create", "--name", "cpu", "--tier", "T1", "--config", str(cfg)],
                              cwd=ROOT, check=True, capture_output=True, text=True)
        log = work / "serve.log"
        server = subprocess.Popen([str(OTC), "serve", "--config", str(cfg)], cwd=ROOT, stdout=log.open("wb"),
                                  stderr=subprocess.STDOUT, start_new_session=True)
        sbs.wait_ready(f"http://127.0.0.1:{port}/health/ready", server, log)
        time.sleep(2)  # the first spot reads
        _, body = sbs.post(f"http://127.0.0.1:{port}/v1/auth/login", {"apiKey": json.loads(made.stdout)["apiKey"]})
        children = [int(p) for p in subprocess.run(["pgrep", "-P", str(server.pid)], capture_output=True,
                                                   text=True).stdout.split()]
        for load in args.loads.split(","):
            figures = []
            for _ in range(args.reps):
                before = {pid: cpu_seconds(pid) for pid in children}
                answered = sbs.wrk(load, port, body["token"], 16, args.seconds)
                used = max(cpu_seconds(pid) - before[pid] for pid in children)  # the worker is the busiest child
                figures.append(1e6 * used / max(answered.get("quotes/s", 0) * args.seconds, 1))
                print(f"{load:10s} {answered['line']}", flush=True)
            print(f"{load:10s} worker CPU per {'pair' if load == 'trade.lua' else 'request'} (µs): "
                  f"{' '.join(f'{f:.0f}' for f in figures)}; median {sorted(figures)[len(figures) // 2]:.0f}", flush=True)
    finally:
        sbs.stop(server)
        spot.shutdown()
        subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-c", f"DROP DATABASE IF EXISTS {database}"],
                       capture_output=True)
        subprocess.run(["redis-cli", "-n", "14", "EVAL",
                        "for _, k in ipairs(redis.call('KEYS', ARGV[1])) do redis.call('DEL', k) end", "0",
                        f"{namespace}:*"], capture_output=True)


if __name__ == "__main__":
    main()
