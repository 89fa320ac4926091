/* SPDX-License-Identifier: Apache-2.0 */
/* The "granary" import module: call input and output for guests. Every
 * guest pointer is checked against the memory size before use. */
#include "host/faas/faas.h"

#include <string.h>

#include "engine/engine.h"
#include "host/host.h"
#include "host/wasi/wasi.h"
#include "util/alloc.h"

void
gr_faas_ctx_begin(gr_faas_ctx* c, const uint8_t* input, size_t len)
{
    c->input = input;
    c->input_len = len;
    c->output_len = 0;
    c->output_overflow = 0;
}

void
gr_faas_ctx_fini(gr_faas_ctx* c)
{
    gr_free(c->output);
    c->output = NULL;
    c->output_len = c->output_cap = 0;
}

int32_t
gr_faas_input_size(gr_faas_ctx* c)
{
    return c->input_len > INT32_MAX ? INT32_MAX : (int32_t)c->input_len;
}

int32_t
gr_faas_input_read(gr_faas_ctx* c,
                   wasm_rt_memory_t* mem,
                   uint32_t buf,
                   uint32_t len,
                   uint32_t offset)
{
    if ((int32_t)len < 0 || !gr_rt_memory_range_ok(mem, buf, len))
        return -1;
    if (offset >= c->input_len)
        return 0;
    size_t n = c->input_len - offset;
    if (n > len)
        n = len;
    memcpy(mem->data + buf, c->input + offset, n);
    return (int32_t)n;
}

int
gr_faas_output_append(gr_faas_ctx* c, const void* data, size_t n)
{
    if (n > c->max_output - c->output_len) {
        c->output_overflow = 1;
        return -1;
    }
    if (c->output_len + n > c->output_cap) {
        size_t cap = c->output_cap ? c->output_cap : 4096;
        while (cap < c->output_len + n)
            cap *= 2;
        if (cap > c->max_output)
            cap = c->max_output;
        uint8_t* p = gr_realloc(c->output, cap);
        if (!p) {
            c->output_overflow = 1;
            return -1;
        }
        c->output = p;
        c->output_cap = cap;
    }
    memcpy(c->output + c->output_len, data, n);
    c->output_len += n;
    return 0;
}

int32_t
gr_faas_output_write(gr_faas_ctx* c,
                     wasm_rt_memory_t* mem,
                     uint32_t buf,
                     uint32_t len)
{
    if ((int32_t)len < 0 || !gr_rt_memory_range_ok(mem, buf, len))
        return -1;
    return gr_faas_output_append(c, mem->data + buf, len);
}

/* ---- imports ------------------------------------------------------------ */

const struct gr_host_import gr_faas_imports[] = {
    { "granary", "input_size", ">i" },
    { "granary", "input_read", "iii>i" },
    { "granary", "output_write", "ii>i" },
    { "granary", "chain", "iiii>i" },
    { "granary", "await", "i>i" },
    { "granary", "chain_output", "iiii>i" },
    { "granary", "await_all", "iii>i" },
    /* shared state (state_host.c) */
    { "granary", "state_size", "ii>i" },
    { "granary", "state_map", "iiii>i" },
    { "granary", "state_read", "iiiii>i" },
    { "granary", "state_write", "iiiii>i" },
    { "granary", "state_set", "iiii>i" },
    { "granary", "state_push", "ii>i" },
    { "granary", "state_push_range", "iiii>i" },
    { "granary", "state_pull", "ii>i" },
    { "granary", "state_pull_range", "iiii>i" },
    { "granary", "state_append", "iiii>i" },
    { "granary", "state_read_appended", "iiiii>i" },
    { "granary", "state_lock", "iii>i" },
    { "granary", "state_unlock", "iii>i" },
    { "granary", "state_delete", "ii>i" },
    { NULL, NULL, NULL },
};

struct Z_granary_instance_t;

/* The wasm2c import symbols (declared here: only generated code calls). */
uint32_t Z_granaryZ_input_size(struct Z_granary_instance_t* ctx);
uint32_t Z_granaryZ_input_read(struct Z_granary_instance_t* ctx,
                               uint32_t buf,
                               uint32_t len,
                               uint32_t offset);
uint32_t Z_granaryZ_output_write(struct Z_granary_instance_t* ctx,
                                 uint32_t buf,
                                 uint32_t len);

static gr_faas_ctx*
faas_of(struct Z_granary_instance_t* ctx, wasm_rt_memory_t** mem)
{
    gr_instance* in = gr_instance_from_import(ctx);
    gr_host_ctx* h = gr_instance_host(in);
    *mem = gr_instance_memory(in);
    return h ? h->faas : NULL;
}

uint32_t
Z_granaryZ_input_size(struct Z_granary_instance_t* ctx)
{
    wasm_rt_memory_t* mem;
    gr_faas_ctx* c = faas_of(ctx, &mem);
    return c ? (uint32_t)gr_faas_input_size(c) : 0;
}

uint32_t
Z_granaryZ_input_read(struct Z_granary_instance_t* ctx,
                      uint32_t buf,
                      uint32_t len,
                      uint32_t offset)
{
    wasm_rt_memory_t* mem;
    gr_faas_ctx* c = faas_of(ctx, &mem);
    return c ? (uint32_t)gr_faas_input_read(c, mem, buf, len, offset)
             : (uint32_t)-1;
}

uint32_t
Z_granaryZ_output_write(struct Z_granary_instance_t* ctx,
                        uint32_t buf,
                        uint32_t len)
{
    wasm_rt_memory_t* mem;
    gr_faas_ctx* c = faas_of(ctx, &mem);
    if (!c)
        return (uint32_t)-1;
    /* The threads of a call share its output; the WASI lock is the one a
     * command's stdout (which appends to it too) is written under. */
    gr_host_ctx* h = gr_instance_host(gr_instance_from_import(ctx));
    if (h->wasi)
        gr_wasi_lock(h->wasi);
    uint32_t r = (uint32_t)gr_faas_output_write(c, mem, buf, len);
    if (h->wasi)
        gr_wasi_unlock(h->wasi);
    return r;
}
