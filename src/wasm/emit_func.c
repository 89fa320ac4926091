/* SPDX-License-Identifier: Apache-2.0 */
/* Function bodies: the operand stack becomes typed C variables (one per
 * depth and type: i3, d4, ...), control flow becomes gotos (a branch
 * copies its values into the target's result slots), unreachable code is
 * skipped. Memory is reached through the base and size in locals. */
#include "wasm/emit_int.h"

#include "util/alloc.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static const uint8_t type_order[] = { GR_WASM_I32,      GR_WASM_I64,
                                      GR_WASM_F32,      GR_WASM_F64,
                                      GR_WASM_V128,     GR_WASM_FUNCREF,
                                      GR_WASM_EXTERNREF };

static unsigned
type_index(uint8_t t)
{
    for (unsigned i = 0; i < sizeof(type_order); i++)
        if (type_order[i] == t)
            return i;
    return 0;
}

char
gr__emit_letter(uint8_t t)
{
    switch (t) {
        case GR_WASM_I32:
            return 'i';
        case GR_WASM_I64:
            return 'l';
        case GR_WASM_F32:
            return 'f';
        case GR_WASM_F64:
            return 'd';
        case GR_WASM_V128:
            return 'v';
        case GR_WASM_FUNCREF:
            return 'r';
        case GR_WASM_EXTERNREF:
            return 'e';
        default:
            return '?';
    }
}

const char*
gr__emit_ctype(uint8_t t)
{
    switch (t) {
        case GR_WASM_I32:
            return "uint32_t";
        case GR_WASM_I64:
            return "uint64_t";
        case GR_WASM_F32:
            return "float";
        case GR_WASM_F64:
            return "double";
        case GR_WASM_V128:
            return "wrt_v128";
        case GR_WASM_FUNCREF:
            return "const wrt_func*";
        case GR_WASM_EXTERNREF:
            return "void*";
        default:
            return "void";
    }
}

const char*
gr__emit_slot(gr_emit_fn* e, uint32_t depth)
{
    static __thread char bufs[8][24];
    static __thread unsigned next;
    char* b = bufs[next++ & 7];
    uint8_t t = e->stack[depth];
    e->declared[(size_t)depth * 8 + type_index(t)] = 1;
    snprintf(b, sizeof(bufs[0]), "%c%" PRIu32, gr__emit_letter(t), depth);
    return b;
}

const char*
gr__emit_push(gr_emit_fn* e, uint8_t t)
{
    /* The validator's max_stack bounds the height; cap is max_stack+1. */
    e->stack[e->h] = t;
    e->pend[e->h][0] = 0;
    return gr__emit_slot(e, e->h++);
}

static void out(gr_emit_fn* e, const char* fmt, ...)
  __attribute__((format(printf, 2, 3)));

/* Writes the pending value of slot d (if any) to its variable. */
static void
settle_slot(gr_emit_fn* e, uint32_t d)
{
    if (!e->pend[d][0])
        return;
    out(e, "%s = %s;\n", gr__emit_slot(e, d), e->pend[d]);
    e->pend[d][0] = 0;
}

void
gr__emit_settle(gr_emit_fn* e)
{
    for (uint32_t d = 0; d < e->h; d++)
        settle_slot(e, d);
}

/* Pushes a value of type t whose C text is `text` (a constant or local
 * `local`), without writing it anywhere yet. */
static void
push_pending(gr_emit_fn* e, uint8_t t, const char* text, uint32_t local)
{
    uint32_t d = e->h;
    gr__emit_push(e, t);
    snprintf(e->pend[d], sizeof(e->pend[d]), "%s", text);
    e->pend_local[d] = local;
}

const char*
gr__emit_top(gr_emit_fn* e, uint32_t k)
{
    settle_slot(e, e->h - 1 - k);
    return gr__emit_slot(e, e->h - 1 - k);
}

const char*
gr__emit_operand(gr_emit_fn* e, uint32_t k)
{
    uint32_t d = e->h - 1 - k;
    return e->pend[d][0] ? e->pend[d] : gr__emit_slot(e, d);
}

void
gr__emit_drop(gr_emit_fn* e, uint32_t n)
{
    /* A dropped value leaves nothing pending behind: the slot may come
     * back into use without a push (an else's params, an end's results). */
    for (uint32_t i = 0; i < n; i++)
        e->pend[e->h - 1 - i][0] = 0;
    e->h -= n;
}

