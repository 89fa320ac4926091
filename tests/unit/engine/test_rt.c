/* SPDX-License-Identifier: Apache-2.0 */
/* Runtime layer: memory reservations, growth, limits, memory groups, trap
 * frames (explicit traps, guard-page faults, native stack overflow, nesting,
 * threads), function-type interning. No compiled guest needed. */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <granary/status.h>

#include "engine/rt.h"

struct mem_op
{
    wasm_rt_memory_t* mem;
    uint64_t offset;
    uint8_t value;
};

static void
poke(void* p)
{
    struct mem_op* op = p;
    volatile uint8_t* d = op->mem->data;
    d[op->offset] = op->value;
}

static void
alloc_mem(void* p)
{
    wasm_rt_memory_t* m = p;
    wasm_rt_allocate_memory(m, 2, 10);
}

static void
test_memory_alloc_grow_free(void** state)
{
    (void)state;
    gr_rt_install_handlers(); /* cmocka installs its own per test */
    wasm_rt_memory_t m;
    assert_int_equal(gr_rt_call(alloc_mem, &m, NULL), 0);
    assert_non_null(m.data);
    assert_int_equal(m.pages, 2);
    assert_int_equal(m.size, 2 * GR_WASM_PAGE);
    assert_int_equal(m.max_pages, 10);

    struct mem_op ok = { &m, 2 * GR_WASM_PAGE - 1, 7 };
    assert_int_equal(gr_rt_call(poke, &ok, NULL), 0);
    assert_int_equal(m.data[2 * GR_WASM_PAGE - 1], 7);

    gr_trap t;
    struct mem_op oob = { &m, 2 * GR_WASM_PAGE, 1 };
    assert_int_equal(gr_rt_call(poke, &oob, &t), GR_ETRAP);
    assert_int_equal(t.kind, GR_TRAP_OOB);

    /* u32 address + u32 offset: the far end of the reservation traps too */
    struct mem_op far = { &m, 0xFFFFFFFFull + 0xFFFFull, 1 };
    assert_int_equal(gr_rt_call(poke, &far, &t), GR_ETRAP);
    assert_int_equal(t.kind, GR_TRAP_OOB);

    assert_int_equal(wasm_rt_grow_memory(&m, 3), 2);
    assert_int_equal(m.pages, 5);
    assert_int_equal(gr_rt_call(poke, &oob, &t), 0);
    assert_int_equal(wasm_rt_grow_memory(&m, 6), UINT32_MAX);
    assert_int_equal(wasm_rt_grow_memory(&m, 5), 5);
    assert_int_equal(wasm_rt_grow_memory(&m, 1), UINT32_MAX);
    assert_int_equal(wasm_rt_grow_memory(&m, 0), 10);
    wasm_rt_free_memory(&m);
    assert_null(m.data);
}

static void
test_freed_memory_is_zero_when_reused(void** state)
{
    (void)state;
    gr_rt_install_handlers(); /* cmocka installs its own per test */
    size_t before = gr_rt_pool_size();
    wasm_rt_memory_t m;
    assert_int_equal(gr_rt_call(alloc_mem, &m, NULL), 0);
    memset(m.data, 0xAB, m.size);
    uint8_t* base = m.data;
    wasm_rt_free_memory(&m);
    assert_true(gr_rt_pool_size() >= before);
    assert_int_equal(gr_rt_call(alloc_mem, &m, NULL), 0);
    /* reservations are reused, but never with old contents */
    for (uint32_t i = 0; i < m.size; i += 4096)
        assert_int_equal(m.data[i], 0);
    (void)base;
    wasm_rt_free_memory(&m);
}

static void
alloc_big(void* p)
{
    wasm_rt_memory_t* m = p;
    wasm_rt_allocate_memory(m, 20, 65536);
}

