#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# A whole Granary cluster on one machine (needs root): network namespaces
# from netns.sh, Redis on h0, the planner on h1, workers w1..wN on h2...
#   cluster.sh up GRANARY N [SLOTS]  start everything; prints the env to use
#   cluster.sh env                   GRANARY_SERVER / GRANARY_TOKEN lines
#   cluster.sh kill wI [SIGNAL]      kill worker I (default SIGKILL)
#   cluster.sh start wI              (re)start worker I
#   cluster.sh client CMD...         run a client (curl, granary invoke) on
#                                    h0: the test bed is not reachable
#                                    from the root namespace
#   cluster.sh down                  stop every process, remove namespaces
# State (logs, data, caches, pids) lives in $GR_CLUSTER_DIR (default
# /tmp/granary-cluster). Every host gets its own data directory and object
# cache: nothing is shared through the file system. GR_NETNS_PREFIX and
# GR_NETNS_SUBNET are passed to netns.sh; GR_CLUSTER_SLOTS sets worker
# slots; GRANARY_LOG is passed through.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
netns=$here/netns.sh
dir=${GR_CLUSTER_DIR:-/tmp/granary-cluster}
http_port=8080
cluster_port=7070
redis_port=6379

die() {
    echo "cluster.sh: $*" >&2
    exit 1
}

pid_alive() { [[ -f $dir/$1.pid ]] && kill -0 "$(cat "$dir/$1.pid")" 2>/dev/null; }

stop_proc() { # NAME [SIGNAL]
    local f=$dir/$1.pid
    [[ -f $f ]] || return 0
    local pid
    pid=$(cat "$f")
    kill -"${2:-TERM}" "$pid" 2>/dev/null || true
    for _ in $(seq 50); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    rm -f "$f"
}

wait_log() { # FILE PATTERN SECONDS
    for _ in $(seq $((${3} * 10))); do
        grep -q "$2" "$1" 2>/dev/null && return 0
        sleep 0.1
    done
    echo "--- $1" >&2
    cat "$1" >&2 || true
    return 1
}

start_worker() { # I
    local i=$1 g
    g=$(cat "$dir/granary")
    local planner
    planner=$("$netns" addr h1):$cluster_port
    local slots
    slots=$(cat "$dir/slots")
    # a restarted worker starts a fresh log (the old one is kept)
    [[ -f $dir/w$i.log ]] && mv "$dir/w$i.log" "$dir/w$i.log.$(date +%s%N)"
    "$netns" exec "h$((i + 1))" env GRANARY_DATA= GRANARY_CACHE= \
        "$g" worker --planner "$planner" --id "w$i" --slots "$slots" \
        --redis "$("$netns" addr h0):$redis_port" \
        --data "$dir/w$i/data" --cache "$dir/w$i/cache" \
        >"$dir/w$i.log" 2>&1 &
    echo $! >"$dir/w$i.pid"
    wait_log "$dir/w$i.log" "w$i registered" 20 || die "worker w$i did not join"
}

up() { # GRANARY N [SLOTS]
    local g=$1 n=$2 slots=${3:-${GR_CLUSTER_SLOTS:-2}}
    [[ -x $g ]] || die "not executable: $g"
    [[ $n -ge 1 ]] || die "need at least one worker"
    down_all
    mkdir -p "$dir"
    echo "$g" >"$dir/granary"
    echo "$n" >"$dir/workers"
    echo "$slots" >"$dir/slots"
    "$netns" up $((n + 2)) >/dev/null
    local raddr paddr
    raddr=$("$netns" addr h0)
    paddr=$("$netns" addr h1)
    "$netns" exec h0 redis-server --bind "$raddr" --port $redis_port \
        --save "" --appendonly no --protected-mode no \
        >"$dir/redis.log" 2>&1 &
    echo $! >"$dir/redis.pid"
    wait_log "$dir/redis.log" "Ready to accept" 10 || die "redis did not start"
    mkdir -p "$dir/planner"
    GRANARY_DATA= "$g" token create admin --admin --data "$dir/planner/data" \
        >"$dir/token"
    "$netns" exec h1 env GRANARY_DATA= GRANARY_CACHE= \
        "$g" planner --listen "$paddr:$http_port" \
        --cluster "$paddr:$cluster_port" --data "$dir/planner/data" \
        --cache "$dir/planner/cache" --redis "$raddr:$redis_port" \
        ${GR_CLUSTER_PLANNER_ARGS:-} >"$dir/planner.log" 2>&1 &
    echo $! >"$dir/planner.pid"
    wait_log "$dir/planner.log" "workers join" 10 || die "planner did not start"
    for i in $(seq "$n"); do
        start_worker "$i"
    done
    env_lines
}

env_lines() {
    echo "export GRANARY_SERVER=http://$("$netns" addr h1):$http_port"
    echo "export GRANARY_TOKEN=$(cat "$dir/token")"
}

down_all() {
    if [[ -d $dir ]]; then
        for f in "$dir"/w*.pid "$dir"/planner.pid "$dir"/redis.pid; do
            [[ -f $f ]] && stop_proc "$(basename "$f" .pid)"
        done
    fi
    "$netns" down >/dev/null 2>&1 || true
}

cmd=${1:-}
shift || true
case $cmd in
up)
    [[ $# -ge 2 ]] || die "usage: cluster.sh up GRANARY N [SLOTS]"
    up "$@"
    ;;
env) env_lines ;;
client)
    [[ $# -ge 1 ]] || die "usage: cluster.sh client CMD..."
    exec "$netns" exec h0 "$@"
    ;;
kill)
    [[ $# -ge 1 ]] || die "usage: cluster.sh kill wI [SIGNAL]"
    pid_alive "$1" || die "$1 is not running"
    stop_proc "$1" "${2:-KILL}"
    ;;
start)
    [[ $# -ge 1 && $1 == w* ]] || die "usage: cluster.sh start wI"
    start_worker "${1#w}"
    ;;
down)
    down_all
    rm -rf "$dir"
    ;;
*)
    sed -n '3,15p' "$0" >&2
    exit 2
    ;;
esac
