/* SPDX-License-Identifier: Apache-2.0 */
/* WebAssembly binary decoder and validator: turns a .wasm module into a
 * fully validated, decoded gr_wasm_module that a code generator can walk
 * (types, imports, functions with their decoded instructions, tables,
 * memories, globals, exports, start, elements, data, function names).
 * Features: WebAssembly 2.0 (MVP, mutable globals, sign extension,
 * non-trapping float-to-int, multi-value, bulk memory, reference types,
 * fixed-width SIMD) plus threads (shared memory, atomics). Memory64 and
 * exception handling are refused with a message saying so. */
#ifndef GR_WASM_WASM_H
#define GR_WASM_WASM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Value types, numbered by their binary encoding. GR_WASM_UNKNOWN (0) is the
 * validator's bottom type: an operand of unreachable code. */
enum gr_wasm_valtype
{
    GR_WASM_UNKNOWN = 0,
    GR_WASM_I32 = 0x7f,
    GR_WASM_I64 = 0x7e,
    GR_WASM_F32 = 0x7d,
    GR_WASM_F64 = 0x7c,
    GR_WASM_V128 = 0x7b,
    GR_WASM_FUNCREF = 0x70,
    GR_WASM_EXTERNREF = 0x6f,
};

/* Returns "i32", "funcref", ... ("unknown" for anything else). */
const char* gr_wasm_valtype_name(uint8_t t);

/* External kinds (import/export descriptors), by binary encoding. */
enum gr_wasm_extern
{
    GR_WASM_EXTERN_FUNC = 0,
    GR_WASM_EXTERN_TABLE = 1,
    GR_WASM_EXTERN_MEMORY = 2,
    GR_WASM_EXTERN_GLOBAL = 3,
};

/* Opcodes as stored in gr_wasm_instr.op: one-byte opcodes as themselves,
 * prefixed ones as prefix << 8 | sub-opcode (sub-opcodes are < 256 for all
 * supported instructions). */
#define GR_WASM_OP_FC(x) (0xfc00u | (x)) /* saturating trunc, bulk, table */
#define GR_WASM_OP_FD(x) (0xfd00u | (x)) /* SIMD */
#define GR_WASM_OP_FE(x) (0xfe00u | (x)) /* threads (atomics) */

enum gr_wasm_op
{
    GR_WASM_OP_UNREACHABLE = 0x00,
    GR_WASM_OP_NOP = 0x01,
    GR_WASM_OP_BLOCK = 0x02,
    GR_WASM_OP_LOOP = 0x03,
    GR_WASM_OP_IF = 0x04,
    GR_WASM_OP_ELSE = 0x05,
    GR_WASM_OP_END = 0x0b,
    GR_WASM_OP_BR = 0x0c,
    GR_WASM_OP_BR_IF = 0x0d,
    GR_WASM_OP_BR_TABLE = 0x0e,
    GR_WASM_OP_RETURN = 0x0f,
    GR_WASM_OP_CALL = 0x10,
    GR_WASM_OP_CALL_INDIRECT = 0x11,
    GR_WASM_OP_DROP = 0x1a,
    GR_WASM_OP_SELECT = 0x1b,
    GR_WASM_OP_SELECT_T = 0x1c,
    GR_WASM_OP_LOCAL_GET = 0x20,
    GR_WASM_OP_LOCAL_SET = 0x21,
    GR_WASM_OP_LOCAL_TEE = 0x22,
    GR_WASM_OP_GLOBAL_GET = 0x23,
    GR_WASM_OP_GLOBAL_SET = 0x24,
    GR_WASM_OP_TABLE_GET = 0x25,
    GR_WASM_OP_TABLE_SET = 0x26,
    GR_WASM_OP_MEMORY_SIZE = 0x3f,
    GR_WASM_OP_MEMORY_GROW = 0x40,
    GR_WASM_OP_I32_CONST = 0x41,
    GR_WASM_OP_I64_CONST = 0x42,
    GR_WASM_OP_F32_CONST = 0x43,
    GR_WASM_OP_F64_CONST = 0x44,
    GR_WASM_OP_REF_NULL = 0xd0,
    GR_WASM_OP_REF_IS_NULL = 0xd1,
    GR_WASM_OP_REF_FUNC = 0xd2,
    GR_WASM_OP_MEMORY_INIT = GR_WASM_OP_FC(8),
    GR_WASM_OP_DATA_DROP = GR_WASM_OP_FC(9),
    GR_WASM_OP_MEMORY_COPY = GR_WASM_OP_FC(10),
    GR_WASM_OP_MEMORY_FILL = GR_WASM_OP_FC(11),
    GR_WASM_OP_TABLE_INIT = GR_WASM_OP_FC(12),
    GR_WASM_OP_ELEM_DROP = GR_WASM_OP_FC(13),
    GR_WASM_OP_TABLE_COPY = GR_WASM_OP_FC(14),
    GR_WASM_OP_TABLE_GROW = GR_WASM_OP_FC(15),
    GR_WASM_OP_TABLE_SIZE = GR_WASM_OP_FC(16),
    GR_WASM_OP_TABLE_FILL = GR_WASM_OP_FC(17),
    GR_WASM_OP_V128_CONST = GR_WASM_OP_FD(0x0c),
    GR_WASM_OP_I8X16_SHUFFLE = GR_WASM_OP_FD(0x0d),
    GR_WASM_OP_ATOMIC_FENCE = GR_WASM_OP_FE(0x03),
};

