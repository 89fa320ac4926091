/* SPDX-License-Identifier: Apache-2.0 */
/* Engine-private: objects written by Granary's own code generator
 * (src/wasm, gr_wasm_emit), the engine's only backend. gcodegen.c
 * turns wasm into the C files of one object (codegen.c compiles and caches
 * them); gobject.c loads such an object (entry point granary_wasm_module),
 * binds its imports to the host's functions and describes it to the rest of
 * the engine through a synthesized struct gr_shim, so that faaslets,
 * snapshots and host functions need not know which backend made it. */
#ifndef GR_ENGINE_GOBJECT_H
#define GR_ENGINE_GOBJECT_H

#include <stddef.h>
#include <stdint.h>

#include "engine/codegen.h"
#include "engine/engine.h"

/* Modules whose memory declares a maximum of at most this many pages get
 * explicit bounds checks in the granary backend (the other strategy is
 * guard pages). Part of the cache key through GR_GCODEGEN_VERSION. */
#define GR_GCODEGEN_SMALL_MAX_PAGES 1024u
/* Bump when what gcodegen.c writes changes meaning. */
#define GR_GCODEGEN_VERSION 2

/* The result of translating one module (gr__gcodegen_translate). */
struct gr__gcodegen_out
{
    char** names; /* C files written, relative to the directory (owned) */
    size_t n_names;
    int bounds;     /* 1: explicit bounds checks, 0: guard pages */
    size_t c_bytes; /* bytes of C written */
    size_t n_exports;
};

/* The memory strategy of a module (1: explicit bounds checks, 0: guard
 * pages): bounds checks when force_bounds (GRANARY_BOUNDS_CHECKS=1, the
 * engine's explicit_bounds) or when its memory, defined or imported,
 * declares a maximum of at most GR_GCODEGEN_SMALL_MAX_PAGES. Reads only the
 * import and memory sections (cheap: the result names the cache entry
 * before anything is built). */
int gr__gcodegen_strategy(const uint8_t* wasm, size_t len, int force_bounds);

/* Decodes and validates wasm[0..len) with src/wasm, vets its imports (only
 * function imports of i32/i64/f32/f64 signatures, and one memory imported
 * from module "env"; info->imports receives the function imports in
 * shim.h's signature format for the host policy check) and writes
 * the C for the given memory strategy (bounds: gr__gcodegen_strategy's
 * answer) into dir, split in parts for about `jobs` compilers. Returns 0,
 * GR_EINVALID_MODULE, GR_EIMPORT, GR_ECOMPILE (a feature the generator refuses)
 * or -errno, with a message in err. Release info with gr__codegen_info_fini and
 * out with gr__gcodegen_out_fini. */
int gr__gcodegen_translate(const uint8_t* wasm,
                           size_t len,
                           const char* dir,
                           int bounds,
                           int jobs,
                           struct gr__codegen_info* info,
                           struct gr__gcodegen_out* out,
                           char* err,
                           size_t errlen);
void gr__gcodegen_out_fini(struct gr__gcodegen_out* out);

/* The runtime headers of generated code, embedded at build time. */
extern const char gr__codegen_wrt_h[];
extern const size_t gr__codegen_wrt_h_len;
extern const char gr__codegen_wrt_simd_h[];
extern const size_t gr__codegen_wrt_simd_h_len;
/* The SHA-256 hex of the generator's sources and runtime headers (computed
 * at build time; part of the cache key). */
const char* gr__gcodegen_fingerprint(void);

/* ---- loading (gobject.c) ---- */

struct gr__gobj;

/* The runtime functions generated objects call (kept linked). */
extern void* const gr__gobj_runtime[];

/* Opens the granary-backend object in dl: checks its ABI, resolves every
 * function import to the host function the process exports under the
 * mangled name Z_<module>Z_<name>, places a memory imported from "env" in
 * the instance block (instantiate creates it from the import's limits, as
 * init() does a defined memory), builds the shim. Returns 0, GR_ELOAD
 * (message in err) or -ENOMEM. The caller keeps dl open while *out lives. */
int gr__gobj_open(void* dl,
                  const char* so_path,
                  struct gr__gobj** out,
                  char* err,
                  size_t errlen);
void gr__gobj_close(struct gr__gobj* g);
const struct gr_shim* gr__gobj_shim(const struct gr__gobj* g);
/* The memory strategy the object's code was compiled for
 * (GR_RT_MEM_GUARD or GR_RT_MEM_BOUNDS, engine/rt.h): its memories must be
 * created under it (gr_rt_set_memory_strategy). */
int gr__gobj_strategy(const struct gr__gobj* g);
/* An address inside the object's code (to find its text segment). */
const void* gr__gobj_code_addr(const struct gr__gobj* g);

/* Instantiates into module (shim.instance_size zeroed bytes): imports
 * bound with in as their context, memory, tables, segments, start
 * function. Must run under a trap frame (gr_rt_call); traps on failure. */
void gr__gobj_instantiate(const struct gr__gobj* g,
                          void* module,
                          gr_instance* in);
/* Frees what instantiate (or a restore) allocated in module. */
void gr__gobj_free(const struct gr__gobj* g, void* module);

/* Snapshot support (image.c). copy_from: module becomes a working byte
 * copy of src (an instance or an image at address src), with its own
 * tables and its imports bound to in (NULL: leave them). Its memory
 * fields (keep_memory): GR_GOBJ_MEM_CLEAR zeroed (the caller maps memory),
 * GR_GOBJ_MEM_KEEP module's own kept, GR_GOBJ_MEM_COPY src's copied (an
 * image: never used to free or reach memory). Returns 0 or -ENOMEM
 * (module may then be freed with gr__gobj_free or gr__gobj_drop). */
#define GR_GOBJ_MEM_CLEAR 0
#define GR_GOBJ_MEM_KEEP 1
#define GR_GOBJ_MEM_COPY 2
int gr__gobj_copy_from(const struct gr__gobj* g,
                       void* module,
                       const void* src,
                       gr_instance* in,
                       int keep_memory);
/* Offset of the memory pointer array in an instance ((size_t)-1: none),
 * for thread instances (thread.c). */
size_t gr__gobj_memp_offset(const struct gr__gobj* g);
/* Frees the table arrays of module (an image), not its memory. */
void gr__gobj_drop(const struct gr__gobj* g, void* module);

#endif
