/* SPDX-License-Identifier: Apache-2.0 */
/* Module decoding: the header, section order and sizes, every section but
 * the code section (validate.c), constant expressions, the module-level
 * validation rules, and the "name" custom section. */
#include "wasm/wasm_int.h"

#include "granary/status.h"
#include "util/alloc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define ALLOC(c, type, n)                                                      \
    ((type*)gr__wasm_arena_alloc(&(c)->m->arena, sizeof(type) * (size_t)(n)))

/* Well-formed UTF-8 (no overlongs, surrogates or code points > U+10FFFF). */
static bool
utf8_valid(const uint8_t* s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint8_t b = s[i];
        size_t k;
        uint8_t lo = 0x80, hi = 0xbf;
        if (b < 0x80) {
            i++;
            continue;
        } else if (b >= 0xc2 && b <= 0xdf) {
            k = 1;
        } else if (b >= 0xe0 && b <= 0xef) {
            k = 2;
            if (b == 0xe0)
                lo = 0xa0;
            else if (b == 0xed)
                hi = 0x9f;
        } else if (b >= 0xf0 && b <= 0xf4) {
            k = 3;
            if (b == 0xf0)
                lo = 0x90;
            else if (b == 0xf4)
                hi = 0x8f;
        } else {
            return false;
        }
        if (n - i - 1 < k)
            return false;
        if (s[i + 1] < lo || s[i + 1] > hi)
            return false;
        for (size_t j = 2; j <= k; j++)
            if ((s[i + j] & 0xc0) != 0x80)
                return false;
        i += k + 1;
    }
    return true;
}

static int
read_name(gr_wasm_ctx* c, gr_wasm_name* out)
{
    uint32_t n;
    const uint8_t* p;
    size_t at = c->pos;
    if (gr__wasm_count(c, 1, &n) < 0 || gr__wasm_bytes(c, n, &p) < 0)
        return -1;
    if (!utf8_valid(p, n))
        return GR__MALFORMED(c, at, "malformed UTF-8 encoding");
    char* s = ALLOC(c, char, (size_t)n + 1);
    if (s == NULL)
        return gr__wasm_nomem(c);
    memcpy(s, p, n);
    out->str = s;
    out->len = n;
    return 0;
}

static int
read_reftype(gr_wasm_ctx* c, uint8_t* t)
{
    size_t at = c->pos;
    if (gr__wasm_u8(c, t) < 0)
        return -1;
    if (!gr__wasm_is_reftype(*t))
        return GR__MALFORMED(c, at, "malformed reference type 0x%02x", *t);
    return 0;
}

static int
read_limits(gr_wasm_ctx* c, bool memory, gr_wasm_limits* l)
{
    size_t at = c->pos;
    uint8_t flags;
    if (gr__wasm_u8(c, &flags) < 0)
        return -1;
    if (flags >= 4 && flags <= 7)
        return gr__wasm_fail(
          c, GR_WASM_ERR_UNSUPPORTED, at, "memory64 is not supported");
    if (flags > 3 || (!memory && flags > 1))
        return GR__MALFORMED(c, at, "malformed limits flags 0x%02x", flags);
    l->has_max = flags & 1;
    l->shared = flags & 2;
    if (gr__wasm_u32(c, &l->min) < 0)
        return -1;
    if (l->has_max && gr__wasm_u32(c, &l->max) < 0)
        return -1;
    if (memory) {
        if (l->min > 65536 || (l->has_max && l->max > 65536))
            return GR__INVALID(c,
                               at,
                               "memory size must be at most 65536 pages "
                               "(4GiB)");
        if (l->shared && !l->has_max)
            return GR__INVALID(c, at, "shared memory must have maximum");
    }
    if (l->has_max && l->min > l->max)
        return GR__INVALID(
          c, at, "size minimum must not be greater than maximum");
    return 0;
}

static int
read_globaltype(gr_wasm_ctx* c, gr_wasm_global* g)
{
    size_t at;
    uint8_t mut;
    if (gr__wasm_valtype(c, &g->type) < 0)
        return -1;
    at = c->pos;
    if (gr__wasm_u8(c, &mut) < 0)
        return -1;
    if (mut > 1)
        return GR__MALFORMED(c, at, "malformed mutability 0x%02x", mut);
    g->mut = mut;
    return 0;
}

