#!/usr/bin/env bash
# bench.sh - our balancer beside the bare, tuned httputil.ReverseProxy, in one
# run of the shared load harness (lbbench: wrk against two Go backends on
# 127.0.0.1, proxy and backends pinned to CPU 0, wrk to CPU 1), for a 64 B and
# a 16 KiB body. Prints req/s, p50, p99 and proxy CPU per request of both rows
# and the ratios ours / bare (issue 9's targets: req/s >= 1.0x, CPU/req <=
# 1.0x, same run).
#
# Not run by CI (minutes of load). Run it from the repository:
#
#   scripts/bench.sh                          # ROUNDS=2 DURATION=5: about 2 minutes
#   ROUNDS=3 DURATION=10 scripts/bench.sh     # the harness baseline's settings: about 4 minutes
#   MODE=profile scripts/bench.sh             # CPU profiles of both proxies under the same load
#   MODE=paired scripts/bench.sh              # both proxies under load at once: CPU/request and req/s ratios, ~2 min
#
# Our row is examples/bench: byrequests, stickysession JSESSIONID (wrk sends
# no cookie, so every request takes the sticky lookup and is scheduled, as a
# client's first request is) and a GET health check of "/" every 5 s on both
# members. The bare row is the harness's go-tuned (ReverseProxy, Rewrite =
# SetURL + SetXForwarded, tuned http.Transport, 32 KiB BufferPool).
#
# Environment (besides the harness's own knobs, which pass through: WARMUP,
# CONNS, THREADS, COOLDOWN, PIN, LOAD_CPUS, SUT_CPUS, WORKLOADS, TW_DRAIN):
#
#   ROUNDS=2 DURATION=5      rounds (even rounds run the rows in reverse order) and
#                            seconds per measured wrk run
#   METHOD=byrequests        our row's -method
#   STICKY=JSESSIONID        our row's -sticky ("" for none; no single quotes)
#   HC=GET                   our row's -hc ("none" for no health checks)
#   NAME=balancer            our row's name
#   MODE=compare|profile|paired
#                            paired: scripts/bench/paired.sh, both proxies under load
#                            at the same time (GENS=3 process generations, ROUNDS=3
#                            runs of each workload in each); the tightest measure of
#                            CPU per request on a noisy machine.
#                            profile: ROUNDS=1, both rows write a CPU profile and
#                            the script prints `go tool pprof -top` (top 30 by flat
#                            and by cum) for each; profiling costs a little CPU, so
#                            take ratios from a compare run
#   LBBENCH_DIR              the harness (default: ../shared/bench beside the
#                            repository, else /work/shared/bench); it is only read
#   GO_BUILD_FLAGS           extra flags for building examples/bench (e.g. -overlay FILE)
#   OUTDIR                   where the harness writes results (default
#                            /tmp/lbbench-results/balancer-<UTC time>)
#
# Needs Go, wrk, curl, ss, taskset and GNU time; run as root it installs the
# missing ones with apt-get (Debian packages wrk curl iproute2 util-linux time).
# Uses ports 19101-19102 (backends), 19202 (go-tuned), 19220-19221 (our rows),
# and /tmp/lbbench for binaries, pid files and profiles.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
HERE="$REPO/scripts/bench"
export PATH="/usr/local/go/bin:$PATH"

MODE=${MODE:-compare}
METHOD=${METHOD:-byrequests}
STICKY=${STICKY-JSESSIONID}
HC=${HC:-GET}
NAME=${NAME:-balancer}
RUNDIR=${RUNDIR:-/tmp/lbbench}
export DURATION=${DURATION:-5}
case "$MODE" in
  compare) export ROUNDS=${ROUNDS:-2} ;;
  profile) export ROUNDS=${ROUNDS:-1} ;;
  paired) export ROUNDS=${ROUNDS:-3} ;;
  *) echo "bench.sh: MODE $MODE: must be compare, profile or paired" >&2; exit 2 ;;
esac
case "$STICKY" in *"'"*) echo "bench.sh: STICKY $STICKY: must not contain a single quote" >&2; exit 2 ;; esac

if [ -z "${LBBENCH_DIR:-}" ]; then
  for d in "$REPO/../shared/bench" /work/shared/bench; do
    if [ -x "$d/run.sh" ]; then LBBENCH_DIR=$(cd "$d" && pwd); break; fi
  done
fi
[ -n "${LBBENCH_DIR:-}" ] && [ -x "$LBBENCH_DIR/run.sh" ] || {
  echo "bench.sh: the load harness (run.sh) was not found; set LBBENCH_DIR" >&2; exit 1; }

