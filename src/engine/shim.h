/* SPDX-License-Identifier: Apache-2.0 */
/* The fixed ABI between the engine and one compiled object. Every object
 * carries a small generated shim (codegen.c writes it next to the wasm2c
 * output) that exports `granary_shim`, so the engine never depends on
 * wasm2c's symbol names, which change across wabt versions. */
#ifndef GR_ENGINE_SHIM_H
#define GR_ENGINE_SHIM_H

#include <stddef.h>
#include <stdint.h>

#include "engine/wasm-rt.h"

#define GR_SHIM_ABI_VERSION 2u
#define GR_SHIM_SYMBOL "granary_shim"
#define GR_SHIM_NO_OFFSET ((size_t)-1)

/* Signatures are strings: one letter per parameter, '>' and one letter per
 * result: i = i32, I = i64, f = f32, F = f64. "ii>i" is (i32,i32)->i32, ">"
 * is ()->(). The C function behind an export takes the wasm2c instance
 * pointer first, then the parameters. */
struct gr_shim_export
{
    const char* name; /* the wasm export name, unmangled */
    const char* sig;
    wasm_rt_function_ptr_t fn;
};

struct gr_shim_import
{
    const char* module;
    const char* name;
    const char* sig;
};

struct gr_shim
{
    uint32_t abi_version;
    size_t instance_size;
    /* Offset of the wasm_rt_memory_t inside the instance, or
     * GR_SHIM_NO_OFFSET when the module defines no memory. */
    size_t memory_offset;
    /* Offset of the u32 __stack_pointer global, or GR_SHIM_NO_OFFSET. */
    size_t stack_pointer_offset;
    /* Offsets of the funcref tables inside the instance. */
    size_t n_tables;
    const size_t* table_offsets;
    void (*init_module)(void);
    /* Passes host as the context of every imported module. */
    void (*instantiate)(void* instance, void* host);
    void (*free)(void* instance);
    size_t n_exports;
    const struct gr_shim_export* exports;
    size_t n_imports;
    const struct gr_shim_import* imports;
    /* Offsets of the per-imported-module context pointers inside the
     * instance (each holds the host pointer given to instantiate); used to
     * re-point a copied instance at its new host context. */
    size_t n_import_ctx;
    const size_t* import_ctx_offsets;
};

typedef const struct gr_shim* (*gr_shim_get_fn)(void);

#endif
