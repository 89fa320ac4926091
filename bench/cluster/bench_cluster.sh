#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Multi-host bench (needs root; network namespaces via
# scripts/cluster/cluster.sh, wrk running on h0):
#   1. latency of a no-op call: 'granary serve' (local) vs planner ->
#      worker (remote), both over HTTP from h0, one connection;
#   2. throughput of a call that burns ~SPIN_US of CPU (default 1000) with
#      1 vs 2 worker hosts of 1 slot each.
# Ends with "RESULT remote_over_local_latency <ratio>" and
# "RESULT throughput_2w_over_1w <ratio>".
#   bench_cluster.sh GRANARY WASM
set -euo pipefail
G=$1
WASM=$2
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$HERE/../.." && pwd)
CL=$SRC/scripts/cluster/cluster.sh
NS=$SRC/scripts/cluster/netns.sh
SECS=${SECS:-5}
SPIN_US=${SPIN_US:-1000}
[[ $(id -u) == 0 ]] || { echo "bench_cluster: needs root" >&2; exit 1; }
command -v wrk >/dev/null || { echo "bench_cluster: needs wrk" >&2; exit 1; }
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY
export GR_NETNS_PREFIX=grb$$ GR_NETNS_SUBNET=10.80.$(($$ % 250))
export GR_CLUSTER_DIR=$(mktemp -d /tmp/granary-bench-cluster.XXXXXX)
serve_pid=
cleanup() {
    [[ -n $serve_pid ]] && kill "$serve_pid" 2>/dev/null || true
    "$CL" down || true
}
trap cleanup EXIT

to_us() {
    awk -v v="$1" 'BEGIN { n = v + 0; u = v; sub(/^[0-9.]+/, "", u);
        if (u == "ms") n *= 1000; else if (u == "s") n *= 1000000;
        printf "%.0f", n }'
}
# wrkrun CONNS BODY URL: sets rps, p50 (us)
wrkrun() {
    local out
    out=$("$NS" exec h0 env TOKEN="$GRANARY_TOKEN" BODY="$2" \
        wrk -t "$1" -c "$1" -d "${SECS}s" --latency -s "$HERE/post.lua" "$3")
    rps=$(awk '/^Requests\/sec:/ { printf "%.0f", $2 }' <<<"$out")
    p50=$(to_us "$(awk '$1 == "50%" { print $2 }' <<<"$out")")
    local bad
    bad=$(awk '/Non-2xx/ { print $NF }' <<<"$out")
    [[ -z $bad ]] || echo "  warning: $bad non-2xx answers" >&2
}
warm() { # URL BODY: a few calls so every worker has a warm Faaslet
    local pids=()
    for _ in 1 2 3 4; do
        "$NS" exec h0 curl -sf -o /dev/null -H "Authorization: Bearer $GRANARY_TOKEN" \
            --data-binary "$2" "$1" &
        pids+=($!)
    done
    wait "${pids[@]}" || true
}

echo "bench_cluster: $(nproc) CPUs; wrk on h0, ${SECS}s per run"

# --- remote: planner on h1, one worker (1 slot) on h2 ---
eval "$("$CL" up "$G" 1 1)"
"$NS" exec h0 env GRANARY_SERVER="$GRANARY_SERVER" GRANARY_TOKEN="$GRANARY_TOKEN" \
    "$G" upload bench/cg "$WASM" >/dev/null
URL=$GRANARY_SERVER/f/bench/cg
warm "$URL" x
wrkrun 1 x "$URL"
remote_p50=$p50 remote_rps=$rps
wrkrun 4 "spin:$SPIN_US" "$URL"
tp1=$rps

# --- 2 workers ---
"$CL" down
eval "$("$CL" up "$G" 2 1)"
"$NS" exec h0 env GRANARY_SERVER="$GRANARY_SERVER" GRANARY_TOKEN="$GRANARY_TOKEN" \
    "$G" upload bench/cg "$WASM" >/dev/null
URL=$GRANARY_SERVER/f/bench/cg
warm "$URL" "spin:$SPIN_US"
wrkrun 4 "spin:$SPIN_US" "$URL"
tp2=$rps

# --- local: granary serve (1 slot) on h2, same client path ---
addr=$("$NS" addr h2)
mkdir -p "$GR_CLUSTER_DIR/serve"
TOKEN_LOCAL=$(GRANARY_DATA= "$G" token create bench --data "$GR_CLUSTER_DIR/serve")
"$NS" exec h2 env GRANARY_DATA= "$G" serve --listen "$addr:9090" --slots 1 \
    --data "$GR_CLUSTER_DIR/serve" --cache "$GR_CLUSTER_DIR/serve/cache" --quiet \
    >"$GR_CLUSTER_DIR/serve.log" 2>&1 &
serve_pid=$!
sleep 0.5
"$NS" exec h0 env GRANARY_SERVER="http://$addr:9090" GRANARY_TOKEN="$TOKEN_LOCAL" \
    "$G" upload bench/cg "$WASM" >/dev/null
GRANARY_TOKEN=$TOKEN_LOCAL
warm "http://$addr:9090/f/bench/cg" x
wrkrun 1 x "http://$addr:9090/f/bench/cg"
local_p50=$p50 local_rps=$rps

printf 'no-op latency, 1 connection: local p50 %s us (%s calls/s), remote p50 %s us (%s calls/s)\n' \
    "$local_p50" "$local_rps" "$remote_p50" "$remote_rps"
printf 'spin:%s throughput, 4 connections: 1 worker %s calls/s, 2 workers %s calls/s\n' \
    "$SPIN_US" "$tp1" "$tp2"
echo "note: each call burns ~${SPIN_US} us of CPU so that worker slots, not the"
echo "      planner, saturate; this machine has $(nproc) CPUs shared by wrk, the"
echo "      planner and the workers, which caps the 2-worker gain below 2x."
awk -v r="$remote_p50" -v l="$local_p50" 'BEGIN { printf "RESULT remote_over_local_latency %.2f\n", r / l }'
awk -v a="$tp2" -v b="$tp1" 'BEGIN { printf "RESULT throughput_2w_over_1w %.2f\n", a / b }'
