/* SPDX-License-Identifier: Apache-2.0 */
/* The code section: decodes each function body into an instruction array
 * and type-checks it with the spec's validation algorithm (operand stack
 * with an Unknown type for unreachable code, control frames). SIMD and
 * atomics are in validate_simd.c and validate_atomic.c. */
#include "wasm/wasm_int.h"

#include "util/alloc.h"

#include <string.h>

enum
{
    I = GR_WASM_I32,
    L = GR_WASM_I64,
    F = GR_WASM_F32,
    D = GR_WASM_F64,
};

static const char*
tname(uint8_t t)
{
    return gr_wasm_valtype_name(t);
}

int
gr__wasm_push(gr_wasm_fn* v, uint8_t t)
{
    if (v->nstack == v->capstack) {
        if (v->capstack >= GR_WASM_MAX_STACK)
            return gr__wasm_fail(v->c,
                                 GR_WASM_ERR_LIMIT,
                                 v->at,
                                 "operand stack deeper than %u values "
                                 "(implementation limit)",
                                 GR_WASM_MAX_STACK);
        uint32_t cap = v->capstack ? v->capstack * 2 : 64;
        uint8_t* s = gr_realloc(v->stack, cap);
        if (s == NULL)
            return gr__wasm_nomem(v->c);
        v->stack = s;
        v->capstack = cap;
    }
    v->stack[v->nstack++] = t;
    if (v->nstack > v->maxstack)
        v->maxstack = v->nstack;
    return 0;
}

int
gr__wasm_pop(gr_wasm_fn* v, uint8_t expect, uint8_t* got)
{
    const gr_wasm_frame* f = &v->frames[v->nframes - 1];
    uint8_t actual = GR_WASM_UNKNOWN;
    if (v->nstack == f->height) {
        if (!f->unreachable) {
            if (expect)
                return GR__INVALID(v->c,
                                   v->at,
                                   "type mismatch: expected %s, got nothing",
                                   tname(expect));
            return GR__INVALID(
              v->c, v->at, "type mismatch: expected a value, got nothing");
        }
    } else {
        actual = v->stack[--v->nstack];
    }
    if (actual && expect && actual != expect)
        return GR__INVALID(v->c,
                           v->at,
                           "type mismatch: expected %s, got %s",
                           tname(expect),
                           tname(actual));
    if (got != NULL)
        *got = actual;
    return 0;
}

static int
pop_vals(gr_wasm_fn* v, uint32_t n, const uint8_t* t)
{
    for (uint32_t i = n; i > 0; i--)
        if (gr__wasm_pop(v, t[i - 1], NULL) < 0)
            return -1;
    return 0;
}

static int
push_vals(gr_wasm_fn* v, uint32_t n, const uint8_t* t)
{
    for (uint32_t i = 0; i < n; i++)
        if (gr__wasm_push(v, t[i]) < 0)
            return -1;
    return 0;
}

int
gr__wasm_apply(gr_wasm_fn* v, const gr_wasm_sig* s)
{
    if (pop_vals(v, s->n_in, s->in) < 0)
        return -1;
    return s->out ? gr__wasm_push(v, s->out) : 0;
}

static int
apply(gr_wasm_fn* v, int n, uint8_t a, uint8_t b, uint8_t c3, uint8_t out)
{
    gr_wasm_sig s = { (uint8_t)n, { a, b, c3 }, out };
    return gr__wasm_apply(v, &s);
}

int
gr__wasm_need_memory(gr_wasm_fn* v)
{
    if (v->c->m->nmems == 0)
        return GR__INVALID(v->c, v->at, "unknown memory 0");
    return 0;
}

static void
set_unreachable(gr_wasm_fn* v)
{
    gr_wasm_frame* f = &v->frames[v->nframes - 1];
    v->nstack = f->height;
    f->unreachable = true;
}

static int
push_frame(gr_wasm_fn* v,
           uint8_t op,
           uint32_t at,
           uint32_t np,
           const uint8_t* params,
           uint32_t nr,
           const uint8_t* results)
{
    if (v->nframes == v->capframes) {
        if (v->capframes > UINT32_MAX / 2 / sizeof(gr_wasm_frame))
            return gr__wasm_fail(
              v->c, GR_WASM_ERR_LIMIT, v->at, "blocks nested too deeply");
        uint32_t cap = v->capframes ? v->capframes * 2 : 16;
        gr_wasm_frame* f = gr_realloc(v->frames, sizeof(*f) * cap);
        if (f == NULL)
            return gr__wasm_nomem(v->c);
        v->frames = f;
        v->capframes = cap;
    }
    v->frames[v->nframes++] = (gr_wasm_frame){
        .op = op,
        .height = v->nstack,
        .at = at,
        .nparams = np,
        .params = params,
        .nresults = nr,
        .results = results,
    };
    return push_vals(v, np, params);
}

