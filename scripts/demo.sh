#!/usr/bin/env bash
# The README's demo, end to end: compile C to wasm with granary-cc, run a
# WASI command with `granary run`, then start `granary serve`, upload a
# function, invoke it (sync and async) and read its status and metrics.
set -euo pipefail
build=${1:-build}
root=$(cd "$(dirname "$0")/.." && pwd)
g="$root/$build/bin/granary"
cc="$root/sdk/bin/granary-cc"
out=$(mktemp -d)
server=
cleanup() {
    [ -n "$server" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null
    rm -rf "$out"
}
trap cleanup EXIT

echo "== granary-cc: examples/hello/hello.c -> hello.wasm"
"$cc" -O2 -o "$out/hello.wasm" "$root/examples/hello/hello.c"
echo "sandboxed greetings" > "$out/greeting.txt"
echo "== granary run hello.wasm (compiled on first use, then cached)"
"$g" run --cache "$out/cache" --dir "$out::/data" --env USER=demo \
    "$out/hello.wasm" -- /data/greeting.txt

echo "== granary serve (HTTP API + scheduler + Faaslets, one process)"
"$cc" -O2 -mexec-model=reactor -o "$out/wordcount.wasm" \
    "$root/examples/wordcount/wordcount.c"
mkdir -p "$out/data"
token=$("$g" token create demo --data "$out/data")
"$g" serve --listen 127.0.0.1:0 --port-file "$out/port" --data "$out/data" \
    --cache "$out/cache" --quiet &
server=$!
for _ in $(seq 100); do [ -s "$out/port" ] && break; sleep 0.1; done
export GRANARY_SERVER="http://127.0.0.1:$(cat "$out/port")" GRANARY_TOKEN=$token
echo "   listening on $GRANARY_SERVER"
echo "== granary upload demo/wordcount"
"$g" upload demo/wordcount "$out/wordcount.wasm"
echo "== granary invoke demo/wordcount (lines words bytes)"
printf 'the quick brown fox\njumps over the lazy dog\n' | "$g" invoke demo/wordcount
echo "== granary invoke --async, then status"
id=$("$g" invoke demo/wordcount --async --input 'one two three')
"$g" status "$id"
echo "== metrics"
curl -s "$GRANARY_SERVER/metrics" | grep -E '^granary_(calls_total|faaslets_alive)' || true
echo "== done"