static void
add_ref(gr_wasm_ctx* c, uint32_t func)
{
    c->refs[func / 8] |= (uint8_t)(1u << (func % 8));
}

/* A constant expression of type `want`: in WebAssembly 2.0 one constant
 * instruction (global.get of an immutable imported global included). */
static int
const_expr(gr_wasm_ctx* c, uint8_t want, gr_wasm_const* out)
{
    uint32_t nvals = 0;
    memset(out, 0, sizeof(*out));
    for (;;) {
        size_t at = c->pos;
        uint8_t op;
        gr_wasm_const k = { .offset = (uint32_t)at, .op = 0 };
        if (gr__wasm_u8(c, &op) < 0)
            return -1;
        k.op = op;
        switch (op) {
            case GR_WASM_OP_END:
                if (nvals != 1 || out->type != want)
                    return GR__INVALID(
                      c,
                      at,
                      "type mismatch: constant expression of %s needs "
                      "one %s value",
                      gr_wasm_valtype_name(want),
                      gr_wasm_valtype_name(want));
                return 0;
            case GR_WASM_OP_I32_CONST:
                k.type = GR_WASM_I32;
                if (gr__wasm_s32(c, &k.imm.i32) < 0)
                    return -1;
                break;
            case GR_WASM_OP_I64_CONST:
                k.type = GR_WASM_I64;
                if (gr__wasm_s64(c, &k.imm.i64) < 0)
                    return -1;
                break;
            case GR_WASM_OP_F32_CONST: {
                const uint8_t* p;
                k.type = GR_WASM_F32;
                if (gr__wasm_bytes(c, 4, &p) < 0)
                    return -1;
                memcpy(&k.imm.f32, p, 4);
                break;
            }
            case GR_WASM_OP_F64_CONST: {
                const uint8_t* p;
                k.type = GR_WASM_F64;
                if (gr__wasm_bytes(c, 8, &p) < 0)
                    return -1;
                memcpy(&k.imm.f64, p, 8);
                break;
            }
            case 0xfd: {
                uint32_t sub;
                const uint8_t* p;
                if (gr__wasm_u32(c, &sub) < 0)
                    return -1;
                if (sub != 0x0c)
                    return GR__INVALID(c, at, "constant expression required");
                k.op = GR_WASM_OP_V128_CONST;
                k.type = GR_WASM_V128;
                if (gr__wasm_bytes(c, 16, &p) < 0)
                    return -1;
                memcpy(k.imm.v128, p, 16);
                break;
            }
            case GR_WASM_OP_REF_NULL:
                if (read_reftype(c, &k.type) < 0)
                    return -1;
                break;
            case GR_WASM_OP_REF_FUNC:
                k.type = GR_WASM_FUNCREF;
                if (gr__wasm_u32(c, &k.imm.idx) < 0)
                    return -1;
                if (k.imm.idx >= c->m->nfuncs)
                    return GR__INVALID(c, at, "unknown function %u", k.imm.idx);
                add_ref(c, k.imm.idx);
                break;
            case GR_WASM_OP_GLOBAL_GET: {
                if (gr__wasm_u32(c, &k.imm.idx) < 0)
                    return -1;
                /* Only imported globals are visible here (spec 2.0). */
                if (k.imm.idx >= c->m->nglobal_imports)
                    return GR__INVALID(c, at, "unknown global %u", k.imm.idx);
                const gr_wasm_global* g = &c->m->globals[k.imm.idx];
                if (g->mut)
                    return GR__INVALID(c,
                                       at,
                                       "constant expression required: "
                                       "global %u is mutable",
                                       k.imm.idx);
                k.type = g->type;
                break;
            }
            default:
                if ((op > 0x05 && op < 0x0b) || (op > 0x11 && op < 0x1a) ||
                    (op > 0x1c && op < 0x20) || op == 0x27 ||
                    (op > 0xc4 && op < 0xd0) || (op > 0xd2 && op < 0xfc) ||
                    op == 0xff)
                    return GR__MALFORMED(c, at, "illegal opcode 0x%02x", op);
                return GR__INVALID(c,
                                   at,
                                   "constant expression required: opcode "
                                   "0x%02x",
                                   op);
        }
        nvals++;
        *out = k;
    }
}

