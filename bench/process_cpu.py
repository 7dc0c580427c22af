"""The CPU every process spends per answered request, for the desk and for the peer, in the
same side-by-side rounds (not a test).

    .venv/bin/python bench/process_cpu.py [--workers 1] [--rounds 3] [--load quote.lua]

Runs ../shared/bench/side_by_side.py (from the project root, after `make install`, with what it
needs) and reads /proc every half second while it runs: the CPU time (user + system) of the
desk's workers, the peer's node process, PostgreSQL, Redis and wrk. Each wrk run is one
server's round; its first and last half second are left out, and the CPU of the rest is
divided by the requests that round answered (the rate side_by_side prints). It prints, per
server, the median over the rounds of each process's CPU per request and of the main
process's busy share: whether one server answers more because it spends less, or because it
waits less, and what its quote costs the processes it shares the machine with.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.cpu_per_request import cpu_seconds  # noqa: E402

SIDE_BY_SIDE = ROOT.parent / "shared" / "bench" / "side_by_side.py"
INTERVAL = 0.5
KINDS = ("worker", "node", "postgres", "redis", "wrk")


def kind(command: str) -> str | None:
    program = command.split(" ", 1)[0].rsplit("/", 1)[-1]
    if program == "wrk":
        return "wrk"
    if program.startswith("redis-server"):
        return "redis"
    if program.startswith("postgres"):
        return "postgres"
    if program == "node":
        return "node"
    if "multiprocessing.spawn" in command or "spawn_main" in command:
        return "worker"  # a Sanic worker of `otc serve`
    return None


def sample() -> tuple[dict[int, tuple[str, float]], str | None]:
    """CPU seconds of each process of interest, and the URL wrk is driving (None: no round)."""
    found: dict[int, tuple[str, float]] = {}
    url = None
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            command = Path(f"/proc/{name}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            which = kind(command)
            if which is None:
                continue
            found[int(name)] = (which, cpu_seconds(int(name)))
        except OSError:
            continue
        if which == "wrk":
            url = command.split()[-1]
    return found, url


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--load", default="quote.lua")
    parser.add_argument("--duration", type=int, default=8)
    args = parser.parse_args()
    log = tempfile.TemporaryFile("w+")
    bench = subprocess.Popen(
        [sys.executable, str(SIDE_BY_SIDE), "--workers", str(args.workers), "--rounds", str(args.rounds),
         "--loads", args.load, "--duration", str(args.duration)],
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, text=True,
    )
    # One entry per wrk run: the URL it drove and the CPU of each kind over its whole intervals.
    runs: list[tuple[str, list[dict[str, float]]]] = []
    before, _ = sample()
    while bench.poll() is None:
        time.sleep(INTERVAL)
        now, url = sample()
        used = dict.fromkeys(KINDS, 0.0)
        for pid, (which, seconds) in now.items():
            used[which] += seconds - before.get(pid, (which, seconds))[1]
        before = now
        if url is None:
            continue
        if not runs or runs[-1][0] != url:
            runs.append((url, []))
        runs[-1][1].append(used)
    log.seek(0)
    text = log.read()
    runs = [run for run in runs if len(run[1]) >= 3]  # a URL read while wrk was starting or ending
    results = re.findall(r"round \d+\s+\S+\s+(project|peer)\s+RESULT quotes/s=([0-9.]+)", text)
    if len(results) != len(runs):
        seen = ", ".join(f"{url} ({len(intervals)})" for url, intervals in runs)
        sys.exit(f"{len(results)} results for {len(runs)} wrk runs seen ({seen}):\n{text}")
    figures: dict[str, dict[str, list[float]]] = {"project": {}, "peer": {}}
    for (server, rate), (_, intervals) in zip(results, runs, strict=True):
        inside = intervals[1:-1]  # the first and last interval hold start-up and wind-down
        answered = float(rate) * INTERVAL * len(inside)
        if not inside or not answered:
            continue
        main_kind = "worker" if server == "project" else "node"
        for which in KINDS:
            spent = sum(interval[which] for interval in inside)
            figures[server].setdefault(which, []).append(1e6 * spent / answered)
        figures[server].setdefault("busy", []).append(
            100 * sum(interval[main_kind] for interval in inside) / (INTERVAL * len(inside) * args.workers))
        figures[server].setdefault("rate", []).append(float(rate))
    print(text.rsplit("medians", 1)[0].rstrip())
    print(f"\nmedians over {args.rounds} round(s) of {args.load}, {args.workers} worker(s); CPU µs per request:")
    print(f"{'':8s} {'req/s':>7s} {'busy %':>7s} " + " ".join(f"{which:>9s}" for which in KINDS))
    for server, columns in figures.items():
        if not columns:
            continue
        cells = " ".join(f"{statistics.median(columns[which]):9.0f}" for which in KINDS)
        print(f"{server:8s} {statistics.median(columns['rate']):7.0f} {statistics.median(columns['busy']):7.0f} {cells}")
    print("(worker: the desk's Sanic workers; node: the peer's process; busy: that main process's "
          "CPU over the round's time, per worker)")


if __name__ == "__main__":
    main()
