#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Chains across hosts: with one slot per worker, a parent on w1 holds w1's
# slot while it waits, so its child must run on w2 (the chain goes through
# the planner); a 3-deep chain and a fan-out of 4 children work too.
source "$(dirname "$0")/lib.sh"
cluster_up 2 1

out=$(call "chain:cg:chain:cg:hello") || fail "chain call"
[[ $out == "hello++" ]] || fail "chain output '$out'"

id=$(call_async "chain:cg:sleep:300")
r=$(record "$id")
[[ $(jq -r .output <<<"$r") == "slept+" ]] || fail "chain record: $r"
parent_host=$(jq -r .host <<<"$r")
# the child's placement is in the planner's log at debug level; its
# host is the one that is not the parent's (one slot each, parent waits)
n_w1=$(grep -c "worker: fetched admin/cg" "$GR_CLUSTER_DIR/w1.log" || true)
n_w2=$(grep -c "worker: fetched admin/cg" "$GR_CLUSTER_DIR/w2.log" || true)
echo "parent on $parent_host; module fetched by w1:$n_w1 w2:$n_w2"
[[ $n_w1 == 1 && $n_w2 == 1 ]] || fail "the chain did not cross hosts"

out=$(call "fan:4:20000") || fail "fan-out"
[[ $out == fanned ]] || fail "fan-out output '$out'"
echo "cluster chain: ok"
