/* SPDX-License-Identifier: Apache-2.0 */
/* Host side of the Granary guest API (sdk/include/granary/faas.h): the
 * "granary" import module. The faaslet layer fills a gr_faas_ctx per call
 * and points gr_host_ctx.faas at it. */
#ifndef GR_HOST_FAAS_H
#define GR_HOST_FAAS_H

#include <stddef.h>
#include <stdint.h>

#include "engine/wasm-rt.h"
#include "host/host.h"

/* Per-call input and output of one Faaslet. Used only by the thread
 * running the call. */
typedef struct gr_faas_ctx
{
    const uint8_t* input; /* borrowed for the call */
    size_t input_len;
    uint8_t* output; /* grows up to max_output; owned */
    size_t output_len, output_cap, max_output;
    int output_overflow; /* a write was refused for the limit */
} gr_faas_ctx;

/* Clears the output (keeps its buffer) and sets the input. */
void
gr_faas_ctx_begin(gr_faas_ctx* c, const uint8_t* input, size_t len);
void
gr_faas_ctx_fini(gr_faas_ctx* c);

/* Core functions behind the imports (tests call them directly). */
int32_t
gr_faas_input_size(gr_faas_ctx* c);
int32_t
gr_faas_input_read(gr_faas_ctx* c, wasm_rt_memory_t* mem, uint32_t buf,
                   uint32_t len, uint32_t offset);
int32_t
gr_faas_output_write(gr_faas_ctx* c, wasm_rt_memory_t* mem, uint32_t buf,
                     uint32_t len);

/* Appends bytes to the output within max_output (used by the stdout
 * capture of command modules). Returns 0 or -1 if over the limit. */
int
gr_faas_output_append(gr_faas_ctx* c, const void* data, size_t n);

/* The imports of module "granary" with their signatures (NULL-terminated;
 * see gr_host_import_check). */
extern const struct gr_host_import gr_faas_imports[];

#endif
