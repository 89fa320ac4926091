/* SPDX-License-Identifier: Apache-2.0 */
/* Granary's side of the wasm runtime (implemented in rt.c next to the
 * wasm-rt.h interface that generated code uses): trap frames for calls into
 * guest code, 8 GiB guarded memory reservations, per-thread limits. */
#ifndef GR_ENGINE_RT_H
#define GR_ENGINE_RT_H

#include <stddef.h>
#include <stdint.h>

#include "engine/wasm-rt.h"

#define GR_WASM_PAGE 65536u
/* Address space reserved per linear memory: 4 GiB of addressable memory plus
 * 4 GiB so that any u32 address + u32 offset lands in a guard page. */
#define GR_RT_RESERVATION (8ull << 30)
/* Inaccessible bytes after the maximum of a bounds-checked memory. Checked
 * code never reaches them (every access, v128 ones included, is checked
 * for its last byte); the page is defence in depth, so that a check a
 * compiler bug dropped faults instead of reading the next memory. */
#define GR_RT_BOUNDS_TAIL 4096u

/* Memory strategies (chosen per module by the granary backend). GUARD:
 * loads and stores are unchecked and every memory reserves
 * GR_RT_RESERVATION, so any u32 address plus u32 offset lands in a guard
 * page. BOUNDS: the code checks each access against the size, and the
 * memory reserves its maximum (after the page limit) plus
 * GR_RT_BOUNDS_TAIL: for small maxima, far more memories per process. */
enum gr_rt_mem_strategy
{
    GR_RT_MEM_GUARD = 0,
    GR_RT_MEM_BOUNDS = 1,
};

/* Why a guest call ended early. Values below GR_TRAP_EXIT are the
 * wasm_rt_trap_t codes raised by generated code. */
enum gr_trap_kind
{
    GR_TRAP_NONE = 0,
    GR_TRAP_OOB = WASM_RT_TRAP_OOB,
    GR_TRAP_INT_OVERFLOW = WASM_RT_TRAP_INT_OVERFLOW,
    GR_TRAP_DIV_BY_ZERO = WASM_RT_TRAP_DIV_BY_ZERO,
    GR_TRAP_INVALID_CONVERSION = WASM_RT_TRAP_INVALID_CONVERSION,
    GR_TRAP_UNREACHABLE = WASM_RT_TRAP_UNREACHABLE,
    GR_TRAP_CALL_INDIRECT = WASM_RT_TRAP_CALL_INDIRECT,
    GR_TRAP_UNCAUGHT_EXCEPTION = WASM_RT_TRAP_UNCAUGHT_EXCEPTION,
    GR_TRAP_EXHAUSTION = WASM_RT_TRAP_EXHAUSTION,
    GR_TRAP_EXIT = 100, /* proc_exit: exit_code holds the status */
    GR_TRAP_TIMEOUT,    /* the call's deadline passed */
    GR_TRAP_OOM,        /* the runtime could not allocate memory/tables */
    GR_TRAP_HOST,       /* a host function aborted the call */
};

/* The outcome of a guest call that did not return normally. */
typedef struct gr_trap
{
    enum gr_trap_kind kind;
    int exit_code; /* for GR_TRAP_EXIT */
} gr_trap;

/* Short stable name of a trap kind ("out of bounds memory access", ...). */
const char* gr_trap_name(enum gr_trap_kind kind);

/* Installs the fault handlers (SIGSEGV/SIGBUS/SIGFPE) once per process.
 * Idempotent and thread-safe; called by gr_rt_call and the engine. */
void gr_rt_init(void);

/* (Re)installs the fault handlers if something replaced them (test
 * frameworks such as cmocka install their own per test). Faults that are
 * not Granary's are forwarded to the handler that was there before. */
void gr_rt_install_handlers(void);

typedef void (*gr_rt_thunk)(void* arg);