/* The checks of pop_ctrl: the frame's results and nothing else. */
static int
check_frame_end(gr_wasm_fn* v)
{
    const gr_wasm_frame* f = &v->frames[v->nframes - 1];
    if (pop_vals(v, f->nresults, f->results) < 0)
        return -1;
    if (v->nstack != f->height)
        return GR__INVALID(v->c,
                           v->at,
                           "type mismatch: %u extra value(s) at end of block",
                           v->nstack - f->height);
    return 0;
}

static void
label_types(const gr_wasm_frame* f, uint32_t* n, const uint8_t** t)
{
    if (f->op == GR_WASM_OP_LOOP) {
        *n = f->nparams;
        *t = f->params;
    } else {
        *n = f->nresults;
        *t = f->results;
    }
}

static int
label(gr_wasm_fn* v, uint32_t depth, const gr_wasm_frame** f)
{
    if (depth >= v->nframes)
        return GR__INVALID(v->c, v->at, "unknown label %u", depth);
    *f = &v->frames[v->nframes - 1 - depth];
    return 0;
}

/* Checks that the top of the stack matches `t` without popping (a popped
 * value below an unreachable frame's base is Unknown and matches). */
static int
peek_vals(gr_wasm_fn* v, uint32_t n, const uint8_t* t)
{
    const gr_wasm_frame* f = &v->frames[v->nframes - 1];
    uint32_t avail = v->nstack - f->height;
    for (uint32_t i = 0; i < n; i++) {
        uint8_t want = t[n - 1 - i];
        if (i >= avail) {
            if (f->unreachable)
                return 0;
            return GR__INVALID(v->c,
                               v->at,
                               "type mismatch: expected %s, got nothing",
                               tname(want));
        }
        uint8_t got = v->stack[v->nstack - 1 - i];
        if (got && got != want)
            return GR__INVALID(v->c,
                               v->at,
                               "type mismatch: expected %s, got %s",
                               tname(want),
                               tname(got));
    }
    return 0;
}

static int
blocktype(gr_wasm_fn* v, gr_wasm_instr* in)
{
    gr_wasm_ctx* c = v->c;
    size_t at = c->pos;
    uint8_t b;
    if (gr__wasm_u8(c, &b) < 0)
        return -1;
    in->imm.block.else_at = UINT32_MAX;
    if (b == 0x40) {
        in->imm.block.kind = GR_WASM_BLOCK_EMPTY;
        return 0;
    }
    if (gr__wasm_is_valtype(b)) {
        in->imm.block.kind = GR_WASM_BLOCK_VALUE;
        in->imm.block.valtype = b;
        return 0;
    }
    c->pos = at;
    int64_t x;
    if (gr__wasm_s33(c, &x) < 0)
        return -1;
    if (x < 0)
        return GR__MALFORMED(c, at, "malformed block type");
    if (x >= c->m->ntypes)
        return GR__INVALID(c, at, "unknown type %lld", (long long)x);
    in->imm.block.kind = GR_WASM_BLOCK_TYPEIDX;
    in->imm.block.typeidx = (uint32_t)x;
    return 0;
}

static int
zero_byte(gr_wasm_ctx* c)
{
    size_t at = c->pos;
    uint8_t b;
    if (gr__wasm_u8(c, &b) < 0)
        return -1;
    if (b != 0)
        return GR__MALFORMED(c, at, "zero byte expected");
    return 0;
}

static int
table_idx(gr_wasm_fn* v, uint32_t* t)
{
    if (gr__wasm_u32(v->c, t) < 0)
        return -1;
    if (*t >= v->c->m->ntables)
        return GR__INVALID(v->c, v->at, "unknown table %u", *t);
    return 0;
}

static int
elem_idx(gr_wasm_fn* v, uint32_t* e)
{
    if (gr__wasm_u32(v->c, e) < 0)
        return -1;
    if (*e >= v->c->m->nelems)
        return GR__INVALID(v->c, v->at, "unknown elem segment %u", *e);
    return 0;
}

