/* SPDX-License-Identifier: Apache-2.0 */
/* Engine front: configuration, the in-process table of loaded objects,
 * dlopen of cached objects through their one entry point
 * (granary_wasm_module, gobject.c), and instances. Compilation and the
 * on-disk cache live in codegen.c. */
#include "engine/engine.h"

#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <link.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <granary/status.h>

#include "engine/codegen.h"
#include "engine/instance_int.h"
#include "util/alloc.h"
#include "util/fs.h"
#include "util/hash.h"
#include "util/log.h"

#define MAX_MODULE_BYTES (256u << 20)
#define DEFAULT_MAX_OBJECTS 1024

struct gr_engine
{
    char* cache_dir;
    char* cc;
    int jobs;
    int explicit_bounds;
    enum gr_engine_backend backend;
    gr_import_check_fn import_check;
    gr_import_sig_fn import_sig;
    long cc_memory_mib, cc_cpu_s;
    /* Guards objects and serialises compiles of one hash in this process. */
    pthread_mutex_t lock;
    pthread_cond_t cond;
    struct gr_object* objects;
    size_t n_objects;
    size_t max_objects; /* idle objects beyond this are unloaded */
    uint64_t tick;      /* load counter, for LRU order */
    unsigned long unloads;
    struct pending* pending;
};

/* A hash some thread is compiling right now; others wait for it. */
struct pending
{
    char hash[GR_SHA256_HEX_LEN + 1];
    struct pending* next;
};

static void
set_err(char* err, size_t errlen, const char* fmt, ...)
{
    if (!err || !errlen)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

static char*
default_cache_dir(void)
{
    const char* e = getenv("GRANARY_CACHE");
    if (e && *e)
        return gr_strdup(e);
    char buf[PATH_MAX];
    const char* xdg = getenv("XDG_CACHE_HOME");
    const char* home = getenv("HOME");
    if (xdg && *xdg)
        snprintf(buf, sizeof buf, "%s/granary", xdg);
    else if (home && *home)
        snprintf(buf, sizeof buf, "%s/.cache/granary", home);
    else
        snprintf(buf, sizeof buf, "/tmp/granary-cache-%d", (int)getuid());
    return gr_strdup(buf);
}

int
gr_engine_create(const gr_engine_config* cfg, gr_engine** out)
{
    gr_engine_config def = { 0 };
    if (!cfg)
        cfg = &def;
    gr_rt_init();
    gr_engine* e = gr_calloc(1, sizeof *e);
    if (!e)
        return -ENOMEM;
    const char* cc = cfg->cc ? cfg->cc : getenv("GRANARY_CC");
    e->cache_dir =
      cfg->cache_dir ? gr_strdup(cfg->cache_dir) : default_cache_dir();
    e->cc = gr_strdup(cc && *cc ? cc : "cc");
    e->jobs = cfg->jobs > 0 ? cfg->jobs : (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (e->jobs < 1)
        e->jobs = 1;
    /* GRANARY_BOUNDS_CHECKS=1 selects explicit bounds checks instead of
     * guard pages, e.g. to run under valgrind, which guard-page faults
     * confuse. */
    const char* bc = getenv("GRANARY_BOUNDS_CHECKS");
    e->explicit_bounds = cfg->explicit_bounds || (bc && strcmp(bc, "1") == 0);
    /* One backend is left (Granary's own generator); the selection stays
     * so that configurations naming it keep working. */
    e->backend = cfg->backend;
    if (e->backend == GR_ENGINE_DEFAULT) {
        const char* be = getenv("GRANARY_ENGINE");
        if (!be || !*be || strcmp(be, "granary") == 0)
            e->backend = GR_ENGINE_GRANARY;
        else {
            GR_ERROR("GRANARY_ENGINE=%s: the only backend is granary%s",
                     be,
                     strcmp(be, "wasm2c") == 0 ? " (wasm2c was removed)" : "");
            e->backend = GR_ENGINE_DEFAULT;
        }
    }
    if (e->backend != GR_ENGINE_GRANARY) {
        gr_free(e->cache_dir);
        gr_free(e->cc);
        gr_free(e);
        return -EINVAL;
    }
    e->import_check = cfg->import_check;
    e->import_sig = cfg->import_sig;
    e->cc_memory_mib = cfg->cc_memory_mib;
    e->cc_cpu_s = cfg->cc_cpu_s;
    const char* mo = getenv("GRANARY_MAX_OBJECTS");
    long mo_env = mo && *mo ? strtol(mo, NULL, 10) : 0;
    e->max_objects = cfg->max_objects ? cfg->max_objects
                     : mo_env > 0     ? (size_t)mo_env
                                      : DEFAULT_MAX_OBJECTS;
    pthread_mutex_init(&e->lock, NULL);
    pthread_cond_init(&e->cond, NULL);
    if (!e->cache_dir || !e->cc) {
        gr_engine_destroy(e);
        return -ENOMEM;
    }
    int rc = gr_fs_mkdir_p(e->cache_dir);
    if (rc) {
        GR_ERROR("cannot create cache directory %s: %s",
                 e->cache_dir,
                 gr_strerror(rc));
        gr_engine_destroy(e);
        return rc;
    }
    /* Build directories a crashed process left behind. */
    gr__cache_clean_stale(e->cache_dir, 3600);
    *out = e;
    return 0;
}

void
gr_engine_destroy(gr_engine* e)
{
    if (!e)
        return;
    struct gr_object* o = e->objects;
    while (o) {
        struct gr_object* next = o->next;
        o->next = NULL;
        gr_object_unref(o);
        o = next;
    }
    pthread_mutex_destroy(&e->lock);
    pthread_cond_destroy(&e->cond);
    gr_free(e->cache_dir);
    gr_free(e->cc);
    gr_free(e);
}

const char*
gr_engine_cache_dir(const gr_engine* e)
{
    return e->cache_dir;
}

enum gr_engine_backend
gr_engine_backend(const gr_engine* e)
{
    return e->backend;
}

struct text_search
{
    uintptr_t addr;
    uintptr_t start, end;
};

static int
find_text(struct dl_phdr_info* info, size_t size, void* data)
{
    (void)size;
    struct text_search* t = data;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr)* ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X))
            continue;
        uintptr_t s = info->dlpi_addr + ph->p_vaddr;
        if (t->addr >= s && t->addr < s + ph->p_memsz) {
            t->start = s;
            t->end = s + ph->p_memsz;
            return 1;
        }
    }
    return 0;
}

