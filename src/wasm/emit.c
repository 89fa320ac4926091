/* SPDX-License-Identifier: Apache-2.0 */
/* Module-level code generation: the shared header (instance layout, type
 * signatures, prototypes), the function parts, and winit.c (imports,
 * exports, instantiation, segments, the entry point), plus the data
 * segments as a binary file included by the assembler. */
#include "wasm/emit_int.h"

#include "util/alloc.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_PART_INSTRS 40000u

uint64_t
gr_wasm_emit_cost(const gr_wasm_func* f)
{
    return (uint64_t)f->ninstrs + GR_WASM_EMIT_FUNC_COST;
}

typedef struct emod
{
    const gr_wasm_module* m;
    const char* dir;
    char* err;
    size_t errlen;
    uint32_t* canon; /* per type: first type index with the same signature */
    /* Per function (imports included): the part file a defined function is
     * written to, and whether anything outside that part needs it (an
     * export, an element or ref.func, the start function, a call from
     * another part). The others are static in their part, so the C
     * compiler drops those nothing calls and may inline the rest. */
    uint32_t* part;
    bool* pub;
    /* Per function: counts its frames against the call depth limit. */
    bool* depth;
} emod;

static int fail(emod* x, int rc, const char* fmt, ...)
  __attribute__((format(printf, 3, 4)));
static int
fail(emod* x, int rc, const char* fmt, ...)
{
    if (x->err != NULL && x->errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(x->err, x->errlen, fmt, ap);
        va_end(ap);
    }
    return rc;
}

static FILE*
open_out(emod* x, const char* name)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", x->dir, name);
    return fopen(path, "wb");
}

static void
sig_string(const gr_wasm_functype* t, char* buf, size_t n)
{
    size_t k = 0;
    for (uint32_t i = 0; i < t->nparams && k + 2 < n; i++)
        buf[k++] = gr__emit_letter(t->params[i]);
    buf[k++] = ':';
    for (uint32_t i = 0; i < t->nresults && k + 1 < n; i++)
        buf[k++] = gr__emit_letter(t->results[i]);
    buf[k] = 0;
}

static bool
same_type(const gr_wasm_functype* a, const gr_wasm_functype* b)
{
    return a->nparams == b->nparams && a->nresults == b->nresults &&
           memcmp(a->params, b->params, a->nparams) == 0 &&
           memcmp(a->results, b->results, a->nresults) == 0;
}