static int
data_idx(gr_wasm_fn* v, uint32_t* d)
{
    if (gr__wasm_u32(v->c, d) < 0)
        return -1;
    if (!v->c->m->has_data_count)
        return GR__MALFORMED(v->c, v->at, "data count section required");
    if (*d >= v->c->m->data_count)
        return GR__INVALID(v->c, v->at, "unknown data segment %u", *d);
    return 0;
}

/* Numeric instructions 0x45..0xc4: their operand and result types. */
static int
numeric(gr_wasm_fn* v, uint8_t op)
{
    if (op == 0x45)
        return apply(v, 1, I, 0, 0, I);
    if (op <= 0x4f)
        return apply(v, 2, I, I, 0, I);
    if (op == 0x50)
        return apply(v, 1, L, 0, 0, I);
    if (op <= 0x5a)
        return apply(v, 2, L, L, 0, I);
    if (op <= 0x60)
        return apply(v, 2, F, F, 0, I);
    if (op <= 0x66)
        return apply(v, 2, D, D, 0, I);
    if (op <= 0x69)
        return apply(v, 1, I, 0, 0, I);
    if (op <= 0x78)
        return apply(v, 2, I, I, 0, I);
    if (op <= 0x7b)
        return apply(v, 1, L, 0, 0, L);
    if (op <= 0x8a)
        return apply(v, 2, L, L, 0, L);
    if (op <= 0x91)
        return apply(v, 1, F, 0, 0, F);
    if (op <= 0x98)
        return apply(v, 2, F, F, 0, F);
    if (op <= 0x9f)
        return apply(v, 1, D, 0, 0, D);
    if (op <= 0xa6)
        return apply(v, 2, D, D, 0, D);
    /* Conversions 0xa7..0xc4: operand, result. */
    static const uint8_t conv[][2] = {
        { L, I }, { F, I }, { F, I }, { D, I }, { D, I }, { I, L },
        { I, L }, { F, L }, { F, L }, { D, L }, { D, L }, { I, F },
        { I, F }, { L, F }, { L, F }, { D, F }, { I, D }, { I, D },
        { L, D }, { L, D }, { F, D }, { F, I }, { D, L }, { I, F },
        { L, D }, { I, I }, { I, I }, { L, L }, { L, L }, { L, L },
    };
    const uint8_t* k = conv[op - 0xa7];
    return apply(v, 1, k[0], 0, 0, k[1]);
}

/* Plain loads (0x28..0x35) and stores (0x36..0x3e). */
static int
load_store(gr_wasm_fn* v, uint8_t op, gr_wasm_instr* in)
{
    static const uint8_t natural[] = { 2, 3, 2, 3, 0, 0, 1, 1, 0, 0, 1, 1,
                                       2, 2, 2, 3, 2, 3, 0, 1, 0, 1, 2 };
    static const uint8_t type[] = { I, L, F, D, I, I, I, I, L, L, L, L,
                                    L, L, I, L, F, D, I, I, L, L, L };
    unsigned k = op - 0x28u;
    if (gr__wasm_memarg(v->c, natural[k], false, in) < 0 ||
        gr__wasm_need_memory(v) < 0)
        return -1;
    if (op <= 0x35)
        return apply(v, 1, I, 0, 0, type[k]);
    return apply(v, 2, I, type[k], 0, 0);
}

static int
append(gr_wasm_fn* v, const gr_wasm_instr* in)
{
    if (v->nins == v->capins) {
        if (v->capins > UINT32_MAX / 2 / sizeof(gr_wasm_instr))
            return gr__wasm_fail(
              v->c, GR_WASM_ERR_LIMIT, v->at, "function too large");
        uint32_t cap = v->capins ? v->capins * 2 : 256;
        gr_wasm_instr* n = gr_realloc(v->ins, sizeof(*n) * cap);
        if (n == NULL)
            return gr__wasm_nomem(v->c);
        v->ins = n;
        v->capins = cap;
    }
    v->ins[v->nins++] = *in;
    return 0;
}

