#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Converts the official spec tests with wabt's wast2json into a temporary
# folder and runs validate_spec over them (decoder/validator only).
#   run_validate.sh <validate_spec> 
# GRANARY_SPEC_DIR: an extract of WebAssembly/spec at tag wg-2.0 holding
#   test/core and test/core/simd (default /tmp/spec).
# GRANARY_THREADS_DIR: an extract of WebAssembly/threads holding
#   test/core/threads (default /tmp/threads; optional).
set -u
tool=$1
spec=${GRANARY_SPEC_DIR:-/tmp/spec}
threads=${GRANARY_THREADS_DIR:-/tmp/threads}
if [ ! -d "$spec/test/core" ]; then
    cat >&2 <<MSG
spec tests not found in $spec/test/core. Get them with (never commit them):
  git clone --bare https://github.com/WebAssembly/spec /tmp/spec.git
  mkdir -p /tmp/spec && git --git-dir=/tmp/spec.git archive wg-2.0 test/core | tar -x -C /tmp/spec
  # optional, the threads proposal's atomic.wast:
  git clone --bare https://github.com/WebAssembly/threads /tmp/threads.git
  mkdir -p /tmp/threads && git --git-dir=/tmp/threads.git archive HEAD test/core/threads | tar -x -C /tmp/threads
then run again (or set GRANARY_SPEC_DIR / GRANARY_THREADS_DIR).
MSG
    exit 2
fi
command -v wast2json >/dev/null || { echo "wast2json (Debian wabt) missing" >&2; exit 2; }
out=$(mktemp -d /tmp/granary-spec-json.XXXXXX)
trap 'rm -rf "$out"' EXIT
# $1: group name, $2: directory of .wast files, $3...: wast2json flags.
convert() {
    group=$1 dir=$2
    shift 2
    mkdir -p "$out/$group"
    skipped=""
    for f in "$dir"/*.wast; do
        b=$(basename "$f" .wast)
        wast2json "$@" "$f" -o "$out/$group/$b.json" >/dev/null 2>&1 ||
            { skipped="$skipped $b"; rm -f "$out/$group/$b.json"; }
    done
    [ -n "$skipped" ] && echo "$group: wast2json cannot convert:$skipped"
    return 0
}
status=0
convert core "$spec/test/core" --enable-all
convert simd "$spec/test/core/simd" --enable-all
echo "== core (spec wg-2.0 test/core)"
"$tool" "$out"/core/*.json || status=1
echo "== simd (spec wg-2.0 test/core/simd)"
"$tool" "$out"/simd/*.json || status=1
if [ -f "$threads/test/core/threads/atomic.wast" ]; then
    convert threads "$threads/test/core/threads" --enable-threads
    echo "== threads (WebAssembly/threads test/core/threads)"
    "$tool" "$out"/threads/*.json || status=1
fi
exit $status