/* Makes slot h hold a value of type t that is in its variable. */
static void
push_settled(gr_emit_fn* e, uint8_t t)
{
    e->pend[e->h][0] = 0;
    e->stack[e->h++] = t;
}

static void
out(gr_emit_fn* e, const char* fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfprintf(e->out, fmt, ap);
    va_end(ap);
}

int
gr__emit_unsupported(gr_emit_fn* e, const gr_wasm_instr* in)
{
    if (e->err != NULL)
        snprintf(e->err,
                 e->errlen,
                 "function %" PRIu32 ", offset 0x%" PRIx32
                 ": instruction 0x%x not supported by the code generator",
                 e->fidx,
                 in->offset,
                 in->op);
    return -1;
}

static int
push_ctl(gr_emit_fn* e, const gr_emit_ctl* c)
{
    if (e->nctl == e->capctl) {
        uint32_t cap = e->capctl ? e->capctl * 2 : 16;
        gr_emit_ctl* n = gr_realloc(e->ctl, cap * sizeof(*n));
        if (n == NULL)
            return -ENOMEM;
        e->ctl = n;
        e->capctl = cap;
    }
    e->ctl[e->nctl++] = *c;
    return 0;
}

/* Copies the top n values into the slots at depth `dest`.. (no-op when
 * they are already there). */
static void
move_top(gr_emit_fn* e, uint32_t n, uint32_t dest)
{
    uint32_t src = e->h - n;
    if (src == dest)
        return;
    for (uint32_t i = 0; i < n; i++) {
        uint8_t t = e->stack[src + i];
        uint8_t saved = e->stack[dest + i];
        e->stack[dest + i] = t;
        const char* d = gr__emit_slot(e, dest + i);
        out(e, "%s = %s; ", d, gr__emit_slot(e, src + i));
        e->stack[dest + i] = saved;
    }
}

/* A branch to the label `depth` frames out: copy, then goto. */
static void
branch(gr_emit_fn* e, uint32_t depth)
{
    gr_emit_ctl* c = &e->ctl[e->nctl - 1 - depth];
    if (c->op == GR_WASM_OP_LOOP) {
        move_top(e, c->np, c->height);
        out(e, "goto Lb%" PRIu32 ";", c->label);
        return;
    }
    move_top(e, c->nr, c->height);
    if (c->op == 0) {
        e->ret_used = true;
        out(e, "goto Lret;");
    } else {
        c->used = true;
        out(e, "goto Le%" PRIu32 ";", c->label);
    }
}

static void
mark_dead(gr_emit_fn* e)
{
    e->ctl[e->nctl - 1].dead = true;
}

/* Function type `t` as the C function pointer type called. */
static void
fnptr_type(gr_emit_fn* e, uint32_t t)
{
    const gr_wasm_functype* ft = &e->m->types[t];
    if (ft->nresults == 0)
        out(e, "(void(*)(void*");
    else if (ft->nresults == 1)
        out(e, "(%s(*)(void*", gr__emit_ctype(ft->results[0]));
    else
        out(e, "(wres_t%" PRIu32 "(*)(void*", t);
    for (uint32_t i = 0; i < ft->nparams; i++)
        out(e, ", %s", gr__emit_ctype(ft->params[i]));
    out(e, "))");
}

/* Emits a call of type t: `callee` is the C expression of the function
 * (without parentheses around args), `inst` the instance argument. */
