/* SPDX-License-Identifier: Apache-2.0 */
/* Loading objects of the granary backend (see gobject.h). An instance is
 * one block: the generated instance struct, then one wrt_func per import
 * (the host function, with the gr_instance as its context), then, for a
 * module that imports its memory, the wrt_memory the host creates for it,
 * then the import pointer array init() takes. Everything that points into
 * the block is relocatable by the generated relocate() (and the memory
 * import's pointer by copy_from), which is how snapshot images are taken
 * and restored. */
#include "engine/gobject.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "granary/status.h"
#include "util/alloc.h"
#include "wasm/wrt.h"

struct gr__gobj
{
    const wrt_module_desc* desc;
    struct gr_shim shim;
    struct gr_shim_export* exports;
    struct gr_shim_import* imports;
    char* sigs;  /* shim-format signatures, 64 bytes each */
    void** code; /* host function of each import */
    size_t imp_off, ptr_off, span;
    /* The memory import (UINT32_MAX: none) and where its wrt_memory lives
     * in the block; mem_off: the memory the engine sees (defined or
     * imported), (size_t)-1 for none. */
    uint32_t mem_import;
    size_t memslot_off, mem_off;
};

static int
load_err(char* err, size_t errlen, const char* fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return GR_ELOAD;
}

/* wrt "ii:i" -> shim "ii>i"; -1 for types a shim signature cannot say. */
static int
shim_sig(const char* w, char* out, size_t cap)
{
    size_t k = 0;
    for (; *w && k + 1 < cap; w++) {
        char c;
        switch (*w) {
            case 'i':
                c = 'i';
                break;
            case 'l':
                c = 'I';
                break;
            case 'f':
                c = 'f';
                break;
            case 'd':
                c = 'F';
                break;
            case ':':
                c = '>';
                break;
            default:
                return -1;
        }
        out[k++] = c;
    }
    out[k] = 0;
    return *w ? -1 : 0;
}

/* The C name of a host import (the mangling wasm2c 1.0.32 used, kept for
 * the host's symbols): Z_<module>Z_<name>, every byte
 * other than [A-Za-z0-9_] (and 'Z' itself) written as Z<hex>. */
