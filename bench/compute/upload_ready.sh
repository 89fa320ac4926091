#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Upload -> ready for a large module: the time from a wasm file to a
# loaded, instantiated object whose _start has run (`granary run` with an
# empty object cache: decode, validate, generate C, compile the parts on
# every core, link, dlopen), at -O2.
# usage: upload_ready.sh GRANARY MODULE.wasm
# Prints RESULT upload_ready_1mb_s; exits non-zero with no RESULT on failure.
set -u
granary=$1
wasm=$2
cache=$(mktemp -d "${TMPDIR:-/tmp}/granary-bench-upload.XXXXXX")
trap 'rm -rf "$cache"' EXIT
load=$(cut -d' ' -f1-3 /proc/loadavg)
t0=$(date +%s.%N)
out=$(GRANARY_CODEGEN_OPT=-O2 /usr/bin/time -f '%U %S' -o "$cache/cpu" \
    "$granary" run --cache "$cache" "$wasm" 2>"$cache/err")
rc=$?
t1=$(date +%s.%N)
if [ $rc -ne 0 ] || [ "$out" != ready ]; then
    echo "upload_ready: granary run failed ($rc): $(cat "$cache/err")" >&2
    exit 1
fi
meta=$(cat "$cache"/objects/*/meta)
field() { printf '%s\n' "$meta" | awk -v k="$1" '$1 == k { print $2 }'; }
read -r user sys <"$cache/cpu"
wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
echo
echo "upload -> ready, $(basename "$wasm"): $(field wasm_bytes) bytes of wasm"
echo "  -> $(field c_bytes) bytes of C in $(field parts) files (translate" \
    "$(field translate_s) s), cc $(field opt), $(nproc) cores"
echo "  wall $wall s (compile $(field compile_s) s), CPU ${user} s user" \
    "+ ${sys} s system; load average before: $load"
echo "RESULT upload_ready_1mb_s $wall s"