static void
emit_call(gr_emit_fn* e,
          uint32_t t,
          const char* pre,
          bool pointer,
          const char* callee,
          const char* inst)
{
    const gr_wasm_functype* ft = &e->m->types[t];
    uint32_t base = e->h - ft->nparams;
    out(e, "{ %s", pre);
    if (ft->nresults > 1)
        out(e, "wres_t%" PRIu32 " r_ = ", t);
    else if (ft->nresults == 1) {
        uint8_t saved = e->stack[base];
        e->stack[base] = ft->results[0];
        out(e, "%s = ", gr__emit_slot(e, base));
        e->stack[base] = saved;
    }
    if (pointer) {
        out(e, "(");
        fnptr_type(e, t);
        out(e, "%s)", callee);
    } else {
        out(e, "%s", callee);
    }
    out(e, "(%s", inst);
    for (uint32_t i = 0; i < ft->nparams; i++)
        out(e, ", %s", gr__emit_operand(e, ft->nparams - 1 - i));
    out(e, ");");
    gr__emit_drop(e, e->h - base);
    if (ft->nresults > 1) {
        for (uint32_t i = 0; i < ft->nresults; i++)
            out(
              e, " %s = r_.r%" PRIu32 ";", gr__emit_push(e, ft->results[i]), i);
    } else if (ft->nresults == 1) {
        gr__emit_push(e, ft->results[0]);
    }
    /* The callee may have grown the memory. With guard pages only atomics
     * read MS, so a function without them skips the reload. */
    if (e->m->nmems)
        out(e,
            e->exact_msize ? " MS = wrt_msize(m0);"
                           : " WRT_RELOAD_PLAIN_MSIZE(MS, m0);");
    out(e, " }\n");
}

/* The C expression of global `g`. */
static const char*
global_ref(gr_emit_fn* e, uint32_t g)
{
    static __thread char b[2][32];
    static __thread unsigned n;
    char* s = b[n++ & 1];
    if (g < e->m->nglobal_imports)
        snprintf(s, sizeof(b[0]), "(*I->g%" PRIu32 ")", g);
    else
        snprintf(s, sizeof(b[0]), "I->g%" PRIu32, g);
    return s;
}

static int
emit_load_store(gr_emit_fn* e, const gr_wasm_instr* in)
{
    static const struct
    {
        const char* fn;
        const char* cast;
        uint8_t type;
    } ld[] = {
        { "u32", "", GR_WASM_I32 },
        { "u64", "", GR_WASM_I64 },
        { "f32", "", GR_WASM_F32 },
        { "f64", "", GR_WASM_F64 },
        { "u8", "(uint32_t)(int32_t)(int8_t)", GR_WASM_I32 },
        { "u8", "(uint32_t)", GR_WASM_I32 },
        { "u16", "(uint32_t)(int32_t)(int16_t)", GR_WASM_I32 },
        { "u16", "(uint32_t)", GR_WASM_I32 },
        { "u8", "(uint64_t)(int64_t)(int8_t)", GR_WASM_I64 },
        { "u8", "(uint64_t)", GR_WASM_I64 },
        { "u16", "(uint64_t)(int64_t)(int16_t)", GR_WASM_I64 },
        { "u16", "(uint64_t)", GR_WASM_I64 },
        { "u32", "(uint64_t)(int64_t)(int32_t)", GR_WASM_I64 },
        { "u32", "(uint64_t)", GR_WASM_I64 },
    };
    static const struct
    {
        const char* fn;
        const char* cast;
    } st[] = {
        { "u32", "" },         { "u64", "" },           { "f32", "" },
        { "f64", "" },         { "u8", "(uint8_t)" },   { "u16", "(uint16_t)" },
        { "u8", "(uint8_t)" }, { "u16", "(uint16_t)" }, { "u32", "(uint32_t)" },
    };
    uint32_t off = in->imm.mem.offset;
    if (in->op <= 0x35) {
        unsigned k = in->op - 0x28;
        const char* a = gr__emit_operand(e, 0);
        char addr[24];
        snprintf(addr, sizeof(addr), "%s", a);
        gr__emit_drop(e, 1);
        const char* r = gr__emit_push(e, ld[k].type);
        out(e,
            "%s = %swrt_ld_%s(m0, M, MS, (uint64_t)%s + %" PRIu32 "u);\n",
            r,
            ld[k].cast,
            ld[k].fn,
            addr,
            off);
        return 0;
    }
    unsigned k = in->op - 0x36;
    const char* v = gr__emit_operand(e, 0);
    const char* a = gr__emit_operand(e, 1);
    out(e,
        "wrt_ld_%s_st(m0, M, MS, (uint64_t)%s + %" PRIu32 "u, %s%s);\n",
        st[k].fn,
        a,
        off,
        st[k].cast,
        v);
    gr__emit_drop(e, 2);
    return 0;
}

