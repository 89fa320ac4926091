#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Differential fuzzing of Granary's own compiler against wabt's reference
# interpreter. For each seed: deterministic random bytes -> `wasm-opt -ttf`
# (Debian binaryen) -> a valid module with the features we support; our
# side (wasm_diff run: src/wasm -> cc -> dlopen) calls every export with
# fixed arguments and writes what it saw (results, traps, logged values)
# as a wast2json script; spectest-interp runs the same module under that
# script; any failed assertion is a mismatch. Mismatching seeds are kept
# in WORK/mismatch/<seed>/ (m.wasm, m.wat, script.json, both outputs).
#   fuzz_diff.sh WASM_DIFF N [FIRST_SEED] [WORK]
# Env: FUZZ_DIFF_FEATURES (wasm-opt feature flags), GRANARY_DIFF_CFLAGS
# (cc flags for our side, default -O2), FUZZ_DIFF_DENAN=1 (run
# wasm-opt --denan after -ttf: no NaNs at all, every bit compared).
set -u
tool=$1 n=$2 first=${3:-1} work=${4:-/tmp/granary-fuzz-diff}
here=$(cd -- "$(dirname -- "$0")" && pwd)
for t in wasm-opt spectest-interp wat2wasm; do
    command -v $t >/dev/null || {
        echo "fuzz_diff: $t missing (Debian binaryen, wabt; scripts/install-deps.sh)" >&2
        exit 2
    }
done
features=${FUZZ_DIFF_FEATURES:---enable-simd --enable-threads \
--enable-bulk-memory --enable-multivalue --enable-sign-ext \
--enable-nontrapping-float-to-int --enable-mutable-globals}
extra=
[ "${FUZZ_DIFF_DENAN:-0}" = 1 ] && extra=--denan
mkdir -p "$work"
export GRANARY_DIFF_CACHE=${GRANARY_DIFF_CACHE:-$work/cache}
wat2wasm "$here/fuzz_log.wat" -o "$work/log.wasm" || exit 2
# wabt 1.0.32's interpreter traps "not implemented" on atomic.fence and
# memory.atomic.notify. The reference side gets the module rewritten by
# binaryen (text round trip) to the same thing on one thread: a fence is a
# nop; a notify becomes a call to a function that does an i32.atomic.load
# at the same offset (the same alignment and bounds traps) and returns 0
# (no waiters). Our side gets the original. $1: the seed's folder.
ref_module() {
    wasm-opt "$1/m.wasm" -all --print 2>/dev/null >"$1/m.wat"
    if ! grep -q -E '\((atomic\.fence|memory\.atomic\.notify)' "$1/m.wat"; then
        cp "$1/m.wasm" "$1/ref.wasm"
        return
    fi
    offs=$(grep -o -E 'memory\.atomic\.notify( offset=[0-9]+)?' "$1/m.wat" |
        sed -e 's/.*offset=//' -e 's/.*notify$//' | sort -u)
    {
        sed -E -e 's/\(atomic\.fence\)/(nop)/g' \
            -e 's/\(memory\.atomic\.notify( offset=([0-9]+))?/(call $__gr_notify_\2/' \
            "$1/m.wat" | sed '$d'
        for o in $offs ""; do
            echo " (func \$__gr_notify_$o (param i32 i32) (result i32)"
            echo "  (drop (i32.atomic.load offset=${o:-0} (local.get 0)))"
            echo "  (i32.const 0))"
        done
        echo ")"
    } >"$1/ref.wat"
    # shellcheck disable=SC2086 # feature flags are words
    wasm-opt "$1/ref.wat" $features -o "$1/ref.wasm" >/dev/null 2>&1 ||
        cp "$1/m.wasm" "$1/ref.wasm"
}

