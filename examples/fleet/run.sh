#!/usr/bin/env bash
# Three gateways and an etcd on loopback: an edit on gw1's balancer-manager
# (member r2 disabled, load factor 5) is in force on gw2 and gw3.
# Needs Go, curl and etcd (Debian: apt-get install etcd-server). Every
# process it starts is stopped by PID when it ends.
set -euo pipefail
cd "$(dirname "$0")"
ETCD_BIN=${ETCD_BIN:-etcd}
BASE=${BASE:-18000} # ports BASE+1.. gateways, BASE+81.. members, BASE+79/80 etcd
tmp=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT

go build -o "$tmp/gateway" .
etcd_client="http://127.0.0.1:$((BASE + 79))"
etcd_peer="http://127.0.0.1:$((BASE + 80))"
"$ETCD_BIN" --name demo --data-dir "$tmp/etcd" \
  --listen-client-urls "$etcd_client" --advertise-client-urls "$etcd_client" \
  --listen-peer-urls "$etcd_peer" --initial-advertise-peer-urls "$etcd_peer" \
  --initial-cluster "demo=$etcd_peer" >"$tmp/etcd.log" 2>&1 &
pids+=($!)

members=()
for i in 1 2 3; do
  "$tmp/gateway" -member "127.0.0.1:$((BASE + 80 + i))" -route "r$i" &
  pids+=($!)
  members+=("http://127.0.0.1:$((BASE + 80 + i))")
done
list=$(IFS=,; echo "${members[*]}")
for i in 1 2 3; do
  "$tmp/gateway" -name "gw$i" -addr "127.0.0.1:$((BASE + i))" -etcd "$etcd_client" -members "$list" 2>"$tmp/gw$i.log" &
  pids+=($!)
done

# Wait (at most 20 s) until the gateways serve.
for i in 1 2 3; do
  for _ in $(seq 100); do
    curl -fs "http://127.0.0.1:$((BASE + i))/fleet" >/dev/null && break
    sleep 0.2
  done
done

# member_of GW: member r2's load factor and flags as the gateway's manager shows them.
member_of() {
  curl -fs "http://127.0.0.1:$((BASE + $1))/balancer-manager?json" | tr -d ' \n' |
    grep -o "{[^{}]*\"url\":\"${members[1]}\"[^{}]*" | grep -o '"loadFactor":[0-9.]*\|"status":"[^"]*"' | tr '\n' ' '
}
echo "before: gw1: $(member_of 1)| gw2: $(member_of 2)| gw3: $(member_of 3)"

echo "edit on gw1's manager: disable r2, load factor 5"
curl -fs -o /dev/null -X POST "http://127.0.0.1:$((BASE + 1))/balancer-manager" -H 'Content-Type: application/json' \
  -d '{"balancer": "app", "nonce": "fleet-demo", "members": [{"url": "'"${members[1]}"'", "loadFactor": 5, "flags": {"D": true}}]}'

ok=0
for _ in $(seq 50); do
  if member_of 2 | grep -q '"loadFactor":5' && member_of 3 | grep -q '"loadFactor":5'; then ok=1; break; fi
  sleep 0.02
done
echo "after:  gw1: $(member_of 1)| gw2: $(member_of 2)| gw3: $(member_of 3)"
echo "gw3's fleet view (who changed what, from where, when):"
curl -fs "http://127.0.0.1:$((BASE + 3))/fleet"
echo "20 requests through gw2 and gw3:"
for _ in $(seq 10); do
  curl -fs "http://127.0.0.1:$((BASE + 2))/"
  curl -fs "http://127.0.0.1:$((BASE + 3))/"
done | sort | uniq -c
if [ "$ok" = 1 ]; then echo "PASS: the edit on gw1 is in force on gw2 and gw3"; else echo "FAIL: the edit did not reach gw2 and gw3 within 1 s"; exit 1; fi
