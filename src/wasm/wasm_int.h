/* SPDX-License-Identifier: Apache-2.0 */
/* Private to src/wasm: the byte reader (LEB128 with the spec's limits),
 * the module arena, error reporting and the validator's entry points. */
#ifndef GR_WASM_WASM_INT_H
#define GR_WASM_WASM_INT_H

#include "wasm/wasm.h"

#include <stdarg.h>

/* Bump allocator owning everything a module points to. */
typedef struct gr_wasm_arena gr_wasm_arena;
void* gr__wasm_arena_alloc(gr_wasm_arena** a, size_t n);
void gr__wasm_arena_free(gr_wasm_arena* a);

/* Implementation limit: operand stack height of one function. */
#define GR_WASM_MAX_STACK (1u << 20)
/* Implementation limit: parameters or results of a function type. */
#define GR_WASM_MAX_ARITY 1000u

/* Decoding state shared by the section decoders and the validator. */
typedef struct gr_wasm_ctx
{
    const uint8_t* base; /* the whole module */
    size_t len;
    size_t pos;          /* current offset from base */
    size_t end;          /* end of the current section, function or module */
    const char* section; /* e.g. "code section", for messages */
    uint32_t func;       /* function being validated, or UINT32_MAX */
    gr_wasm_module* m;
    gr_wasm_error* err;
    int status;    /* first failure: GR_EINVALID_MODULE or -ENOMEM */
    bool failed;   /* an error was recorded */
    uint8_t* refs; /* bitmap of functions named outside bodies (C.refs) */
    bool has_code; /* a code section was seen */
} gr_wasm_ctx;

/* Records the first error (later ones are ignored) with the current
 * section/function and `at` as offset; always returns -1. */
int gr__wasm_fail(gr_wasm_ctx* c, int kind, size_t at, const char* fmt, ...)
  __attribute__((format(printf, 4, 5)));
int gr__wasm_nomem(gr_wasm_ctx* c);

#define GR__MALFORMED(c, at, ...)                                              \
    gr__wasm_fail((c), GR_WASM_ERR_MALFORMED, (at), __VA_ARGS__)
#define GR__INVALID(c, at, ...)                                                \
    gr__wasm_fail((c), GR_WASM_ERR_INVALID, (at), __VA_ARGS__)

/* Readers: each returns 0 or -1 (error recorded). They never read past
 * c->end. */
int gr__wasm_u8(gr_wasm_ctx* c, uint8_t* v);
int gr__wasm_u32(gr_wasm_ctx* c, uint32_t* v);
int gr__wasm_s32(gr_wasm_ctx* c, int32_t* v);
int gr__wasm_s33(gr_wasm_ctx* c, int64_t* v);
int gr__wasm_s64(gr_wasm_ctx* c, int64_t* v);
int gr__wasm_bytes(gr_wasm_ctx* c, size_t n, const uint8_t** p);
/* A vector length: also checks that `n * min_elem_size` bytes remain, so
 * nothing is allocated for a count the input cannot back. */
int gr__wasm_count(gr_wasm_ctx* c, uint32_t min_elem_size, uint32_t* n);
/* Value type byte (number, vector or reference type). */
int gr__wasm_valtype(gr_wasm_ctx* c, uint8_t* t);
/* Memory argument with the natural alignment bound: log2 of the access
 * size; `exact` (atomics) requires the alignment to equal it. */
int gr__wasm_memarg(gr_wasm_ctx* c,
                    uint32_t natural,
                    bool exact,
                    gr_wasm_instr* in);

bool gr__wasm_is_valtype(uint8_t t);
bool gr__wasm_is_reftype(uint8_t t);

/* Validates all function bodies of the code section (c->pos at its
 * contents, c->end at its end) and fills m->funcs[...] code fields. */
int gr__wasm_code_section(gr_wasm_ctx* c);

/* Operand-type signature of a "simple" instruction: pops n_in operands of
 * the given types, pushes `out` (0: nothing). */
typedef struct gr_wasm_sig
{
    uint8_t n_in;
    uint8_t in[3];
    uint8_t out;
} gr_wasm_sig;

/* The validator's state for one function body. */
typedef struct gr_wasm_frame
{
    uint8_t op; /* block, loop, if, else; 0 for the function */
    bool unreachable;
    uint32_t height; /* operand stack height at entry */
    uint32_t at;     /* instruction index of the opening block/loop/if */
    uint32_t nparams, nresults;
    const uint8_t* params;
    const uint8_t* results;
} gr_wasm_frame;

typedef struct gr_wasm_fn
{
    gr_wasm_ctx* c;
    gr_wasm_func* f;
    const gr_wasm_functype* ft;
    uint8_t* stack;
    uint32_t nstack, capstack, maxstack;
    gr_wasm_frame* frames;
    uint32_t nframes, capframes;
    gr_wasm_instr* ins; /* decoded instructions (scratch, reused) */
    uint32_t nins, capins;
    uint32_t* brt; /* br_table labels (scratch, reused) */
    uint32_t nbrt, capbrt;
    size_t at; /* offset of the current instruction */
} gr_wasm_fn;

int gr__wasm_push(gr_wasm_fn* v, uint8_t t);
/* Pops an operand that must be `expect` (0 = any); stores the popped type
 * (GR_WASM_UNKNOWN when popped from unreachable code) in *got if given. */
int gr__wasm_pop(gr_wasm_fn* v, uint8_t expect, uint8_t* got);
int gr__wasm_apply(gr_wasm_fn* v, const gr_wasm_sig* s);
int gr__wasm_need_memory(gr_wasm_fn* v);

/* The 0xFD (SIMD) and 0xFE (threads) instruction families: decode the
 * immediates of sub-opcode `sub` into `in` and type-check it. */
int gr__wasm_simd(gr_wasm_fn* v, uint32_t sub, gr_wasm_instr* in);
int gr__wasm_atomic(gr_wasm_fn* v, uint32_t sub, gr_wasm_instr* in);

#endif
