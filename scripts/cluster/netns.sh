#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Multi-host test bed on one machine: N "hosts" as Linux network namespaces
# joined by veth pairs to a bridge that lives in its own namespace (so the
# machine's own networking and firewall are never touched). Needs root.
#
#   netns.sh up [N]           create hosts h0..h(N-1) (default 3), check links
#   netns.sh down             remove everything (idempotent)
#   netns.sh exec HOST CMD... run CMD inside HOST (h1, 1 or gr-h1)
#   netns.sh addr HOST        print HOST's address (10.77.0.2 for h1)
#   netns.sh list             list this test bed's namespaces
#
# Environment: GR_NETNS_PREFIX (default "gr": namespaces gr-h0.., gr-br),
# GR_NETNS_SUBNET (default "10.77.0": host i gets SUBNET.(i+1)/24).
# Two test beds with different prefixes can run side by side.
set -euo pipefail

P=${GR_NETNS_PREFIX:-gr}
SUBNET=${GR_NETNS_SUBNET:-10.77.0}
BR_NS=$P-br

die() {
    echo "netns.sh: $*" >&2
    exit 1
}

host_ns() {
    local h=$1
    h=${h#"$P"-}
    h=${h#h}
    [[ $h =~ ^[0-9]+$ ]] || die "bad host name: $1"
    echo "$P-h$h"
}

host_addr() {
    local ns
    ns=$(host_ns "$1")
    echo "$SUBNET.$((${ns##*-h} + 1))"
}

our_namespaces() {
    ip netns list 2>/dev/null | awk '{print $1}' | grep -E "^$P-(h[0-9]+|br)$" || true
}

down() {
    local ns
    for ns in $(our_namespaces); do
        # deleting a namespace deletes the veth ends inside it, and with
        # them their peers
        ip netns del "$ns" 2>/dev/null || true
    done
}

# TCP or ICMP reachability from one namespace to an address. ping when
# installed, otherwise the neighbour entry after a connect attempt.
probe() {
    local ns=$1 addr=$2
    if command -v ping >/dev/null 2>&1; then
        ip netns exec "$ns" ping -c 1 -W 2 "$addr" >/dev/null
    else
        ip netns exec "$ns" bash -c \
            "timeout 2 bash -c 'exec 3<>/dev/tcp/$addr/9' 2>/dev/null; true"
        ip -n "$ns" neigh show "$addr" | grep -qE 'REACHABLE|STALE|DELAY'
    fi
}

up() {
    local n=${1:-3} i ns
    [[ $n =~ ^[0-9]+$ ]] && ((n >= 1 && n <= 250)) || die "bad host count: $n"
    [[ $(id -u) == 0 ]] || die "needs root"
    command -v ip >/dev/null || die "needs iproute2 (ip)"
    # half-built test beds must not survive a failure
    trap 'echo "netns.sh: up failed, tearing down" >&2; down' ERR
    down
    ip netns add "$BR_NS"
    ip -n "$BR_NS" link set lo up
    ip -n "$BR_NS" link add br0 type bridge
    ip -n "$BR_NS" link set br0 up
    for ((i = 0; i < n; i++)); do
        ns=$P-h$i
        ip netns add "$ns"
        ip -n "$ns" link set lo up
        ip -n "$BR_NS" link add "v$i" type veth peer name eth0 netns "$ns"
        ip -n "$BR_NS" link set "v$i" master br0 up
        ip -n "$ns" addr add "$SUBNET.$((i + 1))/24" dev eth0
        ip -n "$ns" link set eth0 up
    done
    # every host reaches h0, and h0 reaches every host
    for ((i = 1; i < n; i++)); do
        probe "$P-h$i" "$SUBNET.1" || die "h$i cannot reach h0"
        probe "$P-h0" "$SUBNET.$((i + 1))" || die "h0 cannot reach h$i"
    done
    trap - ERR
    for ((i = 0; i < n; i++)); do
        echo "$P-h$i $SUBNET.$((i + 1))"
    done
}

cmd=${1:-}
shift || true
case $cmd in
up) up "$@" ;;
down) down ;;
exec)
    [[ $# -ge 2 ]] || die "usage: netns.sh exec HOST CMD..."
    ns=$(host_ns "$1")
    shift
    exec ip netns exec "$ns" "$@"
    ;;
addr)
    [[ $# -eq 1 ]] || die "usage: netns.sh addr HOST"
    host_addr "$1"
    ;;
list) our_namespaces ;;
*)
    sed -n '3,17p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
    ;;
esac
