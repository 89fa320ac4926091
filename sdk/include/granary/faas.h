/* SPDX-License-Identifier: Apache-2.0 */
/* Granary guest API: what a function compiled with granary-cc can call.
 *
 * A function is either
 *   - a WASI command (a plain main()): its input arrives on stdin, its
 *     output is what it writes to stdout, its return code is main's;
 *   - or a reactor (build with -mexec-model=reactor) that defines
 *     GRANARY_MAIN(fn): fn reads the call's input with granary_input*,
 *     writes output with granary_output_write and returns the call's return
 *     code. GRANARY_INIT(fn) names an optional function run once, before
 *     the Proto-Faaslet snapshot is taken: everything it sets up (tables,
 *     parsed models, heap) is there, for free, at the start of every call.
 *
 * Every call starts from that snapshot: nothing a call writes to its memory
 * is seen by the next call (use state keys for that).
 */
#ifndef GRANARY_FAAS_H
#define GRANARY_FAAS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define GRANARY_IMPORT(name)                                                 \
    __attribute__((import_module("granary"), import_name(#name)))

/* Size of the call's input in bytes. */
GRANARY_IMPORT(input_size) int32_t granary_input_size(void);

/* Copies up to len bytes of the input, starting at offset, into buf.
 * Returns the number of bytes copied (0 at the end), or -1 if buf is not
 * inside the guest's memory. */
GRANARY_IMPORT(input_read)
int32_t granary_input_read(void* buf, int32_t len, int32_t offset);

/* Appends len bytes to the call's output. Returns 0, or -1 if the output
 * would exceed the function's output limit (nothing is appended then). */
GRANARY_IMPORT(output_write)
int32_t granary_output_write(const void* buf, int32_t len);

/* Marks the entry point of a reactor function: int fn(void). */
#define GRANARY_MAIN(fn)                                                     \
    __attribute__((export_name("granary_main"))) int fn(void)

/* Marks a function run once after start-up, before the snapshot. */
#define GRANARY_INIT(fn)                                                     \
    __attribute__((export_name("granary_init"))) void fn(void)

#ifdef __cplusplus
}
#endif

#endif
