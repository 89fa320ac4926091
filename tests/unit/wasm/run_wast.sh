#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Runs the hand-written .wast tests of the code generator: converts each
# with wabt's wast2json and runs it through run_spec (generate, compile,
# load, check every assertion).  run_wast.sh <run_spec> <wast dir> <work dir>
set -eu
tool=$1 src=$2 work=$3
command -v wast2json >/dev/null || { echo "wast2json (Debian wabt) missing" >&2; exit 1; }
mkdir -p "$work/json" "$work/cache"
for f in "$src"/*.wast; do
    b=$(basename "$f" .wast)
    wast2json --enable-all "$f" -o "$work/json/$b.json"
done
exec "$tool" -v -j 2 -c "$work/cache" "$work"/json/*.json