/* Block type of block/loop/if: no value, one value, or a type index. */
enum gr_wasm_blocktype_kind
{
    GR_WASM_BLOCK_EMPTY = 0,
    GR_WASM_BLOCK_VALUE = 1,
    GR_WASM_BLOCK_TYPEIDX = 2,
};

/* One decoded instruction. `offset` is the byte offset of its opcode in
 * the module. `type` carries the validated operand type where the opcode
 * alone does not say it: drop and select (the dropped/selected type,
 * GR_WASM_UNKNOWN in unreachable code), ref.null and ref.is_null (the
 * reference type), local.* and global.* (the variable's type); otherwise 0.
 * `lane` is the lane index of SIMD extract/replace/load_lane/store_lane. */
typedef struct gr_wasm_instr
{
    uint16_t op;
    uint8_t type;
    uint8_t lane;
    uint32_t offset;
    union
    {
        /* Index immediates: local/global/func/label/table/elem/data index
         * in a; call_indirect: a = type index, b = table; table.copy: a =
         * destination, b = source; table.init: a = elem, b = table;
         * memory.init: a = data segment. */
        struct
        {
            uint32_t a, b;
        } idx;
        /* Loads, stores, atomics, SIMD memory ops: log2 alignment, static
         * offset, memory index (always 0). */
        struct
        {
            uint32_t align;
            uint32_t offset;
            uint32_t mem;
        } mem;
        /* block/loop/if: block type and the index (in the function's
         * instruction array) of the matching `else` (UINT32_MAX if none)
         * and `end`. else: `end` is the index of the matching end. */
        struct
        {
            uint8_t kind;    /* enum gr_wasm_blocktype_kind */
            uint8_t valtype; /* GR_WASM_BLOCK_VALUE */
            uint16_t pad;
            uint32_t typeidx; /* GR_WASM_BLOCK_TYPEIDX */
            uint32_t else_at;
            uint32_t end_at;
        } block;
        /* br_table: `count` labels then the default label at
         * func->br_targets[first .. first + count]. */
        struct
        {
            uint32_t first;
            uint32_t count;
        } br_table;
        int32_t i32;
        int64_t i64;
        uint32_t f32;     /* raw IEEE bits */
        uint64_t f64;     /* raw IEEE bits */
        uint8_t v128[16]; /* v128.const bytes, i8x16.shuffle lanes */
    } imm;
} gr_wasm_instr;