static void
test_page_limit(void** state)
{
    (void)state;
    gr_rt_install_handlers(); /* cmocka installs its own per test */
    wasm_rt_memory_t m;
    gr_trap t;
    gr_rt_set_page_limit(10);
    assert_int_equal(gr_rt_call(alloc_big, &m, &t), GR_ETRAP);
    assert_int_equal(t.kind, GR_TRAP_OOM);
    gr_rt_set_page_limit(30);
    assert_int_equal(gr_rt_call(alloc_big, &m, &t), 0);
    assert_int_equal(m.max_pages, 30);
    assert_int_equal(wasm_rt_grow_memory(&m, 11), UINT32_MAX);
    assert_int_equal(wasm_rt_grow_memory(&m, 10), 20);
    wasm_rt_free_memory(&m);
    gr_rt_set_page_limit(0);
}

static void
test_memory_group(void** state)
{
    (void)state;
    gr_rt_install_handlers(); /* cmocka installs its own per test */
    wasm_rt_memory_t a, b;
    assert_int_equal(gr_rt_call(alloc_mem, &a, NULL), 0);
    memset(&b, 0, sizeof b);
    assert_int_equal(gr_rt_memory_join(&b, &a), 0);
    assert_ptr_equal(a.data, b.data);
    a.data[100] = 42;
    assert_int_equal(b.data[100], 42);
    assert_int_equal(wasm_rt_grow_memory(&b, 2), 2);
    assert_int_equal(a.pages, 4);
    assert_int_equal(a.size, 4 * GR_WASM_PAGE);
    wasm_rt_free_memory(&a); /* b still holds the memory */
    b.data[3 * GR_WASM_PAGE] = 1;
    assert_int_equal(wasm_rt_grow_memory(&b, 1), 4);
    wasm_rt_free_memory(&b);
}

static void
raise_div(void* p)
{
    (void)p;
    wasm_rt_trap(WASM_RT_TRAP_DIV_BY_ZERO);
}

static void
raise_exit(void* p)
{
    gr_rt_raise(GR_TRAP_EXIT, *(int*)p);
}

static void
test_explicit_traps(void** state)
{
    (void)state;
    gr_rt_install_handlers(); /* cmocka installs its own per test */
    gr_trap t;
    assert_int_equal(gr_rt_call(raise_div, NULL, &t), GR_ETRAP);
    assert_int_equal(t.kind, GR_TRAP_DIV_BY_ZERO);
    assert_string_equal(gr_trap_name(t.kind), "integer divide by zero");
    int code = 3;
    assert_int_equal(gr_rt_call(raise_exit, &code, &t), GR_EEXIT);
    assert_int_equal(t.kind, GR_TRAP_EXIT);
    assert_int_equal(t.exit_code, 3);
}

/* Recursion bounded only by a limit the compiler cannot see through. */
static volatile int recursion_limit = 1 << 30;

static int
recurse(int n)
{
    volatile char pad[512];
    pad[0] = (char)n;
    if (n > recursion_limit)
        return 0;
    return recurse(n + 1) + pad[0];
}

static void
overflow(void* p)
{
    (void)p;
    recurse(0);
}

static void
test_stack_overflow_traps(void** state)
{
    (void)state;
    gr_rt_install_handlers(); /* cmocka installs its own per test */
    gr_trap t;
    assert_int_equal(gr_rt_call(overflow, NULL, &t), GR_ETRAP);
    assert_int_equal(t.kind, GR_TRAP_EXHAUSTION);
    /* and the thread is still usable afterwards */
    assert_int_equal(gr_rt_call(overflow, NULL, &t), GR_ETRAP);
    assert_int_equal(t.kind, GR_TRAP_EXHAUSTION);
}

static void
inner_traps(void* p)
{
    gr_trap t;
    int* seen = p;
    *seen = gr_rt_call(raise_div, NULL, &t);
    wasm_rt_trap(WASM_RT_TRAP_UNREACHABLE);
}

