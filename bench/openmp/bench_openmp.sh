#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# OpenMP bench: one C source (bench/openmp/omp_bench.c) built three ways
# and run in the same run, at 1 and 2 threads:
#   granary  granary-cc -O2 -fopenmp (clang -> wasm32, Granary's OpenMP
#            runtime sdk/lib/omp), `granary run` on the granary backend
#   libomp   clang -O2 -fopenmp, LLVM's libomp
#   libgomp  gcc -O2 -fopenmp, GNU libgomp
# ROUNDS rounds (default 3), each running every side and thread count,
# alternating which side goes first; a kernel's figure is its best time
# over the rounds (each run already keeps the best of 7), an overhead's the
# best over the rounds (each run keeps the best of 9). Checksums must agree
# across sides.
#
# Ends with RESULT lines:
#   omp_time_ratio     geomean over kernels x {1,2} threads of Granary time
#                      / clang-libomp time (same compiler and -O2; lower is
#                      better; target <= 1.10)
#   omp_speedup_ratio  geomean over kernels of Granary's 2-thread speed-up
#                      / libomp's (higher is better; target >= 0.95)
# A failed run (non-zero exit, no "verified", a checksum mismatch) ends the
# bench with exit 1 and no RESULT.
#   bench_openmp.sh GRANARY OMP_BENCH.wasm OMP_BENCH_CLANG OMP_BENCH_GCC
set -euo pipefail
G=$1
WASM=$2
CLANGBIN=$3
GCCBIN=$4
ROUNDS=${ROUNDS:-3}
OUT=$(mktemp -d /tmp/granary-bench-omp.XXXXXX)
trap 'rm -rf "$OUT"' EXIT
export GRANARY_ENGINE=granary

cat <<EOF
bench_openmp: $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg); $ROUNDS rounds
  granary: $G run $(basename "$WASM") (granary-cc: ${GRANARY_CLANG:-clang-14} -O2 -fopenmp -> wasm32-wasi,
           Granary's OpenMP runtime; the granary backend compiles the module)
  libomp:  $(basename "$CLANGBIN") ($(clang-14 --version | head -1) -O2 -fopenmp, LLVM libomp)
  libgomp: $(basename "$GCCBIN") ($(gcc --version | head -1) -O2 -fopenmp, GNU libgomp)
  kernels: dgemm 320^3, 5-point stencil 768^2 x 40, 1500 parallel dot-product
           reductions of 20000, task tree fib(27) with tasks above 9; each the
           best of 7 runs in a process (the same work on every side)
  overheads: microseconds per construct (2000 repetitions of the bare
           construct, best of 9; task: per empty task created by one thread)
EOF

# run SIDE THREADS: one run, figures appended to $OUT/figs as
# "SIDE THREADS K|O NAME VALUE [CHECKSUM]".
run() {
    local side=$1 t=$2 log=$OUT/$1.$2.log rc=0
    case $side in
    granary) "$G" run --cache "$OUT/cache" --env OMP_NUM_THREADS="$t" "$WASM" "$t" >"$log" 2>&1 || rc=$? ;;
    libomp) OMP_NUM_THREADS=$t "$CLANGBIN" "$t" >"$log" 2>&1 || rc=$? ;;
    libgomp) OMP_NUM_THREADS=$t "$GCCBIN" "$t" >"$log" 2>&1 || rc=$? ;;
    esac
    if [[ $rc != 0 ]] || ! grep -q "^verified threads=$t" "$log"; then
        echo "bench_openmp: $side with $t threads failed (exit $rc):" >&2
        cat "$log" >&2
        exit 1
    fi
    awk -v s="$side" -v t="$t" '$1 == "K" || $1 == "O" { print s, t, $1, $2, $3, $4 }' \
        "$log" >>"$OUT/figs"
}

sides=(granary libomp libgomp)
for ((r = 0; r < ROUNDS; r++)); do
    for t in 1 2; do
        for ((i = 0; i < 3; i++)); do
            run "${sides[(i + r) % 3]}" "$t"
        done
    done
done

# Checksums: every side and thread count prints the same value per kernel.
bad=$(awk '$3 == "K" { k = $4; if (!(k in c)) c[k] = $6; else if (c[k] != $6) print k, $1, $2, $6, c[k] }' "$OUT/figs")
if [[ -n $bad ]]; then
    echo "bench_openmp: checksum mismatch: $bad" >&2
    exit 1
fi

awk '
$3 == "K" { key = $1 " " $2 " " $4; if (!(key in k) || $5 < k[key]) k[key] = $5; kern[$4] = 1 }
$3 == "O" { key = $1 " " $2 " " $4; if (!(key in o) || $5 < o[key]) o[key] = $5; ov[$4] = 1 }
END {
    n = split("dgemm stencil reduction tasks", ks, " ")
    printf "\nkernel time in seconds (best), ratio = granary / native\n"
    printf "%-10s %3s %9s %9s %9s %8s %8s\n", "kernel", "thr", "granary", "libomp", "libgomp", "/libomp", "/libgomp"
    lr = 0; ln = 0; sr = 0; sn = 0
    for (i = 1; i <= n; i++) {
        K = ks[i]
        for (t = 1; t <= 2; t++) {
            g = k["granary " t " " K]; c = k["libomp " t " " K]; u = k["libgomp " t " " K]
            printf "%-10s %3d %9.4f %9.4f %9.4f %8.3f %8.3f\n", K, t, g, c, u, g / c, g / u
            lr += log(g / c); ln++
        }
        gs = k["granary 1 " K] / k["granary 2 " K]
        cs = k["libomp 1 " K] / k["libomp 2 " K]
        us = k["libgomp 1 " K] / k["libgomp 2 " K]
        sp[K] = sprintf("%-10s  2-thread speed-up: granary %.2fx, libomp %.2fx, libgomp %.2fx (granary/libomp %.3f)", K, gs, cs, us, gs / cs)
        sr += log(gs / cs); sn++
    }
    printf "\n"
    for (i = 1; i <= n; i++) print sp[ks[i]]
    m = split("parallel barrier for reduction task", os, " ")
    printf "\noverhead in microseconds per construct (best)\n"
    printf "%-10s %3s %9s %9s %9s\n", "construct", "thr", "granary", "libomp", "libgomp"
    for (i = 1; i <= m; i++)
        for (t = 1; t <= 2; t++)
            printf "%-10s %3d %9.3f %9.3f %9.3f\n", os[i], t, o["granary " t " " os[i]], o["libomp " t " " os[i]], o["libgomp " t " " os[i]]
    printf "\nRESULT omp_time_ratio %.3f x\n", exp(lr / ln)
    printf "RESULT omp_speedup_ratio %.3f x\n", exp(sr / sn)
}' "$OUT/figs"