/* Publishes the object's executable segment so call deadlines can tell
 * generated code from host code. An object whose code is not registered
 * would run without deadlines, so failing here fails the load. */
static int
register_text(gr_object* o,
              const void* code,
              const char* so_path,
              char* err,
              size_t errlen)
{
    struct text_search t = { (uintptr_t)code, 0, 0 };
    if (!dl_iterate_phdr(find_text, &t) || !t.start) {
        set_err(err, errlen, "%s: no executable segment found", so_path);
        return GR_ELOAD;
    }
    int rc = gr_rt_code_register((void*)t.start, t.end - t.start);
    if (rc) {
        set_err(err,
                errlen,
                "cannot register the code of %s for call deadlines: %s",
                so_path,
                rc == -ENOSPC ? "too many loaded objects" : gr_strerror(rc));
        GR_ERROR("engine: %s", err ? err : "cannot register code");
        return GR_ELOAD;
    }
    o->text = (void*)t.start;
    return 0;
}

static int
open_object(const char* so_path,
            const char* hash,
            gr_object** out,
            char* err,
            size_t errlen)
{
    gr_object* o = gr_calloc(1, sizeof *o);
    if (!o)
        return -ENOMEM;
    atomic_init(&o->refs, 1);
    memcpy(o->hash, hash, sizeof o->hash);
    o->dl = dlopen(so_path, RTLD_NOW | RTLD_LOCAL);
    if (!o->dl) {
        set_err(err, errlen, "cannot load %s: %s", so_path, dlerror());
        goto fail;
    }
    int rc = gr__gobj_open(o->dl, so_path, &o->g, err, errlen);
    if (rc)
        goto fail;
    o->shim = gr__gobj_shim(o->g);
    if (register_text(o, gr__gobj_code_addr(o->g), so_path, err, errlen))
        goto fail;
    *out = o;
    return 0;
fail:
    gr__gobj_close(o->g);
    if (o->dl)
        dlclose(o->dl);
    gr_free(o);
    return GR_ELOAD;
}

/* Caller holds e->lock. */
static gr_object*
find_loaded(gr_engine* e, const char* hash)
{
    for (gr_object* o = e->objects; o; o = o->next)
        if (strcmp(o->hash, hash) == 0)
            return o;
    return NULL;
}

