#!/usr/bin/env bash
# paired.sh - our balancer and the bare ReverseProxy under load at the same
# time. Both proxies and the two backends share CPU SUT_CPU; two wrk
# processes (one per proxy, each -c CONNS) share CPU LOAD_CPU. The proxies
# so live through the same machine state, which the harness's back-to-back
# runs do not: on a noisy VM its rounds vary by 10-20%, while a paired
# ratio varies by a few percent. The ratio is proxy CPU per request (from
# /proc/PID/stat), ours / bare: above 1.00 ours costs more. Read and write
# calls per request (from /proc/PID/io) are printed beside it, and each
# wrk's p50 and p99 latency (wrk --latency, in microseconds): with CONNS=1
# that compares one sequential client of each proxy in the same machine state.
#
# Called by scripts/bench.sh (MODE=paired), which builds the binaries:
#
#   paired.sh BACKEND_BIN BARE_BIN OURS_BIN OURS_ARGS...
#
# Environment: GENS (process generations: every proxy and backend is
# restarted, and the two wrk start in the other order), ROUNDS (measured
# runs per generation and workload), DURATION (seconds per run), WARMUP,
# CONNS, WORKLOADS ("name:path ..."), SUT_CPU, LOAD_CPU.
# Ports: 19101-19102 (backends), 19202 (bare), 19220 (ours), loopback only.
set -euo pipefail

BACKEND_BIN=$1 BARE_BIN=$2 OURS_BIN=$3
shift 3
GENS=${GENS:-3} ROUNDS=${ROUNDS:-3} DURATION=${DURATION:-5} WARMUP=${WARMUP:-1}
CONNS=${CONNS:-50} SUT_CPU=${SUT_CPU:-0} LOAD_CPU=${LOAD_CPU:-1} BIGSIZE=${BIGSIZE:-16384}
WORKLOADS=${WORKLOADS:-"64B:/ 16KiB:/big"}
BACKENDS=http://127.0.0.1:19101,http://127.0.0.1:19102

pids=()
stop() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  pids=()
}
trap stop EXIT

wait_port() { # port: wait up to 5 s for an answer
  for _ in $(seq 50); do
    curl -fso /dev/null "http://127.0.0.1:$1/" && return 0
    sleep 0.1
  done
  echo "paired.sh: nothing answers on port $1" >&2
  return 1
}

# snap PID -> "cpu_ticks read_calls write_calls"
snap() {
  echo "$(awk '{print $14 + $15}' "/proc/$1/stat") $(awk '/^syscr/ {r = $2} /^syscw/ {w = $2} END {print r, w}' "/proc/$1/io")"
}

# pct WRK_OUTPUT -> "p50_us p99_us" from wrk --latency's distribution
pct() {
  awk '$1 == "50%" || $1 == "99%" {
    v = $2; u = v; sub(/^[0-9.]+/, "", u); v += 0
    if (u == "ms") v *= 1e3; else if (u == "s") v *= 1e6; else if (u == "m") v *= 6e7
    p[$1] = v
  } END { print p["50%"] + 0, p["99%"] + 0 }' "$1"
}

tick=$(getconf CLK_TCK)
printf '%-6s %3s %3s %9s %9s %11s %11s %7s %15s %15s %8s %8s %8s %8s\n' workload gen run "bare r/s" "ours r/s" "bare us/req" "ours us/req" "ratio" "bare rd/wr/req" "ours rd/wr/req" "bare p50" "ours p50" "bare p99" "ours p99"
for gen in $(seq "$GENS"); do
  taskset -c "$SUT_CPU" "$BACKEND_BIN" -ports 19101,19102 -size 64 -bigsize "$BIGSIZE" -delay 0 >/dev/null 2>&1 &
  pids+=($!)
  wait_port 19101
  taskset -c "$SUT_CPU" "$BARE_BIN" -mode tuned -listen 127.0.0.1:19202 -backends "$BACKENDS" >/dev/null 2>&1 &
  bare=$!
  taskset -c "$SUT_CPU" "$OURS_BIN" -listen 127.0.0.1:19220 -backends "$BACKENDS" "$@" >/dev/null 2>&1 &
  ours=$!
  pids+=("$bare" "$ours")
  wait_port 19202
  wait_port 19220
  for wl in $WORKLOADS; do
    name=${wl%%:*} path=${wl#*:}
    for run in $(seq "$ROUNDS"); do
      # Alternate which wrk starts first.
      if [ $(((gen + run) % 2)) = 0 ]; then first=19202 second=19220; else first=19220 second=19202; fi
      taskset -c "$LOAD_CPU" wrk -t1 -c"$CONNS" -d"${WARMUP}s" "http://127.0.0.1:$first$path" >/dev/null &
      w=$!
      taskset -c "$LOAD_CPU" wrk -t1 -c"$CONNS" -d"${WARMUP}s" "http://127.0.0.1:$second$path" >/dev/null
      wait "$w"
      read -r bc0 br0 bw0 <<<"$(snap "$bare")"
      read -r oc0 or0 ow0 <<<"$(snap "$ours")"
      out1=$(mktemp) out2=$(mktemp)
      taskset -c "$LOAD_CPU" wrk -t1 -c"$CONNS" -d"${DURATION}s" --latency "http://127.0.0.1:$first$path" >"$out1" &
      w=$!
      taskset -c "$LOAD_CPU" wrk -t1 -c"$CONNS" -d"${DURATION}s" --latency "http://127.0.0.1:$second$path" >"$out2"
      wait "$w"
      read -r bc1 br1 bw1 <<<"$(snap "$bare")"
      read -r oc1 or1 ow1 <<<"$(snap "$ours")"
      if [ "$first" = 19202 ]; then bout=$out1 oout=$out2; else bout=$out2 oout=$out1; fi
      nb=$(awk '/requests in/ {print $1}' "$bout") no=$(awk '/requests in/ {print $1}' "$oout")
      read -r b50 b99 <<<"$(pct "$bout")"
      read -r o50 o99 <<<"$(pct "$oout")"
      rm -f "$out1" "$out2"
      awk -v w="$name" -v g="$gen" -v r="$run" -v d="$DURATION" -v t="$tick" -v nb="$nb" -v no="$no" \
        -v b50="$b50" -v b99="$b99" -v o50="$o50" -v o99="$o99" \
        -v bc=$((bc1 - bc0)) -v oc=$((oc1 - oc0)) -v br=$((br1 - br0)) -v bw=$((bw1 - bw0)) -v orr=$((or1 - or0)) -v ow=$((ow1 - ow0)) \
        'BEGIN {
          if (nb <= 0 || no <= 0) { printf "%-6s %3d %3d no requests counted\n", w, g, r; exit }
          cb = bc / t * 1e6 / nb; co = oc / t * 1e6 / no
          printf "%-6s %3d %3d %9.0f %9.0f %11.1f %11.1f %7.3f %7.2f/%-7.2f %7.2f/%-7.2f %8.0f %8.0f %8.0f %8.0f\n", w, g, r, nb / d, no / d, cb, co, co / cb, br / nb, bw / nb, orr / no, ow / no, b50, o50, b99, o99
        }'
    done
  done
  stop
done
