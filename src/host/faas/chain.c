/* SPDX-License-Identifier: Apache-2.0 */
/* The chaining imports of module "granary" (chain, await, chain_output,
 * await_all): guest pointers are checked here, the work is done by the
 * scheduler through the gr_faas_chain_ops stored in the call's context.
 * A wait that ends at the parent's deadline ends the parent's call. */
#include <string.h>

#include "engine/engine.h"
#include "engine/rt.h"
#include "host/faas/faas.h"
#include "host/host.h"

/* The scheduler's waits end at the waiting call's deadline with
 * GR_FAAS_ETIMEDOUT (which also reports a child that timed out). If the
 * deadline has passed, the parent's call ends here as a timeout instead of
 * returning to a guest that may wait again; nothing is held here (the
 * children's records are the scheduler's, dropped when the call ends). */
static int32_t
waited(int32_t rc)
{
    if (rc == GR_FAAS_ETIMEDOUT)
        gr_rt_check_deadline();
    return rc;
}

int32_t
gr_faas_chain(gr_faas_ctx* c,
              wasm_rt_memory_t* mem,
              uint32_t fn,
              uint32_t fn_len,
              uint32_t input,
              uint32_t len)
{
    if (!c->chain)
        return GR_FAAS_ENOTSUP;
    if ((int32_t)fn_len <= 0 || (int32_t)len < 0)
        return GR_FAAS_EINVAL;
    if (!gr_rt_memory_range_ok(mem, fn, fn_len) ||
        !gr_rt_memory_range_ok(mem, input, len))
        return GR_FAAS_EFAULT;
    return c->chain->chain(c->chain_ctx,
                           (const char*)mem->data + fn,
                           fn_len,
                           mem->data + input,
                           len);
}

int32_t
gr_faas_await(gr_faas_ctx* c, int32_t handle)
{
    if (!c->chain)
        return GR_FAAS_ENOTSUP;
    if (handle < 0)
        return GR_FAAS_EHANDLE;
    return waited(c->chain->await(c->chain_ctx, handle));
}

int32_t
gr_faas_chain_output(gr_faas_ctx* c,
                     wasm_rt_memory_t* mem,
                     int32_t handle,
                     uint32_t buf,
                     uint32_t len,
                     uint32_t offset)
{
    if (!c->chain)
        return GR_FAAS_ENOTSUP;
    if (handle < 0)
        return GR_FAAS_EHANDLE;
    if ((int32_t)len < 0 || (int32_t)offset < 0)
        return GR_FAAS_EINVAL;
    if (!gr_rt_memory_range_ok(mem, buf, len))
        return GR_FAAS_EFAULT;
    return waited(
      c->chain->output(c->chain_ctx, handle, mem->data + buf, len, offset));
}

int32_t
gr_faas_await_all(gr_faas_ctx* c,
                  wasm_rt_memory_t* mem,
                  uint32_t handles,
                  uint32_t n,
                  uint32_t rcs)
{
    if (!c->chain)
        return GR_FAAS_ENOTSUP;
    if ((int32_t)n < 0)
        return GR_FAAS_EINVAL;
    uint64_t bytes = (uint64_t)n * sizeof(int32_t);
    if (!gr_rt_memory_range_ok(mem, handles, bytes) ||
        (rcs && !gr_rt_memory_range_ok(mem, rcs, bytes)))
        return GR_FAAS_EFAULT;
    int32_t first_err = 0;
    for (uint32_t i = 0; i < n; i++) {
        int32_t h, rc;
        /* Guest memory has no alignment guarantee: copy, don't cast. The
         * memory cannot move or shrink while the guest waits in here. */
        memcpy(&h, mem->data + handles + (uint64_t)i * 4, sizeof h);
        rc = h < 0 ? GR_FAAS_EHANDLE : waited(c->chain->await(c->chain_ctx, h));
        if (rcs)
            memcpy(mem->data + rcs + (uint64_t)i * 4, &rc, sizeof rc);
        if (rc < 0 && !first_err)
            first_err = rc;
    }
    return first_err;
}

/* ---- wasm2c import symbols ---------------------------------------------- */

struct Z_granary_instance_t;

uint32_t Z_granaryZ_chain(struct Z_granary_instance_t* ctx,
                          uint32_t fn,
                          uint32_t fn_len,
                          uint32_t input,
                          uint32_t len);
uint32_t Z_granaryZ_await(struct Z_granary_instance_t* ctx, uint32_t handle);
uint32_t Z_granaryZ_chain_output(struct Z_granary_instance_t* ctx,
                                 uint32_t handle,
                                 uint32_t buf,
                                 uint32_t len,
                                 uint32_t offset);
uint32_t Z_granaryZ_await_all(struct Z_granary_instance_t* ctx,
                              uint32_t handles,
                              uint32_t n,
                              uint32_t rcs);

static gr_faas_ctx*
faas_of(struct Z_granary_instance_t* ctx, wasm_rt_memory_t** mem)
{
    gr_instance* in = gr_instance_from_import(ctx);
    gr_host_ctx* h = gr_instance_host(in);
    *mem = gr_instance_memory(in);
    return h ? h->faas : NULL;
}

uint32_t
Z_granaryZ_chain(struct Z_granary_instance_t* ctx,
                 uint32_t fn,
                 uint32_t fn_len,
                 uint32_t input,
                 uint32_t len)
{
    wasm_rt_memory_t* mem;
    gr_faas_ctx* c = faas_of(ctx, &mem);
    return (uint32_t)(c ? gr_faas_chain(c, mem, fn, fn_len, input, len)
                        : GR_FAAS_ENOTSUP);
}

uint32_t
Z_granaryZ_await(struct Z_granary_instance_t* ctx, uint32_t handle)
{
    wasm_rt_memory_t* mem;
    gr_faas_ctx* c = faas_of(ctx, &mem);
    return (uint32_t)(c ? gr_faas_await(c, (int32_t)handle) : GR_FAAS_ENOTSUP);
}

uint32_t
Z_granaryZ_chain_output(struct Z_granary_instance_t* ctx,
                        uint32_t handle,
                        uint32_t buf,
                        uint32_t len,
                        uint32_t offset)
{
    wasm_rt_memory_t* mem;
    gr_faas_ctx* c = faas_of(ctx, &mem);
    return (uint32_t)(c ? gr_faas_chain_output(
                            c, mem, (int32_t)handle, buf, len, offset)
                        : GR_FAAS_ENOTSUP);
}

uint32_t
Z_granaryZ_await_all(struct Z_granary_instance_t* ctx,
                     uint32_t handles,
                     uint32_t n,
                     uint32_t rcs)
{
    wasm_rt_memory_t* mem;
    gr_faas_ctx* c = faas_of(ctx, &mem);
    return (uint32_t)(c ? gr_faas_await_all(c, mem, handles, n, rcs)
                        : GR_FAAS_ENOTSUP);
}