/* Runs fn(arg) under a trap frame on the calling thread. Returns 0 when fn
 * returned, GR_EEXIT when the guest called proc_exit (trap->exit_code set),
 * GR_ETRAP otherwise (trap->kind set). Frames nest: a host function may call
 * back into the guest. The thread gets an alternate signal stack on first
 * use so a native stack overflow is reported as GR_TRAP_EXHAUSTION. */
int gr_rt_call(gr_rt_thunk fn, void* arg, gr_trap* trap);

/* As gr_rt_call, with a deadline timeout_ns from now (0 = none; nested
 * calls keep the nearest deadline of their callers). Past the deadline the
 * call ends with GR_TRAP_TIMEOUT as soon as the thread is executing
 * generated code (never inside a host function, which may hold locks; a
 * blocking host call sees EINTR). A watchdog thread checks deadlines every
 * 2 ms and signals overdue threads with SIGRTMIN+3 (never more than one
 * pending per thread, however long the thread goes unscheduled); the cost
 * per call is two atomic stores. */
int gr_rt_call_timeout(gr_rt_thunk fn,
                       void* arg,
                       gr_trap* trap,
                       uint64_t timeout_ns);
/* (gr_rt_call_timeout with a deadline returns
 * -EAGAIN without running fn when this thread cannot be watched: more than
 * 65,536 threads have made calls with deadlines, or out of memory.) */

/* Deadlines seen from host functions. A blocking host call (sleep, poll,
 * lock, wait for a child, receive, join) must never wait past
 * gr_rt_deadline(): it waits at most until then, and on reaching it
 * releases what it holds and returns to the guest with an error, or calls
 * gr_rt_check_deadline() to end the call as a timeout.
 *
 * gr_rt_deadline: the CLOCK_MONOTONIC ns deadline in force for the
 * innermost guest call of this thread, 0 when there is none.
 * gr_rt_deadline_passed: 1 when that deadline has passed.
 * gr_rt_check_deadline: if it has passed, leaves the innermost guest call
 * with GR_TRAP_TIMEOUT (only from a host function holding no locks or
 * resources that the unwind would leak). */
uint64_t gr_rt_deadline(void);
int gr_rt_deadline_passed(void);
void gr_rt_check_deadline(void);

/* Cancelling another thread's guest calls (an MPI world ends every rank
 * when one fails). gr_rt_thread_self: the calling thread's handle (it
 * claims the thread's watchdog slot; NULL if none can be had), valid until
 * the thread exits: whoever keeps a handle must stop using it before then.
 * gr_rt_cancel(t): from now on t's guest calls behave as if their deadline
 * had passed: gr_rt_deadline() on t returns the cancel time, so blocking
 * host calls end, and generated code is unwound with GR_TRAP_TIMEOUT, but
 * only inside calls made with a deadline (gr_rt_call_timeout with a
 * non-zero timeout: use a far one if the call needs none). Thread-safe,
 * idempotent. gr_rt_cancel_clear: undoes a cancel of the calling thread
 * (before it runs unrelated calls). gr_rt_cancelled: 1 if the calling
 * thread is cancelled. */
typedef struct gr_rt_thread gr_rt_thread;
gr_rt_thread* gr_rt_thread_self(void);
void gr_rt_cancel(gr_rt_thread* t);
void gr_rt_cancel_clear(void);
int gr_rt_cancelled(void);

/* Number of timeout signals this process has handled (for tests: the
 * watchdog never has more than one pending per thread). */
unsigned long gr_rt_timeout_signals(void);

/* Registers [start, start+len) as generated code (the engine does this for
 * each loaded object) so deadlines may interrupt it. Returns 0, -ENOSPC
 * (1,048,576 ranges are registered) or -ENOMEM; the engine then refuses to
 * load the object. */
int gr_rt_code_register(const void* start, size_t len);
void gr_rt_code_unregister(const void* start);

/* For tests: lowers the number of code ranges and of threads with
 * deadlines the runtime accepts (0 = the built-in maximum). */
void gr_rt_test_set_limits(size_t code_ranges, size_t watched_threads);

/* Leaves the innermost trap frame of this thread with the given trap. Only
 * valid inside gr_rt_call (host functions use it for proc_exit). */