/* Index spaces grow as imports and definitions are read; the arrays are
 * sized for the imports plus the section's count. */
static int
grow(gr_wasm_ctx* c, void** arr, uint32_t have, uint32_t extra, size_t elem)
{
    void* n =
      gr__wasm_arena_alloc(&c->m->arena, elem * ((size_t)have + (size_t)extra));
    if (n == NULL)
        return gr__wasm_nomem(c);
    if (have > 0)
        memcpy(n, *arr, elem * have);
    *arr = n;
    return 0;
}

static int
type_section(gr_wasm_ctx* c)
{
    gr_wasm_module* m = c->m;
    uint32_t n;
    if (gr__wasm_count(c, 3, &n) < 0)
        return -1;
    gr_wasm_functype* t = ALLOC(c, gr_wasm_functype, n);
    if (t == NULL)
        return gr__wasm_nomem(c);
    m->types = t;
    for (uint32_t i = 0; i < n; i++) {
        size_t at = c->pos;
        uint8_t form;
        if (gr__wasm_u8(c, &form) < 0)
            return -1;
        if (form != 0x60)
            return GR__MALFORMED(c, at, "malformed function type 0x%02x", form);
        for (int r = 0; r < 2; r++) {
            uint32_t k;
            size_t kat = c->pos;
            if (gr__wasm_count(c, 1, &k) < 0)
                return -1;
            /* Every instruction's work is linear in the arity of the types
             * it names; this bound (the JS API's) keeps validation time
             * linear in the input. */
            if (k > GR_WASM_MAX_ARITY)
                return gr__wasm_fail(c,
                                     GR_WASM_ERR_LIMIT,
                                     kat,
                                     "function type with %u %s "
                                     "(implementation limit %u)",
                                     k,
                                     r == 0 ? "parameters" : "results",
                                     GR_WASM_MAX_ARITY);
            uint8_t* v = ALLOC(c, uint8_t, k);
            if (v == NULL)
                return gr__wasm_nomem(c);
            for (uint32_t j = 0; j < k; j++)
                if (gr__wasm_valtype(c, &v[j]) < 0)
                    return -1;
            if (r == 0) {
                t[i].nparams = k;
                t[i].params = v;
            } else {
                t[i].nresults = k;
                t[i].results = v;
            }
        }
        m->ntypes = i + 1;
    }
    return 0;
}

static int
import_section(gr_wasm_ctx* c)
{
    gr_wasm_module* m = c->m;
    uint32_t n;
    if (gr__wasm_count(c, 4, &n) < 0)
        return -1;
    gr_wasm_import* im = ALLOC(c, gr_wasm_import, n);
    m->funcs = ALLOC(c, gr_wasm_func, n);
    gr_wasm_table* tables = ALLOC(c, gr_wasm_table, n);
    gr_wasm_memory* mems = ALLOC(c, gr_wasm_memory, n);
    gr_wasm_global* globals = ALLOC(c, gr_wasm_global, n);
    if (im == NULL || m->funcs == NULL || tables == NULL || mems == NULL ||
        globals == NULL)
        return gr__wasm_nomem(c);
    m->imports = im;
    m->tables = tables;
    m->mems = mems;
    m->globals = globals;
    for (uint32_t i = 0; i < n; i++) {
        if (read_name(c, &im[i].module) < 0 || read_name(c, &im[i].field) < 0)
            return -1;
        size_t at = c->pos;
        if (gr__wasm_u8(c, &im[i].kind) < 0)
            return -1;
        switch (im[i].kind) {
            case GR_WASM_EXTERN_FUNC: {
                gr_wasm_func* f = &m->funcs[m->nfuncs];
                size_t tat = c->pos;
                if (gr__wasm_u32(c, &f->type) < 0)
                    return -1;
                if (f->type >= m->ntypes)
                    return GR__INVALID(c, tat, "unknown type %u", f->type);
                f->imported = true;
                im[i].index = m->nfuncs++;
                m->nfunc_imports++;
                break;
            }
            case GR_WASM_EXTERN_TABLE: {
                gr_wasm_table* t = &tables[m->ntables];
                if (read_reftype(c, &t->elem_type) < 0 ||
                    read_limits(c, false, &t->limits) < 0)
                    return -1;
                t->imported = true;
                im[i].index = m->ntables++;
                m->ntable_imports++;
                break;
            }
            case GR_WASM_EXTERN_MEMORY: {
                gr_wasm_memory* mm = &mems[m->nmems];
                if (read_limits(c, true, &mm->limits) < 0)
                    return -1;
                if (m->nmems > 0)
                    return GR__INVALID(c, at, "multiple memories");
                mm->imported = true;
                im[i].index = m->nmems++;
                m->nmem_imports++;
                break;
            }
            case GR_WASM_EXTERN_GLOBAL: {
                gr_wasm_global* g = &globals[m->nglobals];
                if (read_globaltype(c, g) < 0)
                    return -1;
                g->imported = true;
                im[i].index = m->nglobals++;
                m->nglobal_imports++;
                break;
            }
            case 4:
                return gr__wasm_fail(c,
                                     GR_WASM_ERR_UNSUPPORTED,
                                     at,
                                     "exception handling is not supported "
                                     "(tag import)");
            default:
                return GR__MALFORMED(
                  c, at, "malformed import kind 0x%02x", im[i].kind);
        }
        m->nimports = i + 1;
    }
    return 0;
}