static struct pending**
find_pending(gr_engine* e, const char* hash)
{
    for (struct pending** p = &e->pending; *p; p = &(*p)->next)
        if (strcmp((*p)->hash, hash) == 0)
            return p;
    return NULL;
}

int
gr_engine_load(gr_engine* e,
               const uint8_t* wasm,
               size_t len,
               gr_object** out,
               char* err,
               size_t errlen)
{
    char hash[GR_SHA256_HEX_LEN + 1];
    if (len > MAX_MODULE_BYTES) {
        set_err(err,
                errlen,
                "module is %zu bytes; the limit is %u",
                len,
                MAX_MODULE_BYTES);
        return GR_EINVALID_MODULE;
    }
    int rc = gr_sha256_hex(wasm, len, hash);
    if (rc)
        return rc;

    pthread_mutex_lock(&e->lock);
    gr_object* o;
    while (!(o = find_loaded(e, hash)) && find_pending(e, hash))
        pthread_cond_wait(&e->cond, &e->lock);
    if (o) {
        gr_object_ref(o);
        o->last_used = ++e->tick;
        pthread_mutex_unlock(&e->lock);
        *out = o;
        return 0;
    }
    struct pending me;
    memcpy(me.hash, hash, sizeof hash);
    me.next = e->pending;
    e->pending = &me;
    pthread_mutex_unlock(&e->lock);

    struct gr__codegen_opts opts = {
        .cache_dir = e->cache_dir,
        .cc = e->cc,
        .jobs = e->jobs,
        .explicit_bounds = e->explicit_bounds,
        .import_check = e->import_check,
        .import_sig = e->import_sig,
        .mem_mib = e->cc_memory_mib,
        .cpu_s = e->cc_cpu_s,
    };
    char so_path[PATH_MAX];
    rc = gr__codegen_ensure(&opts, wasm, len, hash, so_path, err, errlen);
    if (rc == 0)
        rc = open_object(so_path, hash, &o, err, errlen);

    pthread_mutex_lock(&e->lock);
    *find_pending(e, hash) = me.next;
    if (rc == 0) {
        o->next = e->objects;
        e->objects = o; /* the engine's reference */
        o->last_used = ++e->tick;
        e->n_objects++;
        gr_object_ref(o);
        *out = o;
    }
    pthread_cond_broadcast(&e->cond);
    pthread_mutex_unlock(&e->lock);
    gr_engine_trim(e);
    return rc;
}

void
gr_engine_trim(gr_engine* e)
{
    struct gr_object* victims = NULL;
    pthread_mutex_lock(&e->lock);
    while (e->n_objects > e->max_objects) {
        /* Only the engine's reference left: no instance, Proto-Faaslet or
         * caller holds it, and new references are only handed out under
         * this lock, so the count cannot rise behind our back. */
        struct gr_object **best = NULL, **pp;
        for (pp = &e->objects; *pp; pp = &(*pp)->next)
            if (atomic_load(&(*pp)->refs) == 1 &&
                (!best || (*pp)->last_used < (*best)->last_used))
                best = pp;
        if (!best)
            break;
        struct gr_object* o = *best;
        *best = o->next;
        o->next = victims;
        victims = o;
        e->n_objects--;
        e->unloads++;
    }
    pthread_mutex_unlock(&e->lock);
    while (victims) {
        struct gr_object* next = victims->next;
        victims->next = NULL;
        gr_object_unref(victims); /* dlclose and unregister */
        victims = next;
    }
}

void
gr_engine_get_stats(gr_engine* e, gr_engine_stats* st)
{
    pthread_mutex_lock(&e->lock);
    st->loaded = e->n_objects;
    st->max_loaded = e->max_objects;
    st->unloads = e->unloads;
    pthread_mutex_unlock(&e->lock);
}

int
gr_engine_load_file(gr_engine* e,
                    const char* path,
                    gr_object** out,
                    char* err,
                    size_t errlen)
{
    uint8_t* data;
    size_t len;
    int rc = gr_fs_read_file(path, MAX_MODULE_BYTES, &data, &len);
    if (rc) {
        set_err(err, errlen, "%s: %s", path, gr_strerror(rc));
        return rc;
    }
    rc = gr_engine_load(e, data, len, out, err, errlen);
    gr_free(data);
    return rc;
}

gr_object*
gr_object_ref(gr_object* o)
{
    atomic_fetch_add(&o->refs, 1);
    return o;
}

