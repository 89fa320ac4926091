/* SPDX-License-Identifier: Apache-2.0 */
/* The engine's description of one loaded object: instance layout, exports
 * and imports, in a form that does not depend on the code generator. An
 * object itself exports one entry point, `granary_wasm_module` (a
 * wrt_module_desc, src/wasm/wrt.h); gobject.c builds this view from it. */
#ifndef GR_ENGINE_SHIM_H
#define GR_ENGINE_SHIM_H

#include <stddef.h>
#include <stdint.h>

#include "engine/wasm-rt.h"

#define GR_SHIM_ABI_VERSION 3u
#define GR_SHIM_NO_OFFSET ((size_t)-1)

/* Signatures are strings: one letter per parameter, '>' and one letter per
 * result: i = i32, I = i64, f = f32, F = f64. "ii>i" is (i32,i32)->i32, ">"
 * is ()->(). The C function behind an export takes the instance's module
 * struct (gr_instance_module) first, then the parameters. */
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
    /* Bytes of an instance block (gr_instance_module). */
    size_t instance_size;
    /* Offset of the memory (its first fields are a wasm_rt_memory_t)
     * inside the instance (defined by the module, or imported and created
     * by the host), or GR_SHIM_NO_OFFSET when the module has no memory. */
    size_t memory_offset;
    /* Offset of the u32 __stack_pointer global, or GR_SHIM_NO_OFFSET. */
    size_t stack_pointer_offset;
    size_t n_exports;
    const struct gr_shim_export* exports;
    size_t n_imports;
    const struct gr_shim_import* imports;
};

#endif
