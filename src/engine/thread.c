/* SPDX-License-Identifier: Apache-2.0 */
/* Thread instances (see engine.h): a guest thread is another instance of
 * the same object, made by relocating a byte copy of the spawning
 * instance (its own globals, tables and import bindings) and pointing its
 * memory pointer at the spawner's shared memory. No guest code runs and
 * nothing is instantiated again, so a spawn costs a malloc and a copy. */
#include <errno.h>
#include <string.h>

#include "engine/engine.h"
#include "engine/instance_int.h"
#include "util/alloc.h"
#include "wasm/wrt.h"

int
gr_instance_thread_create(gr_instance* parent, gr_instance** out)
{
    gr_object* o = parent->obj;
    if (!o->g)
        return -ENOTSUP; /* wasm2c objects have no shared memories */
    size_t memp = gr__gobj_memp_offset(o->g);
    if (!parent->mem || memp == (size_t)-1)
        return -ENOTSUP;
    if (!((const wrt_memory*)parent->mem)->shared)
        return -EINVAL;
    gr_instance* in;
    int rc = gr__instance_alloc(o, NULL, &in);
    if (rc)
        return rc;
    in->host = parent->host;
    /* The copy's own memory fields are cleared: it must never free or
     * reach the parent's memory through mem_own. */
    rc = gr__gobj_copy_from(
      o->g, in->module, parent->module, in, GR_GOBJ_MEM_CLEAR);
    if (rc) {
        gr_instance_destroy(in);
        return rc;
    }
    wrt_memory* shared = (wrt_memory*)parent->mem;
    memcpy((char*)in->module + memp, &shared, sizeof shared);
    in->mem = parent->mem;
    *out = in;
    return 0;
}

int
gr_instance_memory_shared(const gr_instance* in)
{
    return in->obj->g && in->mem && ((const wrt_memory*)in->mem)->shared;
}

void
gr_instance_wake_waiters(gr_instance* in)
{
    if (in->obj->g && in->mem)
        wrt_wake_all((const wrt_memory*)in->mem);
}