__attribute__((noreturn)) void gr_rt_raise(enum gr_trap_kind kind,
                                           int exit_code);

/* Per-thread cap on linear memory pages applied by the next
 * wasm_rt_allocate_memory / wasm_rt_grow_memory on this thread (0 = the
 * wasm maximum, 65536 pages). Set by the instance layer around instantiate. */
void gr_rt_set_page_limit(uint32_t max_pages);

/* Per-thread strategy (gr_rt_mem_strategy) of the memories the next
 * wasm_rt_allocate_memory / gr_rt_memory_map_fd on this thread create
 * (default GR_RT_MEM_GUARD). Set by the instance layer around instantiate
 * and restore of objects whose code checks bounds, then set back. */
void gr_rt_set_memory_strategy(int strategy);

/* The address space a memory of max_pages (already clamped) reserves
 * under a strategy. */
size_t gr_rt_reservation_bytes(int strategy, uint32_t max_pages);

/* The bytes reserved for mem's memory (0 when mem has none). Takes the
 * registry lock. */
size_t gr_rt_memory_reserved(const wasm_rt_memory_t* mem);

/* Memory groups: make dst use src's linear memory (same reservation, same
 * pages). dst must not own a memory (freshly freed or never allocated). A
 * grow through any member updates every member. Returns 0 or -ENOMEM. */
int gr_rt_memory_join(wasm_rt_memory_t* dst, const wasm_rt_memory_t* src);

/* Removes mem from its group (without unmapping if others remain). */
void gr_rt_memory_leave(wasm_rt_memory_t* mem);

/* Copies src's fields (data, pages, max_pages, size) into dst, a plain
 * record that neither owns nor joins the memory (an instance image).
 * Under the registry lock, so a grow by another thread of src's instance
 * is seen whole or not at all. */
void gr_rt_memory_copy_fields(wasm_rt_memory_t* dst,
                              const wasm_rt_memory_t* src);

/* Snapshot support. Creates mem (as wasm_rt_allocate_memory would) with
 * its first `pages` pages mapped MAP_PRIVATE from fd (copy-on-write: no
 * copy is made, a page is copied only when written). max_pages is clamped
 * like the declared maximum. Returns 0, -EINVAL or -ENOMEM. */
int gr_rt_memory_map_fd(wasm_rt_memory_t* mem,
                        int fd,
                        uint32_t pages,
                        uint32_t max_pages);

/* Resets a memory created by gr_rt_memory_map_fd(fd) back to the fd's
 * contents without unmapping it: pages beyond `pages` (grown since) become
 * inaccessible again, the byte ranges in remap (page aligned [start, end):
 * e.g. shared-state segments mapped into the memory during a call) get the
 * fd's private mapping back, and private copies in [0, pages) are dropped
 * (MADV_DONTNEED) so the next access sees the file again. Every member of
 * the memory's group sees the new size. Returns 0 or -errno. */
int gr_rt_memory_reset(wasm_rt_memory_t* mem,
                       int fd,
                       uint32_t pages,
                       const uint64_t (*remap)[2],
                       size_t n_remap);

/* Maps fd[fd_offset, fd_offset+len) MAP_SHARED over the linear-memory
 * range [offset, offset+len), which must lie inside the current size and be
 * 4 KiB aligned (host and wasm alignment agree: the base is page aligned).
 * Writes through the mapping are seen by every other mapping of fd. The
 * mapping survives memory.grow; gr_rt_memory_reset removes it (list it in
 * remap). Returns 0, -EINVAL or -errno. */
int gr_rt_memory_map_shared(wasm_rt_memory_t* mem,
                            uint64_t offset,
                            uint64_t len,
                            int fd,
                            uint64_t fd_offset);

/* Number of 8 GiB reservations currently held in the pool, and of smaller
 * (bounds-checked) ones, which are reused only at their exact size (for
 * tests). */
size_t gr_rt_pool_size(void);
size_t gr_rt_small_pool_size(void);

#endif
