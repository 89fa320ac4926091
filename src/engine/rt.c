/* SPDX-License-Identifier: Apache-2.0 */
/* Granary's implementation of the wasm2c runtime interface (wasm-rt.h),
 * part one: trap frames, fault and deadline handling, function types and
 * exceptions. Memories and tables are in rt_memory.c. Out-of-bounds
 * accesses fault into a guard page and the fault handler turns them into a
 * trap on the faulting thread. */
#include "engine/rt.h"
#include "engine/rt_int.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include <granary/status.h>

#include "util/alloc.h"

/* ---- trap frames -------------------------------------------------------- */

struct frame
{
    sigjmp_buf buf;
    struct frame* prev;
    enum gr_trap_kind kind;
    int exit_code;
    uint64_t deadline; /* CLOCK_MONOTONIC ns; 0 = none */
    uint32_t depth, wrt_depth;
};

/* Per-thread state; touched only by its own thread (and by the fault
 * handler running on that thread). */
static _Thread_local struct frame* current_frame;
static _Thread_local uintptr_t stack_lo, stack_hi;
static _Thread_local void* alt_stack;
/* This thread's entry in the watchdog's table (see "deadlines" below). */
static _Thread_local struct watched* watch_slot;
/* Call depth of objects built with explicit bounds checks (they count
 * depth instead of relying on the guard page below the stack); defined
 * always, because the host itself is built in guard-page mode. */
extern _Thread_local uint32_t wasm_rt_call_stack_depth;
_Thread_local uint32_t wasm_rt_call_stack_depth;
/* The same for objects of Granary's own code generator (src/wasm/wrt.h:
 * every call counts; a trap unwinds past the decrements). */
extern _Thread_local uint32_t wrt_depth;
_Thread_local uint32_t wrt_depth;

#define ALT_STACK_SIZE (64 * 1024)
/* A fault this far below the lowest usable stack address is a stack
 * overflow of wasm code (big frames can skip a whole guard page). */
#define STACK_GUARD_SLACK (1024 * 1024)

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static atomic_bool initialized;
static pthread_key_t thread_key;
static struct sigaction old_segv, old_bus;

/* ---- generated-code ranges ------------------------------------------------
 * A deadline may only unwind a thread that is executing generated code (it
 * holds no host locks there); in a host function the unwind is retried a
 * little later. Text ranges of loaded objects are published lock-free. */

/* Chunks of ranges allocated on demand and never freed (the signal handler
 * reads them without locks): 1,048,576 ranges in all, far beyond what the
 * process can dlopen. A registration beyond the limit fails (and the load
 * with it) instead of running code that deadlines cannot interrupt. */
#define CODE_CHUNK 1024
#define CODE_CHUNKS 1024

struct code_range
{
    _Atomic uintptr_t start, end;
};

static struct code_range* _Atomic code_chunks[CODE_CHUNKS];
static atomic_size_t code_high; /* ranges [0, code_high) may be in use */
static size_t code_limit = (size_t)CODE_CHUNK * CODE_CHUNKS;
static pthread_mutex_t code_lock = PTHREAD_MUTEX_INITIALIZER;

int
gr_rt_code_register(const void* start, size_t len)
{
    int rc = -ENOSPC;
    pthread_mutex_lock(&code_lock);
    for (size_t i = 0; i < code_limit; i++) {
        struct code_range* c = atomic_load(&code_chunks[i / CODE_CHUNK]);
        if (!c) {
            c = calloc(CODE_CHUNK, sizeof *c);
            if (!c) {
                rc = -ENOMEM;
                break;
            }
            atomic_store(&code_chunks[i / CODE_CHUNK], c);
        }
        struct code_range* r = &c[i % CODE_CHUNK];
        if (!atomic_load(&r->start)) {
            atomic_store(&r->end, (uintptr_t)start + len);
            atomic_store(&r->start, (uintptr_t)start);
            if (atomic_load(&code_high) < i + 1)
                atomic_store(&code_high, i + 1);
            rc = 0;
            break;
        }
    }
    pthread_mutex_unlock(&code_lock);
    return rc;
}