/* Bulk memory, table and reference instructions. */
static int
emit_fc(gr_emit_fn* e, const gr_wasm_instr* in)
{
    uint32_t a = in->imm.idx.a, b = in->imm.idx.b;
    switch (in->op) {
        case GR_WASM_OP_MEMORY_INIT:
            out(e,
                "wrt_memory_init_seg(m0, WDATA%" PRIu32 ", I->ddrop[%" PRIu32
                "] ? 0 : %" PRIu32 "u, %s, %s, %s);\n",
                a,
                a,
                e->m->datas[a].bytes_size,
                gr__emit_top(e, 2),
                gr__emit_top(e, 1),
                gr__emit_top(e, 0));
            gr__emit_drop(e, 3);
            return 0;
        case GR_WASM_OP_DATA_DROP:
            out(e, "I->ddrop[%" PRIu32 "] = 1;\n", a);
            return 0;
        case GR_WASM_OP_MEMORY_COPY:
            out(e,
                "wrt_memory_copy(m0, %s, %s, %s);\n",
                gr__emit_top(e, 2),
                gr__emit_top(e, 1),
                gr__emit_top(e, 0));
            gr__emit_drop(e, 3);
            return 0;
        case GR_WASM_OP_MEMORY_FILL:
            out(e,
                "wrt_memory_fill(m0, %s, %s, %s);\n",
                gr__emit_top(e, 2),
                gr__emit_top(e, 1),
                gr__emit_top(e, 0));
            gr__emit_drop(e, 3);
            return 0;
        case GR_WASM_OP_TABLE_INIT:
            out(e,
                "wrt_table_init_seg(I->tab[%" PRIu32 "], I->eitems[%" PRIu32
                "], I->edrop[%" PRIu32 "] ? 0 : I->elen[%" PRIu32
                "], %s, %s, %s);\n",
                b,
                a,
                a,
                a,
                gr__emit_top(e, 2),
                gr__emit_top(e, 1),
                gr__emit_top(e, 0));
            gr__emit_drop(e, 3);
            return 0;
        case GR_WASM_OP_ELEM_DROP:
            out(e, "I->edrop[%" PRIu32 "] = 1;\n", a);
            return 0;
        case GR_WASM_OP_TABLE_COPY:
            out(e,
                "wrt_table_copy(I->tab[%" PRIu32 "], I->tab[%" PRIu32
                "], %s, %s, %s);\n",
                a,
                b,
                gr__emit_top(e, 2),
                gr__emit_top(e, 1),
                gr__emit_top(e, 0));
            gr__emit_drop(e, 3);
            return 0;
        case GR_WASM_OP_TABLE_GROW: {
            char n[24], v[24];
            snprintf(n, sizeof(n), "%s", gr__emit_top(e, 0));
            snprintf(v, sizeof(v), "%s", gr__emit_top(e, 1));
            gr__emit_drop(e, 2);
            out(e,
                "%s = wrt_table_grow(I->tab[%" PRIu32 "], %s, (void*)%s);\n",
                gr__emit_push(e, GR_WASM_I32),
                a,
                n,
                v);
            return 0;
        }
        case GR_WASM_OP_TABLE_SIZE:
            out(e,
                "%s = I->tab[%" PRIu32 "]->size;\n",
                gr__emit_push(e, GR_WASM_I32),
                a);
            return 0;
        case GR_WASM_OP_TABLE_FILL:
            out(e,
                "wrt_table_fill(I->tab[%" PRIu32 "], %s, (void*)%s, %s);\n",
                a,
                gr__emit_top(e, 2),
                gr__emit_top(e, 1),
                gr__emit_top(e, 0));
            gr__emit_drop(e, 3);
            return 0;
        default:
            return gr__emit_numeric(e, in); /* saturating truncations */
    }
}

static void
emit_return(gr_emit_fn* e)
{
    const gr_wasm_functype* ft = &e->m->types[e->f->type];
    move_top(e, ft->nresults, 0);
    e->ret_used = true;
    out(e, "goto Lret;\n");
}

