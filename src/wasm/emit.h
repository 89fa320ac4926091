/* SPDX-License-Identifier: Apache-2.0 */
/* The code generator: writes a decoded, validated module as C against the
 * runtime interface of wrt.h. The output is a set of files in one
 * directory (wmod.h, wpart_<n>.c, winit.c and wdata.bin for the data
 * segments, which winit.c includes with an assembler .incbin); compile all
 * .c files with `-I <dir of wrt.h> -Wa,-I<out dir>` into one shared object
 * whose single entry point is `granary_wasm_module` (a wrt_module_desc).
 * The same module always gives the same bytes. */
#ifndef GR_WASM_EMIT_H
#define GR_WASM_EMIT_H

#include "wasm/wasm.h"

#include <stddef.h>
#include <stdint.h>

/* What a function costs the C compiler, in instructions: its own plus a
 * fixed amount per function (measured with gcc 12 -O2 on a 1.2 MB module
 * of real C: about 6 ms a function plus 40 us an instruction, so a small
 * function costs about as much again as its instructions). */
#define GR_WASM_EMIT_FUNC_COST 150u
uint64_t gr_wasm_emit_cost(const gr_wasm_func* f);

/* Writes the C of `m` (decoded from `bytes`, `len`: data segments are
 * read from it) into the existing directory `dir`, splitting function
 * bodies into parts of about `part_instrs` of cost (gr_wasm_emit_cost;
 * 0: a default).
 * Returns the number of .c files written (>= 1), or -ENOMEM, -EIO or
 * -ENOTSUP (an instruction the generator does not support yet), with a
 * message in err (if not NULL). */
int gr_wasm_emit(const gr_wasm_module* m,
                 const uint8_t* bytes,
                 size_t len,
                 const char* dir,
                 uint32_t part_instrs,
                 char* err,
                 size_t errlen);

/* Like gr_wasm_emit, with parts sized for `jobs` compilers running at
 * once on them in order: each part takes 1/(2 jobs) of the cost not yet
 * written, and at least min_part, so parts shrink towards the end and the
 * last ones, which are small, fill the gaps when one compiler finishes
 * before another. */
int gr_wasm_emit_jobs(const gr_wasm_module* m,
                      const uint8_t* bytes,
                      size_t len,
                      const char* dir,
                      uint32_t jobs,
                      uint64_t min_part,
                      char* err,
                      size_t errlen);

#endif