# ---------------------------------------------------------------- tools
need=()
command -v go >/dev/null || { echo "bench.sh: go not found (looked in PATH and /usr/local/go/bin)" >&2; exit 1; }
command -v wrk >/dev/null || need+=(wrk)
command -v curl >/dev/null || need+=(curl)
command -v ss >/dev/null || need+=(iproute2)
command -v taskset >/dev/null || need+=(util-linux)
[ -x /usr/bin/time ] || need+=(time)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "bench.sh: installing ${need[*]}" >&2
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  else
    echo "bench.sh: missing Debian packages: ${need[*]} (install them, or run as root)" >&2; exit 1
  fi
fi

# ---------------------------------------------------------------- build
mkdir -p "$RUNDIR/bin"
OURS_BIN="$RUNDIR/bin/balancer-bench"
# shellcheck disable=SC2086 # GO_BUILD_FLAGS is a list of flags
(cd "$REPO" && go build ${GO_BUILD_FLAGS:-} -o "$OURS_BIN" ./examples/bench)

ours_cmd() { # extra arguments -> our row's command line for EXTRA_PROXIES
  printf "%s -listen {LISTEN} -backends {BACKENDS} -method %s -sticky '%s' -hc %s%s" \
    "$OURS_BIN" "$METHOD" "$STICKY" "$HC" "${1:+ $1}"
}

if [ "$MODE" = paired ]; then
  (cd "$LBBENCH_DIR" && go build -o "$RUNDIR/bin/backend" ./backend && go build -o "$RUNDIR/bin/goproxy" ./goproxy)
  echo "bench.sh: MODE=paired GENS=${GENS:-3} ROUNDS=$ROUNDS DURATION=$DURATION: both proxies under load at once" >&2
  args=(-method "$METHOD" -sticky "$STICKY" -hc "$HC")
  out=${OUTDIR:-/tmp/lbbench-results/$NAME-paired-$(date -u +%Y%m%dT%H%M%SZ)}
  mkdir -p "$out"
  "$HERE/paired.sh" "$RUNDIR/bin/backend" "$RUNDIR/bin/goproxy" "$OURS_BIN" "${args[@]}" | tee "$out/paired.txt"
  awk -f "$HERE/median.awk" -f "$HERE/paired.awk" "$out/paired.txt"
  echo "runs: $out/paired.txt"
  exit 0
fi

export OUTDIR=${OUTDIR:-/tmp/lbbench-results/$NAME-$(date -u +%Y%m%dT%H%M%SZ)}
export RUNDIR
case "$MODE" in
  compare)
    BARE=go-tuned
    export PROXIES=go-tuned
    export REF=go-tuned
    export EXTRA_PROXIES="$NAME=$(ours_cmd)"
    ;;
  profile)
    BARE=go-tuned-prof
    NAME=$NAME-prof
    BARE_PROF="$RUNDIR/go-tuned.pprof"
    OURS_PROF="$RUNDIR/$NAME.pprof"
    rm -f "$BARE_PROF" "$OURS_PROF"
    export PROXIES=""
    export REF=$BARE
    # $RUNDIR/bin/goproxy is built by run.sh before it starts any proxy.
    export EXTRA_PROXIES="$BARE=$RUNDIR/bin/goproxy -mode tuned -cpuprofile $BARE_PROF -listen {LISTEN} -backends {BACKENDS}
$NAME=$(ours_cmd "-cpuprofile $OURS_PROF")"
    ;;
esac

echo "bench.sh: harness $LBBENCH_DIR, MODE=$MODE ROUNDS=$ROUNDS DURATION=$DURATION, results in $OUTDIR" >&2
printf 'bench.sh: rows: %s\n%s\n' "$BARE" "$EXTRA_PROXIES" >&2
# The harness prints its own summary (ratios to $REF) on stdout; keep it in
# $OUTDIR/summary.md and print ours below.
"$LBBENCH_DIR/run.sh" >/dev/null

echo
echo "== $NAME vs $BARE ($(cat "$OUTDIR/env.txt" | awk -F': ' '/^cpu:/ {print $2}'); medians over $ROUNDS round(s), $DURATION s each)"
awk -F'\t' -v BARE="$BARE" -v OURS="$NAME" -f "$HERE/median.awk" -f "$HERE/ratios.awk" "$OUTDIR/results.tsv"
echo
echo "full harness report: $OUTDIR/summary.md; raw data: $OUTDIR/results.tsv; commands: $OUTDIR/commands.txt"

if [ "$MODE" = profile ]; then
  for pair in "$BARE:$RUNDIR/bin/goproxy:$BARE_PROF" "$NAME:$OURS_BIN:$OURS_PROF"; do
    IFS=: read -r row bin prof <<<"$pair"
    if [ ! -s "$prof" ]; then echo "bench.sh: no profile from $row at $prof" >&2; continue; fi
    cp "$prof" "$OUTDIR/$row.pprof"
    for sort in flat cum; do
      echo
      echo "== $row: go tool pprof -top -nodecount=30 -$sort $bin $prof"
      go tool pprof -top -nodecount=30 "-$sort" "$bin" "$prof" 2>/dev/null
    done
  done
fi
