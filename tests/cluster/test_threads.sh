#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Thread granules across the cluster: a worker's heartbeat carries its
# thread granules, their slots and the calls running them to the planner
# (GET /hosts, granary hosts), and threads=N travels with a call to the
# worker. Guest: tests/guests/threads/tgrant.c (third argument).
#   test_threads.sh GRANARY CLUSTER_GUEST TGRANT
TG=$3
# the slots decide, not this machine's CPU count (inherited by the hosts)
export GRANARY_THREAD_LIMIT=8
source "$(dirname "$0")/lib.sh"
cluster_up 1 3
client "$G" upload admin/tg "$TG" >/dev/null || fail "upload tgrant"

id=$(client curl -sf -H "$(AUTH)" --data-binary "1 0 4000 0 0" \
    "$GRANARY_SERVER/f/admin/tg?async=1" | jq -r .call_id)
ok=0
for _ in $(seq 150); do
    j=$(client "$G" hosts --json)
    if [[ $(jq '.hosts[0].threads' <<<"$j") == 2 ]]; then
        ok=1
        break
    fi
    sleep 0.1
done
((ok)) || fail "no thread granules in GET /hosts: $j"
[[ $(jq '.hosts[0].thread_slots' <<<"$j") == 2 ]] || fail "thread_slots: $j"
[[ $(jq --arg id "$id" \
    '.hosts[0].running[] | select(.id == $id) | .threads' <<<"$j") == 2 ]] ||
    fail "the call's threads: $j"
client "$G" hosts
r=$(record "$id")
[[ $(jq -r .state <<<"$r") == done ]] || fail "the threaded call: $r"
[[ $(jq -r .output <<<"$r") == $'limit=3 spawned=2 refused=0\ndone' ]] ||
    fail "its output: $r"

out=$(client curl -sf -H "$(AUTH)" --data-binary "1 0 0 0 0" \
    "$GRANARY_SERVER/f/admin/tg?threads=5")
[[ $out == $'limit=5 spawned=4 refused=0\ndone' ]] || fail "threads=5: $out"
echo "cluster threads: ok"