static void
test_nested_frames(void** state)
{
    (void)state;
    gr_rt_install_handlers(); /* cmocka installs its own per test */
    int inner = 0;
    gr_trap t;
    assert_int_equal(gr_rt_call(inner_traps, &inner, &t), GR_ETRAP);
    assert_int_equal(inner, GR_ETRAP);
    assert_int_equal(t.kind, GR_TRAP_UNREACHABLE);
}

static void*
thread_main(void* p)
{
    wasm_rt_memory_t m;
    int bad = 0;
    for (int i = 0; i < 50; i++) {
        gr_trap t;
        if (gr_rt_call(alloc_mem, &m, NULL))
            bad++;
        struct mem_op oob = { &m, m.size + 5, 1 };
        if (gr_rt_call(poke, &oob, &t) != GR_ETRAP || t.kind != GR_TRAP_OOB)
            bad++;
        wasm_rt_free_memory(&m);
    }
    gr_trap t;
    if (gr_rt_call(overflow, NULL, &t) != GR_ETRAP ||
        t.kind != GR_TRAP_EXHAUSTION)
        bad++;
    *(int*)p = bad;
    return NULL;
}

static void
test_traps_on_threads(void** state)
{
    (void)state;
    gr_rt_install_handlers(); /* cmocka installs its own per test */
    pthread_t th[4];
    int bad[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&th[i], NULL, thread_main, &bad[i]);
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(bad[i], 0);
    }
}

static void
test_func_types_interned(void** state)
{
    (void)state;
    gr_rt_install_handlers(); /* cmocka installs its own per test */
    uint32_t a =
      wasm_rt_register_func_type(2, 1, WASM_RT_I32, WASM_RT_I64, WASM_RT_F32);
    uint32_t b =
      wasm_rt_register_func_type(2, 1, WASM_RT_I32, WASM_RT_I64, WASM_RT_F32);
    uint32_t c =
      wasm_rt_register_func_type(1, 2, WASM_RT_I32, WASM_RT_I64, WASM_RT_F32);
    assert_int_equal(a, b);
    assert_int_not_equal(a, c);
    assert_int_not_equal(a, 0);
}

static void
test_tables(void** state)
{
    (void)state;
    gr_rt_install_handlers(); /* cmocka installs its own per test */
    wasm_rt_funcref_table_t t;
    wasm_rt_allocate_funcref_table(&t, 2, 4);
    assert_int_equal(t.size, 2);
    assert_null(t.data[1].func);
    assert_int_equal(
      wasm_rt_grow_funcref_table(&t, 2, wasm_rt_funcref_null_value), 2);
    assert_int_equal(
      wasm_rt_grow_funcref_table(&t, 1, wasm_rt_funcref_null_value),
      UINT32_MAX);
    wasm_rt_free_funcref_table(&t);
}

