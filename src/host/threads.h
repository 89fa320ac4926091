/* SPDX-License-Identifier: Apache-2.0 */
/* Guest threads (the wasi-threads ABI): the threads of one call run in
 * thread instances of the call's object (engine.h) on the call's shared
 * memory, on host threads taken from one process-wide pool. The import
 * functions (wasi thread-spawn, granary thread_limit) are in threads.c;
 * embedders (faaslets, granary run) only bracket a call: run it with
 * gr_threads_call_timeout and finish it with gr_threads_end. */
#ifndef GR_HOST_THREADS_H
#define GR_HOST_THREADS_H

#include <stddef.h>
#include <stdint.h>

#include "engine/engine.h"
#include "host/host.h"

/* Threads of one call alive at once, the main thread not counted; a
 * thread-spawn beyond it returns -6 (EAGAIN). */
#define GR_THREADS_MAX_PER_CALL 256u
/* The deadline a call of a threaded module gets when it has none: threads
 * can be stopped only inside calls with a deadline (gr_rt_cancel). */
#define GR_THREADS_FAR_TIMEOUT_NS (100ull * 365 * 86400 * 1000000000ull)

typedef struct gr_threads gr_threads;

/* 1 if o imports wasi thread-spawn (its calls may run several threads). */
int gr_threads_module_spawns(const gr_object* o);

/* The timeout to run a call of o with: timeout_ns, or, when it is 0 and o
 * spawns threads, GR_THREADS_FAR_TIMEOUT_NS. */
uint64_t gr_threads_call_timeout(const gr_object* o, uint64_t timeout_ns);

/* Ends the threads of the call that just ran on this thread with host
 * context h (call it after the main thread's guest call returned or
 * unwound, outside any guest call): every other thread still running is
 * stopped (its deadline brought forward to now, waiters woken, spinning
 * code interrupted) and waited for, so that afterwards no guest code of
 * the call runs and its memory may be reset. *rc and *trap hold the main
 * thread's outcome (as gr_instance_call_timeout gave it) and are replaced
 * by the outcome of the first other thread that trapped, exited
 * (proc_exit ends the whole call, wasi-threads' semantics) or ran past the
 * deadline before the call ended; *thread (may be NULL) gets that
 * thread's id, or 0 when the outcome is the main thread's. A no-op (with
 * *thread = 0) when the call spawned no thread. */
void gr_threads_end(gr_host_ctx* h, int* rc, gr_trap* trap, uint32_t* thread);

/* How many threads of a call (the caller included) may run at once on
 * this host now: the free executor slots (see gr_threads_set_slot_source;
 * without a source, the CPUs this process may use less the busy guest
 * threads of all calls and the caller) plus one, at least 1 and at most
 * the number of CPUs ($GRANARY_THREAD_LIMIT, read once, raises or lowers
 * that cap). Thread-safe. */
int gr_threads_limit(void);

/* Where gr_threads_limit learns the free executor slots (a scheduler sets
 * it; NULL removes it). fn runs on guest threads: it must be cheap and
 * take no lock that a guest call may hold. Process-wide. */
void gr_threads_set_slot_source(int (*fn)(void* ud), void* ud);

typedef struct gr_threads_stats
{
    size_t workers;        /* host threads in the pool now */
    size_t idle;           /* of which waiting for work */
    size_t busy;           /* running a guest thread */
    unsigned long created; /* host threads created so far */
    unsigned long spawned; /* guest threads run so far */
} gr_threads_stats;

/* The process-wide pool of host threads (for tests and metrics). */
void gr_threads_get_stats(gr_threads_stats* st);

#endif
