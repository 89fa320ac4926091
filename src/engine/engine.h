/* SPDX-License-Identifier: Apache-2.0 */
/* The engine: turns a .wasm into a loaded native object (validate, wasm2c,
 * cc, content-addressed cache, dlopen) and creates instances of it. This is
 * the interface the faaslet layer and the CLI use. */
#ifndef GR_ENGINE_ENGINE_H
#define GR_ENGINE_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "engine/rt.h"
#include "engine/shim.h"

typedef struct gr_engine gr_engine;
typedef struct gr_object gr_object;
typedef struct gr_instance gr_instance;

/* Decides whether the host provides an import with this wasm signature
 * (see shim.h for the signature format). Returns 1 if yes, 0 if not. */
typedef int (*gr_import_check_fn)(const char* module,
                                  const char* name,
                                  const char* sig);

/* The wasm signature (shim.h format) under which the host provides
 * module.name, or NULL if it provides no such import. The string must stay
 * valid for the life of the process (a static table). */
typedef const char* (*gr_import_sig_fn)(const char* module, const char* name);

/* Code generators ("backends") that turn wasm into the C of an object:
 * Debian's wasm2c 1.0.32 with Granary's post-passes, or Granary's own
 * (src/wasm: threads, SIMD, all of the spec tests). */
enum gr_engine_backend
{
    GR_ENGINE_DEFAULT = 0, /* $GRANARY_ENGINE ("granary" or "wasm2c"), else
                              wasm2c */
    GR_ENGINE_WASM2C = 1,
    GR_ENGINE_GRANARY = 2,
};

typedef struct gr_engine_config
{
    /* Which code generator builds objects (cached separately). */
    enum gr_engine_backend backend;
    /* Object cache directory; NULL = $GRANARY_CACHE, else
     * $XDG_CACHE_HOME/granary, else $HOME/.cache/granary. */
    const char* cache_dir;
    /* C compiler for generated code; NULL = $GRANARY_CC, else "cc". */
    const char* cc;
    /* Parallel compile jobs for one module; 0 = number of CPUs. */
    int jobs;
    /* Build objects with explicit bounds checks instead of guard pages
     * (for valgrind). Cached separately. Also set by the environment
     * variable GRANARY_BOUNDS_CHECKS=1. */
    int explicit_bounds;
    /* Import policy; NULL accepts any import the process can resolve. */
    gr_import_check_fn import_check;
    /* The host's import signatures. With it a rejected module's message
     * lists every unknown import and, for a known name declared with
     * another type, says "wrong signature" with both types; an import is
     * accepted only when the signatures match (and import_check, if set,
     * agrees). */
    gr_import_sig_fn import_sig;
    /* Loaded objects kept when idle: beyond this many, objects nothing
     * references any more (no instance, Proto-Faaslet or caller) are
     * dlclosed, least recently loaded first, and load again (from the
     * cache) on next use. 0 = $GRANARY_MAX_OBJECTS, else 1024. */
    size_t max_objects;
    /* Limits of each compiler process (and of wasm2c): address space in
     * MiB and CPU time in seconds, as rlimits. 0 = $GRANARY_CC_MEMORY_MIB
     * / $GRANARY_CC_CPU_S, else 4096 MiB and 600 s; negative = none. A
     * compile that hits one fails with GR_ECOMPILE and "... exceeded its
     * memory limit (N MiB)" or "... CPU time limit (N s)". */
    long cc_memory_mib;
    long cc_cpu_s;
} gr_engine_config;

/* Creates an engine (cache directory created if missing). cfg may be NULL.
 * Returns 0 or a negative error (-EINVAL: $GRANARY_ENGINE names no
 * backend); *out owned by the caller. */
int gr_engine_create(const gr_engine_config* cfg, gr_engine** out);
void gr_engine_destroy(gr_engine* e);
const char* gr_engine_cache_dir(const gr_engine* e);
/* The backend the engine builds objects with (never GR_ENGINE_DEFAULT). */
enum gr_engine_backend gr_engine_backend(const gr_engine* e);

/* Validates wasm[0..len), compiles it unless the cache already holds it,
 * and loads it. On failure returns GR_EINVALID_MODULE, GR_EIMPORT,
 * GR_ECOMPILE, GR_ELOAD, GR_ETOOLCHAIN or -errno, and writes a one-line
 * reason into err (may be NULL). Nothing partial is left in the cache.
 * Thread-safe; concurrent loads of one module (even from several
 * processes) compile it at most once per process and never corrupt the
 * cache. *out is a new reference (gr_object_unref). */
int gr_engine_load(gr_engine* e,
                   const uint8_t* wasm,
                   size_t len,
                   gr_object** out,
                   char* err,
                   size_t errlen);

/* As gr_engine_load, reading the module from a file (at most 256 MiB). */
int gr_engine_load_file(gr_engine* e,
                        const char* path,
                        gr_object** out,
                        char* err,
                        size_t errlen);

/* Unloads idle objects (see max_objects) until at most max_objects are
 * loaded or none is idle. gr_engine_load does it after each load; call it
 * after releasing objects (e.g. dropping idle Proto-Faaslets). */
void gr_engine_trim(gr_engine* e);

typedef struct gr_engine_stats
{
    size_t loaded;         /* objects loaded now */
    size_t max_loaded;     /* the max_objects bound */
    unsigned long unloads; /* idle objects unloaded so far */
} gr_engine_stats;