static void
test_map_fd_and_reset(void** state)
{
    (void)state;
    gr_rt_install_handlers(); /* cmocka installs its own per test */
    int fd = memfd_create("snap", MFD_CLOEXEC);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, 2 * GR_WASM_PAGE), 0);
    uint8_t* img =
      mmap(NULL, 2 * GR_WASM_PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    assert_true(img != MAP_FAILED);
    img[10] = 5;
    img[GR_WASM_PAGE + 1] = 6;

    wasm_rt_memory_t m;
    assert_int_equal(gr_rt_memory_map_fd(&m, fd, 2, 8), 0);
    assert_int_equal(m.data[10], 5);
    m.data[10] = 50; /* private copy: the image is unchanged */
    assert_int_equal(img[10], 5);
    assert_int_equal(wasm_rt_grow_memory(&m, 2), 2);
    m.data[3 * GR_WASM_PAGE] = 9;

    /* a shared segment mapped over page 1 during the "call" */
    int shared = memfd_create("state", MFD_CLOEXEC);
    assert_int_equal(ftruncate(shared, GR_WASM_PAGE), 0);
    assert_int_equal(
      gr_rt_memory_map_shared(&m, GR_WASM_PAGE, GR_WASM_PAGE, shared, 0), 0);
    assert_int_equal(gr_rt_memory_map_shared(&m, 100, 4096, shared, 0),
                     -EINVAL);
    m.data[GR_WASM_PAGE + 1] = 60;
    uint8_t seen;
    assert_int_equal(pread(shared, &seen, 1, 1), 1);
    assert_int_equal(seen, 60);
    const uint64_t remap[1][2] = { { GR_WASM_PAGE, 2 * GR_WASM_PAGE } };
    assert_int_equal(gr_rt_memory_reset(&m, fd, 2, remap, 1), 0);
    assert_int_equal(m.pages, 2);
    assert_int_equal(m.data[10], 5);
    /* the snapshot's byte is back; the shared value is untouched */
    assert_int_equal(m.data[GR_WASM_PAGE + 1], 6);
    assert_int_equal(pread(shared, &seen, 1, 1), 1);
    assert_int_equal(seen, 60);
    close(shared);
    gr_trap t;
    struct mem_op oob = { &m, 3 * GR_WASM_PAGE, 1 };
    assert_int_equal(gr_rt_call(poke, &oob, &t), GR_ETRAP);
    assert_int_equal(t.kind, GR_TRAP_OOB);
    /* grown again after a reset: the new pages are zero */
    assert_int_equal(wasm_rt_grow_memory(&m, 2), 2);
    assert_int_equal(m.data[3 * GR_WASM_PAGE], 0);
    wasm_rt_free_memory(&m);
    munmap(img, 2 * GR_WASM_PAGE);
    close(fd);
}

/* A thread that cannot run past its deadline (here: the timeout signal is
 * blocked, which is what CPU starvation looks like to the kernel) must not
 * collect one queued real-time signal per watchdog tick: when it runs again
 * every queued signal would stack a frame on the 64 KiB alternate stack. */
static void
blocked_past_deadline(void* p)
{
    (void)p;
    sigset_t rt, old;
    sigemptyset(&rt);
    sigaddset(&rt, SIGRTMIN + 3);
    pthread_sigmask(SIG_BLOCK, &rt, &old);
    struct timespec ts = { 0, 300 * 1000000L }; /* 150 watchdog ticks */
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
}

static void
test_one_pending_timeout_signal(void** state)
{
    (void)state;
    gr_rt_install_handlers();
    unsigned long before = gr_rt_timeout_signals();
    gr_trap t;
    /* a host function (not generated code): the call is not unwound, it
     * returns late, and the signals it got are what we count */
    assert_int_equal(
      gr_rt_call_timeout(blocked_past_deadline, NULL, &t, 20 * 1000000ull), 0);
    unsigned long got = gr_rt_timeout_signals() - before;
    assert_true(got >= 1);
    assert_true(got <= 2);
}

/* The same with real CPU starvation (root only: a SCHED_FIFO spinner
 * shares the CPU of the calling thread for 300 ms while its 20 ms deadline
 * passes). Before at most one signal was kept pending, the thread came back
 * to ~150 queued signals and the process died of an overflowed alternate
 * stack. */
static atomic_int spin_go, spin_done;

static void*
fifo_spinner(void* p)
{
    (void)p;
    while (!atomic_load(&spin_go))
        ;
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    do
        clock_gettime(CLOCK_MONOTONIC, &t);
    while ((t.tv_sec - t0.tv_sec) * 1000000000L + (t.tv_nsec - t0.tv_nsec) <
           300 * 1000000L);
    atomic_store(&spin_done, 1);
    return NULL;
}

static void
starved_host_call(void* p)
{
    (void)p;
    atomic_store(&spin_go, 1);
    while (!atomic_load(&spin_done)) /* runs only when the spinner is done */
        ;
}