static int
function_section(gr_wasm_ctx* c)
{
    gr_wasm_module* m = c->m;
    uint32_t n;
    size_t at = c->pos;
    if (gr__wasm_count(c, 1, &n) < 0)
        return -1;
    /* Each function needs a code entry of at least 3 bytes after this
     * section: refuse a count the rest of the input cannot back before
     * allocating for it. */
    if ((uint64_t)n * 3 > c->len - c->end)
        return GR__MALFORMED(c,
                             at,
                             "function and code section have inconsistent "
                             "lengths (%u functions, %zu bytes left)",
                             n,
                             c->len - c->end);
    if (grow(c, (void**)&m->funcs, m->nfuncs, n, sizeof(gr_wasm_func)) < 0)
        return -1;
    for (uint32_t i = 0; i < n; i++) {
        at = c->pos;
        gr_wasm_func* f = &m->funcs[m->nfuncs];
        if (gr__wasm_u32(c, &f->type) < 0)
            return -1;
        if (f->type >= m->ntypes)
            return GR__INVALID(c, at, "unknown type %u", f->type);
        m->nfuncs++;
    }
    return 0;
}

static int
table_section(gr_wasm_ctx* c)
{
    gr_wasm_module* m = c->m;
    uint32_t n;
    if (gr__wasm_count(c, 3, &n) < 0 ||
        grow(c, (void**)&m->tables, m->ntables, n, sizeof(gr_wasm_table)) < 0)
        return -1;
    gr_wasm_table* t = (gr_wasm_table*)m->tables;
    for (uint32_t i = 0; i < n; i++) {
        if (read_reftype(c, &t[m->ntables].elem_type) < 0 ||
            read_limits(c, false, &t[m->ntables].limits) < 0)
            return -1;
        m->ntables++;
    }
    return 0;
}

static int
memory_section(gr_wasm_ctx* c)
{
    gr_wasm_module* m = c->m;
    uint32_t n;
    if (gr__wasm_count(c, 2, &n) < 0 ||
        grow(c, (void**)&m->mems, m->nmems, n, sizeof(gr_wasm_memory)) < 0)
        return -1;
    gr_wasm_memory* mm = (gr_wasm_memory*)m->mems;
    for (uint32_t i = 0; i < n; i++) {
        size_t at = c->pos;
        if (read_limits(c, true, &mm[m->nmems].limits) < 0)
            return -1;
        if (m->nmems > 0)
            return GR__INVALID(c, at, "multiple memories");
        m->nmems++;
    }
    return 0;
}

