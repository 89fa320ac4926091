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
struct gr_faas_chain_ops;

typedef struct gr_faas_ctx
{
    const uint8_t* input; /* borrowed for the call */
    size_t input_len;
    uint8_t* output; /* grows up to max_output; owned */
    size_t output_len, output_cap, max_output;
    int output_overflow; /* a write was refused for the limit */
    /* Chaining: set by the scheduler before each call (NULL: the chaining
     * imports return GRANARY_ENOTSUP). Borrowed. */
    const struct gr_faas_chain_ops* chain;
    void* chain_ctx;
} gr_faas_ctx;

/* Guest-visible chaining error codes (mirror sdk/include/granary/faas.h). */
#define GR_FAAS_EHANDLE (-1)   /* unknown handle */
#define GR_FAAS_EFAILED (-2)   /* the child trapped or could not run */
#define GR_FAAS_ETIMEDOUT (-3) /* the child (or the wait) timed out */
#define GR_FAAS_ENOENT (-4)    /* no such function */
#define GR_FAAS_EBUSY (-5)     /* queue full or too many children */
#define GR_FAAS_EDEPTH (-6)    /* chain too deep */
#define GR_FAAS_EFAULT (-7)    /* a pointer outside the guest's memory */
#define GR_FAAS_EINVAL (-8)    /* bad name or argument */
#define GR_FAAS_ENOTSUP (-9)   /* chaining unavailable here */

/* What the scheduler provides to chaining host functions (the host layer
 * must not depend on the scheduler). Called only on the thread running the
 * parent call; ctx is gr_faas_ctx.chain_ctx. Handles index a per-call
 * table of children kept by the scheduler. */
struct gr_faas_chain_ops
{
    /* Starts a call of fn[0..fn_len) (same user) with a copy of input.
     * Returns a handle >= 0 or a GR_FAAS_E* code. */
    int32_t (*chain)(void* ctx,
                     const char* fn,
                     size_t fn_len,
                     const uint8_t* input,
                     size_t len);
    /* Waits for the child; returns its return code or a GR_FAAS_E* code
     * (GR_FAAS_EFAILED, GR_FAAS_ETIMEDOUT, GR_FAAS_EHANDLE). */
    int32_t (*await)(void* ctx, int32_t handle);
    /* Waits for the child, then copies up to len bytes of its output from
     * offset into dst. Returns bytes copied (0 at the end) or a GR_FAAS_E*
     * code. */
    int32_t (*output)(void* ctx,
                      int32_t handle,
                      uint8_t* dst,
                      size_t len,
                      size_t offset);
};

/* Core functions behind the chaining imports (src/host/faas/chain.c).
 * They check every guest pointer and length against the memory size. */
int32_t gr_faas_chain(gr_faas_ctx* c,
                      wasm_rt_memory_t* mem,
                      uint32_t fn,
                      uint32_t fn_len,
                      uint32_t input,
                      uint32_t len);
int32_t gr_faas_await(gr_faas_ctx* c, int32_t handle);
int32_t gr_faas_chain_output(gr_faas_ctx* c,
                             wasm_rt_memory_t* mem,
                             int32_t handle,
                             uint32_t buf,
                             uint32_t len,
                             uint32_t offset);
int32_t gr_faas_await_all(gr_faas_ctx* c,
                          wasm_rt_memory_t* mem,
                          uint32_t handles,
                          uint32_t n,
                          uint32_t rcs);

/* Clears the output (keeps its buffer) and sets the input. */
void gr_faas_ctx_begin(gr_faas_ctx* c, const uint8_t* input, size_t len);
void gr_faas_ctx_fini(gr_faas_ctx* c);

/* Core functions behind the imports (tests call them directly). */
int32_t gr_faas_input_size(gr_faas_ctx* c);
int32_t gr_faas_input_read(gr_faas_ctx* c,
                           wasm_rt_memory_t* mem,
                           uint32_t buf,
                           uint32_t len,
                           uint32_t offset);
int32_t gr_faas_output_write(gr_faas_ctx* c,
                             wasm_rt_memory_t* mem,
                             uint32_t buf,
                             uint32_t len);

/* Appends bytes to the output within max_output (used by the stdout
 * capture of command modules). Returns 0 or -1 if over the limit. */
int gr_faas_output_append(gr_faas_ctx* c, const void* data, size_t n);

/* The imports of module "granary" with their signatures (NULL-terminated;
 * see gr_host_import_check). */
extern const struct gr_host_import gr_faas_imports[];

#endif