void
gr_rt_code_unregister(const void* start)
{
    pthread_mutex_lock(&code_lock);
    size_t n = atomic_load(&code_high);
    for (size_t i = 0; i < n; i++) {
        struct code_range* c = atomic_load(&code_chunks[i / CODE_CHUNK]);
        if (c && atomic_load(&c[i % CODE_CHUNK].start) == (uintptr_t)start)
            atomic_store(&c[i % CODE_CHUNK].start, 0);
    }
    pthread_mutex_unlock(&code_lock);
}

static int
in_generated_code(uintptr_t pc)
{
    size_t n = atomic_load_explicit(&code_high, memory_order_acquire);
    for (size_t i = 0; i < n; i++) {
        struct code_range* c = atomic_load_explicit(
          &code_chunks[i / CODE_CHUNK], memory_order_acquire);
        if (!c)
            continue;
        uintptr_t st =
          atomic_load_explicit(&c[i % CODE_CHUNK].start, memory_order_acquire);
        if (st && pc >= st && pc < atomic_load(&c[i % CODE_CHUNK].end))
            return 1;
    }
    return 0;
}

static uintptr_t
interrupted_pc(void* uc)
{
    ucontext_t* u = uc;
#if defined(__x86_64__)
    return (uintptr_t)u->uc_mcontext.gregs[REG_RIP];
#elif defined(__aarch64__)
    return (uintptr_t)u->uc_mcontext.pc;
#else
    (void)u;
    return 0;
#endif
}

static uint64_t
mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- deadlines --------------------------------------------------------------
 * A call with a deadline publishes it in its thread's slot of a table; one
 * watchdog thread scans the table every WATCH_TICK_NS and signals threads
 * whose deadline has passed. A call pays two atomic stores, no syscall. The
 * signal handler unwinds only if the thread is executing generated code;
 * otherwise the watchdog signals it again on a later tick. */

#define TIMEOUT_SIGNAL (SIGRTMIN + 3)
#define WATCH_TICK_NS 2000000u
/* The watched table grows in chunks (never freed: the watchdog reads them
 * without locks) up to 65,536 threads. A call that needs a deadline on a
 * thread that cannot get a slot is refused, never run without one. */
#define WATCH_CHUNK 1024
#define WATCH_CHUNKS 64

struct watched
{
    _Atomic uint64_t deadline; /* 0 = none */
    _Atomic int used;
    /* 1 from the watchdog's pthread_kill until the handler has run: at most
     * one timeout signal is ever pending per thread (real-time signals
     * queue, and with SA_NODEFER every queued one would stack a frame on
     * the alternate stack when the thread runs again). */
    _Atomic int pending;
    /* gr_rt_cancel: CLOCK_MONOTONIC ns at which the thread's calls were
     * cancelled (0 = not); acts as a deadline already passed. */
    _Atomic uint64_t cancel_at;
    pthread_t thread;
};

/* Timeout signals handled in this process (for tests). */
static atomic_ulong timeout_signals;

static struct watched* _Atomic watch_chunks[WATCH_CHUNKS];
static atomic_size_t watched_high;
static size_t watch_limit = (size_t)WATCH_CHUNK * WATCH_CHUNKS;
static pthread_mutex_t watch_grow_lock = PTHREAD_MUTEX_INITIALIZER;

/* Slot i, or NULL if its chunk does not exist (yet). */
static struct watched*
watched_at(size_t i)
{
    struct watched* c = atomic_load_explicit(&watch_chunks[i / WATCH_CHUNK],
                                             memory_order_acquire);
    return c ? &c[i % WATCH_CHUNK] : NULL;
}
static pthread_once_t watchdog_once = PTHREAD_ONCE_INIT;

static void*
watchdog_main(void* arg)
{
    (void)arg;
    for (;;) {
        struct timespec tick = { 0, WATCH_TICK_NS };
        nanosleep(&tick, NULL);
        uint64_t now = mono_ns();
        size_t n = atomic_load(&watched_high);
        for (size_t i = 0; i < n; i++) {
            struct watched* w = watched_at(i);
            if (!w)
                continue;
            uint64_t d =
              atomic_load_explicit(&w->deadline, memory_order_acquire);
            uint64_t c = atomic_load(&w->cancel_at);
            if (d && c && c < d)
                d = c;
            if (d && d <= now && atomic_load(&w->used) &&
                !atomic_exchange(&w->pending, 1) &&
                pthread_kill(__atomic_load_n(&w->thread, __ATOMIC_RELAXED),
                             TIMEOUT_SIGNAL) != 0)
                atomic_store(&w->pending, 0);
        }
    }
    return NULL;
}