void gr_engine_get_stats(gr_engine* e, gr_engine_stats* st);

gr_object* gr_object_ref(gr_object* o);
void gr_object_unref(gr_object* o);
/* The hex SHA-256 of the module's wasm. */
const char* gr_object_hash(const gr_object* o);
const struct gr_shim* gr_object_shim(const gr_object* o);

/* Looks up an exported function; if sig is non-NULL it must match exactly.
 * Returns the C function (cast it to the signature) or NULL. */
wasm_rt_function_ptr_t gr_object_export(const gr_object* o,
                                        const char* name,
                                        const char* sig);

typedef struct gr_instance_config
{
    uint32_t max_pages; /* linear-memory cap in 64 KiB pages; 0 = 65536 */
    void* host;         /* opaque context handed to host functions */
} gr_instance_config;

/* Instantiates the object (memory, data, tables; no start function run).
 * Returns 0, or GR_ETRAP with *trap filled (e.g. a data segment out of
 * range, or GR_TRAP_OOM), or -ENOMEM. Holds a reference to o. */
int gr_instance_create(gr_object* o,
                       const gr_instance_config* cfg,
                       gr_instance** out,
                       gr_trap* trap);
void gr_instance_destroy(gr_instance* in);

gr_object* gr_instance_object(const gr_instance* in);
/* The generated instance struct: the first argument of every export. */
void* gr_instance_module(const gr_instance* in);
/* The instance's linear memory, or NULL if it has none. */
wasm_rt_memory_t* gr_instance_memory(const gr_instance* in);
/* The __stack_pointer global, or NULL if the object does not expose it. */
uint32_t* gr_instance_stack_pointer(const gr_instance* in);
void* gr_instance_host(const gr_instance* in);
void gr_instance_set_host(gr_instance* in, void* host);

/* Runs fn(arg) (which calls into this instance) under a trap frame, like
 * gr_rt_call, and classifies the outcome: an out-of-bounds fault caused by
 * the guest's shadow stack running off the bottom of memory (with
 * --stack-first the stack pointer wraps below 0) is reported as
 * GR_TRAP_EXHAUSTION. Returns 0, GR_ETRAP or GR_EEXIT. */
int gr_instance_call(gr_instance* in, gr_rt_thunk fn, void* arg, gr_trap* trap);

/* As gr_instance_call with a deadline (see gr_rt_call_timeout): a guest
 * running past it ends with GR_TRAP_TIMEOUT. */
int gr_instance_call_timeout(gr_instance* in,
                             gr_rt_thunk fn,
                             void* arg,
                             gr_trap* trap,
                             uint64_t timeout_ns);

/* Instance images: everything of an instance except its linear memory
 * (globals, table contents), taken after initialisation so that new
 * instances can be made from it without running instantiate again. The
 * faaslet layer pairs an image with a memfd copy of the memory to form a
 * Proto-Faaslet snapshot. Immutable once taken; thread-safe to share. */
typedef struct gr_instance_image gr_instance_image;

/* Captures in's module state. Returns 0 or -ENOMEM. */
int gr_instance_image_take(const gr_instance* in, gr_instance_image** out);
void gr_instance_image_destroy(gr_instance_image* img);

/* Creates an instance of o in the image's state, its memory mapped
 * copy-on-write from memfd (pages long; see gr_rt_memory_map_fd). No guest
 * code runs. Returns 0, -ENOMEM, or -EINVAL if the image is of another
 * object. */
int gr_instance_create_from_image(gr_object* o,
                                  const gr_instance_image* img,
                                  int memfd,
                                  uint32_t pages,
                                  const gr_instance_config* cfg,
                                  gr_instance** out);

/* Puts an instance made by gr_instance_create_from_image back into the
 * image's state in place: globals and tables copied back, memory reset to
 * memfd (gr_rt_memory_reset; remap lists ranges mapped over since). */
int gr_instance_reset_to_image(gr_instance* in,
                               const gr_instance_image* img,
                               int memfd,
                               uint32_t pages,
                               const uint64_t (*remap)[2],
                               size_t n_remap);

/* Thread instances (thread.c; granary backend only). A guest thread of a
 * module with a shared memory runs in its own instance of the same
 * object: gr_instance_thread_create makes one from parent, the instance
 * of the spawning thread, called on the thread that runs parent (its
 * globals, including __stack_pointer and __tls_base, and its tables are
 * copied as they are now; the new thread's start code sets its own stack
 * and TLS). The new instance reaches parent's linear memory (the very
 * memory object: a grow is seen by all), shares parent's host context and
 * never frees the memory: destroy it (gr_instance_destroy) before the
 * instance that owns the memory. No guest code runs. Returns 0, -ENOTSUP
 * (a wasm2c object, or no memory), -EINVAL (the memory is not shared) or
 * -ENOMEM. */
int gr_instance_thread_create(gr_instance* parent, gr_instance** out);
/* 1 if in's memory is a shared memory of a granary-backend object. */
int gr_instance_memory_shared(const gr_instance* in);
/* Wakes every thread blocked in memory.atomic.wait on in's memory so that
 * each rechecks its call's deadline (see wrt_wake_all); used after
 * cancelling the threads of a call. */
void gr_instance_wake_waiters(gr_instance* in);

/* Host functions receive the pointer given to instantiate as their first
 * argument; the engine passes the gr_instance itself. */
static inline gr_instance*
gr_instance_from_import(void* ctx)
{
    return (gr_instance*)ctx;
}

#endif
