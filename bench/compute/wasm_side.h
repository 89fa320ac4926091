/* SPDX-License-Identifier: Apache-2.0 */
/* How bench_compute runs the wasm build of the kernels. wasm_engine.c
 * implements it with Granary's engine; any other backend (for example the
 * wabt reference runtime, for cross-checking) can stand in for it. */
#ifndef GR_BENCH_WASM_SIDE_H
#define GR_BENCH_WASM_SIDE_H

#include <stddef.h>

typedef struct wasm_side wasm_side;

/* Loads the kernels module at path and makes one instance of it (its
 * _initialize, if exported, has run). Returns 0 or a negative error with a
 * one-line reason in err; *out owned by the caller. */
int wasm_side_open(const char* path, wasm_side** out, char* err, size_t errlen);

/* Calls run_kernel(which, reps) in the instance; stores its result in
 * *result. Returns 0, or a negative error with a reason in err (a trap). */
int wasm_side_run(wasm_side* w,
                  int which,
                  int reps,
                  int* result,
                  char* err,
                  size_t errlen);

/* A short description of the backend, for the report header. */
const char* wasm_side_name(void);

void wasm_side_close(wasm_side* w);

#endif
