#!/usr/bin/env bash
# soak.sh - steady load on examples/bench for a bounded time, sampling the
# balancer process's memory (RSS), threads and open file descriptors, to
# show whether anything grows. Not run by CI; run it once and read the
# table:
#
#   scripts/soak.sh                      # 10 minutes, 50 connections, 64 B and 16 KiB alternating
#   MINUTES=2 CONNS=20 scripts/soak.sh
#
# Each sample: the seconds elapsed, requests served so far, VmRSS and
# VmHWM (KiB), threads, open fds. The first minute is warm-up; the last
# line compares the last sample with the one at one minute.
#
# Needs the load harness's backend (LBBENCH_DIR, default ../shared/bench),
# wrk, curl and taskset. Ports 19401-19402 (backends) and 19420 (balancer),
# loopback only; every process is started and stopped by PID.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
export PATH="/usr/local/go/bin:$PATH"
MINUTES=${MINUTES:-10} CONNS=${CONNS:-50} SAMPLE=${SAMPLE:-30}
RUNDIR=${RUNDIR:-/tmp/lbsoak}
if [ -z "${LBBENCH_DIR:-}" ]; then
  for d in "$REPO/../shared/bench" /work/shared/bench; do
    if [ -d "$d/backend" ]; then LBBENCH_DIR=$(cd "$d" && pwd); break; fi
  done
fi
[ -n "${LBBENCH_DIR:-}" ] || { echo "soak.sh: the load harness was not found; set LBBENCH_DIR" >&2; exit 1; }
for c in wrk curl taskset; do command -v "$c" >/dev/null || { echo "soak.sh: $c not found" >&2; exit 1; }; done

mkdir -p "$RUNDIR"
(cd "$REPO" && go build -o "$RUNDIR/balancer-bench" ./examples/bench)
(cd "$LBBENCH_DIR" && go build -o "$RUNDIR/backend" ./backend)

pids=()
stop() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
}
trap stop EXIT

"$RUNDIR/backend" -ports 19401,19402 -size 64 -bigsize 16384 -delay 0 >/dev/null 2>&1 &
pids+=($!)
"$RUNDIR/balancer-bench" -listen 127.0.0.1:19420 -backends http://127.0.0.1:19401,http://127.0.0.1:19402 >/dev/null 2>&1 &
lb=$!
pids+=("$lb")
for _ in $(seq 50); do curl -fso /dev/null http://127.0.0.1:19420/ && break; sleep 0.1; done

status() { awk -v k="$1" '$1 == k":" {print $2}' "/proc/$lb/status"; }
sample() { # elapsed requests
  printf '%6d %10d %8s %8s %4s %4s\n' "$1" "$2" "$(status VmRSS)" "$(status VmHWM)" "$(status Threads)" "$(ls "/proc/$lb/fd" | wc -l)"
}

total=0
end=$((MINUTES * 60))
printf '%6s %10s %8s %8s %4s %4s\n' seconds requests "rss KiB" "hwm KiB" thr fds
sample 0 0
t=0 i=0 ref=""
while [ "$t" -lt "$end" ]; do
  path=/
  if [ $((i % 2)) = 1 ]; then path=/big; fi
  n=$(wrk -t1 -c"$CONNS" -d"${SAMPLE}s" "http://127.0.0.1:19420$path" | awk '/requests in/ {print $1}')
  total=$((total + n)) t=$((t + SAMPLE)) i=$((i + 1))
  line=$(sample "$t" "$total")
  echo "$line"
  if [ -z "$ref" ] && [ "$t" -ge 60 ]; then ref=$line; fi
done
read -r _ _ rss0 _ thr0 fd0 <<<"$ref"
read -r _ _ rss1 _ thr1 fd1 <<<"$line"
echo "after warm-up (1 min) to the end: RSS $rss0 -> $rss1 KiB ($((rss1 - rss0)) KiB), threads $thr0 -> $thr1, fds $fd0 -> $fd1"
