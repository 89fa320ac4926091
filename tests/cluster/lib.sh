#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Shared by the cluster tests (sourced): skip unless root and
# GRANARY_TEST_CLUSTER=1 (exit 77), a private cluster (own namespace
# prefix, subnet and directory) from scripts/cluster/cluster.sh, torn down
# from an EXIT trap even on failure, and small HTTP helpers.
#   source lib.sh GRANARY WASM
set -euo pipefail

G=$1
WASM=$2
SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CL=$SRC/scripts/cluster/cluster.sh

if [[ ${GRANARY_TEST_CLUSTER:-0} != 1 ]]; then
    echo "skipped: set GRANARY_TEST_CLUSTER=1 (make test-cluster)"
    exit 77
fi
if [[ $(id -u) != 0 ]] || ! command -v ip >/dev/null ||
    ! command -v redis-server >/dev/null; then
    echo "skipped: needs root, iproute2 and redis-server"
    exit 77
fi

# Test beds of earlier runs that were killed before their EXIT trap ran
# (a ctest timeout sends SIGKILL): namespaces grc<PID>-* whose test process
# is gone, with whatever still runs inside them.
sweep_stale() {
    local ns pid p
    for ns in $(ip netns list 2>/dev/null | awk '{print $1}' |
        grep -E '^grc[0-9]+-(h[0-9]+|br)$' || true); do
        pid=${ns#grc}
        pid=${pid%%-*}
        [[ -d /proc/$pid ]] && continue
        for p in $(ip netns pids "$ns" 2>/dev/null || true); do
            kill -KILL "$p" 2>/dev/null || true
        done
        ip netns del "$ns" 2>/dev/null || true
        echo "removed stale test namespace $ns" >&2
    done
}
sweep_stale

# the test bed is not reachable through any proxy
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY
export NO_PROXY="*" no_proxy="*"
export GR_NETNS_PREFIX=grc$$
export GR_NETNS_SUBNET=10.79.$(($$ % 250))
export GR_CLUSTER_DIR=$(mktemp -d /tmp/granary-cluster-test.XXXXXX)

fail() {
    echo "FAIL: $*" >&2
    for f in "$GR_CLUSTER_DIR"/*.log; do
        echo "--- $f" >&2
        tail -n 30 "$f" >&2 || true
    done
    exit 1
}

cleanup() {
    local rc=$?
    "$CL" down || true
    if "$SRC/scripts/cluster/netns.sh" list | grep -q .; then
        echo "FAIL: namespaces left behind" >&2
        rc=1
    fi
    exit $rc
}
trap cleanup EXIT
# a signal ends the test through its EXIT trap, which tears the bed down
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

# cluster_up N SLOTS: starts the cluster and uploads the test guest as
# admin/cg (and admin/cg2, the same module under a second name).
cluster_up() {
    eval "$("$CL" up "$G" "$1" "$2")"
    client "$G" upload admin/cg "$WASM" >/dev/null || fail "upload"
}

# Clients run on h0 (the bridge is not in the root namespace).
client() { "$SRC/scripts/cluster/netns.sh" exec h0 "$@"; }

AUTH() { echo "Authorization: Bearer $GRANARY_TOKEN"; }

# call INPUT: sync call; prints the output
call() {
    client curl -sf -H "$(AUTH)" --data-binary "$1" "$GRANARY_SERVER/f/admin/cg"
}

# call_async INPUT: prints the call id
call_async() {
    client curl -sf -H "$(AUTH)" --data-binary "$1" \
        "$GRANARY_SERVER/f/admin/cg?async=1" | jq -r .call_id
}

# record ID [WAIT]: the call's JSON record, waiting up to WAIT seconds
record() {
    client curl -s -H "$(AUTH)" "$GRANARY_SERVER/calls/$1?wait=${2:-30}"
}

now_ms() { date +%s%3N; }
