/* SPDX-License-Identifier: Apache-2.0 */
/* The threads proposal's multi-threaded tests (LB, MP, SB with plain and
 * atomic accesses, wait_notify), which wast2json cannot read, as tests of
 * our own: each agent of tests/spec/threads/<name>.wat runs compiled by
 * Granary's own compiler on a real thread, each thread with its own
 * instance of one shared memory, many times; every outcome must be one the
 * memory model allows (the histograms are printed). */
#include "wasm_load.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#define LITMUS_ITERS 20000
#define WAIT_ITERS 2000

typedef struct agent_mod
{
    wl_module mod;
    wrt_memory mem;
    void* inst[2];
} agent_mod;

static void
mod_open(agent_mod* a, const char* name)
{
    char path[4096], err[1024];
    snprintf(path, sizeof path, "%s/%s.wasm", LITMUS_WASM_DIR, name);
    int rc = wl_load(path, LITMUS_CACHE_DIR, "-O2", &a->mod, err, sizeof err);
    if (rc != 0)
        fail_msg("%s: %s", path, err);
    assert_int_equal(wrt_memory_init(&a->mem, 1, 1, true, true), 0);
    const wrt_module_desc* d = a->mod.desc;
    assert_int_equal(d->nimports, 1);
    void* imp[1] = { &a->mem };
    for (int i = 0; i < 2; i++) {
        a->inst[i] = aligned_alloc(64, (d->inst_size + 63) & ~(size_t)63);
        assert_non_null(a->inst[i]);
        memset(a->inst[i], 0, d->inst_size);
        assert_int_equal(d->init(a->inst[i], imp), 0);
        assert_int_equal(wrt_invoke_raw(d->start, a->inst[i]), 0);
    }
}

static void
mod_close(agent_mod* a)
{
    for (int i = 0; i < 2; i++) {
        a->mod.desc->fini(a->inst[i]);
        free(a->inst[i]);
    }
    wrt_memory_fini(&a->mem);
    wl_unload(&a->mod);
}

static const wrt_func*
export_of(agent_mod* a, int inst, const char* name)
{
    const wrt_module_desc* d = a->mod.desc;
    for (uint32_t i = 0; i < d->nexports; i++)
        if (d->exports[i].kind == 0 && d->exports[i].name_len == strlen(name) &&
            memcmp(d->exports[i].name, name, strlen(name)) == 0)
            return d->export_ptr(a->inst[inst], i);
    fail_msg("no export %s", name);
    return NULL;
}

static uint32_t
cell(agent_mod* a, uint32_t off)
{
    uint32_t v;
    memcpy(&v, a->mem.base + off, 4);
    return v;
}

/* One round: the test's thread runs agent 0 while a persistent worker
 * runs agent 1, both released by a generation counter and then delayed
 * by a few pause loops that differ from round to round, so that on two
 * cores the agents overlap in every possible way. */
typedef struct round_ctl
{
    _Atomic uint32_t gen, done;
    _Atomic bool stop;
    const wrt_func* f[2];
    wrt_val res[2];
    int trap[2];
} round_ctl;

static void
spin_until(_Atomic uint32_t* p, uint32_t want, _Atomic bool* stop)
{
    unsigned n = 0;
    while (atomic_load(p) != want && !(stop && atomic_load(stop)))
        if (++n > 2000)
            sched_yield();
}

static void
delay(uint32_t n)
{
    for (volatile uint32_t i = 0; i < n; i++)
        __asm__ volatile("" ::: "memory");
}

static void
run_agent(round_ctl* c, int id)
{
    memset(&c->res[id], 0, sizeof c->res[id]);
    c->trap[id] = wrt_invoke(c->f[id], &c->res[id]);
}

static void*
worker_main(void* p)
{
    round_ctl* c = p;
    for (uint32_t g = 1;; g++) {
        spin_until(&c->gen, g, &c->stop);
        if (atomic_load(&c->stop))
            return NULL;
        delay((g * 13u) % 61u);
        run_agent(c, 1);
        atomic_store(&c->done, g);
    }
}

/* Runs round `g` (1, 2, ...): agent 0 here, agent 1 on the worker. */
static void
run_round(round_ctl* c, uint32_t g)
{
    atomic_store(&c->gen, g);
    delay((g * 7u) % 97u);
    run_agent(c, 0);
    spin_until(&c->done, g, NULL);
}

typedef bool (*allowed_fn)(uint32_t a, uint32_t b);

/* Runs t1 and t2 `iters` times; counts outcomes (r1 at 24, r2 at 32, or
 * for MP flag at 32 and data at 28) in hist[a][b] for a, b in 0..1 (42
 * counts as 1). */
