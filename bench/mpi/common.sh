# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
# Functions shared by bench_mpi.sh and bench_mpi_remote.sh, sourced by both
# after they set:
#   BENCH   the bench's name, for messages
#   OUT     a temporary folder; figures go to $OUT/figures
#   ROUNDS  how many rounds
#   FMT     the printf format of a table row (label, granary, openmpi, ratio)
# and define run SIDE NP WHAT ROUND, which runs one configuration and ends
# with mpi_record.

# mpi_record SIDE NP WHAT ROUND LOG RC: ends the bench with exit 1 and no
# RESULT when the run exited with RC != 0 or LOG has no "verified" line;
# else appends LOG's figures to $OUT/figures as "SIDE NP KIND BYTES VALUE".
mpi_record() {
    local side=$1 np=$2 what=$3 round=$4 log=$5 rc=$6
    if ((rc != 0)) || ! grep -qx verified "$log"; then
        cat "$log" >&2
        echo "$BENCH: $side -np $np $what (round $round) failed (exit $rc): no RESULT" >&2
        exit 1
    fi
    awk -v s="$side" -v n="$np" '$1 ~ /^(pingpong|bandwidth|allreduce)$/ && NF == 3 {
        print s, n, $1, $2, $3 }' "$log" >>"$OUT/figures"
}

# mpi_rounds "NP WHAT"...: ROUNDS rounds, each running every configuration
# on both sides, alternating which side goes first.
mpi_rounds() {
    local r cfg np what s sides
    : >"$OUT/figures"
    for ((r = 1; r <= ROUNDS; r++)); do
        if ((r % 2)); then sides=(granary openmpi); else sides=(openmpi granary); fi
        for cfg in "$@"; do
            read -r np what <<<"$cfg"
            for s in "${sides[@]}"; do
                run "$s" "$np" "$what" "$r"
            done
        done
        echo "$BENCH: round $r of $ROUNDS done"
    done
}

# mpi_stats SIDE NP KIND BYTES: "median min max count" over the rounds
mpi_stats() {
    awk -v s="$1" -v n="$2" -v k="$3" -v b="$4" '$1 == s && $2 == n && $3 == k && $4 == b { print $5 }' \
        "$OUT/figures" | sort -g | awk '{ v[NR] = $1 } END {
            if (NR == 0) { print "- - - 0"; exit }
            m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
            print m, v[1], v[NR], NR }'
}

# The table: mpi_header, then mpi_row per figure; a missing figure sets
# fail=1. ratio[KEY] holds each figure's Granary / Open MPI ratio.
# shellcheck disable=SC2034 # read by the benches
fail=0
declare -A ratio
mpi_header() {
    # shellcheck disable=SC2059
    printf "$FMT" figure granary openmpi ratio
}
mpi_row() { # LABEL KEY NP KIND BYTES
    local g o gm gmin gmax gn om omin omax on
    read -r gm gmin gmax gn <<<"$(mpi_stats granary "$3" "$4" "$5")"
    read -r om omin omax on <<<"$(mpi_stats openmpi "$3" "$4" "$5")"
    if [[ $gn != "$ROUNDS" || $on != "$ROUNDS" ]]; then
        echo "$BENCH: missing figure $1 ($gn/$on of $ROUNDS runs)" >&2
        fail=1
        return
    fi
    g=$(printf '%.3f [%.3f-%.3f]' "$gm" "$gmin" "$gmax")
    o=$(printf '%.3f [%.3f-%.3f]' "$om" "$omin" "$omax")
    ratio[$2]=$(awk -v a="$gm" -v b="$om" 'BEGIN { printf "%.3f", a / b }')
    # shellcheck disable=SC2059
    printf "$FMT" "$1" "$g" "$o" "${ratio[$2]}"
}

# mpi_rows_2: the rows both benches measure with 2 ranks.
mpi_rows_2() {
    mpi_row "ping-pong 0 B (us)" lat0 2 pingpong 0
    mpi_row "ping-pong 8 B (us)" lat8 2 pingpong 8
    mpi_row "ping-pong 1 KiB (us)" lat1k 2 pingpong 1024
    mpi_row "ping-pong 64 KiB (us)" lat64k 2 pingpong 65536
    mpi_row "ping-pong 1 MiB (us)" lat1m 2 pingpong 1048576
    mpi_row "bandwidth 1 MiB (MB/s)" bw1m 2 bandwidth 1048576
    mpi_row "allreduce 8 B, 2 (us)" ar8_2 2 allreduce 8
    mpi_row "allreduce 1 MiB, 2 (us)" ar1m_2 2 allreduce 1048576
}
