/* SPDX-License-Identifier: Apache-2.0 */
/* The compute kernels shared by the native and the wasm build of
 * bench_compute (see kernels.c). */
#ifndef GR_BENCH_KERNELS_H
#define GR_BENCH_KERNELS_H

enum
{
    KERNEL_MATMUL = 0,
    KERNEL_STENCIL,
    KERNEL_FFT,
    KERNEL_HASH,
    KERNEL_SORT,
    KERNEL_COUNT
};

/* Runs kernel `which` reps times (each run rebuilds its input) and returns
 * a checksum in [0, 2^31), or -1 for an unknown kernel. In the wasm build
 * this is the export "run_kernel" with signature (i32, i32) -> i32. */
int run_kernel(int which, int reps);

/* Short name of a kernel ("matmul", ...), "?" if out of range. */
const char* kernel_name(int which);

/* The same kernels compiled natively by clang: bench_compute builds
 * kernels.c a second time with -Drun_kernel=clang_run_kernel
 * -Dkernel_name=clang_kernel_name and links both copies. */
int clang_run_kernel(int which, int reps);

#endif
