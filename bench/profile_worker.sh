#!/usr/bin/env bash
# Where one `otc serve` worker spends its CPU under the side-by-side load (not a test).
#
#   bash bench/profile_worker.sh [quote.lua|trade.lua] [seconds]
#
# Runs ../shared/bench/side_by_side.py for one round of LOAD (1 worker), samples the busiest
# child of `otc serve` with py-spy while wrk drives it, and prints the functions by inclusive
# and by own share of the samples. Needs what side_by_side.py needs (wrk, node, PostgreSQL,
# Redis) and py-spy (`.venv/bin/pip install py-spy`). ROWS=N prints N functions per table;
# KEEP_RAW=path keeps py-spy's raw samples there; RATE=N samples N times a second (100).
set -euo pipefail
cd "$(dirname "$0")/.."
LOAD=${1:-quote.lua}
SECONDS_SAMPLED=${2:-6}
RAW=$(mktemp --suffix=.raw)
LOG=$(mktemp --suffix=.log)
python3 ../shared/bench/side_by_side.py --workers 1 --rounds 1 --duration 12 --loads "$LOAD" > "$LOG" 2>&1 &
BENCH=$!
for _ in $(seq 1 900); do pgrep -f "wrk -t1" > /dev/null && break; sleep 0.1; done
sleep 2
MAIN=$(pgrep -f "otc serve --config" | head -1)
# The child that used the most CPU over the last second (ps's pcpu is a lifetime average).
ticks() { for pid in $(pgrep -P "$MAIN"); do echo "$pid $(awk '{print $14 + $15}' "/proc/$pid/stat" 2>/dev/null || echo 0)"; done; }
BEFORE=$(ticks); sleep 1; AFTER=$(ticks)
WORKER=$(join <(sort <<< "$BEFORE") <(sort <<< "$AFTER") | awk '{print $3 - $2, $1}' | sort -rn | head -1 | awk '{print $2}')
.venv/bin/py-spy record --pid "$WORKER" -d "$SECONDS_SAMPLED" -r ${RATE:-100} -f raw -o "$RAW" --nonblocking > /dev/null 2>&1
wait "$BENCH"
.venv/bin/python - "$RAW" <<'PY'
import collections
import os
import sys


def name(frame: str) -> str:
    function, _, where = frame.partition(" (")
    return f"{function} {where.split(':')[0].rsplit('/', 1)[-1]}".strip()


inclusive, own, total = collections.Counter(), collections.Counter(), 0
for line in open(sys.argv[1]):
    stack, _, count = line.rstrip().rpartition(" ")
    if not stack:
        continue
    frames, weight = stack.split(";"), int(count)
    total += weight
    for frame in {name(f) for f in frames}:
        inclusive[frame] += weight
    own[name(frames[-1])] += weight
print(f"samples {total}")
for title, counter, rows in (("inclusive", inclusive, int(os.environ.get("ROWS", 45))), ("own", own, int(os.environ.get("ROWS", 30)))):
    print(f"== {title}")
    for frame, weight in counter.most_common(rows):
        print(f"{100 * weight / max(total, 1):5.1f}% {frame}")
PY
grep -A12 "^medians" "$LOG"
if [ -n "${KEEP_RAW:-}" ]; then cp "$RAW" "$KEEP_RAW"; fi
rm -f "$RAW" "$LOG"
