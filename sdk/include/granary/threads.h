/* SPDX-License-Identifier: Apache-2.0 */
/* Host calls for threaded guests (granary-cc -pthread or -fopenmp). Threads
 * themselves are the standard wasi-threads ABI: the import "wasi"
 * "thread-spawn" and the export wasi_thread_start, both handled by the SDK's
 * thread library (sdk/lib/pthread); programs use <pthread.h>. */
#ifndef GRANARY_THREADS_H
#define GRANARY_THREADS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C"
{
#endif

    /* How many threads of this call may run at once on this host, the calling
     * thread included (>= 1): what a parallel region should size its team to.
     * Whether more threads than this can be created is the host's choice:
     * thread-spawn fails with a negative error when it refuses one. */
    __attribute__((import_module("granary"), import_name("thread_limit")))
    int32_t
    granary_thread_limit(void);

    /* The raw wasi-threads spawn: starts wasi_thread_start(tid, start_arg) in a
     * new instance on this memory. Returns the new thread's id (> 0) or a
     * negative error. pthread_create is built on it; call it directly only
     * with your own wasi_thread_start. */
    __attribute__((import_module("wasi"), import_name("thread-spawn"))) int32_t
    granary_thread_spawn(uint32_t start_arg);

#ifdef __cplusplus
}
#endif
#endif