typedef struct gr_wasm_functype
{
    uint32_t nparams, nresults;
    const uint8_t* params;  /* nparams value types */
    const uint8_t* results; /* nresults value types */
} gr_wasm_functype;

typedef struct gr_wasm_limits
{
    uint32_t min;
    uint32_t max; /* valid when has_max */
    bool has_max;
    bool shared; /* memories only (threads) */
} gr_wasm_limits;

/* A constant expression (WebAssembly 2.0: exactly one instruction).
 * op is one of i32/i64/f32/f64/v128.const, ref.null, ref.func, global.get;
 * the immediate is in `imm` as in gr_wasm_instr (idx.a for ref.func and
 * global.get; `type` is the value's type). */
typedef struct gr_wasm_const
{
    uint16_t op;
    uint8_t type;
    uint32_t offset; /* byte offset of the instruction */
    union
    {
        uint32_t idx;
        int32_t i32;
        int64_t i64;
        uint32_t f32;
        uint64_t f64;
        uint8_t v128[16];
    } imm;
} gr_wasm_const;

/* Names: UTF-8 validated, NUL-terminated copies (len excludes the NUL;
 * a name may itself contain NUL characters). */
typedef struct gr_wasm_name
{
    const char* str;
    uint32_t len;
} gr_wasm_name;

typedef struct gr_wasm_import
{
    gr_wasm_name module, field;
    uint8_t kind;   /* enum gr_wasm_extern */
    uint32_t index; /* index in that kind's index space */
} gr_wasm_import;

typedef struct gr_wasm_export
{
    gr_wasm_name name;
    uint8_t kind;
    uint32_t index;
} gr_wasm_export;

/* Locals declared by a function body: `count` locals of `type`, in order,
 * after the parameters. Kept as groups (a body may declare billions). */
typedef struct gr_wasm_local_group
{
    uint32_t first; /* index of its first local, parameters excluded */
    uint32_t count;
    uint8_t type;
} gr_wasm_local_group;

typedef struct gr_wasm_func
{
    uint32_t type; /* type index */
    bool imported;
    const char* name; /* from the "name" section, or NULL */
    /* Defined functions only: */
    uint32_t nlocal_groups;
    const gr_wasm_local_group* local_groups;
    uint64_t nlocals;     /* declared locals, parameters excluded */
    uint32_t code_offset; /* byte range of the whole code entry body */
    uint32_t code_size;   /* (locals + expression) */
    uint32_t expr_offset; /* byte range of the expression alone */
    uint32_t expr_size;
    uint32_t ninstrs; /* decoded instructions, the final `end` included */
    const gr_wasm_instr* instrs;
    uint32_t nbr_targets;
    const uint32_t* br_targets; /* br_table label lists */
    uint32_t max_stack;         /* maximum operand stack height */
} gr_wasm_func;

typedef struct gr_wasm_table
{
    uint8_t elem_type; /* funcref or externref */
    gr_wasm_limits limits;
    bool imported;
} gr_wasm_table;

typedef struct gr_wasm_memory
{
    gr_wasm_limits limits; /* in 64 KiB pages */
    bool imported;
} gr_wasm_memory;

typedef struct gr_wasm_global
{
    uint8_t type;
    bool mut;
    bool imported;
    gr_wasm_const init; /* defined globals only */
} gr_wasm_global;

enum gr_wasm_segmode
{
    GR_WASM_SEG_ACTIVE = 0,
    GR_WASM_SEG_PASSIVE = 1,
    GR_WASM_SEG_DECLARATIVE = 2, /* element segments only */
};

typedef struct gr_wasm_elem
{
    uint8_t mode;         /* enum gr_wasm_segmode */
    uint8_t type;         /* funcref or externref */
    uint32_t table;       /* active only */
    gr_wasm_const offset; /* active only */
    uint32_t nitems;
    const gr_wasm_const* items; /* ref.func, ref.null or global.get */
} gr_wasm_elem;