static int
br_table(gr_wasm_fn* v, gr_wasm_instr* in)
{
    uint32_t n;
    if (gr__wasm_count(v->c, 1, &n) < 0)
        return -1;
    in->imm.br_table.first = v->nbrt;
    in->imm.br_table.count = n;
    if ((uint64_t)v->nbrt + n + 1 > v->capbrt) {
        uint64_t cap = (uint64_t)v->nbrt + n + 1 + v->capbrt;
        if (cap > UINT32_MAX)
            return gr__wasm_fail(
              v->c, GR_WASM_ERR_LIMIT, v->at, "too many br_table labels");
        uint32_t* b = gr_realloc(v->brt, sizeof(*b) * cap);
        if (b == NULL)
            return gr__wasm_nomem(v->c);
        v->brt = b;
        v->capbrt = (uint32_t)cap;
    }
    for (uint32_t i = 0; i <= n; i++)
        if (gr__wasm_u32(v->c, &v->brt[v->nbrt + i]) < 0)
            return -1;
    if (gr__wasm_pop(v, I, NULL) < 0)
        return -1;
    const gr_wasm_frame* def = NULL;
    if (label(v, v->brt[v->nbrt + n], &def) < 0)
        return -1;
    uint32_t arity, k;
    const uint8_t *dt, *t;
    label_types(def, &arity, &dt);
    for (uint32_t i = 0; i < n; i++) {
        const gr_wasm_frame* f = NULL;
        if (label(v, v->brt[v->nbrt + i], &f) < 0)
            return -1;
        label_types(f, &k, &t);
        if (k != arity)
            return GR__INVALID(v->c,
                               v->at,
                               "type mismatch: br_table label %u has arity "
                               "%u, the default %u",
                               v->brt[v->nbrt + i],
                               k,
                               arity);
        if (peek_vals(v, k, t) < 0)
            return -1;
    }
    if (pop_vals(v, arity, dt) < 0)
        return -1;
    v->nbrt += n + 1;
    set_unreachable(v);
    return 0;
}

static int
select_op(gr_wasm_fn* v, uint8_t op, gr_wasm_instr* in)
{
    uint8_t t1, t2;
    if (op == GR_WASM_OP_SELECT_T) {
        uint32_t n;
        size_t at = v->c->pos;
        if (gr__wasm_u32(v->c, &n) < 0)
            return -1;
        if (n != 1)
            return GR__INVALID(v->c, at, "invalid result arity %u", n);
        if (gr__wasm_valtype(v->c, &in->type) < 0)
            return -1;
        return apply(v, 3, in->type, in->type, I, in->type);
    }
    if (gr__wasm_pop(v, I, NULL) < 0 || gr__wasm_pop(v, 0, &t1) < 0 ||
        gr__wasm_pop(v, 0, &t2) < 0)
        return -1;
    if (gr__wasm_is_reftype(t1) || gr__wasm_is_reftype(t2))
        return GR__INVALID(v->c,
                           v->at,
                           "type mismatch: select without a type needs "
                           "numeric or vector operands, got %s",
                           tname(gr__wasm_is_reftype(t1) ? t1 : t2));
    if (t1 && t2 && t1 != t2)
        return GR__INVALID(v->c,
                           v->at,
                           "type mismatch: select operands %s and %s",
                           tname(t2),
                           tname(t1));
    in->type = t1 ? t1 : t2;
    return gr__wasm_push(v, in->type);
}

static int
local_op(gr_wasm_fn* v, uint8_t op, gr_wasm_instr* in)
{
    if (gr__wasm_u32(v->c, &in->imm.idx.a) < 0)
        return -1;
    uint8_t t = gr_wasm_func_local_type(v->c->m, v->f, in->imm.idx.a);
    if (t == GR_WASM_UNKNOWN)
        return GR__INVALID(v->c, v->at, "unknown local %u", in->imm.idx.a);
    in->type = t;
    if (op == GR_WASM_OP_LOCAL_GET)
        return gr__wasm_push(v, t);
    if (gr__wasm_pop(v, t, NULL) < 0)
        return -1;
    return op == GR_WASM_OP_LOCAL_TEE ? gr__wasm_push(v, t) : 0;
}

static int
global_op(gr_wasm_fn* v, uint8_t op, gr_wasm_instr* in)
{
    const gr_wasm_module* m = v->c->m;
    if (gr__wasm_u32(v->c, &in->imm.idx.a) < 0)
        return -1;
    if (in->imm.idx.a >= m->nglobals)
        return GR__INVALID(v->c, v->at, "unknown global %u", in->imm.idx.a);
    const gr_wasm_global* g = &m->globals[in->imm.idx.a];
    in->type = g->type;
    if (op == GR_WASM_OP_GLOBAL_GET)
        return gr__wasm_push(v, g->type);
    if (!g->mut)
        return GR__INVALID(
          v->c, v->at, "global is immutable: global %u", in->imm.idx.a);
    return gr__wasm_pop(v, g->type, NULL);
}

