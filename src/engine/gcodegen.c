/* SPDX-License-Identifier: Apache-2.0 */
/* The granary backend's translation step: wasm bytes to the C files of one
 * object, in process (decoder, validator and generator of src/wasm), with
 * the import vetting (function imports, and one memory imported from
 * "env") and memory-strategy choice the engine needs.
 * codegen.c compiles, links and caches the result. */
#include "engine/gobject.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "granary/status.h"
#include "util/alloc.h"
#include "wasm/emit.h"
#include "wasm/wasm.h"

/* A part of about this much cost at least (gr_wasm_emit_cost: each part
 * re-reads the shared header and starts a compiler; tiny parts cost more
 * than they save). */
#define MIN_PART_INSTRS 20000u

/* The SHA-256 of the generator's sources and runtime headers, computed
 * when Granary is built (codegen.cmake). */
extern const char gr__codegen_generator_sha256[];

const char*
gr__gcodegen_fingerprint(void)
{
    return gr__codegen_generator_sha256;
}

static int
sig_letter(uint8_t t, char* c)
{
    switch (t) {
        case GR_WASM_I32:
            *c = 'i';
            return 0;
        case GR_WASM_I64:
            *c = 'I';
            return 0;
        case GR_WASM_F32:
            *c = 'f';
            return 0;
        case GR_WASM_F64:
            *c = 'F';
            return 0;
        default:
            return -1;
    }
}

/* The shim-format signature of type t; -1 if it has other value types. */
static int
shim_sig(const gr_wasm_functype* t, char* out, size_t cap)
{
    size_t k = 0;
    if (t->nparams + t->nresults + 2 > cap)
        return -1;
    for (uint32_t i = 0; i < t->nparams; i++)
        if (sig_letter(t->params[i], &out[k++]) < 0)
            return -1;
    out[k++] = '>';
    for (uint32_t i = 0; i < t->nresults; i++)
        if (sig_letter(t->results[i], &out[k++]) < 0)
            return -1;
    out[k] = 0;
    return 0;
}

static int
vet_imports(const gr_wasm_module* m,
            struct gr__codegen_info* info,
            char* err,
            size_t errlen)
{
    info->imports =
      gr_calloc(m->nimports ? m->nimports : 1, sizeof *info->imports);
    if (!info->imports)
        return -ENOMEM;
    for (uint32_t i = 0; i < m->nimports; i++) {
        const gr_wasm_import* im = &m->imports[i];
        /* One memory imported from "env" (wasm-ld --import-memory and
         * wasi-threads modules, under any field name) is created by the
         * host from the import's limits as a defined one would be
         * (gobject.c). The decoder already refuses a second memory. */
        if (im->kind == GR_WASM_EXTERN_MEMORY) {
            if (im->module.len != 3 || memcmp(im->module.str, "env", 3) != 0)
                return gr__codegen_err(GR_EIMPORT,
                                       err,
                                       errlen,
                                       "import %.*s.%.*s: a memory can only "
                                       "be imported from module \"env\"",
                                       (int)im->module.len,
                                       im->module.str,
                                       (int)im->field.len,
                                       im->field.str);
            continue;
        }
        struct gr__codegen_fn* f = &info->imports[info->n_imports];
        f->module = gr_strndup(im->module.str, im->module.len);
        f->name = gr_strndup(im->field.str, im->field.len);
        if (!f->module || !f->name) {
            gr_free(f->module);
            gr_free(f->name);
            return -ENOMEM;
        }
        info->n_imports++;
        if (strlen(f->module) != im->module.len ||
            strlen(f->name) != im->field.len)
            return gr__codegen_err(
              GR_EIMPORT, err, errlen, "import %u: a name holds a NUL byte", i);
        if (im->kind != GR_WASM_EXTERN_FUNC)
            return gr__codegen_err(GR_EIMPORT,
                                   err,
                                   errlen,
                                   "import %s.%s: imported globals and "
                                   "tables are not supported",
                                   f->module,
                                   f->name);
        const gr_wasm_functype* t = &m->types[m->funcs[im->index].type];
        if (shim_sig(t, f->sig, sizeof f->sig) < 0)
            return gr__codegen_err(GR_EIMPORT,
                                   err,
                                   errlen,
                                   "import %s.%s: only function imports with "
                                   "i32/i64/f32/f64 parameters and results "
                                   "are supported",
                                   f->module,
                                   f->name);
    }
    return 0;
}

static int
add_name(struct gr__gcodegen_out* out, const char* fmt, int i)
{
    char n[32];
    snprintf(n, sizeof n, fmt, i);
    char* s = gr_strdup(n);
    if (!s)
        return -ENOMEM;
    out->names[out->n_names++] = s;
    return 0;
}

/* Reads an unsigned LEB128 of at most 32 bits at *p (< end). */
static int
leb_u32(const uint8_t** p, const uint8_t* end, uint32_t* v)
{
    uint64_t x = 0;
    for (unsigned shift = 0; shift < 35 && *p < end; shift += 7) {
        uint8_t b = *(*p)++;
        x |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            if (x > UINT32_MAX)
                return -1;
            *v = (uint32_t)x;
            return 0;
        }
    }
    return -1;
}

/* Limits at *s: 1 when they declare a maximum of at most
 * GR_GCODEGEN_SMALL_MAX_PAGES, 0 when not (or malformed). */
static int
small_limits(const uint8_t** s, const uint8_t* end)
{
    uint32_t min, max;
    if (*s >= end)
        return 0;
    uint8_t flags = *(*s)++;
    if (!(flags & 1) || leb_u32(s, end, &min) < 0 || leb_u32(s, end, &max) < 0)
        return 0;
    return max <= GR_GCODEGEN_SMALL_MAX_PAGES;
}