static int
global_section(gr_wasm_ctx* c)
{
    gr_wasm_module* m = c->m;
    uint32_t n;
    if (gr__wasm_count(c, 3, &n) < 0 ||
        grow(c, (void**)&m->globals, m->nglobals, n, sizeof(gr_wasm_global)) <
          0)
        return -1;
    gr_wasm_global* g = (gr_wasm_global*)m->globals;
    for (uint32_t i = 0; i < n; i++) {
        gr_wasm_global* x = &g[m->nglobals];
        if (read_globaltype(c, x) < 0 || const_expr(c, x->type, &x->init) < 0)
            return -1;
        m->nglobals++;
    }
    return 0;
}

static int
cmp_export(const void* a, const void* b)
{
    const gr_wasm_export* x = *(const gr_wasm_export* const*)a;
    const gr_wasm_export* y = *(const gr_wasm_export* const*)b;
    uint32_t n = x->name.len < y->name.len ? x->name.len : y->name.len;
    int r = memcmp(x->name.str, y->name.str, n);
    if (r != 0)
        return r;
    return x->name.len < y->name.len ? -1 : x->name.len > y->name.len;
}

static int
export_section(gr_wasm_ctx* c)
{
    gr_wasm_module* m = c->m;
    uint32_t n;
    if (gr__wasm_count(c, 3, &n) < 0)
        return -1;
    gr_wasm_export* e = ALLOC(c, gr_wasm_export, n);
    if (e == NULL)
        return gr__wasm_nomem(c);
    m->exports = e;
    for (uint32_t i = 0; i < n; i++) {
        if (read_name(c, &e[i].name) < 0)
            return -1;
        size_t at = c->pos;
        if (gr__wasm_u8(c, &e[i].kind) < 0 || gr__wasm_u32(c, &e[i].index) < 0)
            return -1;
        uint32_t idx = e[i].index;
        switch (e[i].kind) {
            case GR_WASM_EXTERN_FUNC:
                if (idx >= m->nfuncs)
                    return GR__INVALID(c, at, "unknown function %u", idx);
                add_ref(c, idx);
                break;
            case GR_WASM_EXTERN_TABLE:
                if (idx >= m->ntables)
                    return GR__INVALID(c, at, "unknown table %u", idx);
                break;
            case GR_WASM_EXTERN_MEMORY:
                if (idx >= m->nmems)
                    return GR__INVALID(c, at, "unknown memory %u", idx);
                break;
            case GR_WASM_EXTERN_GLOBAL:
                if (idx >= m->nglobals)
                    return GR__INVALID(c, at, "unknown global %u", idx);
                break;
            case 4:
                return gr__wasm_fail(c,
                                     GR_WASM_ERR_UNSUPPORTED,
                                     at,
                                     "exception handling is not supported "
                                     "(tag export)");
            default:
                return GR__MALFORMED(
                  c, at, "malformed export kind 0x%02x", e[i].kind);
        }
        m->nexports = i + 1;
    }
    /* Duplicate names: sort pointers by name, compare neighbours. */
    if (n > 1) {
        const gr_wasm_export** s = gr_malloc(sizeof(*s) * n);
        if (s == NULL)
            return gr__wasm_nomem(c);
        for (uint32_t i = 0; i < n; i++)
            s[i] = &e[i];
        qsort(s, n, sizeof(*s), cmp_export);
        for (uint32_t i = 1; i < n; i++) {
            if (cmp_export(&s[i - 1], &s[i]) == 0) {
                char name[64];
                uint32_t l = s[i]->name.len < 63 ? s[i]->name.len : 63;
                memcpy(name, s[i]->name.str, l);
                name[l] = 0;
                gr_free(s);
                return GR__INVALID(
                  c, c->pos, "duplicate export name \"%s\"", name);
            }
        }
        gr_free(s);
    }
    return 0;
}

static int
start_section(gr_wasm_ctx* c)
{
    gr_wasm_module* m = c->m;
    size_t at = c->pos;
    if (gr__wasm_u32(c, &m->start) < 0)
        return -1;
    if (m->start >= m->nfuncs)
        return GR__INVALID(c, at, "unknown function %u", m->start);
    const gr_wasm_functype* t = &m->types[m->funcs[m->start].type];
    if (t->nparams != 0 || t->nresults != 0)
        return GR__INVALID(c, at, "start function must have type [] -> []");
    m->has_start = true;
    return 0;
}

