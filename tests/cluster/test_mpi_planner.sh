#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# MPI apps through a planner on two worker hosts (network namespaces):
# bin-packing keeps a world's ranks on one host while they fit, a larger
# world spans both (its ranks talk across hosts: an all-reduce and a
# 1 MiB round trip), spread puts one rank per host, a world larger than
# the free slots is refused up front (409, nothing starts), a rank that
# traps on one host ends the app on both with the rank named, granary
# hosts shows where each rank runs, and a worker killed during an app
# ends it at once with "is down".
#   test_mpi_planner.sh GRANARY MPI_API_WASM
source "$(dirname "$0")/lib.sh"
cluster_up 2 2
client "$G" upload admin/api "$WASM" >/dev/null || fail "upload api"

# app INPUT NP [EXTRA]: POST /calls, prints the record
app() {
    client curl -s -H "$(AUTH)" -X POST "$GRANARY_SERVER/calls" \
        -d "{\"function\":\"admin/api\",\"np\":$2${3:-},\"input\":\"$1\"}"
}
# hosts of the ranks, in rank order ("w1 w1 w2 w2")
rank_hosts() { jq -r '.output | fromjson | [.ranks[].host] | join(" ")'; }

r=$(app sum 2)
[[ $(jq -r .state <<<"$r") == done ]] || fail "np 2: $r"
[[ $(rank_hosts <<<"$r") == "w1 w1" ]] || fail "np 2 not bin-packed: $r"
echo "ok bin-pack: $(rank_hosts <<<"$r")"

r=$(app sum 4)
[[ $(jq -r .state <<<"$r") == done ]] || fail "np 4: $r"
[[ $(rank_hosts <<<"$r") == "w1 w1 w2 w2" ]] || fail "np 4 placement: $r"
jq -r .stdout <<<"$r" | grep -qx "round trip ok" || fail "np 4 round trip: $r"
jq -r .stdout <<<"$r" | grep -qx "sum 6" || fail "np 4 sum: $r"
echo "ok across hosts: $(rank_hosts <<<"$r")"

r=$(app sum 2 ',"spread":true')
[[ $(rank_hosts <<<"$r") == "w1 w2" ]] || fail "spread: $r"
jq -r .stdout <<<"$r" | grep -qx "round trip ok" || fail "spread round trip: $r"
echo "ok spread: $(rank_hosts <<<"$r")"

code=$(client curl -s -o /dev/null -w '%{http_code}' -H "$(AUTH)" -X POST \
    "$GRANARY_SERVER/f/admin/api?np=5" --data-binary sum)
[[ $code == 409 ]] || fail "np 5 not refused: $code"
grep -q "refusing admin/api with 5 ranks" "$GR_CLUSTER_DIR/planner.log" ||
    fail "no refusal in the planner log"
echo "ok refused np 5"

# the CLI prints like mpirun and exits with the app's status
out=$(client "$G" invoke admin/api --np 4 --input "trap 3" 2>&1) && st=0 || st=$?
[[ $st == 134 ]] || fail "trap: status $st: $out"
grep -q "rank 3 trapped: integer divide by zero" <<<"$out" || fail "trap: $out"
out=$(client "$G" invoke admin/api --np 4 --input "abort 0" 2>&1) && st=0 || st=$?
[[ $st == 3 ]] || fail "abort: status $st: $out"
grep -q "rank 0 called MPI_Abort(3)" <<<"$out" || fail "abort: $out"
echo "ok failures across hosts"

# an app that blocks: where its ranks run, then kill w2 under it
id=$(client curl -sf -H "$(AUTH)" --data-binary "block" \
    "$GRANARY_SERVER/f/admin/api?np=4&async=1" | jq -r .call_id)
sleep 1
hosts=$(client "$G" hosts)
echo "$hosts"
grep -E "^w1 .*admin/api\([0-9]+\) ranks 0-1 of 4" <<<"$hosts" ||
    fail "granary hosts: no ranks on w1"
grep -E "^w2 .*admin/api\([0-9]+\) ranks 2-3 of 4" <<<"$hosts" ||
    fail "granary hosts: no ranks on w2"
# SIGKILL by hand: cluster.sh kill also waits for the process to go
kill -KILL "$(cat "$GR_CLUSTER_DIR/w2.pid")"
t0=$(now_ms)
r=$(record "$id" 15)
t=$(($(now_ms) - t0))
echo "after SIGKILL of w2: $(jq -c '{state,status,return_code}' <<<"$r") in $t ms"
jq -r .stderr <<<"$r"
[[ $(jq -r .state <<<"$r") == failed ]] || fail "app did not fail: $r"
jq -r .stderr <<<"$r" | grep -q "w2 (ranks 2-3) is down\|host 1 (.*ranks 2,3) is down" ||
    fail "unclear failure: $r"
((t < 5000)) || fail "failure took $t ms"
echo "cluster mpi planner: ok"