static void
start_watchdog(void)
{
    pthread_t t;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    /* Signals for guest threads must never land on the watchdog. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    if (pthread_create(&t, &attr, watchdog_main, NULL) != 0)
        fputs("granary: cannot start the deadline watchdog\n", stderr);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_attr_destroy(&attr);
}

/* This thread's slot, claimed on first use; NULL if none can be had (the
 * table is at its limit or out of memory): the caller refuses the call. */
static struct watched*
my_watch_slot(void)
{
    if (watch_slot)
        return watch_slot;
    pthread_once(&watchdog_once, start_watchdog);
    for (size_t i = 0; i < watch_limit; i++) {
        struct watched* w = watched_at(i);
        if (!w) {
            pthread_mutex_lock(&watch_grow_lock);
            if (!(w = watched_at(i))) {
                struct watched* c = calloc(WATCH_CHUNK, sizeof *c);
                if (c)
                    atomic_store_explicit(
                      &watch_chunks[i / WATCH_CHUNK], c, memory_order_release);
                w = watched_at(i);
            }
            pthread_mutex_unlock(&watch_grow_lock);
            if (!w)
                break;
        }
        int free_slot = 0;
        if (atomic_compare_exchange_strong(&w->used, &free_slot, 1)) {
            /* Atomic: the watchdog may still be looking at the slot's
             * previous owner. */
            __atomic_store_n(&w->thread, pthread_self(), __ATOMIC_RELAXED);
            atomic_store(&w->deadline, 0);
            atomic_store(&w->pending, 0);
            atomic_store(&w->cancel_at, 0);
            size_t high = atomic_load(&watched_high);
            while (high < i + 1 &&
                   !atomic_compare_exchange_weak(&watched_high, &high, i + 1))
                ;
            watch_slot = w;
            return watch_slot;
        }
    }
    static atomic_int warned;
    if (!atomic_exchange(&warned, 1))
        fprintf(stderr,
                "granary: no deadline slot for another thread (%zu threads "
                "have one); calls with a timeout on it are refused\n",
                watch_limit);
    return NULL;
}

void
gr_rt_test_set_limits(size_t code_ranges, size_t watched_threads)
{
    pthread_mutex_lock(&code_lock);
    code_limit = code_ranges && code_ranges < (size_t)CODE_CHUNK * CODE_CHUNKS
                   ? code_ranges
                   : (size_t)CODE_CHUNK * CODE_CHUNKS;
    pthread_mutex_unlock(&code_lock);
    pthread_mutex_lock(&watch_grow_lock);
    watch_limit =
      watched_threads && watched_threads < (size_t)WATCH_CHUNK * WATCH_CHUNKS
        ? watched_threads
        : (size_t)WATCH_CHUNK * WATCH_CHUNKS;
    pthread_mutex_unlock(&watch_grow_lock);
}

static void
publish_deadline(uint64_t d)
{
    if (watch_slot)
        atomic_store_explicit(&watch_slot->deadline, d, memory_order_release);
}

/* The deadline in force for frame f: the nearest of its own and its
 * callers'. */
static uint64_t
effective_deadline(const struct frame* f)
{
    uint64_t d = 0;
    for (; f; f = f->prev)
        if (f->deadline && (!d || f->deadline < d))
            d = f->deadline;
    return d;
}

static void init_thread(void);

/* effective_deadline, brought forward to the cancel time when this thread
 * was cancelled (gr_rt_cancel) and is inside a guest call. */
static uint64_t
deadline_in_force(const struct frame* f)
{
    uint64_t d = effective_deadline(f);
    if (f && watch_slot) {
        uint64_t c = atomic_load(&watch_slot->cancel_at);
        if (c && (!d || c < d))
            d = c;
    }
    return d;
}

gr_rt_thread*
gr_rt_thread_self(void)
{
    init_thread();
    return (gr_rt_thread*)my_watch_slot();
}

void
gr_rt_cancel(gr_rt_thread* t)
{
    struct watched* w = (struct watched*)t;
    uint64_t none = 0;
    if (w)
        atomic_compare_exchange_strong(&w->cancel_at, &none, mono_ns());
}

void
gr_rt_cancel_clear(void)
{
    if (watch_slot)
        atomic_store(&watch_slot->cancel_at, 0);
}

int
gr_rt_cancelled(void)
{
    return watch_slot && atomic_load(&watch_slot->cancel_at) != 0;
}

static void
timeout_handler(int sig, siginfo_t* si, void* uc)
{
    (void)sig;
    (void)si;
    atomic_fetch_add_explicit(&timeout_signals, 1, memory_order_relaxed);
    struct frame* f = current_frame;
    uint64_t deadline = deadline_in_force(f);
    /* Allow the next signal only once this one is done with (the handler
     * runs with SA_NODEFER, so clearing earlier could nest frames). */
    if (watch_slot)
        atomic_store(&watch_slot->pending, 0);
    if (!f || !deadline || mono_ns() < deadline)
        return; /* stale signal: the call already ended */
    if (!in_generated_code(interrupted_pc(uc)))
        return; /* in a host function: the watchdog retries next tick */
    f->kind = GR_TRAP_TIMEOUT;
    siglongjmp(f->buf, 1);
}

unsigned long
gr_rt_timeout_signals(void)
{
    return atomic_load(&timeout_signals);
}

uint64_t
gr_rt_deadline(void)
{
    return deadline_in_force(current_frame);
}

int
gr_rt_deadline_passed(void)
{
    uint64_t d = deadline_in_force(current_frame);
    return d && mono_ns() >= d;
}

void
gr_rt_check_deadline(void)
{
    if (gr_rt_deadline_passed())
        gr_rt_raise(GR_TRAP_TIMEOUT, 0);
}

/* ---- signals ------------------------------------------------------------- */

static void
forward_fault(int sig, siginfo_t* si, void* uc)
{
    struct sigaction* old = sig == SIGSEGV ? &old_segv : &old_bus;
    if (old->sa_flags & SA_SIGINFO && old->sa_sigaction) {
        old->sa_sigaction(sig, si, uc);
        return;
    }
    if (old->sa_handler != SIG_DFL && old->sa_handler != SIG_IGN &&
        old->sa_handler) {
        old->sa_handler(sig);
        return;
    }
    /* Not ours: restore the default action and let the fault recur. */
    signal(sig, SIG_DFL);
}

static void
fault_handler(int sig, siginfo_t* si, void* uc)
{
    struct frame* f = current_frame;
    uintptr_t addr = (uintptr_t)si->si_addr;
    if (!f) {
        forward_fault(sig, si, uc);
        return;
    }
    if (gr__rt_address_in_region(addr)) {
        f->kind = GR_TRAP_OOB;
        siglongjmp(f->buf, 1);
    }
    if (stack_lo && addr < stack_hi && addr + STACK_GUARD_SLACK >= stack_lo &&
        addr < stack_lo + 4096 * 4) {
        f->kind = GR_TRAP_EXHAUSTION;
        siglongjmp(f->buf, 1);
    }
    forward_fault(sig, si, uc);
}

static void
thread_exit(void* p)
{
    if (watch_slot) {
        atomic_store(&watch_slot->deadline, 0);
        atomic_store(&watch_slot->used, 0);
        watch_slot = NULL;
    }
    if (p == (void*)1)
        return; /* the alternate stack was someone else's */
    stack_t ss = { .ss_flags = SS_DISABLE };
    sigaltstack(&ss, NULL);
    munmap(p, ALT_STACK_SIZE);
}

void
gr_rt_install_handlers(void)
{
    struct sigaction sa, cur;
    if (sigaction(SIGSEGV, NULL, &cur) == 0 &&
        cur.sa_sigaction == fault_handler)
        return;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = fault_handler;
    /* SA_NODEFER: we leave the handler by siglongjmp without restoring the
     * mask, so the signal must not stay blocked. */
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGSEGV, &sa, &old_segv);
    sigaction(SIGBUS, &sa, &old_bus);
    struct sigaction ta;
    memset(&ta, 0, sizeof ta);
    ta.sa_sigaction = timeout_handler;
    /* No SA_RESTART: a blocking host call returns EINTR so the guest gets
     * back to generated code, where the deadline can unwind it. */
    ta.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
    sigemptyset(&ta.sa_mask);
    sigaction(TIMEOUT_SIGNAL, &ta, NULL);
}