static int
elem_section(gr_wasm_ctx* c)
{
    gr_wasm_module* m = c->m;
    uint32_t n;
    if (gr__wasm_count(c, 1, &n) < 0)
        return -1;
    gr_wasm_elem* es = ALLOC(c, gr_wasm_elem, n);
    if (es == NULL)
        return gr__wasm_nomem(c);
    m->elems = es;
    for (uint32_t i = 0; i < n; i++) {
        gr_wasm_elem* e = &es[i];
        size_t at = c->pos;
        uint32_t flags;
        if (gr__wasm_u32(c, &flags) < 0)
            return -1;
        if (flags > 7)
            return GR__MALFORMED(
              c, at, "malformed elements segment kind %u", flags);
        e->type = GR_WASM_FUNCREF;
        if (flags & 1)
            e->mode =
              (flags & 2) ? GR_WASM_SEG_DECLARATIVE : GR_WASM_SEG_PASSIVE;
        else
            e->mode = GR_WASM_SEG_ACTIVE;
        if (e->mode == GR_WASM_SEG_ACTIVE) {
            size_t tat = c->pos;
            if ((flags & 2) && gr__wasm_u32(c, &e->table) < 0)
                return -1;
            if (e->table >= m->ntables)
                return GR__INVALID(c, tat, "unknown table %u", e->table);
            if (const_expr(c, GR_WASM_I32, &e->offset) < 0)
                return -1;
        }
        bool exprs = flags & 4;
        if (flags & 3) {
            size_t kat = c->pos;
            if (exprs) {
                if (read_reftype(c, &e->type) < 0)
                    return -1;
            } else {
                uint8_t kind;
                if (gr__wasm_u8(c, &kind) < 0)
                    return -1;
                if (kind != 0)
                    return GR__MALFORMED(
                      c, kat, "malformed element kind 0x%02x", kind);
            }
        }
        if (e->mode == GR_WASM_SEG_ACTIVE &&
            m->tables[e->table].elem_type != e->type)
            return GR__INVALID(
              c,
              at,
              "type mismatch: %s segment for a %s table",
              gr_wasm_valtype_name(e->type),
              gr_wasm_valtype_name(m->tables[e->table].elem_type));
        if (gr__wasm_count(c, exprs ? 2 : 1, &e->nitems) < 0)
            return -1;
        gr_wasm_const* items = ALLOC(c, gr_wasm_const, e->nitems);
        if (items == NULL)
            return gr__wasm_nomem(c);
        e->items = items;
        for (uint32_t j = 0; j < e->nitems; j++) {
            if (exprs) {
                if (const_expr(c, e->type, &items[j]) < 0)
                    return -1;
                continue;
            }
            size_t fat = c->pos;
            items[j].op = GR_WASM_OP_REF_FUNC;
            items[j].type = GR_WASM_FUNCREF;
            items[j].offset = (uint32_t)fat;
            if (gr__wasm_u32(c, &items[j].imm.idx) < 0)
                return -1;
            if (items[j].imm.idx >= m->nfuncs)
                return GR__INVALID(
                  c, fat, "unknown function %u", items[j].imm.idx);
            add_ref(c, items[j].imm.idx);
        }
        m->nelems = i + 1;
    }
    return 0;
}

