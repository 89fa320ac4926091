#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The MPI guest suites across two hosts (network namespaces): the same
# programs as tests/integration/test_mpirun.c and test_mpi_lib.c, each run
# as one `granary mpirun --hosts A,B --host I` per host, with the ranks
# spread in blocks and interleaved; then failures (a trap, MPI_Abort and
# an exit on one host end the app on both, naming the rank) and a host
# killed while the other's ranks are blocked (it ends with "is down" at
# once). Root + GRANARY_TEST_CLUSTER=1 only (exit 77 otherwise).
#   test_mpi_hosts.sh GRANARY GUEST_DIR
set -euo pipefail

G=$1
W=$2
SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
NETNS=$SRC/scripts/cluster/netns.sh

if [[ ${GRANARY_TEST_CLUSTER:-0} != 1 ]]; then
    echo "skipped: set GRANARY_TEST_CLUSTER=1 (make test-cluster)"
    exit 77
fi
if [[ $(id -u) != 0 ]] || ! command -v ip >/dev/null; then
    echo "skipped: needs root and iproute2"
    exit 77
fi

export GR_NETNS_PREFIX=grm$$
export GR_NETNS_SUBNET=10.76.$(($$ % 250))
T=$(mktemp -d /tmp/granary-mpi-hosts.XXXXXX)
pids=()

cleanup() {
    local rc=$? p
    for p in "${pids[@]}"; do
        kill -KILL "$p" 2>/dev/null || true
    done
    "$NETNS" down || true
    if "$NETNS" list | grep -q .; then
        echo "FAIL: namespaces left behind" >&2
        rc=1
    fi
    rm -rf "$T"
    exit $rc
}
trap cleanup EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

"$NETNS" up 2 >/dev/null
A=$("$NETNS" addr h0)
B=$("$NETNS" addr h1)
port=7500

fail() {
    echo "FAIL: $*" >&2
    for f in "$T"/o* "$T"/e*; do
        [[ -f $f ]] || continue
        echo "--- $f" >&2
        tail -n 20 "$f" >&2
    done
    exit 1
}

# compile every guest once (into the cache both hosts share), so that
# the timings below measure the failures, not the compiler
for g in mpi_suite mpi_nbc mpi_dev mpi_abort; do
    timeout 300 "$G" mpirun --cache "$T/cache" -np 1 "$W/$g.wasm" \
        >/dev/null 2>&1 </dev/null || true
done

# start NP MAP GUEST ARGS...: one mpirun per host in the background
# (pids in h0pid, h1pid); outputs in $T/o0 $T/o1 $T/e0 $T/e1
start() {
    local np=$1 map=$2 guest=$3
    shift 3
    port=$((port + 2))
    local hosts=$A:$port,$B:$((port + 1)) h
    for h in 0 1; do
        "$NETNS" exec h$h timeout 120 "$G" mpirun --cache "$T/cache" \
            -np "$np" --hosts "$hosts" --host $h --map "$map" \
            "$W/$guest.wasm" -- "$@" >"$T/o$h" 2>"$T/e$h" &
        pids+=($!)
        eval "h${h}pid=$!"
    done
}

# run NP MAP GUEST ARGS...: both hosts to the end; statuses in s0 s1
run() {
    start "$@"
    s0=0 s1=0
    wait "$h0pid" || s0=$?
    wait "$h1pid" || s1=$?
}

# a suite guest prints "<guest>: rank R ok" on every rank
suite() {
    local np=$1 map=$2 guest=$3 r
    run "$np" "$map" "$guest"
    [[ $s0 == 0 && $s1 == 0 ]] || fail "$guest -np $np --map $map: $s0 $s1"
    for ((r = 0; r < np; r++)); do
        grep -q "^$guest: rank $r ok$" "$T/o0" "$T/o1" ||
            fail "$guest -np $np --map $map: rank $r not ok"
    done
    ! grep -q FAIL "$T/o0" "$T/o1" || fail "$guest: FAIL printed"
    echo "ok $guest -np $np --map $map"
}

suite 2 0,1 mpi_suite
suite 3 0,1,0 mpi_suite
suite 4 0,0,1,1 mpi_suite
suite 4 0,1,0,1 mpi_suite
suite 2 0,1 mpi_nbc
suite 4 0,1,1,0 mpi_nbc

# the device scenarios of test_mpirun.c, ranks interleaved
for s in order tags probe nonblocking sync big pingpong; do
    run 4 0,1,0,1 mpi_dev "$s"
    [[ $s0 == 0 && $s1 == 0 ]] || fail "mpi_dev $s: $s0 $s1"
    grep -q "^ok $s$" "$T/o0" || fail "mpi_dev $s: no ok"
    echo "ok mpi_dev $s"
done
run 3 0,1,1 mpi_dev hello
for r in 0 1 2; do
    grep -q "^hello from rank $r of 3$" "$T/o0" "$T/o1" ||
        fail "hello: rank $r"
done
cat "$T/o1" | grep -q "^hello from rank 0" && fail "rank 0 ran on h1"
echo "ok mpi_dev hello"

# failures: both hosts end with the same status and message
expect_fail() {
    local status=$1 msg=$2
    shift 2
    local t0 t1
    t0=$(date +%s%N)
    run "$@"
    t1=$(date +%s%N)
    [[ $s0 == "$status" && $s1 == "$status" ]] ||
        fail "$*: status $s0 $s1, want $status"
    grep -qF "$msg" "$T/e0" || fail "$*: h0 did not say '$msg'"
    grep -qF "$msg" "$T/e1" || fail "$*: h1 did not say '$msg'"
    # the victim waits 200 ms; the rest is the failure spreading
    (((t1 - t0) / 1000000 < 10000)) || fail "$*: took $(((t1 - t0) / 1000000)) ms"
    echo "ok $* ($(((t1 - t0) / 1000000)) ms)"
}
expect_fail 134 "rank 1 trapped: integer divide by zero" 4 0,1,0,1 mpi_dev trap 1
expect_fail 3 "rank 2 called MPI_Abort(3)" 4 0,1,1,0 mpi_dev abort 2
expect_fail 4 "rank 0 exited with 4" 4 0,1,0,1 mpi_dev exit 0
expect_fail 3 "rank 1 called MPI_Abort(3)" 3 0,1,0 mpi_abort

# a host killed while the other's ranks block in receives, a rendezvous
# send and a wait: the survivor ends at once, naming the lost host
start 4 0,1,0,1 mpi_dev block
sleep 1.5
[[ -d /proc/$h0pid ]] || fail "h0 ended before the kill"
# everything inside h1 (the mpirun and its timeout)
for p in $(ip netns pids "$GR_NETNS_PREFIX-h1"); do
    kill -KILL "$p" 2>/dev/null || true
done
t0=$(date +%s%N)
s0=0
wait "$h0pid" || s0=$?
t1=$(date +%s%N)
wait "$h1pid" 2>/dev/null || true
[[ $s0 == 1 ]] || fail "killed host: h0 status $s0"
grep -q "host 1 ($B:[0-9]*, ranks 1,3) is down" "$T/e0" ||
    fail "killed host: no 'is down' message"
(((t1 - t0) / 1000000 < 5000)) || fail "killed host: took $(((t1 - t0) / 1000000)) ms"
echo "ok killed host ($(((t1 - t0) / 1000000)) ms)"
echo "PASS"
