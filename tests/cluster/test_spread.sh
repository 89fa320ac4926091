#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Calls spread over workers when one is full: two workers with 2 slots
# each; bin-packing puts the first two calls on w1 and, w1 being full,
# the next two on w2. All four run at once (wall time ~ one call).
source "$(dirname "$0")/lib.sh"
cluster_up 2 2

[[ $(call hello) == hello ]] || fail "a first call"
t0=$(now_ms)
ids=()
for i in 1 2 3 4; do
    ids+=("$(call_async sleep:1500)")
done
declare -A on
for id in "${ids[@]}"; do
    r=$(record "$id")
    [[ $(jq -r .state <<<"$r") == done ]] || fail "call $id: $r"
    [[ $(jq -r .output <<<"$r") == slept ]] || fail "output of $id: $r"
    h=$(jq -r .host <<<"$r")
    on[$h]=$((${on[$h]:-0} + 1))
done
t=$(($(now_ms) - t0))
echo "placement: w1=${on[w1]:-0} w2=${on[w2]:-0}; 4 x 1.5 s calls in $t ms"
[[ ${on[w1]:-0} == 2 && ${on[w2]:-0} == 2 ]] || fail "not spread 2/2"
((t < 2900)) || fail "calls did not run in parallel ($t ms)"

# bin-packing: with room on w1, a lone call goes to w1
id=$(call_async sleep:10)
[[ $(record "$id" | jq -r .host) == w1 ]] || fail "lone call not on w1"

# the hosts view (GET /hosts; granary hosts) lists both workers
if client curl -sf -H "$(AUTH)" "$GRANARY_SERVER/hosts" >/dev/null; then
    client "$G" hosts
    [[ $(client "$G" hosts --json | jq '.hosts | length') == 2 ]] || fail "hosts"
else
    echo "note: GET /hosts not served by this build (see docs/cluster.md)"
fi
echo "cluster spread: ok"