static void
init_process(void)
{
    pthread_key_create(&thread_key, thread_exit);
    gr_rt_install_handlers();
    atomic_store(&initialized, true);
}

void
gr_rt_init(void)
{
    pthread_once(&init_once, init_process);
}

/* Gives this thread an alternate signal stack (so a fault caused by stack
 * overflow can still be handled) and records its stack bounds. */
static void
init_thread(void)
{
    if (alt_stack)
        return;
    gr_rt_init();
    void* p = mmap(NULL,
                   ALT_STACK_SIZE,
                   PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS,
                   -1,
                   0);
    if (p == MAP_FAILED)
        return; /* overflow then kills the process; nothing better to do */
    stack_t ss = { .ss_sp = p, .ss_size = ALT_STACK_SIZE };
    stack_t old;
    if (sigaltstack(NULL, &old) == 0 && !(old.ss_flags & SS_DISABLE) &&
        old.ss_size >= ALT_STACK_SIZE) {
        /* Someone (e.g. ASan) already installed one; keep it. */
        munmap(p, ALT_STACK_SIZE);
        p = (void*)1;
        pthread_setspecific(thread_key, p); /* for thread_exit */
    } else if (sigaltstack(&ss, NULL) < 0) {
        munmap(p, ALT_STACK_SIZE);
        return;
    } else {
        pthread_setspecific(thread_key, p);
    }
    alt_stack = p;
    pthread_attr_t attr;
    if (pthread_getattr_np(pthread_self(), &attr) == 0) {
        void* addr;
        size_t size;
        if (pthread_attr_getstack(&attr, &addr, &size) == 0) {
            stack_lo = (uintptr_t)addr;
            stack_hi = (uintptr_t)addr + size;
        }
        pthread_attr_destroy(&attr);
    }
}