typedef struct gr_wasm_data
{
    uint8_t mode; /* active or passive */
    uint32_t mem;
    gr_wasm_const offset;  /* active only */
    uint32_t bytes_offset; /* the segment's bytes: an offset into the */
    uint32_t bytes_size;   /* module's input buffer */
} gr_wasm_data;

/* A decoded, validated module. All arrays are owned by the module and live
 * until gr_wasm_module_destroy(). Index spaces put imports first, as the
 * spec does: funcs[0 .. nfunc_imports) are the imported functions. The
 * module keeps no pointer to the input buffer. Immutable after decoding:
 * any number of threads may read it. */
typedef struct gr_wasm_module
{
    uint32_t ntypes;
    const gr_wasm_functype* types;
    uint32_t nimports;
    const gr_wasm_import* imports;
    uint32_t nfuncs, nfunc_imports;
    gr_wasm_func* funcs;
    uint32_t ntables, ntable_imports;
    const gr_wasm_table* tables;
    uint32_t nmems, nmem_imports;
    const gr_wasm_memory* mems;
    uint32_t nglobals, nglobal_imports;
    const gr_wasm_global* globals;
    uint32_t nexports;
    const gr_wasm_export* exports;
    bool has_start;
    uint32_t start;
    uint32_t nelems;
    const gr_wasm_elem* elems;
    uint32_t ndatas;
    const gr_wasm_data* datas;
    bool has_data_count;
    uint32_t data_count;
    bool has_names; /* a well-formed "name" section gave function names */
    struct gr_wasm_arena* arena; /* private */
} gr_wasm_module;

/* Why a module was refused. */
enum gr_wasm_error_kind
{
    GR_WASM_ERR_NONE = 0,
    GR_WASM_ERR_MALFORMED = 1,   /* not a binary module (decoding) */
    GR_WASM_ERR_INVALID = 2,     /* decodes but fails validation */
    GR_WASM_ERR_UNSUPPORTED = 3, /* memory64, exceptions, other proposals */
    GR_WASM_ERR_LIMIT = 4,       /* an implementation limit */
};

/* The error of a refused module. `message` is the whole text, e.g.
 * "code section, function 3, offset 0x1a2: type mismatch: expected i32,
 * got f64"; `func` is the function index (imports counted) or UINT32_MAX
 * when the error is not inside a function body. */
typedef struct gr_wasm_error
{
    int kind; /* enum gr_wasm_error_kind */
    uint32_t offset;
    uint32_t func;
    char message[256];
} gr_wasm_error;

/* Decodes and validates the `len` bytes of a binary module. Implementation
 * limits (GR_WASM_ERR_LIMIT): a function type has at most 1000 parameters
 * and 1000 results, a function's operand stack at most 2^20 values, the
 * module at most 4 GiB. On success
 * stores a new module in *out (the caller owns it: gr_wasm_module_destroy)
 * and returns 0. Otherwise returns GR_EINVALID_MODULE (err filled in, if
 * not NULL) or -ENOMEM, and leaves *out NULL. Memory use is bounded by a
 * small multiple of `len`. Thread-safe (no shared state). */
int gr_wasm_module_decode(const uint8_t* bytes,
                          size_t len,
                          gr_wasm_module** out,
                          gr_wasm_error* err);

/* Frees a module; NULL is a no-op. */
void gr_wasm_module_destroy(gr_wasm_module* m);

/* The type of local `idx` of defined function `f` (parameters first), or
 * GR_WASM_UNKNOWN if there is no such local. */
uint8_t gr_wasm_func_local_type(const gr_wasm_module* m,
                                const gr_wasm_func* f,
                                uint32_t idx);

/* Parameter and result types of a block type (as in an instruction's
 * imm.block): sets the counts and points *params and *results at arrays owned
 * by the module or by static storage. */
void gr_wasm_blocktype_sig(const gr_wasm_module* m,
                           uint8_t kind,
                           uint8_t valtype,
                           uint32_t typeidx,
                           uint32_t* nparams,
                           const uint8_t** params,
                           uint32_t* nresults,
                           const uint8_t** results);

#endif