static void
test_starved_past_deadline(void** state)
{
    (void)state;
    gr_rt_install_handlers();
    cpu_set_t one, old;
    CPU_ZERO(&one);
    CPU_SET(0, &one);
    pthread_getaffinity_np(pthread_self(), sizeof old, &old);
    pthread_attr_t a;
    pthread_attr_init(&a);
    pthread_attr_setaffinity_np(&a, sizeof one, &one);
    pthread_attr_setinheritsched(&a, PTHREAD_EXPLICIT_SCHED);
    pthread_attr_setschedpolicy(&a, SCHED_FIFO);
    struct sched_param sp = { .sched_priority = 1 };
    pthread_attr_setschedparam(&a, &sp);
    pthread_t t;
    atomic_store(&spin_go, 0);
    atomic_store(&spin_done, 0);
    if (pthread_create(&t, &a, fifo_spinner, NULL) != 0) {
        pthread_attr_destroy(&a);
        skip(); /* not root: no real-time scheduling */
    }
    pthread_attr_destroy(&a);
    pthread_setaffinity_np(pthread_self(), sizeof one, &one);
    unsigned long before = gr_rt_timeout_signals();
    struct timespec c0, c1;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c0);
    assert_int_equal(
      gr_rt_call_timeout(starved_host_call, NULL, NULL, 20 * 1000000ull), 0);
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c1);
    pthread_join(t, NULL);
    pthread_setaffinity_np(pthread_self(), sizeof old, &old);
    unsigned long got = gr_rt_timeout_signals() - before;
    /* A new signal goes out only after this thread has handled the last
     * one, and at most one per 2 ms watchdog tick, so the count is bounded
     * by the time this thread actually ran (its CPU time; the kernel's
     * real-time throttling lets it run up to 50 ms of every second while
     * the spinner holds its CPU), plus a few for the edges of each run.
     * A watchdog signalling every tick regardless (the old backlog) would
     * send ~150 in the 300 ms. */
    double ran_ms = (double)(c1.tv_sec - c0.tv_sec) * 1e3 +
                    (double)(c1.tv_nsec - c0.tv_nsec) / 1e6;
    assert_true(got >= 1);
    if ((double)got > ran_ms / 2.0 + 6.0)
        fail_msg("%lu timeout signals while running %.1f ms", got, ran_ms);
}

static uint64_t
now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

struct seen
{
    uint64_t deadline, inner;
    int passed_early, passed_late;
};

static void
look_at_deadline(void* p)
{
    struct seen* s = p;
    s->deadline = gr_rt_deadline();
    s->passed_early = gr_rt_deadline_passed();
    struct timespec ts = { 0, 30 * 1000000L };
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
    s->passed_late = gr_rt_deadline_passed();
    gr_rt_check_deadline(); /* unwinds: never returns */
    s->inner = 1;
}

static void
test_deadline_seen_by_host_calls(void** state)
{
    (void)state;
    gr_rt_install_handlers();
    assert_int_equal(gr_rt_deadline(), 0);
    struct seen s = { 0 };
    gr_trap t;
    uint64_t t0 = now_ns();
    assert_int_equal(
      gr_rt_call_timeout(look_at_deadline, &s, &t, 10 * 1000000ull), GR_ETRAP);
    assert_int_equal(t.kind, GR_TRAP_TIMEOUT);
    assert_true(s.deadline >= t0 + 10 * 1000000ull);
    assert_true(s.deadline < t0 + 1000 * 1000000ull);
    assert_false(s.passed_early);
    assert_true(s.passed_late);
    assert_int_equal(s.inner, 0);
    assert_int_equal(gr_rt_deadline(), 0);
}

static void
mark_ran(void* p)
{
    *(int*)p = 1;
}

struct slot_try
{
    int ran_timed, rc_timed, ran_plain, rc_plain;
};

static void*
try_without_slot(void* p)
{
    struct slot_try* s = p;
    s->rc_timed = gr_rt_call_timeout(mark_ran, &s->ran_timed, NULL, 1000000000);
    s->rc_plain = gr_rt_call(mark_ran, &s->ran_plain, NULL);
    return NULL;
}