static int
mangle(char* out, size_t cap, const char* module, const char* name)
{
    size_t k = 0;
    const char* parts[2] = { module, name };
    for (int p = 0; p < 2; p++) {
        if (k + 2 >= cap)
            return -1;
        out[k++] = 'Z';
        out[k++] = '_';
        for (const unsigned char* s = (const unsigned char*)parts[p]; *s; s++) {
            if (k + 4 >= cap)
                return -1;
            int plain = (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Y') ||
                        (*s >= '0' && *s <= '9') || *s == '_';
            if (plain)
                out[k++] = (char)*s;
            else
                k += (size_t)snprintf(out + k, cap - k, "Z%02X", *s);
        }
    }
    out[k] = 0;
    return 0;
}

/* Only dlopened objects call the runtime; referencing it here links it
 * into every program that can load them (and -rdynamic exports it). */
void* const gr__gobj_runtime[] = {
    (void*)wrt_trap,        (void*)wrt_mem_check_slow, (void*)wrt_memory_init,
    (void*)wrt_memory_fini, (void*)wrt_memory_grow,    (void*)wrt_table_init,
    (void*)wrt_table_fini,  (void*)wrt_table_grow,     (void*)wrt_wait32,
    (void*)wrt_wait64,      (void*)wrt_notify,         (void*)wrt_wake_all,
};

int
gr__gobj_open(void* dl,
              const char* so_path,
              struct gr__gobj** out,
              char* err,
              size_t errlen)
{
    const wrt_module_desc* d = dlsym(dl, "granary_wasm_module");
    if (!d || d->abi != WRT_ABI_VERSION || !d->relocate)
        return load_err(
          err, errlen, "%s: missing or incompatible module entry", so_path);
    int rc = -ENOMEM;
    struct gr__gobj* g = gr_calloc(1, sizeof *g);
    if (!g)
        return -ENOMEM;
    g->desc = d;
    /* volatile read: keeps gr__gobj_runtime (and what it names) linked */
    if (!*(void* volatile const*)&gr__gobj_runtime[0])
        goto fail;
    uint32_t n = d->nimports;
    g->imports = gr_calloc(n ? n : 1, sizeof *g->imports);
    g->exports = gr_calloc(d->nexports ? d->nexports : 1, sizeof *g->exports);
    g->sigs = gr_calloc((size_t)n + d->nexports + 1, 64);
    g->code = gr_calloc(n ? n : 1, sizeof *g->code);
    if (!g->imports || !g->exports || !g->sigs || !g->code)
        goto fail;
    g->mem_import = UINT32_MAX;
    size_t nf = 0;
    for (uint32_t i = 0; i < n; i++) {
        const wrt_import_desc* im = &d->imports[i];
        char* sig = g->sigs + (size_t)i * 64;
        char sym[512];
        /* The one memory a module may import from "env" (gcodegen.c
         * refuses the others before an object is built). */
        if (im->kind == 2) {
            if (strcmp(im->module, "env") != 0 || g->mem_import != UINT32_MAX ||
                d->mem_offset != (size_t)-1) {
                rc = load_err(err,
                              errlen,
                              "%s: memory import %s.%s cannot be bound (one "
                              "memory, from module \"env\", is supported)",
                              so_path,
                              im->module,
                              im->field);
                goto fail;
            }
            g->mem_import = i;
            continue;
        }
        if (im->kind != 0 || shim_sig(im->sig, sig, 64) < 0 ||
            mangle(sym, sizeof sym, im->module, im->field) < 0) {
            rc = load_err(err,
                          errlen,
                          "%s: import %s.%s cannot be bound",
                          so_path,
                          im->module,
                          im->field);
            goto fail;
        }
        g->code[i] = dlsym(RTLD_DEFAULT, sym);
        if (!g->code[i]) {
            rc = load_err(err,
                          errlen,
                          "%s: the host does not provide import %s.%s",
                          so_path,
                          im->module,
                          im->field);
            goto fail;
        }
        g->imports[nf++] =
          (struct gr_shim_import){ im->module, im->field, sig };
    }
    size_t ne = 0;
    for (uint32_t i = 0; i < d->nexports; i++) {
        char* sig = g->sigs + ((size_t)n + ne) * 64;
        const wrt_export_desc* ex = &d->exports[i];
        /* Functions of the module itself with a shim signature only (an
         * import re-exported would need its own context). */
        if (ex->kind != 0 || !d->export_code[i] || !d->export_sig[i] ||
            strlen(ex->name) != ex->name_len ||
            shim_sig(d->export_sig[i], sig, 64) < 0)
            continue;
        g->exports[ne].name = ex->name;
        g->exports[ne].fn = (wasm_rt_function_ptr_t)d->export_code[i];
        g->exports[ne].sig = sig;
        ne++;
    }
    g->shim.n_exports = ne;
    /* Layout of an instance block. */
    g->imp_off = (d->inst_size + 15) & ~(size_t)15;
    g->ptr_off = g->imp_off + (size_t)n * sizeof(wrt_func);
    g->mem_off = d->mem_offset;
    if (g->mem_import != UINT32_MAX) {
        g->memslot_off = (g->ptr_off + 15) & ~(size_t)15;
        g->ptr_off = g->memslot_off + ((sizeof(wrt_memory) + 15) & ~(size_t)15);
        g->mem_off = g->memslot_off;
    }
    g->span = g->ptr_off + (size_t)(n ? n : 1) * sizeof(void*);
    g->shim.abi_version = GR_SHIM_ABI_VERSION;
    g->shim.instance_size = g->span;
    g->shim.memory_offset =
      g->mem_off == (size_t)-1 ? GR_SHIM_NO_OFFSET : g->mem_off;
    g->shim.stack_pointer_offset =
      d->sp_offset == (size_t)-1 ? GR_SHIM_NO_OFFSET : d->sp_offset;
    g->shim.exports = g->exports;
    g->shim.n_imports = nf; /* function imports only */
    g->shim.imports = g->imports;
    *out = g;
    return 0;
fail:
    gr__gobj_close(g);
    return rc;
}

void
gr__gobj_close(struct gr__gobj* g)
{
    if (!g)
        return;
    gr_free(g->imports);
    gr_free(g->exports);
    gr_free(g->sigs);
    gr_free(g->code);
    gr_free(g);
}

const struct gr_shim*
gr__gobj_shim(const struct gr__gobj* g)
{
    return &g->shim;
}

int
gr__gobj_strategy(const struct gr__gobj* g)
{
    return g->desc->guard_pages ? GR_RT_MEM_GUARD : GR_RT_MEM_BOUNDS;
}

const void*
gr__gobj_code_addr(const struct gr__gobj* g)
{
    return (const void*)g->desc->init;
}

/* Points the import functions of module at the host, with in as their
 * context. */
static void
bind(const struct gr__gobj* g, void* module, gr_instance* in)
{
    const wrt_module_desc* d = g->desc;
    wrt_func* f = (wrt_func*)((char*)module + g->imp_off);
    void** ptrs = (void**)((char*)module + g->ptr_off);
    for (uint32_t i = 0; i < d->nimports; i++) {
        f[i].sig = d->imports[i].sig;
        f[i].code = g->code[i];
        f[i].inst = in;
        f[i].thunk = NULL;
        ptrs[i] = &f[i];
    }
    if (g->mem_import != UINT32_MAX)
        ptrs[g->mem_import] = (char*)module + g->memslot_off;
}

/* Points memory 0 of module (a block) at the block's own imported memory:
 * relocate() moves the pointers it knows, not those of imports. */
static void
point_memory(const struct gr__gobj* g, void* module)
{
    if (g->mem_import == UINT32_MAX || g->desc->memp_offset == (size_t)-1)
        return;
    wrt_memory* mem = (wrt_memory*)((char*)module + g->memslot_off);
    memcpy((char*)module + g->desc->memp_offset, &mem, sizeof mem);
}

void
gr__gobj_instantiate(const struct gr__gobj* g, void* module, gr_instance* in)
{
    bind(g, module, in);
    if (g->mem_import != UINT32_MAX) {
        /* As init() creates a defined memory: the reservation follows the
         * strategy and page limit the instance layer set; traps when it
         * cannot be had. */
        const wrt_import_desc* im = &g->desc->imports[g->mem_import];
        if (wrt_memory_init((wrt_memory*)((char*)module + g->memslot_off),
                            im->min,
                            im->max,
                            im->has_max,
                            im->shared))
            gr_rt_raise(GR_TRAP_OOM, 0);
    }
    if (g->desc->init(module, (void* const*)((char*)module + g->ptr_off)))
        gr_rt_raise(GR_TRAP_OOM, 0);
    g->desc->start(module);
}

void
gr__gobj_free(const struct gr__gobj* g, void* module)
{
    g->desc->fini(module);
    if (g->mem_import != UINT32_MAX)
        wrt_memory_fini((wrt_memory*)((char*)module + g->memslot_off));
}

size_t
gr__gobj_memp_offset(const struct gr__gobj* g)
{
    return g->desc->memp_offset;
}

void
gr__gobj_drop(const struct gr__gobj* g, void* module)
{
    g->desc->drop(module);
}

int
gr__gobj_copy_from(const struct gr__gobj* g,
                   void* module,
                   const void* src,
                   gr_instance* in,
                   int keep_memory)
{
    size_t mo = g->mem_off;
    if (mo == (size_t)-1) {
        memcpy(module, src, g->span);
    } else {
        /* src's memory fields are not read with the rest: another thread
         * of src's instance may be growing its shared memory (atomic
         * stores to pages and size, under the registry lock), and a plain
         * copy would race with it and could see a torn or stale size. The
         * fields after the wasm_rt_memory_t head (has_max, shared,
         * reserved) are set once, when the memory is made. */
        const size_t head = sizeof(wasm_rt_memory_t);
        const size_t end = mo + sizeof(wrt_memory);
        char* d = (char*)module + mo;
        const char* s = (const char*)src + mo;
        memcpy(module, src, mo);
        memcpy((char*)module + end, (const char*)src + end, g->span - end);
        if (keep_memory != GR_GOBJ_MEM_KEEP) { /* KEEP: module's own stay */
            if (keep_memory == GR_GOBJ_MEM_COPY)
                gr_rt_memory_copy_fields((wasm_rt_memory_t*)d,
                                         (const wasm_rt_memory_t*)s);
            else /* never free or reach the source's memory via the copy */
                memset(d, 0, head);
            memcpy(d + head, s + head, sizeof(wrt_memory) - head);
        }
    }
    int rc = g->desc->relocate(module, src, g->span);
    point_memory(g, module);
    if (in)
        bind(g, module, in);
    return rc;
}