static int
call_op(gr_wasm_fn* v, uint8_t op, gr_wasm_instr* in)
{
    const gr_wasm_module* m = v->c->m;
    const gr_wasm_functype* t;
    if (op == GR_WASM_OP_CALL) {
        if (gr__wasm_u32(v->c, &in->imm.idx.a) < 0)
            return -1;
        if (in->imm.idx.a >= m->nfuncs)
            return GR__INVALID(
              v->c, v->at, "unknown function %u", in->imm.idx.a);
        t = &m->types[m->funcs[in->imm.idx.a].type];
    } else {
        if (gr__wasm_u32(v->c, &in->imm.idx.a) < 0 ||
            table_idx(v, &in->imm.idx.b) < 0)
            return -1;
        if (in->imm.idx.a >= m->ntypes)
            return GR__INVALID(v->c, v->at, "unknown type %u", in->imm.idx.a);
        if (m->tables[in->imm.idx.b].elem_type != GR_WASM_FUNCREF)
            return GR__INVALID(v->c,
                               v->at,
                               "type mismatch: call_indirect through a %s "
                               "table",
                               tname(m->tables[in->imm.idx.b].elem_type));
        t = &m->types[in->imm.idx.a];
        if (gr__wasm_pop(v, I, NULL) < 0)
            return -1;
    }
    if (pop_vals(v, t->nparams, t->params) < 0)
        return -1;
    return push_vals(v, t->nresults, t->results);
}

/* The 0xfc family: saturating truncations, bulk memory, tables. */
static int
prefix_fc(gr_wasm_fn* v, gr_wasm_instr* in)
{
    static const uint8_t trunc[8][2] = {
        { F, I }, { F, I }, { D, I }, { D, I },
        { F, L }, { F, L }, { D, L }, { D, L }
    };
    const gr_wasm_module* m = v->c->m;
    uint32_t sub;
    if (gr__wasm_u32(v->c, &sub) < 0)
        return -1;
    if (sub > 17)
        return GR__MALFORMED(v->c, v->at, "illegal opcode 0xfc 0x%x", sub);
    in->op = (uint16_t)GR_WASM_OP_FC(sub);
    uint32_t* a = &in->imm.idx.a;
    uint32_t* b = &in->imm.idx.b;
    switch (sub) {
        case 8:
            if (data_idx(v, a) < 0 || zero_byte(v->c) < 0 ||
                gr__wasm_need_memory(v) < 0)
                return -1;
            return apply(v, 3, I, I, I, 0);
        case 9:
            return data_idx(v, a);
        case 10:
            if (zero_byte(v->c) < 0 || zero_byte(v->c) < 0 ||
                gr__wasm_need_memory(v) < 0)
                return -1;
            return apply(v, 3, I, I, I, 0);
        case 11:
            if (zero_byte(v->c) < 0 || gr__wasm_need_memory(v) < 0)
                return -1;
            return apply(v, 3, I, I, I, 0);
        case 12:
            if (elem_idx(v, a) < 0 || table_idx(v, b) < 0)
                return -1;
            if (m->elems[*a].type != m->tables[*b].elem_type)
                return GR__INVALID(v->c,
                                   v->at,
                                   "type mismatch: table.init of a %s "
                                   "segment into a %s table",
                                   tname(m->elems[*a].type),
                                   tname(m->tables[*b].elem_type));
            return apply(v, 3, I, I, I, 0);
        case 13:
            return elem_idx(v, a);
        case 14:
            if (table_idx(v, a) < 0 || table_idx(v, b) < 0)
                return -1;
            if (m->tables[*a].elem_type != m->tables[*b].elem_type)
                return GR__INVALID(v->c,
                                   v->at,
                                   "type mismatch: table.copy from a %s "
                                   "table to a %s table",
                                   tname(m->tables[*b].elem_type),
                                   tname(m->tables[*a].elem_type));
            return apply(v, 3, I, I, I, 0);
        case 15:
        case 16:
        case 17: {
            if (table_idx(v, a) < 0)
                return -1;
            uint8_t t = m->tables[*a].elem_type;
            in->type = t;
            if (sub == 15)
                return apply(v, 2, t, I, 0, I);
            if (sub == 16)
                return gr__wasm_push(v, I);
            return apply(v, 3, I, t, I, 0);
        }
        default:
            return apply(v, 1, trunc[sub][0], 0, 0, trunc[sub][1]);
    }
}