int
gr_rt_call(gr_rt_thunk fn, void* arg, gr_trap* trap)
{
    return gr_rt_call_timeout(fn, arg, trap, 0);
}

static void
rearm_for(const struct frame* f)
{
    publish_deadline(effective_deadline(f));
}

int
gr_rt_call_timeout(gr_rt_thunk fn,
                   void* arg,
                   gr_trap* trap,
                   uint64_t timeout_ns)
{
    init_thread();
    struct frame f;
    f.prev = current_frame;
    f.kind = GR_TRAP_NONE;
    f.exit_code = 0;
    f.deadline = timeout_ns ? mono_ns() + timeout_ns : 0;
    if (f.deadline && !my_watch_slot()) {
        if (trap) {
            trap->kind = GR_TRAP_NONE;
            trap->exit_code = 0;
        }
        return -EAGAIN; /* no way to enforce the deadline: refuse */
    }
    f.depth = wasm_rt_call_stack_depth;
    f.wrt_depth = wrt_depth;
    /* volatile: read after a siglongjmp back into this frame */
    struct frame* volatile fp = &f;
    int rearm = f.deadline != 0;
    if (sigsetjmp(f.buf, 0) == 0) {
        current_frame = &f;
        if (rearm)
            rearm_for(&f);
        fn(arg);
        current_frame = f.prev;
        if (rearm)
            rearm_for(f.prev);
        if (trap) {
            trap->kind = GR_TRAP_NONE;
            trap->exit_code = 0;
        }
        return 0;
    }
    current_frame = fp->prev;
    if (fp->deadline || fp->kind == GR_TRAP_TIMEOUT)
        rearm_for(fp->prev);
    wasm_rt_call_stack_depth = fp->depth;
    wrt_depth = fp->wrt_depth;
    if (trap) {
        trap->kind = fp->kind;
        trap->exit_code = fp->exit_code;
    }
    return fp->kind == GR_TRAP_EXIT ? GR_EEXIT : GR_ETRAP;
}

void
gr_rt_raise(enum gr_trap_kind kind, int exit_code)
{
    struct frame* f = current_frame;
    if (!f) {
        fprintf(stderr,
                "granary: trap '%s' outside of a guest call\n",
                gr_trap_name(kind));
        abort();
    }
    f->kind = kind;
    f->exit_code = exit_code;
    siglongjmp(f->buf, 1);
}

void
wasm_rt_trap(wasm_rt_trap_t code)
{
    gr_rt_raise((enum gr_trap_kind)code, 0);
}