void
gr_object_unref(gr_object* o)
{
    if (!o || atomic_fetch_sub(&o->refs, 1) != 1)
        return;
    /* Code of a dlclosed object must never run again; instances hold
     * references, so nothing can. */
    if (o->text)
        gr_rt_code_unregister(o->text);
    gr__gobj_close(o->g);
    dlclose(o->dl);
    gr_free(o);
}

const char*
gr_object_hash(const gr_object* o)
{
    return o->hash;
}

const struct gr_shim*
gr_object_shim(const gr_object* o)
{
    return o->shim;
}

wasm_rt_function_ptr_t
gr_object_export(const gr_object* o, const char* name, const char* sig)
{
    const struct gr_shim* s = o->shim;
    for (size_t i = 0; i < s->n_exports; i++) {
        if (strcmp(s->exports[i].name, name) == 0) {
            if (sig && strcmp(s->exports[i].sig, sig) != 0)
                return NULL;
            return s->exports[i].fn;
        }
    }
    return NULL;
}

static void
do_instantiate(void* p)
{
    gr_instance* in = p;
    gr__gobj_instantiate(in->obj->g, in->module, in);
}

int
gr__instance_alloc(gr_object* o,
                   const gr_instance_config* cfg,
                   gr_instance** out)
{
    const struct gr_shim* s = o->shim;
    gr_instance* in = gr_calloc(1, sizeof *in);
    if (!in)
        return -ENOMEM;
    in->module = gr_calloc(1, s->instance_size);
    if (!in->module) {
        gr_free(in);
        return -ENOMEM;
    }
    in->obj = gr_object_ref(o);
    in->host = cfg ? cfg->host : NULL;
    if (s->memory_offset != GR_SHIM_NO_OFFSET)
        in->mem = (wasm_rt_memory_t*)((char*)in->module + s->memory_offset);
    *out = in;
    return 0;
}

int
gr_instance_create(gr_object* o,
                   const gr_instance_config* cfg,
                   gr_instance** out,
                   gr_trap* trap)
{
    gr_instance* in;
    int rc = gr__instance_alloc(o, cfg, &in);
    if (rc)
        return rc;
    gr_rt_set_page_limit(cfg ? cfg->max_pages : 0);
    gr_rt_set_memory_strategy(gr__gobj_strategy(o->g));
    gr_trap t;
    rc = gr_rt_call(do_instantiate, in, &t);
    gr_rt_set_memory_strategy(GR_RT_MEM_GUARD);
    gr_rt_set_page_limit(0);
    if (trap)
        *trap = t;
    if (rc) {
        gr_instance_destroy(in);
        return rc;
    }
    *out = in;
    return 0;
}

void
gr_instance_destroy(gr_instance* in)
{
    if (!in)
        return;
    gr__gobj_free(in->obj->g, in->module);
    gr_object_unref(in->obj);
    gr_free(in->module);
    gr_free(in);
}

gr_object*
gr_instance_object(const gr_instance* in)
{
    return in->obj;
}

void*
gr_instance_module(const gr_instance* in)
{
    return in->module;
}

wasm_rt_memory_t*
gr_instance_memory(const gr_instance* in)
{
    return in->mem;
}

uint32_t*
gr_instance_stack_pointer(const gr_instance* in)
{
    size_t off = in->obj->shim->stack_pointer_offset;
    return off == GR_SHIM_NO_OFFSET ? NULL
                                    : (uint32_t*)((char*)in->module + off);
}

void*
gr_instance_host(const gr_instance* in)
{
    return in->host;
}

void
gr_instance_set_host(gr_instance* in, void* host)
{
    in->host = host;
}

int
gr_instance_call(gr_instance* in, gr_rt_thunk fn, void* arg, gr_trap* trap)
{
    return gr_instance_call_timeout(in, fn, arg, trap, 0);
}

int
gr_instance_call_timeout(gr_instance* in,
                         gr_rt_thunk fn,
                         void* arg,
                         gr_trap* trap,
                         uint64_t timeout_ns)
{
    gr_trap t;
    int rc = gr_rt_call_timeout(fn, arg, &t, timeout_ns);
    if (rc == GR_ETRAP && t.kind == GR_TRAP_OOB && in->mem) {
        uint32_t* sp = gr_instance_stack_pointer(in);
        if (sp && *sp > gr_rt_memory_size(in->mem))
            t.kind = GR_TRAP_EXHAUSTION;
    }
    if (trap)
        *trap = t;
    return rc;
}
