#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# A worker killed (SIGKILL) mid-call: the caller gets a clear failure
# within a bounded time, the planner drops the host, new calls go to the
# other worker, nothing hangs; the worker restarts and rejoins.
source "$(dirname "$0")/lib.sh"
cluster_up 2 1

call warm >/dev/null || fail "first call"
id=$(call_async sleep:20000) # on w1 (bin-packing)
sleep 0.5
t0=$(now_ms)
"$CL" kill w1
r=$(record "$id" 10)
t=$(($(now_ms) - t0))
echo "after SIGKILL: $(jq -c '{state,status,error,host}' <<<"$r") in $t ms"
[[ $(jq -r .state <<<"$r") == failed ]] || fail "call did not fail: $r"
grep -qi "host" <<<"$r" || fail "unclear failure: $r"
((t < 3000)) || fail "failure took $t ms"
grep -q "dropping host w1" "$GR_CLUSTER_DIR/planner.log" ||
    fail "planner did not drop w1"

for i in 1 2 3; do
    id=$(call_async "n$i")
    r=$(record "$id" 10)
    [[ $(jq -r .host <<<"$r") == w2 ]] || fail "call after the kill: $r"
done

"$CL" start w1
for _ in $(seq 30); do
    [[ $(grep -c "host w1 joined" "$GR_CLUSTER_DIR/planner.log") == 2 ]] && break
    sleep 0.1
done
[[ $(grep -c "host w1 joined" "$GR_CLUSTER_DIR/planner.log") == 2 ]] ||
    fail "w1 did not rejoin"
# bin-packing prefers w1 again? No: it rejoined last, so w2 comes first.
# Fill w2 and check that w1 takes the next call.
hold=$(call_async sleep:1500)
sleep 0.2
id=$(call_async back)
r=$(record "$id" 10)
[[ $(jq -r .host <<<"$r") == w1 ]] || fail "rejoined w1 not used: $r"
record "$hold" >/dev/null
echo "cluster failover: ok"