static int
emit_instr(gr_emit_fn* e, const gr_wasm_instr* in, uint32_t at)
{
    const gr_wasm_module* m = e->m;
    gr_emit_ctl* top = &e->ctl[e->nctl - 1];
    switch (in->op) {
        case GR_WASM_OP_BLOCK:
        case GR_WASM_OP_LOOP:
        case GR_WASM_OP_IF:
        case GR_WASM_OP_ELSE:
        case GR_WASM_OP_END:
        case GR_WASM_OP_BR:
        case GR_WASM_OP_BR_IF:
        case GR_WASM_OP_BR_TABLE:
        case GR_WASM_OP_RETURN:
            /* Values cross control flow in their variables only: every
             * path into a label must leave them in the same place. */
            gr__emit_settle(e);
            break;
        default:
            break;
    }
    switch (in->op) {
        case GR_WASM_OP_UNREACHABLE:
            out(e, "wrt_trap(WRT_TRAP_UNREACHABLE);\n");
            mark_dead(e);
            return 0;
        case GR_WASM_OP_NOP:
            return 0;
        case GR_WASM_OP_BLOCK:
        case GR_WASM_OP_LOOP:
        case GR_WASM_OP_IF: {
            gr_emit_ctl c = { .op = in->op, .label = e->nlabels++ };
            gr_wasm_blocktype_sig(m,
                                  in->imm.block.kind,
                                  in->imm.block.valtype,
                                  in->imm.block.typeidx,
                                  &c.np,
                                  &c.params,
                                  &c.nr,
                                  &c.results);
            if (in->op == GR_WASM_OP_IF) {
                out(e,
                    "if (!%s) goto Lx%" PRIu32 ";\n",
                    gr__emit_top(e, 0),
                    c.label);
                gr__emit_drop(e, 1);
            }
            c.height = e->h - c.np;
            if (in->op == GR_WASM_OP_LOOP)
                out(e, "Lb%" PRIu32 ":;\n", c.label);
            (void)at;
            return push_ctl(e, &c);
        }
        case GR_WASM_OP_ELSE:
            if (!top->dead) {
                top->used = true;
                out(e, "goto Le%" PRIu32 ";\n", top->label);
            }
            out(e, "Lx%" PRIu32 ":;\n", top->label);
            top->has_else = true;
            top->dead = false;
            e->h = top->height;
            for (uint32_t i = 0; i < top->np; i++)
                push_settled(e, top->params[i]);
            return 0;
        case GR_WASM_OP_END: {
            gr_emit_ctl c = *top;
            bool reach = !c.dead || c.used;
            if (c.op == GR_WASM_OP_IF && !c.has_else) {
                out(e, "Lx%" PRIu32 ":;\n", c.label);
                reach = true;
            }
            if (c.op == GR_WASM_OP_LOOP)
                reach = !c.dead;
            if (c.used)
                out(e, "Le%" PRIu32 ":;\n", c.label);
            e->h = c.height;
            for (uint32_t i = 0; i < c.nr; i++)
                push_settled(e, c.results[i]);
            e->nctl--;
            if (c.op == 0) {
                /* Function end: the results are in slots 0..nr. */
                if (!reach && !e->ret_used) {
                    out(e, "__builtin_unreachable();\n");
                    return 0;
                }
                out(e, "Lret:;\n");
                if (e->depth_check)
                    out(e, "WRT_LEAVE();\n");
                if (c.nr == 1) {
                    out(e, "return %s;\n", gr__emit_slot(e, 0));
                } else if (c.nr > 1) {
                    out(e, "{ wres_t%" PRIu32 " r_;", e->f->type);
                    for (uint32_t i = 0; i < c.nr; i++)
                        out(
                          e, " r_.r%" PRIu32 " = %s;", i, gr__emit_slot(e, i));
                    out(e, " return r_; }\n");
                }
                return 0;
            }
            if (!reach)
                mark_dead(e);
            return 0;
        }
        case GR_WASM_OP_BR:
            branch(e, in->imm.idx.a);
            out(e, "\n");
            mark_dead(e);
            return 0;
        case GR_WASM_OP_BR_IF: {
            char cnd[24];
            snprintf(cnd, sizeof(cnd), "%s", gr__emit_top(e, 0));
            gr__emit_drop(e, 1);
            out(e, "if (%s) { ", cnd);
            branch(e, in->imm.idx.a);
            out(e, " }\n");
            return 0;
        }
        case GR_WASM_OP_BR_TABLE: {
            char idx[24];
            snprintf(idx, sizeof(idx), "%s", gr__emit_top(e, 0));
            gr__emit_drop(e, 1);
            const uint32_t* t = e->f->br_targets + in->imm.br_table.first;
            uint32_t n = in->imm.br_table.count;
            out(e, "switch (%s) {\n", idx);
            for (uint32_t i = 0; i < n; i++) {
                out(e, "case %" PRIu32 "u: ", i);
                branch(e, t[i]);
                out(e, "\n");
            }
            out(e, "default: ");
            branch(e, t[n]);
            out(e, "\n}\n");
            mark_dead(e);
            return 0;
        }
        case GR_WASM_OP_RETURN:
            emit_return(e);
            mark_dead(e);
            return 0;
        case GR_WASM_OP_CALL: {
            uint32_t fi = in->imm.idx.a;
            char callee[48], inst[48];
            if (fi < m->nfunc_imports) {
                snprintf(
                  callee, sizeof(callee), "I->fn[%" PRIu32 "]->code", fi);
                snprintf(inst, sizeof(inst), "I->fn[%" PRIu32 "]->inst", fi);
                emit_call(e, m->funcs[fi].type, "", true, callee, inst);
            } else {
                snprintf(callee, sizeof(callee), "wf%" PRIu32, fi);
                emit_call(e, m->funcs[fi].type, "", false, callee, "I");
            }
            return 0;
        }
        case GR_WASM_OP_CALL_INDIRECT: {
            char pre[96];
            snprintf(pre,
                     sizeof(pre),
                     "const wrt_func* f_ = wrt_indirect(I->tab[%" PRIu32
                     "], %s, wsig%" PRIu32 "); ",
                     in->imm.idx.b,
                     gr__emit_top(e, 0),
                     in->imm.idx.a);
            gr__emit_drop(e, 1);
            emit_call(e, in->imm.idx.a, pre, true, "f_->code", "f_->inst");
            return 0;
        }
        case GR_WASM_OP_DROP:
            gr__emit_drop(e, 1);
            return 0;
        case GR_WASM_OP_SELECT:
        case GR_WASM_OP_SELECT_T:
            out(e,
                "if (!%s) %s = %s;\n",
                gr__emit_top(e, 0),
                gr__emit_top(e, 2),
                gr__emit_top(e, 1));
            gr__emit_drop(e, 2);
            return 0;
        case GR_WASM_OP_LOCAL_GET: {
            char l[16];
            snprintf(l, sizeof(l), "L%" PRIu32, in->imm.idx.a);
            push_pending(e, in->type, l, in->imm.idx.a);
            return 0;
        }
        case GR_WASM_OP_LOCAL_SET:
        case GR_WASM_OP_LOCAL_TEE: {
            uint32_t l = in->imm.idx.a;
            /* Values below that still read the local read its old value. */
            for (uint32_t d = 0; d + 1 < e->h; d++)
                if (e->pend[d][0] && e->pend_local[d] == l)
                    settle_slot(e, d);
            const char* v = gr__emit_operand(e, 0);
            if (!(e->pend[e->h - 1][0] && e->pend_local[e->h - 1] == l))
                out(e, "L%" PRIu32 " = %s;\n", l, v);
            if (in->op == GR_WASM_OP_LOCAL_SET)
                gr__emit_drop(e, 1);
            return 0;
        }
        case GR_WASM_OP_GLOBAL_GET:
            out(e,
                "%s = %s;\n",
                gr__emit_push(e, m->globals[in->imm.idx.a].type),
                global_ref(e, in->imm.idx.a));
            return 0;
        case GR_WASM_OP_GLOBAL_SET:
            out(e,
                "%s = %s;\n",
                global_ref(e, in->imm.idx.a),
                gr__emit_operand(e, 0));
            gr__emit_drop(e, 1);
            return 0;
        case GR_WASM_OP_TABLE_GET: {
            uint8_t t = m->tables[in->imm.idx.a].elem_type;
            char i[24];
            snprintf(i, sizeof(i), "%s", gr__emit_top(e, 0));
            gr__emit_drop(e, 1);
            out(e,
                "%s = (%s)wrt_table_get(I->tab[%" PRIu32 "], %s);\n",
                gr__emit_push(e, t),
                gr__emit_ctype(t),
                in->imm.idx.a,
                i);
            return 0;
        }
        case GR_WASM_OP_TABLE_SET:
            out(e,
                "wrt_table_set(I->tab[%" PRIu32 "], %s, (void*)%s);\n",
                in->imm.idx.a,
                gr__emit_top(e, 1),
                gr__emit_top(e, 0));
            gr__emit_drop(e, 2);
            return 0;
        case GR_WASM_OP_MEMORY_SIZE:
            out(e,
                "%s = (uint32_t)(wrt_msize(m0) / WRT_PAGE);\n",
                gr__emit_push(e, GR_WASM_I32));
            return 0;
        case GR_WASM_OP_MEMORY_GROW:
            out(e,
                "%s = wrt_memory_grow(m0, %s); %s;\n",
                gr__emit_top(e, 0),
                gr__emit_top(e, 0),
                e->exact_msize ? "MS = wrt_msize(m0)"
                               : "WRT_RELOAD_PLAIN_MSIZE(MS, m0)");
            return 0;
        case GR_WASM_OP_I32_CONST: {
            char c[24];
            snprintf(c, sizeof(c), "%" PRIu32 "u", (uint32_t)in->imm.i32);
            push_pending(e, GR_WASM_I32, c, UINT32_MAX);
            return 0;
        }
        case GR_WASM_OP_I64_CONST: {
            char c[24];
            snprintf(c, sizeof(c), "%" PRIu64 "ull", (uint64_t)in->imm.i64);
            push_pending(e, GR_WASM_I64, c, UINT32_MAX);
            return 0;
        }
        case GR_WASM_OP_F32_CONST:
            out(e,
                "%s = wrt_f32(0x%" PRIx32 "u);\n",
                gr__emit_push(e, GR_WASM_F32),
                in->imm.f32);
            return 0;
        case GR_WASM_OP_F64_CONST:
            out(e,
                "%s = wrt_f64(0x%" PRIx64 "ull);\n",
                gr__emit_push(e, GR_WASM_F64),
                in->imm.f64);
            return 0;
        case GR_WASM_OP_REF_NULL:
            out(e, "%s = 0;\n", gr__emit_push(e, in->type));
            return 0;
        case GR_WASM_OP_REF_IS_NULL: {
            char v[24];
            snprintf(v, sizeof(v), "%s", gr__emit_top(e, 0));
            gr__emit_drop(e, 1);
            out(e, "%s = %s == 0;\n", gr__emit_push(e, GR_WASM_I32), v);
            return 0;
        }
        case GR_WASM_OP_REF_FUNC:
            out(e,
                "%s = I->fn[%" PRIu32 "];\n",
                gr__emit_push(e, GR_WASM_FUNCREF),
                in->imm.idx.a);
            return 0;
        default:
            break;
    }
    if (in->op >= 0x28 && in->op <= 0x3e)
        return emit_load_store(e, in);
    if (in->op >= 0x45 && in->op <= 0xc4)
        return gr__emit_numeric(e, in);
    if ((in->op & 0xff00) == 0xfc00)
        return emit_fc(e, in);
    if ((in->op & 0xff00) == 0xfd00)
        return gr__emit_simd(e, in);
    if ((in->op & 0xff00) == 0xfe00)
        return gr__emit_atomic(e, in);
    return gr__emit_unsupported(e, in);
}