const char*
gr_trap_name(enum gr_trap_kind kind)
{
    switch (kind) {
        case GR_TRAP_NONE:
            return "none";
        case GR_TRAP_OOB:
            return "out of bounds memory access";
        case GR_TRAP_INT_OVERFLOW:
            return "integer overflow";
        case GR_TRAP_DIV_BY_ZERO:
            return "integer divide by zero";
        case GR_TRAP_INVALID_CONVERSION:
            return "invalid conversion to integer";
        case GR_TRAP_UNREACHABLE:
            return "unreachable executed";
        case GR_TRAP_CALL_INDIRECT:
            return "indirect call to null or mismatched function";
        case GR_TRAP_UNCAUGHT_EXCEPTION:
            return "uncaught exception";
        case GR_TRAP_EXHAUSTION:
            return "call stack exhausted";
        case GR_TRAP_EXIT:
            return "exit";
        case GR_TRAP_TIMEOUT:
            return "timeout";
        case GR_TRAP_OOM:
            return "out of memory";
        case GR_TRAP_HOST:
            return "host function error";
    }
    return "unknown trap";
}

const char*
wasm_rt_strerror(wasm_rt_trap_t trap)
{
    return gr_trap_name((enum gr_trap_kind)trap);
}

void
wasm_rt_init(void)
{
    gr_rt_init();
}

bool
wasm_rt_is_initialized(void)
{
    return atomic_load(&initialized);
}

void
wasm_rt_free(void)
{
}

/* ---- function types --------------------------------------------------------
 * Signatures are interned process-wide so ids agree across modules. */

struct func_type
{
    uint32_t params, results;
    wasm_rt_type_t* types;
};

static pthread_mutex_t types_lock = PTHREAD_MUTEX_INITIALIZER;
static struct func_type* types;
static uint32_t n_types, cap_types;

uint32_t
wasm_rt_register_func_type(uint32_t params, uint32_t results, ...)
{
    uint32_t n = params + results;
    wasm_rt_type_t buf[64];
    wasm_rt_type_t* t = n <= 64 ? buf : malloc(n * sizeof *t);
    if (!t)
        gr_rt_raise(GR_TRAP_OOM, 0);
    va_list ap;
    va_start(ap, results);
    for (uint32_t i = 0; i < n; i++)
        t[i] = (wasm_rt_type_t)va_arg(ap, int);
    va_end(ap);

    pthread_mutex_lock(&types_lock);
    uint32_t id;
    for (id = 0; id < n_types; id++) {
        if (types[id].params == params && types[id].results == results &&
            memcmp(types[id].types, t, n * sizeof *t) == 0)
            goto out;
    }
    if (n_types == cap_types) {
        uint32_t cap = cap_types ? cap_types * 2 : 64;
        struct func_type* nt = realloc(types, cap * sizeof *nt);
        if (!nt)
            goto oom;
        types = nt;
        cap_types = cap;
    }
    types[id].types = malloc(n ? n * sizeof *t : 1);
    if (!types[id].types)
        goto oom;
    memcpy(types[id].types, t, n * sizeof *t);
    types[id].params = params;
    types[id].results = results;
    n_types++;
out:
    pthread_mutex_unlock(&types_lock);
    if (t != buf)
        free(t);
    /* id 0 is never handed out so a zeroed funcref never matches a type */
    return id + 1;
oom:
    pthread_mutex_unlock(&types_lock);
    if (t != buf)
        free(t);
    gr_rt_raise(GR_TRAP_OOM, 0);
}

/* ---- exceptions (unsupported: a throw traps) ----------------------------- */

static atomic_uint next_tag;

uint32_t
wasm_rt_register_tag(uint32_t size)
{
    (void)size;
    return atomic_fetch_add(&next_tag, 1);
}

void
wasm_rt_load_exception(uint32_t tag, uint32_t size, const void* values)
{
    (void)tag;
    (void)size;
    (void)values;
}

void
wasm_rt_throw(void)
{
    gr_rt_raise(GR_TRAP_UNCAUGHT_EXCEPTION, 0);
}

static _Thread_local WASM_RT_UNWIND_TARGET* unwind_target;

WASM_RT_UNWIND_TARGET*
wasm_rt_get_unwind_target(void)
{
    return unwind_target;
}

void
wasm_rt_set_unwind_target(WASM_RT_UNWIND_TARGET* target)
{
    unwind_target = target;
}

uint32_t
wasm_rt_exception_tag(void)
{
    return 0;
}

uint32_t
wasm_rt_exception_size(void)
{
    return 0;
}

void*
wasm_rt_exception(void)
{
    return NULL;
}
