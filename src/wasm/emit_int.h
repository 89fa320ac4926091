/* SPDX-License-Identifier: Apache-2.0 */
/* Private to the code generator: the per-function emission state shared by
 * emit_func.c (control, variables, calls, memory) and the instruction
 * family emitters (numeric, SIMD, atomics). */
#ifndef GR_WASM_EMIT_INT_H
#define GR_WASM_EMIT_INT_H

#include "wasm/emit.h"

#include <stdbool.h>
#include <stdio.h>

/* One control frame being emitted. */
typedef struct gr_emit_ctl
{
    uint16_t op;     /* 0 (function), block, loop, if */
    uint32_t label;  /* unique per function */
    uint32_t height; /* operand stack height below the block's params */
    uint32_t np, nr;
    const uint8_t* params;
    const uint8_t* results;
    bool used; /* some branch targets the end label */
    bool dead; /* the rest of the frame is unreachable */
    bool has_else;
} gr_emit_ctl;

typedef struct gr_emit_fn
{
    const gr_wasm_module* m;
    const gr_wasm_func* f;
    uint32_t fidx;
    FILE* out;         /* the body */
    uint8_t* stack;    /* operand types */
    uint32_t h, cap;   /* height, capacity */
    uint8_t* declared; /* [depth * 8 + letter index]: slot declared */
    /* Per slot: a constant or local.get not yet written to the slot's
     * variable (pend[d][0] != 0): its C text, and the local it reads
     * (UINT32_MAX: a constant). See gr__emit_operand. */
    char (*pend)[24];
    uint32_t* pend_local;
    gr_emit_ctl* ctl;
    uint32_t nctl, capctl;
    uint32_t nlabels;
    bool ret_used;
    /* Counts its frames against WRT_MAX_DEPTH (WRT_ENTER/WRT_LEAVE): only
     * a function that can take part in unbounded recursion needs to (see
     * emit.c, plan_depth). */
    bool depth_check;
    /* Has atomics: they check bounds even with guard pages, so the size in
     * MS must be exact after every call. */
    bool exact_msize;
    char* err;
    size_t errlen;
} gr_emit_fn;

/* Letter of a value type in signatures and variable names. */
char gr__emit_letter(uint8_t t);
/* C type of a value type. */
const char* gr__emit_ctype(uint8_t t);
/* Name of the stack slot at `depth` (type from the model); rotating
 * static buffers, valid for a few calls. */
const char* gr__emit_slot(gr_emit_fn* e, uint32_t depth);
/* Pushes a value of type t, returns the name of its slot. */
const char* gr__emit_push(gr_emit_fn* e, uint8_t t);
/* Name of the k-th value from the top (0 = top), its variable holding
 * the value (a pending value is written to it first). */
const char* gr__emit_top(gr_emit_fn* e, uint32_t k);
/* C text of the k-th value from the top, to be read once by the next
 * statement and then dropped: a pending constant or local stays as it is
 * (the C is shorter and the C compiler has fewer statements to go
 * through); anything else is the slot's variable. */
const char* gr__emit_operand(gr_emit_fn* e, uint32_t k);
/* Writes every pending value of the stack to its variable. */
void gr__emit_settle(gr_emit_fn* e);
void gr__emit_drop(gr_emit_fn* e, uint32_t n);

/* Instruction families: return 0, or -1 with e->err set (unsupported). */
int gr__emit_numeric(gr_emit_fn* e, const gr_wasm_instr* in);
int gr__emit_simd(gr_emit_fn* e, const gr_wasm_instr* in);
int gr__emit_atomic(gr_emit_fn* e, const gr_wasm_instr* in);
int gr__emit_unsupported(gr_emit_fn* e, const gr_wasm_instr* in);

/* Emits function `fidx` (a defined function) to `out`. */
int gr__emit_func(gr_emit_fn* e);

#endif