/* A thread that cannot get a deadline slot has its timed calls refused
 * (never run unbounded); calls without a deadline still run. */
static pthread_mutex_t hold_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t hold_cv = PTHREAD_COND_INITIALIZER;
static int hold_state; /* 1: holder has its slot (if any), 2: release */

static void*
hold_slot(void* p)
{
    int ran = 0;
    (void)p;
    (void)gr_rt_call_timeout(mark_ran, &ran, NULL, 1000000000);
    pthread_mutex_lock(&hold_mu);
    hold_state = 1;
    pthread_cond_broadcast(&hold_cv);
    while (hold_state != 2)
        pthread_cond_wait(&hold_cv, &hold_mu);
    pthread_mutex_unlock(&hold_mu);
    return NULL;
}

static void
test_no_deadline_slot_refuses(void** state)
{
    (void)state;
    gr_rt_install_handlers();
    /* Room for one thread: whichever of this one and the holder has the
     * slot, a third thread has none. */
    gr_rt_test_set_limits(0, 1);
    pthread_t holder, th;
    assert_int_equal(pthread_create(&holder, NULL, hold_slot, NULL), 0);
    pthread_mutex_lock(&hold_mu);
    while (hold_state != 1)
        pthread_cond_wait(&hold_cv, &hold_mu);
    pthread_mutex_unlock(&hold_mu);
    struct slot_try s = { 0 };
    assert_int_equal(pthread_create(&th, NULL, try_without_slot, &s), 0);
    pthread_join(th, NULL);
    gr_rt_test_set_limits(0, 0);
    pthread_mutex_lock(&hold_mu);
    hold_state = 2;
    pthread_cond_broadcast(&hold_cv);
    pthread_mutex_unlock(&hold_mu);
    pthread_join(holder, NULL);
    assert_int_equal(s.rc_timed, -EAGAIN);
    assert_int_equal(s.ran_timed, 0);
    assert_int_equal(s.rc_plain, 0);
    assert_int_equal(s.ran_plain, 1);
    /* With room again, the same happens on a new thread with a deadline. */
    memset(&s, 0, sizeof s);
    assert_int_equal(pthread_create(&th, NULL, try_without_slot, &s), 0);
    pthread_join(th, NULL);
    assert_int_equal(s.rc_timed, 0);
    assert_int_equal(s.ran_timed, 1);
}

/* Registering code ranges beyond the table's limit fails. */
static void
test_code_register_limit(void** state)
{
    (void)state;
    static char code[3];
    gr_rt_test_set_limits(1, 0);
    int a = gr_rt_code_register(&code[0], 1);
    int b = gr_rt_code_register(&code[1], 1);
    gr_rt_test_set_limits(0, 0);
    assert_true(a == 0 || a == -ENOSPC);
    assert_int_equal(b, -ENOSPC);
    assert_int_equal(gr_rt_code_register(&code[2], 1), 0);
    gr_rt_code_unregister(&code[0]);
    gr_rt_code_unregister(&code[2]);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_memory_alloc_grow_free),
        cmocka_unit_test(test_freed_memory_is_zero_when_reused),
        cmocka_unit_test(test_page_limit),
        cmocka_unit_test(test_memory_group),
        cmocka_unit_test(test_explicit_traps),
        cmocka_unit_test(test_stack_overflow_traps),
        cmocka_unit_test(test_nested_frames),
        cmocka_unit_test(test_traps_on_threads),
        cmocka_unit_test(test_func_types_interned),
        cmocka_unit_test(test_tables),
        cmocka_unit_test(test_map_fd_and_reset),
        cmocka_unit_test(test_one_pending_timeout_signal),
        cmocka_unit_test(test_starved_past_deadline),
        cmocka_unit_test(test_deadline_seen_by_host_calls),
        cmocka_unit_test(test_no_deadline_slot_refuses),
        cmocka_unit_test(test_code_register_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