static int
control_end(gr_wasm_fn* v, gr_wasm_instr* in)
{
    gr_wasm_frame* f = &v->frames[v->nframes - 1];
    if (check_frame_end(v) < 0)
        return -1;
    if (f->op == GR_WASM_OP_IF) {
        /* An if without else has an empty else: its params must be its
         * results. */
        if (push_vals(v, f->nparams, f->params) < 0 || check_frame_end(v) < 0)
            return -1;
    }
    uint32_t here = v->nins;
    if (f->op != 0) {
        gr_wasm_instr* open = &v->ins[f->at];
        open->imm.block.end_at = here;
        if (open->imm.block.else_at != UINT32_MAX)
            v->ins[open->imm.block.else_at].imm.block.end_at = here;
    }
    in->imm.block.end_at = here;
    uint32_t nr = f->nresults;
    const uint8_t* r = f->results;
    v->nframes--;
    if (v->nframes == 0)
        return 0;
    return push_vals(v, nr, r);
}

static int
instr(gr_wasm_fn* v, gr_wasm_instr* in)
{
    gr_wasm_ctx* c = v->c;
    const gr_wasm_module* m = c->m;
    uint8_t op;
    if (gr__wasm_u8(c, &op) < 0)
        return -1;
    in->op = op;
    switch (op) {
        case GR_WASM_OP_UNREACHABLE:
            set_unreachable(v);
            return 0;
        case GR_WASM_OP_NOP:
            return 0;
        case GR_WASM_OP_BLOCK:
        case GR_WASM_OP_LOOP:
        case GR_WASM_OP_IF: {
            uint32_t np, nr;
            const uint8_t *p, *r;
            if (blocktype(v, in) < 0)
                return -1;
            if (op == GR_WASM_OP_IF && gr__wasm_pop(v, I, NULL) < 0)
                return -1;
            gr_wasm_blocktype_sig(m,
                                  in->imm.block.kind,
                                  in->imm.block.valtype,
                                  in->imm.block.typeidx,
                                  &np,
                                  &p,
                                  &nr,
                                  &r);
            if (pop_vals(v, np, p) < 0)
                return -1;
            return push_frame(v, op, v->nins, np, p, nr, r);
        }
        case GR_WASM_OP_ELSE: {
            gr_wasm_frame* f = &v->frames[v->nframes - 1];
            if (f->op != GR_WASM_OP_IF)
                return GR__MALFORMED(c, v->at, "else without matching if");
            if (check_frame_end(v) < 0)
                return -1;
            v->ins[f->at].imm.block.else_at = v->nins;
            f->op = GR_WASM_OP_ELSE;
            f->unreachable = false;
            return push_vals(v, f->nparams, f->params);
        }
        case GR_WASM_OP_END:
            return control_end(v, in);
        case GR_WASM_OP_BR:
        case GR_WASM_OP_BR_IF: {
            const gr_wasm_frame* f = NULL;
            uint32_t n;
            const uint8_t* t;
            if (gr__wasm_u32(c, &in->imm.idx.a) < 0)
                return -1;
            if (op == GR_WASM_OP_BR_IF && gr__wasm_pop(v, I, NULL) < 0)
                return -1;
            if (label(v, in->imm.idx.a, &f) < 0)
                return -1;
            label_types(f, &n, &t);
            if (pop_vals(v, n, t) < 0)
                return -1;
            if (op == GR_WASM_OP_BR) {
                set_unreachable(v);
                return 0;
            }
            return push_vals(v, n, t);
        }
        case GR_WASM_OP_BR_TABLE:
            return br_table(v, in);
        case GR_WASM_OP_RETURN:
            if (pop_vals(v, v->ft->nresults, v->ft->results) < 0)
                return -1;
            set_unreachable(v);
            return 0;
        case GR_WASM_OP_CALL:
        case GR_WASM_OP_CALL_INDIRECT:
            return call_op(v, op, in);
        case GR_WASM_OP_DROP:
            return gr__wasm_pop(v, 0, &in->type);
        case GR_WASM_OP_SELECT:
        case GR_WASM_OP_SELECT_T:
            return select_op(v, op, in);
        case GR_WASM_OP_LOCAL_GET:
        case GR_WASM_OP_LOCAL_SET:
        case GR_WASM_OP_LOCAL_TEE:
            return local_op(v, op, in);
        case GR_WASM_OP_GLOBAL_GET:
        case GR_WASM_OP_GLOBAL_SET:
            return global_op(v, op, in);
        case GR_WASM_OP_TABLE_GET:
        case GR_WASM_OP_TABLE_SET: {
            if (table_idx(v, &in->imm.idx.a) < 0)
                return -1;
            uint8_t t = m->tables[in->imm.idx.a].elem_type;
            in->type = t;
            if (op == GR_WASM_OP_TABLE_GET)
                return apply(v, 1, I, 0, 0, t);
            return apply(v, 2, I, t, 0, 0);
        }
        case GR_WASM_OP_MEMORY_SIZE:
            if (zero_byte(c) < 0 || gr__wasm_need_memory(v) < 0)
                return -1;
            return gr__wasm_push(v, I);
        case GR_WASM_OP_MEMORY_GROW:
            if (zero_byte(c) < 0 || gr__wasm_need_memory(v) < 0)
                return -1;
            return apply(v, 1, I, 0, 0, I);
        case GR_WASM_OP_I32_CONST:
            if (gr__wasm_s32(c, &in->imm.i32) < 0)
                return -1;
            return gr__wasm_push(v, I);
        case GR_WASM_OP_I64_CONST:
            if (gr__wasm_s64(c, &in->imm.i64) < 0)
                return -1;
            return gr__wasm_push(v, L);
        case GR_WASM_OP_F32_CONST:
        case GR_WASM_OP_F64_CONST: {
            const uint8_t* p;
            size_t n = op == GR_WASM_OP_F32_CONST ? 4 : 8;
            if (gr__wasm_bytes(c, n, &p) < 0)
                return -1;
            memcpy(op == GR_WASM_OP_F32_CONST ? (void*)&in->imm.f32
                                              : (void*)&in->imm.f64,
                   p,
                   n);
            return gr__wasm_push(v, op == GR_WASM_OP_F32_CONST ? F : D);
        }
        case GR_WASM_OP_REF_NULL: {
            size_t at = c->pos;
            if (gr__wasm_u8(c, &in->type) < 0)
                return -1;
            if (!gr__wasm_is_reftype(in->type))
                return GR__MALFORMED(
                  c, at, "malformed reference type 0x%02x", in->type);
            return gr__wasm_push(v, in->type);
        }
        case GR_WASM_OP_REF_IS_NULL:
            if (gr__wasm_pop(v, 0, &in->type) < 0)
                return -1;
            if (in->type && !gr__wasm_is_reftype(in->type))
                return GR__INVALID(c,
                                   v->at,
                                   "type mismatch: ref.is_null of %s",
                                   tname(in->type));
            return gr__wasm_push(v, I);
        case GR_WASM_OP_REF_FUNC: {
            uint32_t x;
            if (gr__wasm_u32(c, &x) < 0)
                return -1;
            in->imm.idx.a = x;
            if (x >= m->nfuncs)
                return GR__INVALID(c, v->at, "unknown function %u", x);
            if (!(c->refs[x / 8] & (1u << (x % 8))))
                return GR__INVALID(
                  c, v->at, "undeclared function reference %u", x);
            return gr__wasm_push(v, GR_WASM_FUNCREF);
        }
        case 0xfc:
            return prefix_fc(v, in);
        case 0xfd: {
            uint32_t sub;
            if (gr__wasm_u32(c, &sub) < 0)
                return -1;
            return gr__wasm_simd(v, sub, in);
        }
        case 0xfe: {
            uint32_t sub;
            if (gr__wasm_u32(c, &sub) < 0)
                return -1;
            return gr__wasm_atomic(v, sub, in);
        }
        case 0x06:
        case 0x07:
        case 0x08:
        case 0x09:
        case 0x0a:
        case 0x18:
        case 0x19:
        case 0x1f:
            return gr__wasm_fail(c,
                                 GR_WASM_ERR_UNSUPPORTED,
                                 v->at,
                                 "exception handling is not supported "
                                 "(opcode 0x%02x)",
                                 op);
        case 0x12:
        case 0x13:
            return gr__wasm_fail(c,
                                 GR_WASM_ERR_UNSUPPORTED,
                                 v->at,
                                 "tail calls are not supported");
        default:
            if (op >= 0x28 && op <= 0x3e)
                return load_store(v, op, in);
            if (op >= 0x45 && op <= 0xc4)
                return numeric(v, op);
            return GR__MALFORMED(c, v->at, "illegal opcode 0x%02x", op);
    }
}