/* Skips limits at *s; -1 when malformed. */
static int
skip_limits(const uint8_t** s, const uint8_t* end)
{
    uint32_t v;
    if (*s >= end)
        return -1;
    uint8_t flags = *(*s)++;
    if (leb_u32(s, end, &v) < 0)
        return -1;
    return (flags & 1) && leb_u32(s, end, &v) < 0 ? -1 : 0;
}

/* The import section at [s, end): 1 when it imports a memory with a small
 * maximum, 0 when that memory has none or a large one, -1 when it imports
 * no memory (or cannot be read: the decoder will say why). */
static int
import_strategy(const uint8_t* s, const uint8_t* end)
{
    uint32_t count, len, v;
    if (leb_u32(&s, end, &count) < 0)
        return -1;
    for (uint32_t i = 0; i < count; i++) {
        for (int n = 0; n < 2; n++) { /* module and field names */
            if (leb_u32(&s, end, &len) < 0 || len > (size_t)(end - s))
                return -1;
            s += len;
        }
        if (s >= end)
            return -1;
        switch (*s++) {
            case 0: /* function: type index */
                if (leb_u32(&s, end, &v) < 0)
                    return -1;
                break;
            case 1: /* table: element type, limits */
                if (s >= end)
                    return -1;
                s++;
                if (skip_limits(&s, end) < 0)
                    return -1;
                break;
            case 2:
                return small_limits(&s, end);
            case 3: /* global: value type, mutability */
                if (end - s < 2)
                    return -1;
                s += 2;
                break;
            default:
                return -1;
        }
    }
    return -1;
}

int
gr__gcodegen_strategy(const uint8_t* wasm, size_t len, int force_bounds)
{
    if (force_bounds)
        return 1;
    if (!wasm || len < 8)
        return 0;
    /* Only the memory, defined (section 5) or imported (section 2), matters:
     * skip every other section. A module the decoder later refuses gets
     * guard pages here, and no object. */
    const uint8_t *p = wasm + 8, *end = wasm + len;
    while (p < end) {
        uint8_t id = *p++;
        uint32_t size, count;
        if (leb_u32(&p, end, &size) < 0 || size > (size_t)(end - p))
            return 0;
        const uint8_t *s = p, *send = p + size;
        p = send;
        if (id == 2) {
            int r = import_strategy(s, send);
            if (r >= 0)
                return r;
            continue;
        }
        if (id != 5)
            continue;
        if (leb_u32(&s, send, &count) < 0 || count == 0)
            return 0;
        return small_limits(&s, send);
    }
    return 0;
}

int
gr__gcodegen_translate(const uint8_t* wasm,
                       size_t len,
                       const char* dir,
                       int bounds,
                       int jobs,
                       struct gr__codegen_info* info,
                       struct gr__gcodegen_out* out,
                       char* err,
                       size_t errlen)
{
    memset(out, 0, sizeof *out);
    gr_wasm_module* m = NULL;
    gr_wasm_error we;
    int rc = gr_wasm_module_decode(wasm, len, &m, &we);
    if (rc == GR_EINVALID_MODULE)
        return gr__codegen_err(rc, err, errlen, "%s", we.message);
    if (rc < 0)
        return gr__codegen_err(rc, err, errlen, "out of memory");
    if ((rc = vet_imports(m, info, err, errlen)) < 0)
        goto done;
    if (m->nmems > 1) {
        rc = gr__codegen_err(GR_EINVALID_MODULE,
                             err,
                             errlen,
                             "the module defines %u memories; one is "
                             "supported",
                             m->nmems);
        goto done;
    }
    /* Decided before the build (gr__gcodegen_strategy): it is part of
     * the cache key. */
    out->bounds = bounds != 0;
    out->n_exports = m->nexports;
    if (jobs < 1)
        jobs = 1;
    const char* mp = getenv("GRANARY_CODEGEN_SPLIT_MIN");
    uint64_t min_part = mp && *mp ? strtoull(mp, NULL, 10) : MIN_PART_INSTRS;
    if (min_part < 1)
        min_part = 1;
    /* Parts shrinking towards the end, compiled in order (codegen.c): with
     * one part per core, the core whose part the cost estimate undervalued
     * finished alone (on a 1.2 MB module one of two parts took 30% longer
     * than the other). */
    rc = gr_wasm_emit_jobs(
      m, wasm, len, dir, (uint32_t)jobs, min_part, err, errlen);
    if (rc < 0) {
        rc = rc == -ENOTSUP ? GR_ECOMPILE : rc;
        goto done;
    }
    int n_c = rc;
    out->names = gr_calloc((size_t)n_c + 1, sizeof *out->names);
    if (!out->names) {
        rc = -ENOMEM;
        goto done;
    }
    for (int i = 0; i + 1 < n_c && rc >= 0; i++)
        rc = add_name(out, "wpart_%d.c", i);
    if (rc >= 0)
        rc = add_name(out, "winit.c", 0);
    if (rc < 0)
        goto done;
    for (size_t i = 0; i < out->n_names; i++) {
        char p[4096];
        FILE* f;
        snprintf(p, sizeof p, "%s/%s", dir, out->names[i]);
        if ((f = fopen(p, "rb"))) {
            fseek(f, 0, SEEK_END);
            long n = ftell(f);
            out->c_bytes += n > 0 ? (size_t)n : 0;
            fclose(f);
        }
    }
    rc = 0;
done:
    gr_wasm_module_destroy(m);
    return rc;
}

void
gr__gcodegen_out_fini(struct gr__gcodegen_out* out)
{
    for (size_t i = 0; i < out->n_names; i++)
        gr_free(out->names[i]);
    gr_free(out->names);
    memset(out, 0, sizeof *out);
}
