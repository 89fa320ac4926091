#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Serve bench: sync invoke throughput of a no-op function over HTTP
# keep-alive with wrk, against a baseline of GET /healthz on the same
# server (the HTTP stack alone), both through post.lua so both pay the same
# per-answer cost. Prints req/s, p50/p99 latency, the ratio, and a final
# "RESULT http_req_per_s <n> req/s" line; any non-200 answer or socket
# error on either side fails the bench (exit 1, no RESULT).
#   bench_http.sh GRANARY NOOP.wasm [SECONDS] [THREADS] [CONNECTIONS]
set -eu
GRANARY=$1
WASM=$2
SECS=${3:-10}
THREADS=${4:-2}
CONNS=${5:-64}
HERE=$(cd "$(dirname "$0")" && pwd)

command -v wrk >/dev/null || { echo "bench_http: wrk not installed" >&2; exit 1; }
DIR=$(mktemp -d /tmp/granary-bench-http.XXXXXX)
PID=
cleanup() {
    if [ -n "$PID" ]; then kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; fi
    rm -rf "$DIR"
}
trap cleanup EXIT INT TERM

TOKEN=$("$GRANARY" token create bench --data "$DIR")
export TOKEN
# --quiet: no access log line per request (GRANARY_LOG still wins).
"$GRANARY" serve --listen 127.0.0.1:0 --data "$DIR" --cache "$DIR/cache" \
    --port-file "$DIR/port" --quiet --max-sync "$CONNS" \
    ${GRANARY_BENCH_SERVE_ARGS:-} \
    >"$DIR/server.log" 2>&1 &
PID=$!
for _ in $(seq 100); do [ -s "$DIR/port" ] && break; sleep 0.1; done
[ -s "$DIR/port" ] || { cat "$DIR/server.log" >&2; exit 1; }
PORT=$(cat "$DIR/port")
URL=http://127.0.0.1:$PORT
GRANARY_SERVER=$URL GRANARY_TOKEN=$TOKEN "$GRANARY" upload bench/noop "$WASM" >/dev/null
# One warm-up call (cold start) before measuring.
curl -sf -o /dev/null -X POST -H "Authorization: Bearer $TOKEN" "$URL/f/bench/noop"

# wrk --latency prints "50%  123.00us"; normalise to microseconds.
to_us() {
    awk -v v="$1" 'BEGIN {
        n = v + 0; u = v; sub(/^[0-9.]+/, "", u);
        if (u == "ms") n *= 1000; else if (u == "s") n *= 1000000;
        printf "%.0f", n }'
}
run() { # name url [script]
    name=$1; url=$2; shift 2
    out=$(wrk -t "$THREADS" -c "$CONNS" -d "${SECS}s" --latency "$@" "$url")
    rps=$(echo "$out" | awk '/^Requests\/sec:/ { printf "%.0f", $2 }')
    p50=$(to_us "$(echo "$out" | awk '$1 == "50%" { print $2 }')")
    p99=$(to_us "$(echo "$out" | awk '$1 == "99%" { print $2 }')")
    bad=$(echo "$out" | awk '$1 == "BAD_ANSWERS" { print $2 }')
    sockerr=$(echo "$out" | awk '$1 == "SOCKET_ERRORS" { print $2 }')
    printf '%-22s %10s req/s   p50 %6s us   p99 %6s us   non-200 %s   socket errors %s\n' \
        "$name" "$rps" "$p50" "$p99" "${bad:-?}" "${sockerr:-?}"
    if [ "${bad:-x}" != 0 ] || [ "${sockerr:-x}" != 0 ] || [ -z "$rps" ]; then
        echo "$out" >&2
        echo "bench_http: $name: failed answers, no RESULT" >&2
        exit 1
    fi
    eval "${name}_rps=$rps"
}

echo "bench_http: wrk -t$THREADS -c$CONNS -d${SECS}s, $(nproc) CPUs, keep-alive"
export METHOD=GET
run healthz "$URL/healthz" -s "$HERE/post.lua"
METHOD=POST
run invoke "$URL/f/bench/noop" -s "$HERE/post.lua"
awk -v a="$invoke_rps" -v b="$healthz_rps" 'BEGIN {
    printf "invoke / healthz       %10.2f  (1.00 = the HTTP stack alone)\n", a / b }'
echo "RESULT http_req_per_s $invoke_rps req/s"
