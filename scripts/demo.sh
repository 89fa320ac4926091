#!/usr/bin/env bash
# The README's demo: compile a C program to wasm with granary-cc, then run it
# with granary (compiled to native code on first use, cached afterwards).
set -euo pipefail
build=${1:-build}
root=$(cd "$(dirname "$0")/.." && pwd)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
echo "== granary-cc examples/hello/hello.c -> hello.wasm"
"$root/sdk/bin/granary-cc" -O2 -o "$out/hello.wasm" "$root/examples/hello/hello.c"
echo "sandboxed greetings" > "$out/greeting.txt"
echo "== granary run hello.wasm (first run compiles)"
time "$root/$build/bin/granary" run --dir "$out::/data" --env USER=demo \
    "$out/hello.wasm" -- /data/greeting.txt
echo "== granary run hello.wasm (second run hits the object cache)"
time "$root/$build/bin/granary" run --dir "$out::/data" --env USER=demo \
    "$out/hello.wasm" -- /data/greeting.txt
