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

/* Where the threads of one call get their slots: the executor slots of a
 * scheduler (src/sched), the pool calls take theirs from. An embedder that
 * has one points gr_host_ctx.thread_slots at it for the duration of one
 * call (borrowed: it must stay valid until gr_threads_end returned); NULL
 * keeps the CPU-count rule of gr_threads_limit (granary run). The
 * functions run on guest threads: they must not block, and must take no
 * lock a guest call may hold.
 *
 * With a source, every thread of the call other than the main one is a
 * thread granule that holds one slot while it is alive:
 * - granary thread_limit tops up the call's grant: it takes free slots
 *   (at most the CPU cap less one, or want less one) and returns 1 + the
 *   slots the call holds (or want, when set). The grant stays with the
 *   call until it ends, so that the threads it announced can be spawned;
 * - thread-spawn uses a held slot that no live thread of the call uses,
 *   or takes a new one (given back when that thread ends); when none is
 *   free it fails with EAGAIN (-6), unless want allows the thread (then
 *   it runs without a slot, oversubscribing the host);
 * - gr_threads_end gives every slot the call holds back, whatever ended it
 *   (return, trap, proc_exit, timeout). */
typedef struct gr_threads_slots
{
    void* ctx;
    /* Takes up to n (> 0) free slots now, without waiting; returns how
     * many it took (0..n). */
    int (*take)(void* ctx, int n);
    /* Gives back n slots that take returned. */
    void (*give)(void* ctx, int n);
    /* Optional: a thread granule of the call started (delta 1) or ended
     * (-1), or a spawn was refused for want of a slot (0). */
    void (*event)(void* ctx, int delta);
    /* The threads the user asked this call to run (the main one
     * included): thread_limit returns it and spawns up to it are allowed
     * even without free slots. 0 = only what the slots grant. */
    int want;
} gr_threads_slots;

/* How many threads of a call (the caller included) may run at once on
 * this host now, without a slot source: the CPUs this process may use,
 * less the busy guest threads of all calls and the caller, plus one; at
 * least 1 and at most the number of CPUs ($GRANARY_THREAD_LIMIT, read
 * once, raises or lowers that cap). Thread-safe. */
int gr_threads_limit(void);

/* The cap of gr_threads_limit: the CPU count or $GRANARY_THREAD_LIMIT. */
int gr_threads_cap(void);

typedef struct gr_threads_stats
{
    size_t workers;        /* host threads in the pool now */
    size_t idle;           /* of which waiting for work */
    size_t busy;           /* running a guest thread */
    unsigned long created; /* host threads created so far */
    unsigned long spawned; /* guest threads run so far */
    size_t busy_peak;      /* most busy at once since the last
                              gr_threads_reset_peak */
} gr_threads_stats;

/* The process-wide pool of host threads (for tests and metrics). */
void gr_threads_get_stats(gr_threads_stats* st);
/* Restarts busy_peak from the busy count now (tests). */
void gr_threads_reset_peak(void);

#endif