static int
data_section(gr_wasm_ctx* c)
{
    gr_wasm_module* m = c->m;
    uint32_t n;
    size_t at = c->pos;
    if (gr__wasm_count(c, 1, &n) < 0)
        return -1;
    if (m->has_data_count && n != m->data_count)
        return GR__MALFORMED(c,
                             at,
                             "data count and data section have inconsistent "
                             "lengths (%u and %u)",
                             m->data_count,
                             n);
    gr_wasm_data* ds = ALLOC(c, gr_wasm_data, n);
    if (ds == NULL)
        return gr__wasm_nomem(c);
    m->datas = ds;
    for (uint32_t i = 0; i < n; i++) {
        gr_wasm_data* d = &ds[i];
        uint32_t flags, size;
        const uint8_t* p;
        at = c->pos;
        if (gr__wasm_u32(c, &flags) < 0)
            return -1;
        if (flags > 2)
            return GR__MALFORMED(
              c, at, "malformed data segment kind %u", flags);
        d->mode = flags == 1 ? GR_WASM_SEG_PASSIVE : GR_WASM_SEG_ACTIVE;
        if (flags != 1) {
            size_t mat = c->pos;
            if (flags == 2 && gr__wasm_u32(c, &d->mem) < 0)
                return -1;
            if (d->mem >= m->nmems)
                return GR__INVALID(c, mat, "unknown memory %u", d->mem);
            if (const_expr(c, GR_WASM_I32, &d->offset) < 0)
                return -1;
        }
        if (gr__wasm_count(c, 1, &size) < 0 || gr__wasm_bytes(c, size, &p) < 0)
            return -1;
        d->bytes_offset = (uint32_t)(p - c->base);
        d->bytes_size = size;
        m->ndatas = i + 1;
    }
    return 0;
}

/* The "name" section's function names (subsection 1). Custom sections never
 * make a module invalid: anything malformed here just drops the names. */
static void
name_section(gr_wasm_ctx* c, size_t from, size_t to)
{
    gr_wasm_ctx s = *c;
    gr_wasm_error ignored;
    s.err = &ignored;
    s.failed = false;
    s.pos = from;
    s.end = to;
    while (s.pos < to) {
        uint8_t id;
        uint32_t size;
        if (gr__wasm_u8(&s, &id) < 0 || gr__wasm_u32(&s, &size) < 0 ||
            size > to - s.pos)
            return;
        size_t sub_end = s.pos + size;
        if (id != 1) {
            s.pos = sub_end;
            continue;
        }
        s.end = sub_end;
        uint32_t n;
        if (gr__wasm_count(&s, 2, &n) < 0)
            return;
        for (uint32_t i = 0; i < n; i++) {
            uint32_t idx;
            gr_wasm_name name;
            if (gr__wasm_u32(&s, &idx) < 0 || read_name(&s, &name) < 0)
                break;
            if (idx < c->m->nfuncs) {
                c->m->funcs[idx].name = name.str;
                c->m->has_names = true;
            }
        }
        if (s.status == -ENOMEM) {
            c->status = -ENOMEM;
            c->failed = true;
        }
        return;
    }
}

static const char* const section_names[] = {
    "custom section",     "type section",   "import section",
    "function section",   "table section",  "memory section",
    "global section",     "export section", "start section",
    "element section",    "code section",   "data section",
    "data count section",
};

/* Position of each section id in the required order. */
static int
section_rank(uint8_t id)
{
    static const int rank[] = { 0, 1, 2, 3, 4, 5, 7, 8, 9, 10, 12, 13, 11 };
    return rank[id];
}