# One comparison. $1 seed, $2 folder, $3 extra wasm-opt flags. Sets rc (0
# compared, 3 not comparable, 4 not generated), verdict (empty: same) and
# adds to calls and asserts.
compare() {
    rm -rf "$2"
    mkdir -p "$2"
    len=$((1000 + ($1 * 7919) % 40000))
    "$tool" bytes "$1" "$len" >"$2/in.bin"
    verdict=
    # shellcheck disable=SC2086 # flags are words
    if ! wasm-opt "$2/in.bin" -ttf $features $3 -o "$2/m.wasm" \
        >/dev/null 2>&1; then
        rc=4
        return
    fi
    cp "$work/log.wasm" "$2/"
    ref_module "$2"
    timeout 300 "$tool" run "$2/m.wasm" "$2" >"$2/ours.txt" 2>"$2/calls.txt"
    rc=$?
    [ $rc -eq 3 ] && return
    if [ $rc -ne 0 ]; then
        verdict="our side failed (rc $rc): $(head -c 300 "$2/ours.txt")"
        rc=0
        return
    fi
    timeout 300 spectest-interp --enable-threads "$2/script.json" \
        >"$2/ref.txt" 2>&1
    sum=$(grep -E '^[0-9]+/[0-9]+ tests passed' "$2/ref.txt" | tail -1)
    p=${sum%%/*}
    t=${sum#*/}
    t=${t%% *}
    if [ -z "$sum" ]; then
        verdict="spectest-interp: $(head -c 300 "$2/ref.txt")"
    elif [ "$p" != "$t" ]; then
        verdict="$((t - p)) of $t assertions differ"
    fi
    asserts=$((asserts + ${t:-0}))
    calls=$((calls + $(wc -l <"$2/calls.txt")))
}

# Seeds whose mismatch was triaged as allowed (fuzz_diff_triaged.txt).
triaged() {
    grep -q "^$1 " "$here/fuzz_diff_triaged.txt"
}

ran=0 same=0 diff=0 skip=0 nogen=0 calls=0 asserts=0 nanonly=0
bad= nans=
seed=$first
last=$((first + n - 1))
while [ "$seed" -le "$last" ]; do
    d=$work/s$seed
    compare "$seed" "$d" "$extra"
    # NaN bits are free where the spec says "arithmetic NaN": once stored
    # to memory or reinterpreted as an integer they differ between two
    # correct engines. A mismatch that vanishes when binaryen's --denan
    # turns every NaN into 0 is counted apart, not as a mismatch.
    if [ -n "$verdict" ] && triaged "$seed"; then
        nanonly=$((nanonly + 1))
        nans="$nans $seed"
    elif [ -n "$verdict" ] && [ -z "$extra" ] &&
        [ "${verdict#our side}" = "$verdict" ]; then
        v0=$verdict
        compare "$seed" "$d.denan" --denan
        if [ $rc -eq 0 ] && [ -z "$verdict" ]; then
            nanonly=$((nanonly + 1))
            nans="$nans $seed"
        else
            verdict=$v0
        fi
        rc=0
        rm -rf "$d.denan"
    fi
    case $rc in
    3) skip=$((skip + 1)) ;;
    4) nogen=$((nogen + 1)) ;;
    *)
        ran=$((ran + 1))
        if [ -n "$verdict" ] && [ "${nans% "$seed"}" = "$nans" ]; then
            diff=$((diff + 1))
            bad="$bad $seed"
            echo "seed $seed: MISMATCH: $verdict"
            mkdir -p "$work/mismatch"
            rm -rf "$work/mismatch/$seed"
            mv "$d" "$work/mismatch/$seed"
        else
            same=$((same + 1))
        fi
        ;;
    esac
    rm -rf "$d"
    seed=$((seed + 1))
done
echo "fuzz-diff: seeds $first..$last: $ran modules ran ($calls export calls," \
    "$asserts assertions checked by spectest-interp): $same matched" \
    "($nanonly of them only up to NaN bits), $diff mismatched;" \
    "$skip not comparable, $nogen not generated"
[ -n "$nans" ] && echo "fuzz-diff: NaN bits only (the --denan variant matches, or triaged in fuzz_diff_triaged.txt):$nans"
[ -n "$bad" ] && echo "fuzz-diff: mismatching seeds:$bad (kept in $work/mismatch)"
[ "$diff" -eq 0 ]