/* One code entry: locals, then the expression up to its final end. */
static int
function_body(gr_wasm_fn* v, gr_wasm_func* f)
{
    gr_wasm_ctx* c = v->c;
    uint32_t ngroups;
    uint64_t total = 0;
    if (gr__wasm_count(c, 2, &ngroups) < 0)
        return -1;
    gr_wasm_local_group* g =
      gr__wasm_arena_alloc(&c->m->arena, sizeof(*g) * (size_t)ngroups);
    if (g == NULL)
        return gr__wasm_nomem(c);
    for (uint32_t i = 0; i < ngroups; i++) {
        size_t at = c->pos;
        if (gr__wasm_u32(c, &g[i].count) < 0)
            return -1;
        g[i].first = (uint32_t)total;
        total += g[i].count;
        if (total > UINT32_MAX)
            return GR__MALFORMED(c, at, "too many locals");
        if (gr__wasm_valtype(c, &g[i].type) < 0)
            return -1;
    }
    f->nlocal_groups = ngroups;
    f->local_groups = g;
    f->nlocals = total;
    f->expr_offset = (uint32_t)c->pos;
    v->f = f;
    v->ft = &c->m->types[f->type];
    v->nstack = v->maxstack = 0;
    v->nframes = 0;
    v->nins = 0;
    v->nbrt = 0;
    if (push_frame(v, 0, 0, 0, NULL, v->ft->nresults, v->ft->results) < 0)
        return -1;
    while (v->nframes > 0) {
        gr_wasm_instr in;
        memset(&in, 0, sizeof(in));
        v->at = c->pos;
        in.offset = (uint32_t)c->pos;
        if (c->pos >= c->end)
            return GR__MALFORMED(c,
                                 c->pos,
                                 "unexpected end of section or function: "
                                 "END opcode expected");
        if (instr(v, &in) < 0 || append(v, &in) < 0)
            return -1;
    }
    if (c->pos != c->end)
        return GR__MALFORMED(c,
                             c->pos,
                             "section size mismatch: %zu bytes after the "
                             "function's final end",
                             c->end - c->pos);
    f->expr_size = (uint32_t)(c->pos - f->expr_offset);
    f->max_stack = v->maxstack;
    gr_wasm_instr* ins =
      gr__wasm_arena_alloc(&c->m->arena, sizeof(*ins) * (size_t)v->nins);
    uint32_t* brt =
      gr__wasm_arena_alloc(&c->m->arena, sizeof(*brt) * (size_t)v->nbrt);
    if (ins == NULL || brt == NULL)
        return gr__wasm_nomem(c);
    memcpy(ins, v->ins, sizeof(*ins) * v->nins);
    if (v->nbrt > 0)
        memcpy(brt, v->brt, sizeof(*brt) * v->nbrt);
    f->ninstrs = v->nins;
    f->instrs = ins;
    f->nbr_targets = v->nbrt;
    f->br_targets = brt;
    return 0;
}

