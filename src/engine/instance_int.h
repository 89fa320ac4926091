/* SPDX-License-Identifier: Apache-2.0 */
/* Engine-private layout of objects and instances, shared by engine.c and
 * image.c. */
#ifndef GR_ENGINE_INSTANCE_INT_H
#define GR_ENGINE_INSTANCE_INT_H

#include <stdatomic.h>

#include "engine/engine.h"
#include "engine/gobject.h"
#include "util/hash.h"

struct gr_object
{
    atomic_int refs;
    void* dl;
    const struct gr_shim* shim; /* the engine's view (gobject.c builds it) */
    struct gr__gobj* g;         /* the loaded object (gobject.h) */
    char hash[GR_SHA256_HEX_LEN + 1];
    void* text;             /* registered code range start */
    struct gr_object* next; /* engine's list of loaded objects */
    uint64_t last_used;     /* engine tick of the last load (engine lock) */
};

struct gr_instance
{
    gr_object* obj;
    void* host;
    void* module;
    wasm_rt_memory_t* mem;
};

/* Allocates an instance of o (zeroed module struct, no instantiate run),
 * holding a reference to o. Returns 0 or -ENOMEM. */
int gr__instance_alloc(gr_object* o,
                       const gr_instance_config* cfg,
                       gr_instance** out);

#endif
