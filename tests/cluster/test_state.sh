#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# State shared across hosts through Redis: a value written (and pushed) by
# a call on one worker is read (pulled) by a call on the other.
source "$(dirname "$0")/lib.sh"
cluster_up 2 1

# a long call pins w1, so the writer runs on w2 and the reader on w1 later
hold=$(call_async sleep:2000)
sleep 0.3
id=$(call_async "put:shared=from-somewhere")
r=$(record "$id")
[[ $(jq -r .output <<<"$r") == ok ]] || fail "put: $r"
wh=$(jq -r .host <<<"$r")
record "$hold" >/dev/null
id=$(call_async "get:shared")
r=$(record "$id")
rh=$(jq -r .host <<<"$r")
echo "written on $wh, read on $rh"
[[ $wh != "$rh" ]] || fail "writer and reader on the same host"
[[ $(jq -r .output <<<"$r") == from-somewhere ]] || fail "get: $r"
echo "cluster state: ok"
