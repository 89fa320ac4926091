/* SPDX-License-Identifier: Apache-2.0 */
/* The guest thread library (sdk/lib/pthread) under test: one program, one
 * subtest per argument (`pthread_suite <test> <threads>`, or `all`, which
 * runs every test with 1, 2 and 4 threads; several pairs run in order). Prints
 * "ok <test> <n>" per pass; a failure prints "FAIL <test> <n>: <line>: <what>"
 * and exits 1. */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "granary/threads.h"

static const char* cur_test = "";
static int nthr;

#define CHECK(c)                                                               \
    do {                                                                       \
        if (!(c)) {                                                            \
            printf("FAIL %s %d: %d: %s\n", cur_test, nthr, __LINE__, #c);      \
            fflush(stdout);                                                    \
            exit(1);                                                           \
        }                                                                      \
    } while (0)
#define CHECK_RC(call, want) CHECK((call) == (want))

/* Starts n threads of fn(i) and joins them. */
static void
run_team(int n, void* (*fn)(void*))
{
    pthread_t t[16];
    for (long i = 0; i < n; i++)
        CHECK_RC(pthread_create(&t[i], NULL, fn, (void*)i), 0);
    for (int i = 0; i < n; i++)
        CHECK_RC(pthread_join(t[i], NULL), 0);
}

static void
deadline(struct timespec* ts, clockid_t clk, long ms)
{
    clock_gettime(clk, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

static int64_t
now_ms(clockid_t clk)
{
    struct timespec ts;
    clock_gettime(clk, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- create, join, self, equal, detach, exit ---------------------------- */

static pthread_t seen_self[16];

static void*
ret_id(void* a)
{
    long i = (long)a;
    seen_self[i] = pthread_self();
    CHECK(!pthread_equal(pthread_self(), seen_self[15]) || i == 15);
    return (void*)(i * 3 + 1);
}

static void
t_create(void)
{
    pthread_t t[16];
    seen_self[15] = pthread_self(); /* main */
    for (long i = 0; i < nthr; i++)
        CHECK_RC(pthread_create(&t[i], NULL, ret_id, (void*)i), 0);
    for (long i = 0; i < nthr; i++) {
        void* r = NULL;
        CHECK_RC(pthread_join(t[i], &r), 0);
        CHECK((long)r == i * 3 + 1);
        CHECK(pthread_equal(t[i], seen_self[i]));
        CHECK(!pthread_equal(t[i], pthread_self()));
    }
    CHECK_RC(pthread_join(pthread_self(), NULL), EDEADLK);
    /* Many short threads in a row: blocks are freed and reused. */
    for (int round = 0; round < 20; round++)
        run_team(nthr, ret_id);
}

static sem_t done_sem;

static void*
post_done(void* a)
{
    (void)a;
    CHECK_RC(sem_post(&done_sem), 0);
    return NULL;
}

static void
t_detach(void)
{
    CHECK_RC(sem_init(&done_sem, 0, 0), 0);
    pthread_attr_t at;
    CHECK_RC(pthread_attr_init(&at), 0);
    int ds = -1;
    CHECK_RC(pthread_attr_getdetachstate(&at, &ds), 0);
    CHECK(ds == PTHREAD_CREATE_JOINABLE);
    CHECK_RC(pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED), 0);
    CHECK_RC(pthread_attr_setdetachstate(&at, 42), EINVAL);
    for (int round = 0; round < 10; round++) {
        for (int i = 0; i < nthr; i++) {
            pthread_t t;
            if (i % 2 == 0) {
                CHECK_RC(pthread_create(&t, &at, post_done, NULL), 0);
            } else {
                CHECK_RC(pthread_create(&t, NULL, post_done, NULL), 0);
                CHECK_RC(pthread_detach(t), 0);
            }
        }
        for (int i = 0; i < nthr; i++)
            CHECK_RC(sem_wait(&done_sem), 0);
    }
    CHECK_RC(pthread_attr_destroy(&at), 0);
    CHECK_RC(sem_destroy(&done_sem), 0);
}

static void*
exits_early(void* a)
{
    if ((long)a >= 0)
        pthread_exit((void*)((long)a + 100));
    return NULL; /* not reached */
}

static void
t_exit(void)
{
    pthread_t t[16];
    for (long i = 0; i < nthr; i++)
        CHECK_RC(pthread_create(&t[i], NULL, exits_early, (void*)i), 0);
    for (long i = 0; i < nthr; i++) {
        void* r;
        CHECK_RC(pthread_join(t[i], &r), 0);
        CHECK((long)r == i + 100);
    }
}

/* ---- attributes: stack size ---------------------------------------------- */

static void*
deep_stack(void* a)
{
    size_t n = (size_t)a;
    volatile char* buf = __builtin_alloca(n);
    for (size_t i = 0; i < n; i += 512)
        buf[i] = (char)i;
    unsigned sum = 0;
    for (size_t i = 0; i < n; i += 512)
        sum += (unsigned char)buf[i] == (unsigned char)(char)i;
    return (void*)(uintptr_t)sum;
}

static void
t_attr(void)
{
    pthread_attr_t at;
    size_t sz = 0;
    CHECK_RC(pthread_attr_init(&at), 0);
    CHECK_RC(pthread_attr_getstacksize(&at, &sz), 0);
    CHECK(sz >= PTHREAD_STACK_MIN);
    CHECK_RC(pthread_attr_setstacksize(&at, 1), EINVAL);
    CHECK_RC(pthread_attr_setstacksize(&at, 3u << 20), 0);
    CHECK_RC(pthread_attr_getstacksize(&at, &sz), 0);
    CHECK(sz == 3u << 20);
    /* Each thread uses 2 MiB of its 3 MiB stack; with the default it
     * would write over its neighbours. */
    pthread_t t[16];
    size_t use = 2u << 20;
    for (int i = 0; i < nthr; i++)
        CHECK_RC(pthread_create(&t[i], &at, deep_stack, (void*)use), 0);
    for (int i = 0; i < nthr; i++) {
        void* r;
        CHECK_RC(pthread_join(t[i], &r), 0);
        CHECK((uintptr_t)r == use / 512);
    }
    int v;
    CHECK_RC(pthread_attr_setscope(&at, PTHREAD_SCOPE_SYSTEM), 0);
    CHECK_RC(pthread_attr_getscope(&at, &v), 0);
    CHECK(v == PTHREAD_SCOPE_SYSTEM);
    CHECK_RC(pthread_attr_setguardsize(&at, 4096), 0);
    CHECK_RC(pthread_attr_getguardsize(&at, &sz), 0);
    CHECK(sz == 4096);
    CHECK_RC(pthread_attr_destroy(&at), 0);
}

/* ---- mutexes ------------------------------------------------------------- */

static pthread_mutex_t mtx = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t rmtx, emtx;
/* One counter per mutex: each is only ever changed under its own. */
static long counter, counter_r, counter_e;

static void*
count_mutex(void* a)
{
    (void)a;
    for (int i = 0; i < 20000; i++) {
        CHECK_RC(pthread_mutex_lock(&mtx), 0);
        counter++;
        CHECK_RC(pthread_mutex_unlock(&mtx), 0);
    }
    for (int i = 0; i < 2000; i++) {
        CHECK_RC(pthread_mutex_lock(&rmtx), 0);
        CHECK_RC(pthread_mutex_lock(&rmtx), 0);
        counter_r++;
        CHECK_RC(pthread_mutex_unlock(&rmtx), 0);
        CHECK_RC(pthread_mutex_unlock(&rmtx), 0);
        int rc;
        while ((rc = pthread_mutex_trylock(&emtx)) == EBUSY)
            ;
        CHECK_RC(rc, 0);
        counter_e++;
        CHECK_RC(pthread_mutex_unlock(&emtx), 0);
    }
    return NULL;
}

static void*
try_other(void* a)
{
    pthread_mutex_t* m = a;
    CHECK_RC(pthread_mutex_trylock(m), EBUSY);
    if (m != &mtx)
        CHECK_RC(pthread_mutex_unlock(m), EPERM);
    struct timespec ts;
    deadline(&ts, CLOCK_REALTIME, 50);
    int64_t t0 = now_ms(CLOCK_REALTIME);
    CHECK_RC(pthread_mutex_timedlock(m, &ts), ETIMEDOUT);
    CHECK(now_ms(CLOCK_REALTIME) - t0 >= 40);
    return NULL;
}

static void
t_mutex(void)
{
    pthread_mutexattr_t ma;
    int type;
    CHECK_RC(pthread_mutexattr_init(&ma), 0);
    CHECK_RC(pthread_mutexattr_gettype(&ma, &type), 0);
    CHECK(type == PTHREAD_MUTEX_DEFAULT);
    CHECK_RC(pthread_mutexattr_settype(&ma, 99), EINVAL);
    CHECK_RC(pthread_mutexattr_settype(&ma, PTHREAD_MUTEX_RECURSIVE), 0);
    CHECK_RC(pthread_mutex_init(&rmtx, &ma), 0);
    CHECK_RC(pthread_mutexattr_settype(&ma, PTHREAD_MUTEX_ERRORCHECK), 0);
    CHECK_RC(pthread_mutexattr_gettype(&ma, &type), 0);
    CHECK(type == PTHREAD_MUTEX_ERRORCHECK);
    CHECK_RC(pthread_mutex_init(&emtx, &ma), 0);
    CHECK_RC(pthread_mutexattr_destroy(&ma), 0);

    counter = counter_r = counter_e = 0;
    run_team(nthr, count_mutex);
    CHECK(counter == (long)nthr * 20000);
    CHECK(counter_r == (long)nthr * 2000);
    CHECK(counter_e == (long)nthr * 2000);

    /* Error-checking: relock and foreign unlock are errors. */
    CHECK_RC(pthread_mutex_lock(&emtx), 0);
    CHECK_RC(pthread_mutex_lock(&emtx), EDEADLK);
    CHECK_RC(pthread_mutex_trylock(&emtx), EBUSY);
    pthread_t t;
    CHECK_RC(pthread_create(&t, NULL, try_other, &emtx), 0);
    CHECK_RC(pthread_join(t, NULL), 0);
    CHECK_RC(pthread_mutex_destroy(&emtx), EBUSY);
    CHECK_RC(pthread_mutex_unlock(&emtx), 0);
    CHECK_RC(pthread_mutex_unlock(&emtx), EPERM);
    /* Recursive: held twice, others still see it held. */
    CHECK_RC(pthread_mutex_lock(&rmtx), 0);
    CHECK_RC(pthread_mutex_trylock(&rmtx), 0);
    CHECK_RC(pthread_create(&t, NULL, try_other, &rmtx), 0);
    CHECK_RC(pthread_join(t, NULL), 0);
    CHECK_RC(pthread_mutex_unlock(&rmtx), 0);
    CHECK_RC(pthread_mutex_unlock(&rmtx), 0);
    CHECK_RC(pthread_mutex_unlock(&rmtx), EPERM);
    /* Normal: timedlock times out while another thread holds it. */
    CHECK_RC(pthread_mutex_lock(&mtx), 0);
    CHECK_RC(pthread_create(&t, NULL, try_other, &mtx), 0);
    CHECK_RC(pthread_join(t, NULL), 0);
    CHECK_RC(pthread_mutex_unlock(&mtx), 0);
    struct timespec ts;
    deadline(&ts, CLOCK_REALTIME, 1000);
    CHECK_RC(pthread_mutex_timedlock(&mtx, &ts), 0);
    CHECK_RC(pthread_mutex_unlock(&mtx), 0);
    ts.tv_nsec = 2000000000L;
    CHECK_RC(pthread_mutex_lock(&mtx), 0);
    CHECK_RC(pthread_mutex_timedlock(&mtx, &ts), EINVAL);
    CHECK_RC(pthread_mutex_unlock(&mtx), 0);
    CHECK_RC(pthread_mutex_destroy(&rmtx), 0);
    CHECK_RC(pthread_mutex_destroy(&emtx), 0);
}

/* ---- condition variables ------------------------------------------------- */

static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static pthread_cond_t cv_mono;
static int queue[64], q_head, q_tail, q_closed;
static long consumed_sum;

static void*
consumer(void* a)
{
    (void)a;
    for (;;) {
        CHECK_RC(pthread_mutex_lock(&mtx), 0);
        while (q_head == q_tail && !q_closed)
            CHECK_RC(pthread_cond_wait(&cv, &mtx), 0);
        if (q_head == q_tail) {
            CHECK_RC(pthread_mutex_unlock(&mtx), 0);
            return NULL;
        }
        int v = queue[q_head++ % 64];
        consumed_sum += v;
        CHECK_RC(pthread_cond_broadcast(&cv), 0); /* room for the producer */
        CHECK_RC(pthread_mutex_unlock(&mtx), 0);
    }
}

static int go_flag;

static void*
wait_flag(void* a)
{
    pthread_cond_t* c = a;
    CHECK_RC(pthread_mutex_lock(&mtx), 0);
    while (!go_flag) {
        struct timespec ts;
        deadline(&ts, c == &cv_mono ? CLOCK_MONOTONIC : CLOCK_REALTIME, 60000);
        int rc = pthread_cond_timedwait(c, &mtx, &ts);
        CHECK(rc == 0);
    }
    CHECK_RC(pthread_mutex_unlock(&mtx), 0);
    return NULL;
}

static void
t_cond(void)
{
    pthread_t t[16];
    q_head = q_tail = q_closed = 0;
    consumed_sum = 0;
    for (int i = 0; i < nthr; i++)
        CHECK_RC(pthread_create(&t[i], NULL, consumer, NULL), 0);
    long want = 0;
    for (int v = 1; v <= 3000; v++) {
        CHECK_RC(pthread_mutex_lock(&mtx), 0);
        while (q_tail - q_head == 64)
            CHECK_RC(pthread_cond_wait(&cv, &mtx), 0);
        queue[q_tail++ % 64] = v;
        want += v;
        CHECK_RC(pthread_cond_signal(&cv), 0);
        CHECK_RC(pthread_mutex_unlock(&mtx), 0);
    }
    CHECK_RC(pthread_mutex_lock(&mtx), 0);
    q_closed = 1;
    CHECK_RC(pthread_cond_broadcast(&cv), 0);
    CHECK_RC(pthread_mutex_unlock(&mtx), 0);
    for (int i = 0; i < nthr; i++)
        CHECK_RC(pthread_join(t[i], NULL), 0);
    CHECK(consumed_sum == want);

    /* Timed waits time out, on both clocks. */
    pthread_condattr_t ca;
    clockid_t clk;
    CHECK_RC(pthread_condattr_init(&ca), 0);
    CHECK_RC(pthread_condattr_getclock(&ca, &clk), 0);
    CHECK(clk == CLOCK_REALTIME);
    CHECK_RC(pthread_condattr_setclock(&ca, CLOCK_MONOTONIC), 0);
    CHECK_RC(pthread_condattr_getclock(&ca, &clk), 0);
    CHECK(clk == CLOCK_MONOTONIC);
    CHECK_RC(pthread_cond_init(&cv_mono, &ca), 0);
    CHECK_RC(pthread_condattr_destroy(&ca), 0);
    struct timespec ts;
    CHECK_RC(pthread_mutex_lock(&mtx), 0);
    int64_t t0 = now_ms(CLOCK_MONOTONIC);
    deadline(&ts, CLOCK_MONOTONIC, 50);
    int rc;
    while ((rc = pthread_cond_timedwait(&cv_mono, &mtx, &ts)) == 0)
        ;
    CHECK_RC(rc, ETIMEDOUT);
    CHECK(now_ms(CLOCK_MONOTONIC) - t0 >= 40);
    t0 = now_ms(CLOCK_REALTIME);
    deadline(&ts, CLOCK_REALTIME, 50);
    while ((rc = pthread_cond_timedwait(&cv, &mtx, &ts)) == 0)
        ;
    CHECK_RC(rc, ETIMEDOUT);
    CHECK(now_ms(CLOCK_REALTIME) - t0 >= 40);
    CHECK_RC(pthread_mutex_unlock(&mtx), 0);

    /* Timed waits that are signalled in time (long deadlines). */
    for (int k = 0; k < 2; k++) {
        pthread_cond_t* c = k ? &cv_mono : &cv;
        go_flag = 0;
        for (int i = 0; i < nthr; i++)
            CHECK_RC(pthread_create(&t[i], NULL, wait_flag, c), 0);
        CHECK_RC(pthread_mutex_lock(&mtx), 0);
        go_flag = 1;
        CHECK_RC(pthread_cond_broadcast(c), 0);
        CHECK_RC(pthread_mutex_unlock(&mtx), 0);
        for (int i = 0; i < nthr; i++)
            CHECK_RC(pthread_join(t[i], NULL), 0);
    }
    CHECK_RC(pthread_cond_destroy(&cv_mono), 0);
}

/* ---- rwlocks ------------------------------------------------------------- */

static pthread_rwlock_t rw = PTHREAD_RWLOCK_INITIALIZER;
static pthread_barrier_t bar;
static _Atomic int readers_in, max_readers;
static long rw_value;

static void*
rw_worker(void* a)
{
    (void)a;
    /* All read-lock at once: readers share. */
    CHECK_RC(pthread_rwlock_rdlock(&rw), 0);
    int n = ++readers_in;
    int m = max_readers;
    while (n > m &&
           !__atomic_compare_exchange_n(
             (int*)&max_readers, &m, n, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
        ;
    pthread_barrier_wait(&bar);
    readers_in--;
    CHECK_RC(pthread_rwlock_unlock(&rw), 0);
    for (int i = 0; i < 5000; i++) {
        if (i % 4 == 0) {
            CHECK_RC(pthread_rwlock_wrlock(&rw), 0);
            CHECK(readers_in == 0);
            rw_value++;
            CHECK_RC(pthread_rwlock_unlock(&rw), 0);
        } else {
            CHECK_RC(pthread_rwlock_rdlock(&rw), 0);
            readers_in++;
            CHECK(rw_value >= 0);
            readers_in--;
            CHECK_RC(pthread_rwlock_unlock(&rw), 0);
        }
    }
    return NULL;
}

static void*
rw_try(void* a)
{
    (void)a;
    CHECK_RC(pthread_rwlock_tryrdlock(&rw), EBUSY);
    CHECK_RC(pthread_rwlock_trywrlock(&rw), EBUSY);
    struct timespec ts;
    deadline(&ts, CLOCK_REALTIME, 50);
    CHECK_RC(pthread_rwlock_timedrdlock(&rw, &ts), ETIMEDOUT);
    deadline(&ts, CLOCK_REALTIME, 50);
    CHECK_RC(pthread_rwlock_timedwrlock(&rw, &ts), ETIMEDOUT);
    return NULL;
}

static void*
rw_try_reader(void* a)
{
    (void)a;
    CHECK_RC(pthread_rwlock_tryrdlock(&rw), 0);
    CHECK_RC(pthread_rwlock_unlock(&rw), 0);
    CHECK_RC(pthread_rwlock_trywrlock(&rw), EBUSY);
    struct timespec ts;
    deadline(&ts, CLOCK_REALTIME, 50);
    CHECK_RC(pthread_rwlock_timedwrlock(&rw, &ts), ETIMEDOUT);
    return NULL;
}

static void
t_rwlock(void)
{
    readers_in = max_readers = 0;
    rw_value = 0;
    CHECK_RC(pthread_barrier_init(&bar, NULL, nthr), 0);
    run_team(nthr, rw_worker);
    CHECK(max_readers == nthr);
    CHECK(rw_value == (long)nthr * 1250);
    CHECK_RC(pthread_barrier_destroy(&bar), 0);

    pthread_t t;
    CHECK_RC(pthread_rwlock_wrlock(&rw), 0);
    CHECK_RC(pthread_rwlock_wrlock(&rw), EDEADLK);
    CHECK_RC(pthread_create(&t, NULL, rw_try, NULL), 0);
    CHECK_RC(pthread_join(t, NULL), 0);
    CHECK_RC(pthread_rwlock_unlock(&rw), 0);
    CHECK_RC(pthread_rwlock_rdlock(&rw), 0);
    CHECK_RC(pthread_rwlock_rdlock(&rw), 0); /* recursive read */
    CHECK_RC(pthread_create(&t, NULL, rw_try_reader, NULL), 0);
    CHECK_RC(pthread_join(t, NULL), 0);
    CHECK_RC(pthread_rwlock_unlock(&rw), 0);
    CHECK_RC(pthread_rwlock_unlock(&rw), 0);
    CHECK_RC(pthread_rwlock_unlock(&rw), EPERM);

    pthread_rwlock_t rw2;
    pthread_rwlockattr_t ra;
    CHECK_RC(pthread_rwlockattr_init(&ra), 0);
    CHECK_RC(pthread_rwlock_init(&rw2, &ra), 0);
    CHECK_RC(pthread_rwlock_trywrlock(&rw2), 0);
    CHECK_RC(pthread_rwlock_destroy(&rw2), EBUSY);
    CHECK_RC(pthread_rwlock_unlock(&rw2), 0);
    CHECK_RC(pthread_rwlock_destroy(&rw2), 0);
    CHECK_RC(pthread_rwlockattr_destroy(&ra), 0);
}

/* ---- barriers, spin locks, once ----------------------------------------- */

static _Atomic int serial_count, phase_errors;
static int phase[16];

static void*
barrier_worker(void* a)
{
    long id = (long)a;
    for (int round = 0; round < 200; round++) {
        phase[id] = round;
        int rc = pthread_barrier_wait(&bar);
        CHECK(rc == 0 || rc == PTHREAD_BARRIER_SERIAL_THREAD);
        if (rc == PTHREAD_BARRIER_SERIAL_THREAD)
            serial_count++;
        for (int i = 0; i < nthr; i++)
            if (phase[i] != round)
                phase_errors++;
        pthread_barrier_wait(&bar);
    }
    return NULL;
}

static void
t_barrier(void)
{
    serial_count = phase_errors = 0;
    CHECK_RC(pthread_barrier_init(&bar, NULL, 0), EINVAL);
    pthread_barrierattr_t ba;
    CHECK_RC(pthread_barrierattr_init(&ba), 0);
    CHECK_RC(pthread_barrier_init(&bar, &ba, nthr), 0);
    CHECK_RC(pthread_barrierattr_destroy(&ba), 0);
    run_team(nthr, barrier_worker);
    CHECK(serial_count == 200);
    CHECK(phase_errors == 0);
    CHECK_RC(pthread_barrier_destroy(&bar), 0);
}

static pthread_spinlock_t spin;

static void*
spin_worker(void* a)
{
    (void)a;
    for (int i = 0; i < 20000; i++) {
        if (i % 2) {
            CHECK_RC(pthread_spin_lock(&spin), 0);
        } else {
            while (pthread_spin_trylock(&spin) == EBUSY)
                ;
        }
        counter++;
        CHECK_RC(pthread_spin_unlock(&spin), 0);
    }
    return NULL;
}

static void
t_spin(void)
{
    counter = 0;
    CHECK_RC(pthread_spin_init(&spin, PTHREAD_PROCESS_PRIVATE), 0);
    run_team(nthr, spin_worker);
    CHECK(counter == (long)nthr * 20000);
    CHECK_RC(pthread_spin_lock(&spin), 0);
    CHECK_RC(pthread_spin_trylock(&spin), EBUSY);
    CHECK_RC(pthread_spin_unlock(&spin), 0);
    CHECK_RC(pthread_spin_destroy(&spin), 0);
}

static pthread_once_t once = PTHREAD_ONCE_INIT;
static _Atomic int once_runs, once_seen;

static void
once_init(void)
{
    once_runs++;
    struct timespec ts = { 0, 20000000 };
    nanosleep(&ts, NULL); /* let the others arrive and wait */
    once_seen = 1;
}

static void*
once_worker(void* a)
{
    (void)a;
    CHECK_RC(pthread_once(&once, once_init), 0);
    CHECK(once_seen == 1);
    return NULL;
}

static void
t_once(void)
{
    once = PTHREAD_ONCE_INIT;
    once_runs = once_seen = 0;
    run_team(nthr, once_worker);
    CHECK(once_runs == 1);
    CHECK_RC(pthread_once(&once, once_init), 0);
    CHECK(once_runs == 1);
}

/* ---- keys and TLS -------------------------------------------------------- */

static pthread_key_t key;
static _Atomic long dtor_sum;
static _Thread_local int tl_init = 1234;
static _Thread_local long tl_zero;
static __thread char tl_buf[100] = "tls";

static void
key_dtor(void* v)
{
    dtor_sum += (long)v;
}

static void*
key_worker(void* a)
{
    long id = (long)a;
    CHECK(pthread_getspecific(key) == NULL);
    CHECK_RC(pthread_setspecific(key, (void*)(id + 1)), 0);
    CHECK(tl_init == 1234 && tl_zero == 0 && strcmp(tl_buf, "tls") == 0);
    tl_init += (int)id;
    tl_zero = id * 7;
    snprintf(tl_buf, sizeof tl_buf, "thread %ld", id);
    for (int i = 0; i < 1000; i++) {
        CHECK((long)pthread_getspecific(key) == id + 1);
        CHECK(tl_init == 1234 + id && tl_zero == id * 7);
        sched_yield();
    }
    char want[32];
    snprintf(want, sizeof want, "thread %ld", id);
    CHECK(strcmp(tl_buf, want) == 0);
    return NULL;
}

static void
t_keys(void)
{
    dtor_sum = 0;
    CHECK_RC(pthread_key_create(&key, key_dtor), 0);
    CHECK_RC(pthread_setspecific(key, (void*)1000), 0);
    tl_init = 1;
    run_team(nthr, key_worker);
    CHECK(dtor_sum == (long)nthr * (nthr + 1) / 2);
    CHECK((long)pthread_getspecific(key) == 1000);
    CHECK(tl_init == 1);
    tl_init = 1234;
    CHECK_RC(pthread_key_delete(key), 0);
    CHECK_RC(pthread_key_delete(key), EINVAL);
    pthread_key_t k2;
    CHECK_RC(pthread_key_create(&k2, NULL), 0);
    CHECK(pthread_getspecific(k2) == NULL); /* a reused slot reads NULL */
    CHECK_RC(pthread_key_delete(k2), 0);
}

/* ---- semaphores ---------------------------------------------------------- */

static sem_t items, slots;
static _Atomic long sem_sum;

static void*
sem_consumer(void* a)
{
    long n = (long)a;
    for (long i = 0; i < n; i++) {
        CHECK_RC(sem_wait(&items), 0);
        sem_sum += 1;
        CHECK_RC(sem_post(&slots), 0);
    }
    return NULL;
}

static void
t_sem(void)
{
    sem_sum = 0;
    CHECK_RC(sem_init(&items, 0, 0), 0);
    CHECK_RC(sem_init(&slots, 0, 8), 0);
    pthread_t t[16];
    for (int i = 0; i < nthr; i++)
        CHECK_RC(pthread_create(&t[i], NULL, sem_consumer, (void*)1000L), 0);
    for (int i = 0; i < nthr * 1000; i++) {
        CHECK_RC(sem_wait(&slots), 0);
        CHECK_RC(sem_post(&items), 0);
    }
    for (int i = 0; i < nthr; i++)
        CHECK_RC(pthread_join(t[i], NULL), 0);
    CHECK(sem_sum == nthr * 1000L);
    int v = -1;
    CHECK_RC(sem_getvalue(&slots, &v), 0);
    CHECK(v == 8);
    CHECK_RC(sem_getvalue(&items, &v), 0);
    CHECK(v == 0);
    errno = 0;
    CHECK_RC(sem_trywait(&items), -1);
    CHECK(errno == EAGAIN);
    struct timespec ts;
    deadline(&ts, CLOCK_REALTIME, 50);
    int64_t t0 = now_ms(CLOCK_REALTIME);
    CHECK_RC(sem_timedwait(&items, &ts), -1);
    CHECK(errno == ETIMEDOUT);
    CHECK(now_ms(CLOCK_REALTIME) - t0 >= 40);
    CHECK_RC(sem_post(&items), 0);
    CHECK_RC(sem_timedwait(&items, &ts), 0); /* available: no timeout */
    CHECK(sem_open("/x", 0) == SEM_FAILED);
    CHECK_RC(sem_destroy(&items), 0);
    CHECK_RC(sem_destroy(&slots), 0);
}

/* ---- malloc and printf from many threads -------------------------------- */

static void*
malloc_worker(void* a)
{
    long id = (long)a;
    void* keep[64] = { 0 };
    unsigned x = (unsigned)id * 2654435761u + 1;
    for (int i = 0; i < 20000; i++) {
        x = x * 1103515245u + 12345u;
        int slot = (x >> 8) % 64;
        unsigned char* p = keep[slot];
        if (p) {
            size_t n = p[0] | (size_t)p[1] << 8;
            for (size_t k = 2; k < n; k++)
                CHECK(p[k] == (unsigned char)(id + k));
            if ((x >> 20) % 3 == 0) {
                size_t m = 3 + (x >> 4) % 3000;
                p = realloc(p, m);
                CHECK(p != NULL);
                size_t keepn = n < m ? n : m;
                for (size_t k = 2; k < m; k++)
                    p[k] = (unsigned char)(id + k);
                (void)keepn;
                p[0] = (unsigned char)m;
                p[1] = (unsigned char)(m >> 8);
                keep[slot] = p;
                continue;
            }
            free(p);
            keep[slot] = NULL;
            continue;
        }
        size_t n = 3 + (x >> 4) % 3000;
        switch ((x >> 16) % 4) {
            case 0:
                p = malloc(n);
                break;
            case 1:
                p = calloc(1, n);
                CHECK(p && p[n - 1] == 0);
                break;
            case 2: {
                void* q = NULL;
                CHECK_RC(posix_memalign(&q, 64, n), 0);
                CHECK(((uintptr_t)q & 63) == 0);
                p = q;
                break;
            }
            default:
                p = aligned_alloc(32, (n + 31) & ~(size_t)31);
                CHECK(((uintptr_t)p & 31) == 0);
                break;
        }
        CHECK(p != NULL);
        p[0] = (unsigned char)n;
        p[1] = (unsigned char)(n >> 8);
        for (size_t k = 2; k < n; k++)
            p[k] = (unsigned char)(id + k);
        keep[slot] = p;
    }
    for (int i = 0; i < 64; i++)
        free(keep[i]);
    char* s = strdup("a string from libc's own malloc call");
    CHECK(s != NULL);
    free(s);
    return NULL;
}

static void
t_malloc(void)
{
    run_team(nthr, malloc_worker);
}

/* Each line is "P <thread> <line> <payload>" with a payload that names
 * both, so that a line torn or mixed by another thread is detected by the
 * test that reads the output. */
static void*
printf_worker(void* a)
{
    long id = (long)a;
    for (int i = 0; i < 200; i++) {
        switch (i % 4) {
            case 0:
                printf("P %ld %d %s-%ld-%d\n", id, i, "payload", id, i);
                break;
            case 1:
                fprintf(stdout, "P %ld %d payload-%ld-%d\n", id, i, id, i);
                break;
            case 2: {
                char b[64];
                snprintf(b, sizeof b, "P %ld %d payload-%ld-%d", id, i, id, i);
                puts(b);
                break;
            }
            default: {
                char b[64];
                int n = snprintf(
                  b, sizeof b, "P %ld %d payload-%ld-%d\n", id, i, id, i);
                fwrite(b, 1, (size_t)n, stdout);
                break;
            }
        }
    }
    return NULL;
}

static void
t_printf(void)
{
    run_team(nthr, printf_worker);
    fflush(stdout);
}

/* The host call of granary/threads.h: at least one thread. */
static void
t_limit(void)
{
    CHECK(granary_thread_limit() >= 1);
}

/* ---- process exit (whole programs: `pthread_suite <mode>`) ------------- */

static void
at_exit_msg(void)
{
    printf("atexit ran\n");
}

static void*
nap_and_print(void* a)
{
    struct timespec ts = { 0, 50000000 };
    nanosleep(&ts, NULL);
    printf("worker %ld done\n", (long)a);
    return NULL;
}

static void*
call_exit(void* a)
{
    (void)a;
    exit(3);
}

/* "dtors": a worker's end runs no atexit handler (main's end does);
 * "mainexit": pthread_exit in main waits for the others, then exits 0;
 * "wexit": exit(3) in a worker runs the handlers and ends the call. */
static int
whole_program(const char* mode)
{
    pthread_t t[2];
    CHECK_RC(atexit(at_exit_msg), 0);
    if (strcmp(mode, "dtors") == 0) {
        CHECK_RC(pthread_create(&t[0], NULL, ret_id, (void*)0), 0);
        CHECK_RC(pthread_join(t[0], NULL), 0);
        printf("after join\n");
        return 0;
    }
    if (strcmp(mode, "mainexit") == 0) {
        for (long i = 0; i < 2; i++)
            CHECK_RC(pthread_create(&t[i], NULL, nap_and_print, (void*)i), 0);
        pthread_exit(NULL);
    }
    if (strcmp(mode, "wexit") == 0) {
        CHECK_RC(pthread_create(&t[0], NULL, call_exit, NULL), 0);
        CHECK_RC(pthread_join(t[0], NULL), 0);
        printf("not reached\n");
        return 0;
    }
    return 2;
}

/* ---- driver -------------------------------------------------------------- */

static const struct
{
    const char* name;
    void (*fn)(void);
} tests[] = {
    { "create", t_create }, { "detach", t_detach },   { "exit", t_exit },
    { "attr", t_attr },     { "mutex", t_mutex },     { "cond", t_cond },
    { "rwlock", t_rwlock }, { "barrier", t_barrier }, { "spin", t_spin },
    { "once", t_once },     { "keys", t_keys },       { "sem", t_sem },
    { "malloc", t_malloc }, { "printf", t_printf },   { "limit", t_limit },
};

static int
run_one(const char* name, int n)
{
    for (size_t i = 0; i < sizeof tests / sizeof tests[0]; i++) {
        if (strcmp(tests[i].name, name) == 0) {
            cur_test = name;
            nthr = n;
            tests[i].fn();
            printf("ok %s %d\n", name, n);
            fflush(stdout);
            return 0;
        }
    }
    printf("unknown test %s\n", name);
    return 2;
}

int
main(int argc, char** argv)
{
    if (argc == 2 && strcmp(argv[1], "all") != 0)
        return whole_program(argv[1]);
    if (argc >= 2 && strcmp(argv[1], "all") != 0) {
        /* <test> <threads> pairs, run in order */
        for (int i = 1; i < argc; i += 2) {
            int n = i + 1 < argc ? atoi(argv[i + 1]) : 2;
            if (n < 1 || n > 15)
                return 2;
            if (run_one(argv[i], n) != 0)
                return 1;
        }
        return 0;
    }
    static const int ns[] = { 1, 2, 4 };
    for (size_t k = 0; k < 3; k++)
        for (size_t i = 0; i < sizeof tests / sizeof tests[0]; i++)
            if (strcmp(tests[i].name, "printf") != 0 &&
                strcmp(tests[i].name, "limit") != 0 &&
                run_one(tests[i].name, ns[k]) != 0)
                return 1;
    return 0;
}
