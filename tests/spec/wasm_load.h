/* SPDX-License-Identifier: Apache-2.0 */
/* Loading of modules through Granary's own compiler for test tools: decode and
 * validate a .wasm file (src/wasm), generate C, compile it with the system cc
 * into a shared object cached by the hash of the C, dlopen it (the differential
 * fuzzer, the threads tests, the spec-test runner). Single-threaded: call
 * from one thread at a time (several processes may share a cache). */
#ifndef GR_TESTS_WASM_LOAD_H
#define GR_TESTS_WASM_LOAD_H

#include "wasm/wrt.h"

#include <stddef.h>

typedef struct wl_module
{
    void* dl;
    const wrt_module_desc* desc;
} wl_module;

/* Result of wl_load: 0 loaded, 1 refused by the decoder/validator, 2 the
 * generator, the C compiler or dlopen failed (message in err). `cflags`:
 * the optimisation and other flags for cc (NULL: "-O2"); `cache_dir` is
 * created if missing. */
int wl_load(const char* wasm_path,
            const char* cache_dir,
            const char* cflags,
            wl_module* out,
            char* err,
            size_t errlen);
void wl_unload(wl_module* m);

/* The first half of wl_load: decodes, generates and compiles wasm_path
 * into the cache (created if missing) without loading it; so_path gets
 * the shared object's path. Returns as wl_load. */
int wl_build(const char* wasm_path,
             const char* cache_dir,
             const char* cflags,
             char* so_path,
             size_t so_len,
             char* err,
             size_t errlen);

/* When non-zero, the folder of a failed cc run is kept (and named on
 * stderr) instead of removed: for debugging the generated C. */
extern int wl_keep_failed;

/* Reads a whole file into a malloc'd buffer (NULL on failure). */
unsigned char* wl_read_all(const char* path, size_t* len);

#endif