static int
decode(gr_wasm_ctx* c)
{
    static const uint8_t magic[4] = { 0x00, 0x61, 0x73, 0x6d };
    gr_wasm_module* m = c->m;
    const uint8_t* p;
    size_t name_from = 0, name_to = 0;
    if (c->len > UINT32_MAX)
        return gr__wasm_fail(
          c, GR_WASM_ERR_LIMIT, 0, "module larger than 4 GiB");
    if (gr__wasm_bytes(c, 4, &p) < 0)
        return -1;
    if (memcmp(p, magic, 4) != 0)
        return GR__MALFORMED(c, 0, "magic header not detected");
    if (gr__wasm_bytes(c, 4, &p) < 0)
        return -1;
    if (p[0] != 1 || p[1] != 0 || p[2] != 0 || p[3] != 0)
        return GR__MALFORMED(c, 4, "unknown binary version");
    int last = 0;
    while (c->pos < c->len) {
        size_t at = c->pos;
        uint8_t id;
        uint32_t size;
        c->section = NULL;
        c->end = c->len;
        if (gr__wasm_u8(c, &id) < 0)
            return -1;
        if (id == 13)
            return gr__wasm_fail(c,
                                 GR_WASM_ERR_UNSUPPORTED,
                                 at,
                                 "exception handling is not supported (tag "
                                 "section)");
        if (id > 12)
            return GR__MALFORMED(c, at, "malformed section id %u", id);
        c->section = section_names[id];
        if (gr__wasm_u32(c, &size) < 0)
            return -1;
        if (size > c->len - c->pos)
            return GR__MALFORMED(c,
                                 at,
                                 "section size mismatch: %u bytes declared, "
                                 "%zu left",
                                 size,
                                 c->len - c->pos);
        c->end = c->pos + size;
        if (id != 0) {
            if (section_rank(id) <= last)
                return GR__MALFORMED(c,
                                     at,
                                     "unexpected content after last section "
                                     "(section %u out of order)",
                                     id);
            last = section_rank(id);
        }
        int r = 0;
        switch (id) {
            case 0: {
                gr_wasm_name name;
                if (read_name(c, &name) < 0)
                    return -1;
                if (name.len == 4 && memcmp(name.str, "name", 4) == 0) {
                    name_from = c->pos;
                    name_to = c->end;
                }
                c->pos = c->end;
                break;
            }
            case 1:
                r = type_section(c);
                break;
            case 2:
                r = import_section(c);
                break;
            case 3:
                r = function_section(c);
                break;
            case 4:
                r = table_section(c);
                break;
            case 5:
                r = memory_section(c);
                break;
            case 6:
                r = global_section(c);
                break;
            case 7:
                r = export_section(c);
                break;
            case 8:
                r = start_section(c);
                break;
            case 9:
                r = elem_section(c);
                break;
            case 10:
                r = gr__wasm_code_section(c);
                c->has_code = true;
                break;
            case 11:
                if (!m->has_data_count)
                    m->data_count = 0;
                r = data_section(c);
                if (r == 0)
                    m->data_count = m->ndatas;
                break;
            case 12:
                r = gr__wasm_u32(c, &m->data_count);
                m->has_data_count = true;
                break;
        }
        if (r < 0)
            return -1;
        if (c->pos != c->end)
            return GR__MALFORMED(c,
                                 c->pos,
                                 "section size mismatch: %zu bytes unread",
                                 c->end - c->pos);
        /* C.refs is needed from the first constant expression on; size it
         * once the function index space is complete. */
        if (id == 2 || id == 3) {
            uint8_t* refs = ALLOC(c, uint8_t, m->nfuncs / 8 + 1);
            if (refs == NULL)
                return gr__wasm_nomem(c);
            c->refs = refs;
        }
    }
    c->section = NULL;
    c->end = c->len;
    if (!c->has_code && m->nfuncs > m->nfunc_imports)
        return GR__MALFORMED(c,
                             c->pos,
                             "function and code section have inconsistent "
                             "lengths (%u functions, no code)",
                             m->nfuncs - m->nfunc_imports);
    if (m->has_data_count && m->data_count != m->ndatas)
        return GR__MALFORMED(c,
                             c->pos,
                             "data count and data section have inconsistent "
                             "lengths (%u and %u)",
                             m->data_count,
                             m->ndatas);
    if (name_to > 0) {
        c->section = "name section";
        name_section(c, name_from, name_to);
        if (c->failed)
            return -1;
    }
    return 0;
}

int
gr_wasm_module_decode(const uint8_t* bytes,
                      size_t len,
                      gr_wasm_module** out,
                      gr_wasm_error* err)
{
    *out = NULL;
    if (err != NULL)
        memset(err, 0, sizeof(*err));
    gr_wasm_arena* arena = NULL;
    gr_wasm_module* m = gr__wasm_arena_alloc(&arena, sizeof(*m));
    if (m == NULL)
        return -ENOMEM;
    m->arena = arena;
    gr_wasm_ctx c = {
        .base = bytes,
        .len = len,
        .end = len,
        .func = UINT32_MAX,
        .m = m,
        .err = err,
    };
    uint8_t norefs = 0;
    c.refs = &norefs;
    if (decode(&c) < 0) {
        int st = c.status != 0 ? c.status : GR_EINVALID_MODULE;
        gr__wasm_arena_free(m->arena);
        return st;
    }
    *out = m;
    return 0;
}

void
gr_wasm_module_destroy(gr_wasm_module* m)
{
    if (m != NULL)
        gr__wasm_arena_free(m->arena);
}