static void
c_string(FILE* f, const char* s, uint32_t len)
{
    fputc('"', f);
    for (uint32_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '?')
            fprintf(f, "\\%03o", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

static const char*
val_field(uint8_t t)
{
    switch (t) {
        case GR_WASM_I32:
            return "i32";
        case GR_WASM_I64:
            return "i64";
        case GR_WASM_F32:
            return "f32";
        case GR_WASM_F64:
            return "f64";
        case GR_WASM_FUNCREF:
            return "ref";
        default:
            return "ext";
    }
}

static void
global_ref(FILE* f, const gr_wasm_module* m, uint32_t g)
{
    if (g < m->nglobal_imports)
        fprintf(f, "(*I->g%" PRIu32 ")", g);
    else
        fprintf(f, "I->g%" PRIu32, g);
}

/* An element segment of function references and nulls only (initialised
 * from an index table rather than one statement per item). */
static bool
elem_is_funcs(const gr_wasm_elem* el)
{
    bool any = false;
    for (uint32_t j = 0; j < el->nitems; j++) {
        if (el->items[j].op == GR_WASM_OP_REF_FUNC)
            any = true;
        else if (el->items[j].op != GR_WASM_OP_REF_NULL)
            return false;
    }
    return any; /* nulls only: nothing to set (the items start zeroed) */
}

/* A constant expression as a C expression over the instance I. */
static void
const_expr(FILE* f, const gr_wasm_module* m, const gr_wasm_const* c)
{
    switch (c->op) {
        case GR_WASM_OP_I32_CONST:
            fprintf(f, "%" PRIu32 "u", (uint32_t)c->imm.i32);
            break;
        case GR_WASM_OP_I64_CONST:
            fprintf(f, "%" PRIu64 "ull", (uint64_t)c->imm.i64);
            break;
        case GR_WASM_OP_F32_CONST:
            fprintf(f, "wrt_f32(0x%" PRIx32 "u)", c->imm.f32);
            break;
        case GR_WASM_OP_F64_CONST:
            fprintf(f, "wrt_f64(0x%" PRIx64 "ull)", c->imm.f64);
            break;
        case GR_WASM_OP_V128_CONST: {
            uint64_t lo, hi;
            memcpy(&lo, c->imm.v128, 8);
            memcpy(&hi, c->imm.v128 + 8, 8);
            fprintf(
              f, "(wrt_v128){ 0x%" PRIx64 "ull, 0x%" PRIx64 "ull }", lo, hi);
            break;
        }
        case GR_WASM_OP_REF_NULL:
            fprintf(f, "0");
            break;
        case GR_WASM_OP_REF_FUNC:
            fprintf(f, "I->fn[%" PRIu32 "]", c->imm.idx);
            break;
        case GR_WASM_OP_GLOBAL_GET:
            global_ref(f, m, c->imm.idx);
            break;
        default:
            fprintf(f, "0");
            break;
    }
}

static void write_proto(emod* x, FILE* f, uint32_t i, const char* storage);

static void
write_header(emod* x, FILE* f)
{
    const gr_wasm_module* m = x->m;
    int shared = 0;
    for (uint32_t i = 0; i < m->nmems; i++)
        shared |= m->mems[i].limits.shared;
    fprintf(f,
            "/* Generated by Granary's wasm code generator. */\n"
            "#define WRT_SHARED_MEMORY %d\n"
            "#include \"wrt.h\"\n"
            "#pragma GCC visibility push(hidden)\n",
            shared);
    for (uint32_t t = 0; t < m->ntypes; t++) {
        const gr_wasm_functype* ft = &m->types[t];
        if (x->canon[t] != t)
            fprintf(
              f, "#define wsig%" PRIu32 " wsig%" PRIu32 "\n", t, x->canon[t]);
        else
            fprintf(f, "extern const char wsig%" PRIu32 "[];\n", t);
        if (ft->nresults > 1) {
            fprintf(f, "typedef struct {");
            for (uint32_t i = 0; i < ft->nresults; i++)
                fprintf(
                  f, " %s r%" PRIu32 ";", gr__emit_ctype(ft->results[i]), i);
            fprintf(f, " } wres_t%" PRIu32 ";\n", t);
        }
    }
    fprintf(f, "typedef struct wmod_inst {\nint unused_;\n");
    uint32_t ndef = m->nfuncs - m->nfunc_imports;
    if (m->nfuncs)
        fprintf(f, "const wrt_func* fn[%" PRIu32 "];\n", m->nfuncs);
    if (ndef)
        fprintf(f, "wrt_func fdef[%" PRIu32 "];\n", ndef);
    if (m->nmems) {
        fprintf(f, "wrt_memory* mem[%" PRIu32 "];\n", m->nmems);
        if (m->nmems > m->nmem_imports)
            fprintf(f,
                    "wrt_memory mem_own[%" PRIu32 "];\n",
                    m->nmems - m->nmem_imports);
    }
    if (m->ntables) {
        fprintf(f, "wrt_table* tab[%" PRIu32 "];\n", m->ntables);
        if (m->ntables > m->ntable_imports)
            fprintf(f,
                    "wrt_table tab_own[%" PRIu32 "];\n",
                    m->ntables - m->ntable_imports);
    }
    for (uint32_t g = 0; g < m->nglobals; g++)
        fprintf(f,
                "%s%s g%" PRIu32 ";\n",
                gr__emit_ctype(m->globals[g].type),
                g < m->nglobal_imports ? "*" : "",
                g);
    if (m->ndatas)
        fprintf(f, "uint8_t ddrop[%" PRIu32 "];\n", m->ndatas);
    if (m->nelems)
        fprintf(f,
                "uint8_t edrop[%" PRIu32 "];\nvoid** eitems[%" PRIu32
                "];\nuint32_t elen[%" PRIu32 "];\n",
                m->nelems,
                m->nelems,
                m->nelems);
    fprintf(f, "} wmod_inst;\n");
    fprintf(f, "extern const uint8_t wdata_blob[];\n");
    uint64_t off = 0;
    for (uint32_t d = 0; d < m->ndatas; d++) {
        fprintf(
          f, "#define WDATA%" PRIu32 " (wdata_blob + %" PRIu64 "u)\n", d, off);
        off += m->datas[d].bytes_size;
    }
    for (uint32_t i = m->nfunc_imports; i < m->nfuncs; i++)
        if (x->pub[i])
            write_proto(x, f, i, "");
}

/* Works out x->part and x->pub (see emod). Parts hold part_cost each
 * (jobs == 0) or, for `jobs` compilers, 1/(2 jobs) of the cost not yet in
 * a part, at least part_cost (see gr_wasm_emit_jobs). */
static void
plan_linkage(emod* x, uint64_t part_cost, uint32_t jobs)
{
    const gr_wasm_module* m = x->m;
    uint64_t in_part = 0, left = 0, want = part_cost;
    uint32_t p = 0;
    bool first = true;
    for (uint32_t i = m->nfunc_imports; i < m->nfuncs; i++)
        left += gr_wasm_emit_cost(&m->funcs[i]);
    for (uint32_t i = m->nfunc_imports; i < m->nfuncs; i++) {
        if (first || in_part >= want) {
            p += first ? 0 : 1;
            first = false;
            in_part = 0;
            if (jobs) {
                want = left / (2 * (uint64_t)jobs);
                want = want > part_cost ? want : part_cost;
            }
        }
        x->part[i] = p;
        uint64_t c = gr_wasm_emit_cost(&m->funcs[i]);
        in_part += c;
        left -= c;
    }
    for (uint32_t i = 0; i < m->nexports; i++)
        if (m->exports[i].kind == GR_WASM_EXTERN_FUNC &&
            m->exports[i].index < m->nfuncs)
            x->pub[m->exports[i].index] = true;
    if (m->has_start && m->start < m->nfuncs)
        x->pub[m->start] = true;
    for (uint32_t k = 0; k < m->nelems; k++)
        for (uint32_t j = 0; j < m->elems[k].nitems; j++)
            if (m->elems[k].items[j].op == GR_WASM_OP_REF_FUNC &&
                m->elems[k].items[j].imm.idx < m->nfuncs)
                x->pub[m->elems[k].items[j].imm.idx] = true;
    for (uint32_t g = m->nglobal_imports; g < m->nglobals; g++)
        if (m->globals[g].init.op == GR_WASM_OP_REF_FUNC &&
            m->globals[g].init.imm.idx < m->nfuncs)
            x->pub[m->globals[g].init.imm.idx] = true;
    for (uint32_t i = m->nfunc_imports; i < m->nfuncs; i++) {
        const gr_wasm_func* fn = &m->funcs[i];
        for (uint32_t k = 0; k < fn->ninstrs; k++) {
            const gr_wasm_instr* in = &fn->instrs[k];
            uint32_t t = in->imm.idx.a;
            if (in->op == GR_WASM_OP_REF_FUNC && t < m->nfuncs)
                x->pub[t] = true;
            else if (in->op == GR_WASM_OP_CALL && t >= m->nfunc_imports &&
                     t < m->nfuncs && x->part[t] != x->part[i])
                x->pub[t] = true;
        }
    }
}

/* Which functions count their frames against WRT_MAX_DEPTH. Unbounded
 * recursion must go round a cycle of calls: through a call_indirect or an
 * import (the host may call back in), or round a cycle of direct calls,
 * which lies inside one strongly connected component of the call graph.
 * So the functions that make indirect or import calls and those of a
 * cyclic component count, and the rest (most of a program: leaves and
 * acyclic callers) skip the per-call check, a thread-local increment, a
 * compare and a trap path that made up about 6% of the C compiler's time
 * on a large module. Between two counted frames there is then at most a
 * chain of distinct uncounted functions; a deeper native stack than that
 * allows still ends in the host's stack guard, which also traps.
 * Tarjan's algorithm, iterative (call chains may be long). Returns
 * -ENOMEM or 0. */
static int
plan_depth(emod* x)
{
    const gr_wasm_module* m = x->m;
    uint32_t n = m->nfuncs, nimp = m->nfunc_imports, next = 1, sp = 0;
    uint32_t *index = gr_calloc(n ? n : 1, sizeof(uint32_t)),
             *low = gr_calloc(n ? n : 1, sizeof(uint32_t)),
             *stack = gr_calloc(n ? n : 1, sizeof(uint32_t)),
             *call_fn = gr_calloc(n ? n : 1, sizeof(uint32_t)),
             *call_at = gr_calloc(n ? n : 1, sizeof(uint32_t));
    bool* on = gr_calloc(n ? n : 1, sizeof(bool));
    int rc = -ENOMEM;
    if (!index || !low || !stack || !call_fn || !call_at || !on)
        goto done;
    for (uint32_t i = nimp; i < n; i++) {
        const gr_wasm_func* fn = &m->funcs[i];
        for (uint32_t k = 0; k < fn->ninstrs && !x->depth[i]; k++) {
            const gr_wasm_instr* in = &fn->instrs[k];
            x->depth[i] = in->op == GR_WASM_OP_CALL_INDIRECT ||
                          (in->op == GR_WASM_OP_CALL && in->imm.idx.a < nimp);
        }
    }
    for (uint32_t root = nimp; root < n; root++) {
        if (index[root])
            continue;
        /* call_fn/call_at: the depth-first path, each frame with the next
         * instruction of its function to look at. */
        uint32_t depth = 0;
        call_fn[0] = root;
        call_at[0] = 0;
        index[root] = low[root] = next++;
        stack[sp++] = root;
        on[root] = true;
        while (true) {
            uint32_t v = call_fn[depth];
            const gr_wasm_func* fn = &m->funcs[v];
            bool pushed = false;
            while (call_at[depth] < fn->ninstrs) {
                const gr_wasm_instr* in = &fn->instrs[call_at[depth]++];
                uint32_t w = in->imm.idx.a;
                if (in->op != GR_WASM_OP_CALL || w < nimp || w >= n)
                    continue;
                if (w == v)
                    x->depth[v] = true; /* calls itself */
                if (!index[w]) {
                    index[w] = low[w] = next++;
                    stack[sp++] = w;
                    on[w] = true;
                    depth++;
                    call_fn[depth] = w;
                    call_at[depth] = 0;
                    pushed = true;
                    break;
                }
                if (on[w] && index[w] < low[v])
                    low[v] = index[w];
            }
            if (pushed)
                continue;
            if (low[v] == index[v]) {
                /* v roots a component: it is cyclic if it has more than
                 * v (or v calls itself, marked above). */
                bool cyclic = stack[sp - 1] != v;
                uint32_t w;
                do {
                    w = stack[--sp];
                    on[w] = false;
                    if (cyclic)
                        x->depth[w] = true;
                } while (w != v);
            }
            if (depth == 0)
                break;
            depth--;
            uint32_t u = call_fn[depth];
            if (low[v] < low[u])
                low[u] = low[v];
        }
    }
    rc = 0;
done:
    gr_free(index);
    gr_free(low);
    gr_free(stack);
    gr_free(call_fn);
    gr_free(call_at);
    gr_free(on);
    return rc;
}

/* The prototype of defined function i, after `storage` ("" or "static "). */
static void
write_proto(emod* x, FILE* f, uint32_t i, const char* storage)
{
    const gr_wasm_module* m = x->m;
    const gr_wasm_functype* ft = &m->types[m->funcs[i].type];
    fprintf(f, "%s", storage);
    if (ft->nresults == 0)
        fprintf(f, "void ");
    else if (ft->nresults == 1)
        fprintf(f, "%s ", gr__emit_ctype(ft->results[0]));
    else
        fprintf(f, "wres_t%" PRIu32 " ", m->funcs[i].type);
    fprintf(f, "wf%" PRIu32 "(void*", i);
    for (uint32_t p = 0; p < ft->nparams; p++)
        fprintf(f, ", %s", gr__emit_ctype(ft->params[p]));
    fprintf(f, ");\n");
}

static void
write_thunk(emod* x, FILE* f, uint32_t t)
{
    const gr_wasm_functype* ft = &x->m->types[t];
    fprintf(f,
            "static void wthunk%" PRIu32 "(const wrt_func* f, wrt_val* v)\n{\n",
            t);
    if (ft->nresults == 0)
        fprintf(f, "((void(*)(void*");
    else if (ft->nresults == 1)
        fprintf(f,
                "%s r = ((%s(*)(void*",
                gr__emit_ctype(ft->results[0]),
                gr__emit_ctype(ft->results[0]));
    else
        fprintf(f, "wres_t%" PRIu32 " r = ((wres_t%" PRIu32 "(*)(void*", t, t);
    for (uint32_t i = 0; i < ft->nparams; i++)
        fprintf(f, ", %s", gr__emit_ctype(ft->params[i]));
    fprintf(f, "))f->code)(f->inst");
    for (uint32_t i = 0; i < ft->nparams; i++) {
        if (ft->params[i] == GR_WASM_V128)
            fprintf(f, ", wrt_getv(&v[%" PRIu32 "])", i);
        else
            fprintf(f, ", v[%" PRIu32 "].%s", i, val_field(ft->params[i]));
    }
    fprintf(f, ");\n");
    for (uint32_t i = 0; i < ft->nresults; i++) {
        char src[24];
        if (ft->nresults == 1)
            snprintf(src, sizeof(src), "r");
        else
            snprintf(src, sizeof(src), "r.r%" PRIu32, i);
        if (ft->results[i] == GR_WASM_V128)
            fprintf(f, "wrt_setv(&v[%" PRIu32 "], %s);\n", i, src);
        else
            fprintf(f,
                    "v[%" PRIu32 "].%s = %s;\n",
                    i,
                    val_field(ft->results[i]),
                    src);
    }
    fprintf(f, "(void)v;\n}\n");
}

/* wexport_code[], wdrop() and wrelocate() (see wrt_module_desc). */
static void
write_relocate(emod* x, FILE* f)
{
    const gr_wasm_module* m = x->m;
    if (m->nexports) {
        fprintf(f, "static void* const wexport_code[] = {\n");
        for (uint32_t i = 0; i < m->nexports; i++) {
            const gr_wasm_export* ex = &m->exports[i];
            if (ex->kind == GR_WASM_EXTERN_FUNC &&
                ex->index >= m->nfunc_imports)
                fprintf(f, "(void*)wf%" PRIu32 ",\n", ex->index);
            else
                fprintf(f, "NULL,\n");
        }
        fprintf(f, "};\nstatic const char* const wexport_sig[] = {\n");
        for (uint32_t i = 0; i < m->nexports; i++) {
            const gr_wasm_export* ex = &m->exports[i];
            if (ex->kind == GR_WASM_EXTERN_FUNC)
                fprintf(
                  f, "wsig%" PRIu32 ",\n", x->canon[m->funcs[ex->index].type]);
            else
                fprintf(f, "NULL,\n");
        }
        fprintf(f, "};\n");
    }
    fprintf(f, "static void wdrop(void* vI)\n{\nwmod_inst* I = vI; (void)I;\n");
    for (uint32_t i = m->ntable_imports; i < m->ntables; i++)
        fprintf(f,
                "free(I->tab_own[%" PRIu32 "].elems); I->tab_own[%" PRIu32
                "].elems = NULL;\n",
                i - m->ntable_imports,
                i - m->ntable_imports);
    for (uint32_t k = 0; k < m->nelems; k++)
        fprintf(f,
                "free(I->eitems[%" PRIu32 "]); I->eitems[%" PRIu32
                "] = NULL;\n",
                k,
                k);
    fprintf(f, "}\n");
    /* Pointer values are compared as integers: `old` may be gone. */
    fprintf(f,
            "static void* wmove(void* p, uintptr_t o, uintptr_t n, size_t s)\n"
            "{\nuintptr_t v = (uintptr_t)p;\n"
            "return v >= o && v - o < s ? (void*)(n + (v - o)) : p;\n}\n");
    fprintf(f,
            "static int wdup(void*** a, uint32_t len, uintptr_t o, uintptr_t "
            "n, size_t s)\n{\nvoid** src = *a; *a = NULL;\n"
            "if (src == NULL) return 0;\n"
            "void** d = calloc(len ? len : 1, sizeof(void*));\n"
            "if (d == NULL) return -ENOMEM;\n"
            "for (uint32_t i = 0; i < len; i++) d[i] = wmove(src[i], o, n, "
            "s);\n*a = d;\nreturn 0;\n}\n");
    fprintf(f,
            "static int wrelocate(void* vI, const void* old, size_t s)\n{\n"
            "wmod_inst* I = vI; uintptr_t o = (uintptr_t)old, n = "
            "(uintptr_t)vI;\nint rc = 0; (void)I; (void)o; (void)n; "
            "(void)s;\n");
    if (m->nfuncs)
        fprintf(f,
                "for (uint32_t i = 0; i < %" PRIu32 "u; i++) I->fn[i] = "
                "wmove((void*)I->fn[i], o, n, s);\n",
                m->nfuncs);
    if (m->nfuncs > m->nfunc_imports)
        fprintf(f,
                "for (uint32_t d = 0; d < %" PRIu32
                "u; d++) I->fdef[d].inst = I;\n",
                m->nfuncs - m->nfunc_imports);
    for (uint32_t i = m->nmem_imports; i < m->nmems; i++)
        fprintf(f,
                "I->mem[%" PRIu32 "] = &I->mem_own[%" PRIu32 "];\n",
                i,
                i - m->nmem_imports);
    for (uint32_t i = m->ntable_imports; i < m->ntables; i++)
        fprintf(f,
                "I->tab[%" PRIu32 "] = &I->tab_own[%" PRIu32
                "];\nif (wdup(&I->tab_own[%" PRIu32
                "].elems, I->tab_own[%" PRIu32
                "].size, o, n, s)) rc = -ENOMEM;\n",
                i,
                i - m->ntable_imports,
                i - m->ntable_imports,
                i - m->ntable_imports);
    for (uint32_t g = m->nglobal_imports; g < m->nglobals; g++)
        if (m->globals[g].type == GR_WASM_FUNCREF)
            fprintf(f,
                    "I->g%" PRIu32 " = wmove((void*)I->g%" PRIu32
                    ", o, n, s);\n",
                    g,
                    g);
    for (uint32_t k = 0; k < m->nelems; k++)
        fprintf(f,
                "if (wdup(&I->eitems[%" PRIu32 "], I->elen[%" PRIu32
                "], o, n, s)) rc = -ENOMEM;\n",
                k,
                k);
    fprintf(f, "return rc;\n}\n");
}

static void
write_init(emod* x, FILE* f)
{
    const gr_wasm_module* m = x->m;
    fprintf(f,
            "#include <errno.h>\n#include <stdlib.h>\n#include \"wmod.h\"\n");
    fprintf(f,
            "__asm__(\".section .rodata\\n.balign 16\\n.globl wdata_blob\\n"
            ".hidden wdata_blob\\nwdata_blob:\\n.incbin \\\"wdata.bin\\\"\\n"
            ".byte 0\\n.previous\\n\");\n");
    char sig[2100];
    for (uint32_t t = 0; t < m->ntypes; t++) {
        if (x->canon[t] != t)
            continue;
        sig_string(&m->types[t], sig, sizeof(sig));
        fprintf(f, "const char wsig%" PRIu32 "[] = \"%s\";\n", t, sig);
        write_thunk(x, f, t);
    }
    /* Imports. */
    if (m->nimports) {
        fprintf(f, "static const wrt_import_desc wimports[] = {\n");
        for (uint32_t i = 0; i < m->nimports; i++) {
            const gr_wasm_import* im = &m->imports[i];
            fprintf(f, "{ ");
            c_string(f, im->module.str, im->module.len);
            fprintf(f, ", ");
            c_string(f, im->field.str, im->field.len);
            fprintf(f, ", %u, ", im->kind);
            switch (im->kind) {
                case GR_WASM_EXTERN_FUNC:
                    fprintf(f,
                            "wsig%" PRIu32 ", 0, 0, 0, 0, 0, 0",
                            x->canon[m->funcs[im->index].type]);
                    break;
                case GR_WASM_EXTERN_TABLE: {
                    const gr_wasm_table* t = &m->tables[im->index];
                    fprintf(f,
                            "0, %u, 0, %d, 0, %" PRIu32 "u, %" PRIu32 "u",
                            t->elem_type,
                            t->limits.has_max,
                            t->limits.min,
                            t->limits.max);
                    break;
                }
                case GR_WASM_EXTERN_MEMORY: {
                    const gr_wasm_memory* mm = &m->mems[im->index];
                    fprintf(f,
                            "0, 0, 0, %d, %d, %" PRIu32 "u, %" PRIu32 "u",
                            mm->limits.has_max,
                            mm->limits.shared,
                            mm->limits.min,
                            mm->limits.max);
                    break;
                }
                default: {
                    const gr_wasm_global* g = &m->globals[im->index];
                    fprintf(f, "0, %u, %d, 0, 0, 0, 0", g->type, g->mut);
                    break;
                }
            }
            fprintf(f, " },\n");
        }
        fprintf(f, "};\n");
    }
    if (m->nexports) {
        fprintf(f, "static const wrt_export_desc wexports[] = {\n");
        for (uint32_t i = 0; i < m->nexports; i++) {
            const gr_wasm_export* ex = &m->exports[i];
            fprintf(f, "{ ");
            c_string(f, ex->name.str, ex->name.len);
            uint8_t type = 0;
            bool mut = false;
            if (ex->kind == GR_WASM_EXTERN_GLOBAL) {
                type = m->globals[ex->index].type;
                mut = m->globals[ex->index].mut;
            } else if (ex->kind == GR_WASM_EXTERN_TABLE) {
                type = m->tables[ex->index].elem_type;
            }
            fprintf(f,
                    ", %" PRIu32 "u, %u, %u, %d, %" PRIu32 "u },\n",
                    ex->name.len,
                    ex->kind,
                    type,
                    mut,
                    ex->index);
        }
        fprintf(f, "};\n");
    }
    if (m->nfuncs > m->nfunc_imports) {
        fprintf(f,
                "static const struct wfdef { const char* sig; void* code; "
                "void (*thunk)(const wrt_func*, wrt_val*); } wfdefs[] = {\n");
        for (uint32_t i = m->nfunc_imports; i < m->nfuncs; i++) {
            uint32_t t = x->canon[m->funcs[i].type];
            if (!x->pub[i]) { /* static in its part: never referenced */
                fprintf(f, "{ 0, 0, 0 },\n");
                continue;
            }
            fprintf(f,
                    "{ wsig%" PRIu32 ", (void*)wf%" PRIu32 ", wthunk%" PRIu32
                    " },\n",
                    t,
                    i,
                    t);
        }
        fprintf(f, "};\n");
    }
    for (uint32_t k = 0; k < m->nelems; k++)
        if (elem_is_funcs(&m->elems[k])) {
            const gr_wasm_elem* el = &m->elems[k];
            fprintf(f, "static const uint32_t welem%" PRIu32 "[] = {\n", k);
            for (uint32_t j = 0; j < el->nitems; j++)
                fprintf(f,
                        "%" PRIu32 "u,%s",
                        el->items[j].op == GR_WASM_OP_REF_FUNC
                          ? el->items[j].imm.idx
                          : UINT32_MAX,
                        j % 8 == 7 ? "\n" : " ");
            fprintf(f, "};\n");
        }
    /* init */
    fprintf(f,
            "static int winit(void* vI, void* const* imp)\n{\n"
            "wmod_inst* I = vI; (void)imp;\n");
    for (uint32_t i = 0; i < m->nimports; i++) {
        const gr_wasm_import* im = &m->imports[i];
        switch (im->kind) {
            case GR_WASM_EXTERN_FUNC:
                fprintf(
                  f, "I->fn[%" PRIu32 "] = imp[%" PRIu32 "];\n", im->index, i);
                break;
            case GR_WASM_EXTERN_TABLE:
                fprintf(
                  f, "I->tab[%" PRIu32 "] = imp[%" PRIu32 "];\n", im->index, i);
                break;
            case GR_WASM_EXTERN_MEMORY:
                fprintf(
                  f, "I->mem[%" PRIu32 "] = imp[%" PRIu32 "];\n", im->index, i);
                break;
            default:
                fprintf(
                  f, "I->g%" PRIu32 " = imp[%" PRIu32 "];\n", im->index, i);
                break;
        }
    }
    /* The defined functions from a table and a loop: one statement per
     * function made this function the most expensive one of a large
     * module for the C compiler (seconds at -O1 for 2,000 functions). */
    if (m->nfuncs > m->nfunc_imports)
        fprintf(f,
                "for (uint32_t d = 0; d < %" PRIu32 "u; d++) {\n"
                "if (wfdefs[d].code == NULL) continue;\n"
                "I->fdef[d] = (wrt_func){ wfdefs[d].sig, wfdefs[d].code, I, "
                "wfdefs[d].thunk };\nI->fn[%" PRIu32 "u + d] = &I->fdef[d];\n"
                "}\n",
                m->nfuncs - m->nfunc_imports,
                m->nfunc_imports);
    for (uint32_t i = m->nmem_imports; i < m->nmems; i++) {
        const gr_wasm_limits* l = &m->mems[i].limits;
        uint32_t d = i - m->nmem_imports;
        fprintf(f,
                "if (wrt_memory_init(&I->mem_own[%" PRIu32 "], %" PRIu32
                "u, %" PRIu32 "u, %d, %d)) return -ENOMEM;\nI->mem[%" PRIu32
                "] = &I->mem_own[%" PRIu32 "];\n",
                d,
                l->min,
                l->max,
                l->has_max,
                l->shared,
                i,
                d);
    }
    for (uint32_t i = m->ntable_imports; i < m->ntables; i++) {
        const gr_wasm_table* t = &m->tables[i];
        uint32_t d = i - m->ntable_imports;
        fprintf(f,
                "if (wrt_table_init(&I->tab_own[%" PRIu32 "], %u, %" PRIu32
                "u, %" PRIu32 "u, %d)) return -ENOMEM;\nI->tab[%" PRIu32
                "] = &I->tab_own[%" PRIu32 "];\n",
                d,
                t->elem_type,
                t->limits.min,
                t->limits.max,
                t->limits.has_max,
                i,
                d);
    }
    for (uint32_t g = m->nglobal_imports; g < m->nglobals; g++) {
        fprintf(f, "I->g%" PRIu32 " = ", g);
        const_expr(f, m, &m->globals[g].init);
        fprintf(f, ";\n");
    }
    for (uint32_t k = 0; k < m->nelems; k++) {
        const gr_wasm_elem* el = &m->elems[k];
        fprintf(f,
                "I->elen[%" PRIu32 "] = %" PRIu32 "u; I->eitems[%" PRIu32
                "] = calloc(%" PRIu32
                "u, sizeof(void*)); if (!I->eitems[%" PRIu32
                "]) return -ENOMEM;\n",
                k,
                el->nitems,
                k,
                el->nitems ? el->nitems : 1,
                k);
        if (elem_is_funcs(el)) {
            fprintf(f,
                    "for (uint32_t j = 0; j < %" PRIu32
                    "u; j++) if (welem%" PRIu32
                    "[j] != UINT32_MAX) I->eitems[%" PRIu32
                    "][j] = (void*)I->fn[welem%" PRIu32 "[j]];\n",
                    el->nitems,
                    k,
                    k,
                    k);
            continue;
        }
        for (uint32_t j = 0; j < el->nitems; j++) {
            if (el->items[j].op == GR_WASM_OP_REF_NULL)
                continue;
            fprintf(f, "I->eitems[%" PRIu32 "][%" PRIu32 "] = (void*)", k, j);
            const_expr(f, m, &el->items[j]);
            fprintf(f, ";\n");
        }
    }
    fprintf(f, "return 0;\n}\n");
    /* start: segments, then the start function */
    fprintf(f,
            "static void wstart(void* vI)\n{\nwmod_inst* I = vI; (void)I;\n");
    for (uint32_t k = 0; k < m->nelems; k++) {
        const gr_wasm_elem* el = &m->elems[k];
        if (el->mode == GR_WASM_SEG_ACTIVE) {
            fprintf(f,
                    "wrt_table_init_seg(I->tab[%" PRIu32 "], I->eitems[%" PRIu32
                    "], I->elen[%" PRIu32 "], ",
                    el->table,
                    k,
                    k);
            const_expr(f, m, &el->offset);
            fprintf(f, ", 0, I->elen[%" PRIu32 "]);\n", k);
        }
        if (el->mode != GR_WASM_SEG_PASSIVE)
            fprintf(f, "I->edrop[%" PRIu32 "] = 1;\n", k);
    }
    for (uint32_t d = 0; d < m->ndatas; d++) {
        const gr_wasm_data* ds = &m->datas[d];
        if (ds->mode != GR_WASM_SEG_ACTIVE)
            continue;
        fprintf(f,
                "wrt_memory_init_seg(I->mem[%" PRIu32 "], WDATA%" PRIu32
                ", %" PRIu32 "u, ",
                ds->mem,
                d,
                ds->bytes_size);
        const_expr(f, m, &ds->offset);
        fprintf(f,
                ", 0, %" PRIu32 "u);\nI->ddrop[%" PRIu32 "] = 1;\n",
                ds->bytes_size,
                d);
    }
    if (m->has_start) {
        uint32_t s = m->start;
        if (s < m->nfunc_imports)
            fprintf(f,
                    "((void(*)(void*))I->fn[%" PRIu32 "]->code)(I->fn[%" PRIu32
                    "]->inst);\n",
                    s,
                    s);
        else
            fprintf(f, "wf%" PRIu32 "(I);\n", s);
    }
    fprintf(f, "}\n");
    /* exports */
    fprintf(f,
            "static void* wexport(void* vI, uint32_t i)\n{\n"
            "wmod_inst* I = vI; (void)I;\nswitch (i) {\n");
    for (uint32_t i = 0; i < m->nexports; i++) {
        const gr_wasm_export* ex = &m->exports[i];
        fprintf(f, "case %" PRIu32 ": return ", i);
        switch (ex->kind) {
            case GR_WASM_EXTERN_FUNC:
                fprintf(f, "(void*)I->fn[%" PRIu32 "];\n", ex->index);
                break;
            case GR_WASM_EXTERN_TABLE:
                fprintf(f, "I->tab[%" PRIu32 "];\n", ex->index);
                break;
            case GR_WASM_EXTERN_MEMORY:
                fprintf(f, "I->mem[%" PRIu32 "];\n", ex->index);
                break;
            default:
                if (ex->index < m->nglobal_imports)
                    fprintf(f, "I->g%" PRIu32 ";\n", ex->index);
                else
                    fprintf(f, "&I->g%" PRIu32 ";\n", ex->index);
                break;
        }
    }
    fprintf(f, "default: return NULL;\n}\n}\n");
    fprintf(f, "static void wfini(void* vI)\n{\nwmod_inst* I = vI; (void)I;\n");
    for (uint32_t i = m->nmem_imports; i < m->nmems; i++)
        fprintf(f,
                "wrt_memory_fini(&I->mem_own[%" PRIu32 "]);\n",
                i - m->nmem_imports);
    for (uint32_t i = m->ntable_imports; i < m->ntables; i++)
        fprintf(f,
                "wrt_table_fini(&I->tab_own[%" PRIu32 "]);\n",
                i - m->ntable_imports);
    for (uint32_t k = 0; k < m->nelems; k++)
        fprintf(f, "free(I->eitems[%" PRIu32 "]);\n", k);
    fprintf(f, "}\n");
    write_relocate(x, f);
    fprintf(f, "#pragma GCC visibility pop\n");
    fprintf(f,
            "__attribute__((visibility(\"default\"))) const wrt_module_desc "
            "granary_wasm_module = {\n  WRT_ABI_VERSION, %" PRIu32
            ", %s, %" PRIu32
            ", %s,\n  sizeof(wmod_inst), winit, wstart, wexport, wfini,\n"
            "  %s, %s,\n",
            m->nimports,
            m->nimports ? "wimports" : "NULL",
            m->nexports,
            m->nexports ? "wexports" : "NULL",
            m->nexports ? "wexport_code" : "NULL",
            m->nexports ? "wexport_sig" : "NULL");
    if (m->nmems > m->nmem_imports)
        fprintf(f, "  offsetof(wmod_inst, mem_own),\n");
    else
        fprintf(f, "  (size_t)-1,\n");
    if (m->nglobals > m->nglobal_imports &&
        m->globals[m->nglobal_imports].type == GR_WASM_I32 &&
        m->globals[m->nglobal_imports].mut)
        fprintf(
          f, "  offsetof(wmod_inst, g%" PRIu32 "),\n", m->nglobal_imports);
    else
        fprintf(f, "  (size_t)-1,\n");
    fprintf(f, "  wrelocate, wdrop, WRT_GUARD_PAGES,\n");
    if (m->nmems)
        fprintf(f, "  offsetof(wmod_inst, mem),\n");
    else
        fprintf(f, "  (size_t)-1,\n");
    fprintf(f, "};\n");
}

static int
write_data(emod* x, const uint8_t* bytes, size_t len)
{
    FILE* f = open_out(x, "wdata.bin");
    if (f == NULL)
        return fail(x, -EIO, "%s/wdata.bin: cannot create", x->dir);
    for (uint32_t d = 0; d < x->m->ndatas; d++) {
        const gr_wasm_data* ds = &x->m->datas[d];
        if ((size_t)ds->bytes_offset + ds->bytes_size > len) {
            fclose(f);
            return fail(
              x, -EINVAL, "data segment %" PRIu32 " outside the input", d);
        }
        fwrite(bytes + ds->bytes_offset, 1, ds->bytes_size, f);
    }
    return fclose(f) == 0 ? 0 : fail(x, -EIO, "wdata.bin: write failed");
}

static int
emit_all(const gr_wasm_module* m,
         const uint8_t* bytes,
         size_t len,
         const char* dir,
         uint64_t part_cost,
         uint32_t jobs,
         char* err,
         size_t errlen)
{
    emod x = { .m = m, .dir = dir, .err = err, .errlen = errlen };
    int rc = 0, nfiles = 0;
    FILE* f = NULL;
    x.canon = gr_calloc(m->ntypes ? m->ntypes : 1, sizeof(uint32_t));
    x.part = gr_calloc(m->nfuncs ? m->nfuncs : 1, sizeof(uint32_t));
    x.pub = gr_calloc(m->nfuncs ? m->nfuncs : 1, sizeof(bool));
    x.depth = gr_calloc(m->nfuncs ? m->nfuncs : 1, sizeof(bool));
    if (x.canon == NULL || x.part == NULL || x.pub == NULL || x.depth == NULL ||
        plan_depth(&x) < 0) {
        gr_free(x.canon);
        gr_free(x.part);
        gr_free(x.pub);
        gr_free(x.depth);
        return fail(&x, -ENOMEM, "out of memory");
    }
    plan_linkage(&x, part_cost, jobs);
    for (uint32_t t = 0; t < m->ntypes; t++) {
        x.canon[t] = t;
        for (uint32_t u = 0; u < t; u++)
            if (same_type(&m->types[t], &m->types[u])) {
                x.canon[t] = u;
                break;
            }
    }
    if ((rc = write_data(&x, bytes, len)) < 0)
        goto done;
    f = open_out(&x, "wmod.h");
    if (f == NULL) {
        rc = fail(&x, -EIO, "%s/wmod.h: cannot create", dir);
        goto done;
    }
    write_header(&x, f);
    if (fclose(f) != 0) {
        f = NULL;
        rc = fail(&x, -EIO, "wmod.h: write failed");
        goto done;
    }
    f = NULL;
    gr_emit_fn e = { .m = m, .err = err, .errlen = errlen };
    for (uint32_t i = m->nfunc_imports; i < m->nfuncs; i++) {
        if (f == NULL || x.part[i] != x.part[i - 1]) {
            if (f != NULL && fclose(f) != 0) {
                f = NULL;
                rc = fail(&x, -EIO, "part: write failed");
                goto done;
            }
            char name[32];
            snprintf(name, sizeof(name), "wpart_%d.c", nfiles);
            f = open_out(&x, name);
            if (f == NULL) {
                rc = fail(&x, -EIO, "%s/%s: cannot create", dir, name);
                goto done;
            }
            nfiles++;
            fprintf(
              f, "#include \"wmod.h\"\n#pragma GCC visibility push(hidden)\n");
            /* The functions only this part uses (a static declaration
             * makes the later definition static too). */
            for (uint32_t k = i; k < m->nfuncs && x.part[k] == x.part[i]; k++)
                if (!x.pub[k])
                    write_proto(&x, f, k, "static ");
        }
        e.f = &m->funcs[i];
        e.fidx = i;
        e.depth_check = x.depth[i];
        e.out = f;
        rc = gr__emit_func(&e);
        if (rc < 0)
            goto done;
    }
    if (f != NULL && fclose(f) != 0) {
        f = NULL;
        rc = fail(&x, -EIO, "part: write failed");
        goto done;
    }
    f = open_out(&x, "winit.c");
    if (f == NULL) {
        rc = fail(&x, -EIO, "%s/winit.c: cannot create", dir);
        goto done;
    }
    write_init(&x, f);
    nfiles++;
    rc = fclose(f) == 0 ? nfiles : fail(&x, -EIO, "winit.c: write failed");
    f = NULL;
done:
    if (f != NULL)
        fclose(f);
    gr_free(x.canon);
    gr_free(x.part);
    gr_free(x.pub);
    gr_free(x.depth);
    return rc;
}

int
gr_wasm_emit(const gr_wasm_module* m,
             const uint8_t* bytes,
             size_t len,
             const char* dir,
             uint32_t part_instrs,
             char* err,
             size_t errlen)
{
    return emit_all(m,
                    bytes,
                    len,
                    dir,
                    part_instrs ? part_instrs : DEFAULT_PART_INSTRS,
                    0,
                    err,
                    errlen);
}

int
gr_wasm_emit_jobs(const gr_wasm_module* m,
                  const uint8_t* bytes,
                  size_t len,
                  const char* dir,
                  uint32_t jobs,
                  uint64_t min_part,
                  char* err,
                  size_t errlen)
{
    return emit_all(m,
                    bytes,
                    len,
                    dir,
                    min_part ? min_part : 1,
                    jobs ? jobs : 1,
                    err,
                    errlen);
}
