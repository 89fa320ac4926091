#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# MPI bench: the same C source (bench/mpi/mpi_bench.c) built with
# granary-mpicc and run by `granary mpirun`, and built with Open MPI's mpicc
# and run by Open MPI's mpirun over shared memory (btl self,vader), both on
# this host, in the same run: ROUNDS rounds (default 3), each running every
# configuration on both sides, alternating which side goes first, so
# background load hits both alike. Figures are medians over the rounds of
# each run's own median (see mpi_bench.c); the table shows the range too.
#
# Ends with RESULT lines (ratios are Granary / Open MPI):
#   mpi_latency_8b_ratio         8 B ping-pong half round trip (lower is
#                                better for Granary; target <= 1.0)
#   mpi_bw_1mb_ratio             1 MiB streaming bandwidth (higher is
#                                better; target >= 0.9)
#   mpi_allreduce_{8b,1mb}_np{2,4}_ratio  all-reduce latency (lower is
#                                better)
# A run that fails (non-zero exit, no "verified" line, a missing figure)
# ends the bench with exit 1 and no RESULT.
#   bench_mpi.sh GRANARY MPI_BENCH.wasm MPI_BENCH_NATIVE
set -euo pipefail
G=$1
WASM=$2
NATIVE=$3
ROUNDS=${ROUNDS:-3}
SCALE=${SCALE:-1}
MPIRUN=${GRANARY_OMPI_MPIRUN:-mpirun}
MPICC=${GRANARY_OMPI_MPICC:-mpicc}
command -v "$MPIRUN" >/dev/null || {
    echo "bench_mpi: needs Open MPI's mpirun (apt-get install openmpi-bin libopenmpi-dev)" >&2
    exit 1
}
if [[ $(id -u) == 0 ]]; then
    export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi
CPUS=$(nproc)
OUT=$(mktemp -d /tmp/granary-bench-mpi.XXXXXX)
BENCH=bench_mpi
FMT='%-26s %-28s %-28s %s\n'
# shellcheck source=bench/mpi/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
trap 'rm -rf "$OUT"' EXIT

ompi_args() { # NP
    local a=(-np "$1" --mca btl self,vader)
    (($1 > CPUS)) && a+=(--oversubscribe)
    echo "${a[@]}"
}

cat <<EOF
bench_mpi: $CPUS CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg); $ROUNDS rounds, SCALE=$SCALE
  granary: $G mpirun -np N $(basename "$WASM") (granary-mpicc: $("${GRANARY_CLANG:-clang-14}" --version 2>/dev/null | head -1 || echo clang) -O2 -> wasm32-wasi,
           then wasm2c + the host C compiler at -O2; ranks are threads of one process,
           each bound to its own CPU when N <= $CPUS; blocked ranks poll ${GRANARY_MPI_SPIN_US:-50} us before
           sleeping, with sched_yield only when N > $CPUS; messages of at most 1 KiB go
           through a lock-free ring per rank pair, larger ones are matched under a lock)
  openmpi: $MPIRUN $(ompi_args 2) $(basename "$NATIVE") ($("$MPIRUN" --version 2>/dev/null | head -1);
           $MPICC = $("$MPICC" --version 2>/dev/null | head -1) -O2; shared memory (vader, single
           copy: $(ompi_info --param btl vader --level 9 2>/dev/null |
    awk -F'"' '/btl_vader_single_copy_mechanism/ { print $4; exit }' || echo '?')); default binding (by core for N <= 2);
           --oversubscribe for N > $CPUS, which makes idle ranks yield)
EOF

# run SIDE NP BENCH ROUND: runs one configuration, appends its figures to
# $OUT/figures as "SIDE NP KIND BYTES VALUE".
run() {
    local side=$1 np=$2 what=$3 round=$4 log=$OUT/$1.$2.$3.$4 rc=0
    if [[ $side == granary ]]; then
        "$G" mpirun -np "$np" "$WASM" -- "$what" "$SCALE" >"$log" 2>&1 || rc=$?
    else
        # shellcheck disable=SC2046
        "$MPIRUN" $(ompi_args "$np") "$NATIVE" "$what" "$SCALE" >"$log" 2>&1 || rc=$?
    fi
    mpi_record "$side" "$np" "$what" "$round" "$log" "$rc"
}

mpi_rounds "2 pingpong" "2 allreduce" "4 allreduce"

cat <<EOF

Each figure: the median over $ROUNDS rounds of one run's median, [min-max over rounds].
  ping-pong: half of one MPI_Send + MPI_Recv round trip between 2 ranks, us (lower is better)
  bandwidth: 2 ranks, 8 MPI_Isend of 1 MiB back to back into 8 pre-posted MPI_Irecv, then a
             0-byte reply; 8 MiB / (that time), MB/s = 1e6 B/s (streaming, as osu_bw; higher is better)
  allreduce: MPI_Allreduce(MPI_SUM) of doubles, the slowest rank's time per call, us (lower is better)
  ratio:     Granary / Open MPI

EOF
mpi_header
mpi_rows_2
mpi_row "allreduce 8 B, 4 (us)" ar8_4 4 allreduce 8
mpi_row "allreduce 1 MiB, 4 (us)" ar1m_4 4 allreduce 1048576
((fail == 0)) || { echo "bench_mpi: no RESULT" >&2; exit 1; }

cat <<EOF

Targets (issue 11): 8 B latency ratio <= 1.0, 1 MiB bandwidth ratio >= 0.9.
Across hosts (network namespaces, Open MPI over TCP): make bench-mpi-remote
(root), which reports mpi_remote_latency_8b_ratio.
EOF
if ((CPUS < 4)); then
    echo "4 ranks on $CPUS CPUs are oversubscribed on both sides: neither binds, and"
    echo "blocked ranks poll with sched_yield (Granary for at most 50 us, then sleeps)."
fi
echo
echo "RESULT mpi_latency_8b_ratio ${ratio[lat8]} x"
echo "RESULT mpi_bw_1mb_ratio ${ratio[bw1m]} x"
echo "RESULT mpi_allreduce_8b_np2_ratio ${ratio[ar8_2]} x"
echo "RESULT mpi_allreduce_1mb_np2_ratio ${ratio[ar1m_2]} x"
echo "RESULT mpi_allreduce_8b_np4_ratio ${ratio[ar8_4]} x"
echo "RESULT mpi_allreduce_1mb_np4_ratio ${ratio[ar1m_4]} x"
