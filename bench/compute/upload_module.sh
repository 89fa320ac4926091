#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Builds the large module of the upload -> ready benchmark from real C that
# is on every machine that builds Granary, always the same way:
#   - wasi-libc's libc.a linked whole (--whole-archive, no gc),
#   - the C of this repository that compiles for wasm32-wasi: the guest MPI
#     library (sdk/lib/mpi) and Granary's own sources that need no threads
#     or sockets (src/wasm decoder, validator and C generator, src/util,
#     src/http's text parsers, src/state's map, the host's MPI
#     table), built twice: once with clang-14 and once with clang-19, the
#     second copy's external symbols renamed (suffix _b) so both link.
# Every function is exported (--export-all), so none is dead code the C
# compiler could drop: all of it is compiled, as for a library-style module
# whose functions are all reachable. The result (~1.1 MB, ~2,100 functions)
# is a WASI command whose main prints "ready".
# usage: upload_module.sh REPO_DIR OUT.wasm
set -eu
repo=$1
out=$2
cc=$repo/sdk/bin/granary-cc
work=$(mktemp -d "${TMPDIR:-/tmp}/granary-upload-module.XXXXXX")
trap 'rm -rf "$work"' EXIT

srcs=$(cd "$repo" && ls sdk/lib/mpi/*.c src/wasm/decode.c src/wasm/reader.c \
    src/wasm/query.c src/wasm/validate*.c src/wasm/emit*.c src/util/alloc.c \
    src/util/log.c src/util/status.c src/http/text.c src/state/map.c src/host/mpi_table.c \
    tests/guests/mpi_lib/mpi_suite.c \
    tests/guests/mpi_lib/mpi_nbc.c tests/guests/mpi/mpi_dev.c)
inc="-I$repo/src -I$repo/include -I$repo/sdk/include"

build_copy() { # build_copy DIR CLANG [RENAME_HEADER]
    mkdir -p "$1"
    for s in $srcs; do
        o=$1/$(echo "$s" | tr / _).o
        # test programs keep their main under a name of their own
        main=main_$(basename "$s" .c)
        GRANARY_CLANG=$2 "$cc" -O2 -c $inc -Dmain="$main" \
            ${3:+-include "$3"} "$repo/$s" -o "$o"
    done
}

build_copy "$work/a" clang-14
nm=$(command -v llvm-nm-19 || command -v llvm-nm-14 || command -v llvm-nm)
"$nm" --defined-only --extern-only "$work"/a/*.o |
    awk 'NF == 3 { print "#define " $3 " " $3 "_b" }' | sort -u \
    >"$work/rename.h"
build_copy "$work/b" clang-19 "$work/rename.h"
printf '#include <stdio.h>\nint main(void) { puts("ready"); return 0; }\n' \
    >"$work/main.c"
GRANARY_CLANG=clang-14 "$cc" -O2 "$work/main.c" "$work"/a/*.o "$work"/b/*.o \
    -Wl,--whole-archive,-lc,--no-whole-archive -Wl,--no-gc-sections \
    -Wl,--export-all -o "$out"
