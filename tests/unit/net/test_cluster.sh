#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Cluster smoke test (ctest label "cluster"): three network namespaces, an
# echo server in one, a client in another talking gr_net across the bridge,
# then teardown, also on failure. Runs only as root with
# GRANARY_TEST_CLUSTER=1 (make test-cluster); otherwise exits 77 (skipped).
#   test_cluster.sh NET_ECHO NETNS_SH
set -euo pipefail

echo_bin=$1
netns=$2

if [[ ${GRANARY_TEST_CLUSTER:-0} != 1 ]]; then
    echo "skipped: set GRANARY_TEST_CLUSTER=1 (make test-cluster)"
    exit 77
fi
if [[ $(id -u) != 0 ]] || ! command -v ip >/dev/null; then
    echo "skipped: needs root and iproute2"
    exit 77
fi

# our own prefix and subnet: never collides with a test bed someone is
# using by hand
export GR_NETNS_PREFIX=grt$$
export GR_NETNS_SUBNET=10.78.$(($$ % 250))
server_pid=
log=$(mktemp)

cleanup() {
    if [[ -n $server_pid ]]; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    "$netns" down
    rm -f "$log"
    if [[ -n $("$netns" list) ]]; then
        echo "FAIL: namespaces left behind" >&2
        exit 1
    fi
}
trap cleanup EXIT

"$netns" up 3
addr=$("$netns" addr h1)
port=7777

"$netns" exec h1 "$echo_bin" server "$addr:$port" >"$log" 2>&1 &
server_pid=$!
for _ in $(seq 50); do
    grep -q listening "$log" && break
    sleep 0.1
done
grep -q listening "$log" || {
    cat "$log"
    echo "FAIL: server did not start" >&2
    exit 1
}

# h2 -> h1 across the bridge, and h0 -> h1 with larger frames
"$netns" exec h2 "$echo_bin" client "$addr:$port" 2000 32
"$netns" exec h0 "$echo_bin" client "$addr:$port" 200 65536

# the hosts really are separate: h2's own loopback has no server, and the
# root namespace holds none of the test bed's addresses
if "$netns" exec h2 timeout 3 "$echo_bin" client "127.0.0.1:$port" 1 \
    2>/dev/null || ip -o addr show | grep -q " $addr/"; then
    echo "FAIL: reached the server over the root namespace" >&2
    exit 1
fi
echo "cluster echo: ok"