int
gr__wasm_code_section(gr_wasm_ctx* c)
{
    gr_wasm_module* m = c->m;
    uint32_t n;
    size_t at = c->pos;
    if (gr__wasm_count(c, 1, &n) < 0)
        return -1;
    if (n != m->nfuncs - m->nfunc_imports)
        return GR__MALFORMED(c,
                             at,
                             "function and code section have inconsistent "
                             "lengths (%u and %u)",
                             m->nfuncs - m->nfunc_imports,
                             n);
    gr_wasm_fn v = { .c = c };
    size_t section_end = c->end;
    int r = 0;
    for (uint32_t i = 0; i < n && r == 0; i++) {
        uint32_t size;
        gr_wasm_func* f = &m->funcs[m->nfunc_imports + i];
        c->func = m->nfunc_imports + i;
        at = c->pos;
        if (gr__wasm_u32(c, &size) < 0) {
            r = -1;
            break;
        }
        if (size > section_end - c->pos) {
            r = GR__MALFORMED(c,
                              at,
                              "unexpected end of section or function: body "
                              "of %u bytes",
                              size);
            break;
        }
        f->code_offset = (uint32_t)c->pos;
        f->code_size = size;
        c->end = c->pos + size;
        r = function_body(&v, f);
        c->end = section_end;
    }
    if (r == 0)
        c->func = UINT32_MAX;
    gr_free(v.stack);
    gr_free(v.frames);
    gr_free(v.ins);
    gr_free(v.brt);
    return r;
}