static void
litmus(const char* name,
       uint32_t off_a,
       uint32_t off_b,
       uint32_t b_one,
       allowed_fn ok)
{
    agent_mod a;
    mod_open(&a, name);
    round_ctl c = { 0 };
    c.f[0] = export_of(&a, 0, "t1");
    c.f[1] = export_of(&a, 1, "t2");
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, worker_main, &c), 0);
    unsigned hist[2][2] = { { 0 } };
    unsigned bad = 0;
    for (uint32_t it = 1; it <= LITMUS_ITERS; it++) {
        memset(a.mem.base, 0, 64);
        run_round(&c, it);
        assert_int_equal(c.trap[0], 0);
        assert_int_equal(c.trap[1], 0);
        uint32_t x = cell(&a, off_a), y = cell(&a, off_b);
        if (!ok(x, y)) {
            if (bad++ < 5)
                fprintf(stderr,
                        "%s: round %u: forbidden outcome (%u, %u)\n",
                        name,
                        it,
                        x,
                        y);
            continue;
        }
        hist[x != 0][y == b_one]++;
    }
    atomic_store(&c.stop, true);
    pthread_join(th, NULL);
    printf("%-10s %u rounds: (0,0) %u  (0,%u) %u  (1,0) %u  (1,%u) %u  "
           "forbidden %u\n",
           name,
           LITMUS_ITERS,
           hist[0][0],
           b_one,
           hist[0][1],
           hist[1][0],
           b_one,
           hist[1][1],
           bad);
    mod_close(&a);
    assert_int_equal(bad, 0);
}

static bool
bit(uint32_t x, uint32_t one)
{
    return x == 0 || x == one;
}
/* Plain accesses: any mix of old and new values (no values out of thin
 * air). */
static bool
any01(uint32_t a, uint32_t b)
{
    return bit(a, 1) && bit(b, 1);
}
static bool
any_mp(uint32_t flag, uint32_t data)
{
    return bit(flag, 1) && bit(data, 42);
}
/* Sequentially consistent atomics: LB never reads both new values, SB
 * never both old ones, MP never sees the flag without the data. */
static bool
lb_atomic(uint32_t a, uint32_t b)
{
    return any01(a, b) && !(a == 1 && b == 1);
}
static bool
sb_atomic(uint32_t a, uint32_t b)
{
    return any01(a, b) && !(a == 0 && b == 0);
}
static bool
mp_atomic(uint32_t flag, uint32_t data)
{
    return any_mp(flag, data) && !(flag == 1 && data == 0);
}

static void
test_lb(void** s)
{
    (void)s;
    litmus("LB", 24, 32, 1, any01);
}
static void
test_lb_atomic(void** s)
{
    (void)s;
    litmus("LB_atomic", 24, 32, 1, lb_atomic);
}
static void
test_mp(void** s)
{
    (void)s;
    litmus("MP", 32, 28, 42, any_mp);
}
static void
test_mp_atomic(void** s)
{
    (void)s;
    litmus("MP_atomic", 32, 28, 42, mp_atomic);
}
static void
test_sb(void** s)
{
    (void)s;
    litmus("SB", 24, 32, 1, any01);
}
static void
test_sb_atomic(void** s)
{
    (void)s;
    litmus("SB_atomic", 24, 32, 1, sb_atomic);
}

/* wait_notify: the waiter blocks forever on cell 0 until the notifier,
 * after a notify of count 0 (wakes nobody), notifies 1 in a loop until
 * it woke someone; the waiter must return 0 ("ok", woken). */
static void
test_wait_notify(void** s)
{
    (void)s;
    agent_mod a;
    mod_open(&a, "wait_notify");
    round_ctl c = { 0 };
    c.f[0] = export_of(&a, 0, "waiter");
    c.f[1] = export_of(&a, 1, "notifier");
    const wrt_func* n0 = export_of(&a, 1, "notify0");
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, worker_main, &c), 0);
    unsigned long tries = 0, max_tries = 0;
    for (uint32_t it = 1; it <= WAIT_ITERS; it++) {
        wrt_val v;
        assert_int_equal(wrt_invoke(n0, &v), 0);
        assert_int_equal(v.i32, 0);
        run_round(&c, it);
        assert_int_equal(c.trap[0], 0);
        assert_int_equal(c.trap[1], 0);
        assert_int_equal(c.res[0].i32, 0);
        assert_true(c.res[1].i32 >= 1);
        tries += c.res[1].i32;
        if (c.res[1].i32 > max_tries)
            max_tries = c.res[1].i32;
    }
    atomic_store(&c.stop, true);
    pthread_join(th, NULL);
    printf("wait_notify %u rounds: the waiter woken (0) every time; notify "
           "tries per round: mean %.1f, max %lu\n",
           WAIT_ITERS,
           (double)tries / WAIT_ITERS,
           max_tries);
    mod_close(&a);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lb),          cmocka_unit_test(test_lb_atomic),
        cmocka_unit_test(test_mp),          cmocka_unit_test(test_mp_atomic),
        cmocka_unit_test(test_sb),          cmocka_unit_test(test_sb_atomic),
        cmocka_unit_test(test_wait_notify),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