static void
declare_locals(gr_emit_fn* e, FILE* f)
{
    const gr_wasm_functype* ft = &e->m->types[e->f->type];
    uint32_t k = ft->nparams;
    for (uint32_t g = 0; g < e->f->nlocal_groups; g++) {
        const gr_wasm_local_group* lg = &e->f->local_groups[g];
        for (uint32_t i = 0; i < lg->count; i++, k++) {
            const char* zero = lg->type == GR_WASM_V128 ? "{0}" : "0";
            fprintf(
              f, "%s L%" PRIu32 " = %s;\n", gr__emit_ctype(lg->type), k, zero);
        }
    }
}

int
gr__emit_func(gr_emit_fn* e)
{
    const gr_wasm_func* f = e->f;
    const gr_wasm_functype* ft = &e->m->types[f->type];
    char* body = NULL;
    size_t body_len = 0;
    FILE* final = e->out;
    int rc = -ENOMEM;
    if (f->nlocals > 100000) {
        if (e->err)
            snprintf(e->err,
                     e->errlen,
                     "function %" PRIu32 ": %" PRIu64
                     " locals (the code generator's limit is 100000)",
                     e->fidx,
                     f->nlocals);
        return -ENOTSUP;
    }
    /* The validator's max_stack bounds every height but the function's
     * own end, where the results are pushed even after unreachable code
     * that pushed nothing (func.wast: a body of `unreachable` with three
     * results) */
    e->cap = (f->max_stack > ft->nresults ? f->max_stack : ft->nresults) + 2;
    e->stack = gr_calloc(e->cap, 1);
    e->declared = gr_calloc((size_t)e->cap * 8, 1);
    e->pend = gr_calloc(e->cap, sizeof(*e->pend));
    e->pend_local = gr_calloc(e->cap, sizeof(*e->pend_local));
    e->h = 0;
    e->nctl = 0;
    e->nlabels = 0;
    e->ret_used = false;
    e->exact_msize = false;
    for (uint32_t i = 0; i < f->ninstrs && !e->exact_msize; i++)
        e->exact_msize = (f->instrs[i].op & 0xff00) == 0xfe00;
    FILE* mem = open_memstream(&body, &body_len);
    if (e->stack == NULL || e->declared == NULL || e->pend == NULL ||
        e->pend_local == NULL || mem == NULL)
        goto done;
    e->out = mem;
    gr_emit_ctl fc = { .op = 0, .nr = ft->nresults, .results = ft->results };
    if (push_ctl(e, &fc) < 0)
        goto done;
    rc = 0;
    uint32_t skip = 0;
    for (uint32_t i = 0; i < f->ninstrs && rc == 0; i++) {
        const gr_wasm_instr* in = &f->instrs[i];
        if (e->nctl > 0 && e->ctl[e->nctl - 1].dead) {
            /* Skip to the else/end of the dead frame. */
            if (in->op == GR_WASM_OP_BLOCK || in->op == GR_WASM_OP_LOOP ||
                in->op == GR_WASM_OP_IF) {
                skip++;
                continue;
            }
            if (in->op == GR_WASM_OP_END && skip > 0) {
                skip--;
                continue;
            }
            if (skip > 0 ||
                (in->op != GR_WASM_OP_END && in->op != GR_WASM_OP_ELSE))
                continue;
        }
        rc = emit_instr(e, in, i);
        if (rc == -1)
            rc = -ENOTSUP;
    }
    fclose(mem);
    mem = NULL;
    e->out = final;
    if (rc < 0)
        goto done;
    /* Header, declarations, then the body. */
    if (ft->nresults == 0)
        fprintf(final, "void ");
    else if (ft->nresults == 1)
        fprintf(final, "%s ", gr__emit_ctype(ft->results[0]));
    else
        fprintf(final, "wres_t%" PRIu32 " ", f->type);
    fprintf(final, "wf%" PRIu32 "(void* vI", e->fidx);
    for (uint32_t i = 0; i < ft->nparams; i++)
        fprintf(final, ", %s L%" PRIu32, gr__emit_ctype(ft->params[i]), i);
    fprintf(final, ")\n{\nwmod_inst* I = vI; (void)I;\n");
    if (e->m->nmems)
        fprintf(final,
                "wrt_memory* const m0 = I->mem[0]; uint8_t* const M = "
                "m0->base; uint64_t MS = %s(m0); (void)M; (void)MS;\n",
                e->exact_msize ? "wrt_msize" : "WRT_PLAIN_MSIZE");
    declare_locals(e, final);
    for (uint32_t d = 0; d < e->cap; d++)
        for (unsigned t = 0; t < sizeof(type_order); t++)
            if (e->declared[(size_t)d * 8 + t]) {
                const char* zero = type_order[t] == GR_WASM_V128 ? "{0}" : "0";
                fprintf(final,
                        "%s %c%" PRIu32 " = %s;\n",
                        gr__emit_ctype(type_order[t]),
                        gr__emit_letter(type_order[t]),
                        d,
                        zero);
            }
    if (e->depth_check)
        fprintf(final, "WRT_ENTER();\n");
    fwrite(body, 1, body_len, final);
    fprintf(final, "}\n\n");
done:
    if (mem != NULL) {
        fclose(mem);
        e->out = final;
    }
    free(body);
    gr_free(e->stack);
    gr_free(e->declared);
    gr_free(e->pend);
    gr_free(e->pend_local);
    gr_free(e->ctl);
    e->stack = NULL;
    e->declared = NULL;
    e->pend = NULL;
    e->pend_local = NULL;
    e->ctl = NULL;
    e->capctl = 0;
    return rc;
}
