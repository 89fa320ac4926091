/* SPDX-License-Identifier: Apache-2.0 */
/* The cluster's task-thread cache: tasks never wait behind blocked ones,
 * idle threads are reused, and fini waits for every task. */
#include <pthread.h>
#include <time.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "cluster/cluster_int.h"

#define N_BLOCKED 8

struct probe
{
    gr__cluster_task task; /* first */
    pthread_mutex_t* mu;
    pthread_cond_t* cv;
    int* started;
    int* finished;
    int wait_for; /* block until this many started (0: don't) */
};

static void
probe_main(gr__cluster_task* k)
{
    struct probe* p = (struct probe*)k;
    pthread_mutex_lock(p->mu);
    ++*p->started;
    pthread_cond_broadcast(p->cv);
    uint64_t until = gr_time_now_ns() + 5000000000ull;
    while (p->wait_for && *p->started < p->wait_for && gr_time_now_ns() < until)
        gr_time_cond_wait_until(p->cv, p->mu, until);
    ++*p->finished;
    pthread_cond_broadcast(p->cv);
    pthread_mutex_unlock(p->mu);
}

static void
test_blocked_tasks_do_not_hold_up_others(void** st)
{
    (void)st;
    pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    pthread_cond_t cv;
    gr_time_cond_init(&cv);
    int started = 0, finished = 0;
    gr__cluster_tasks t;
    gr__cluster_tasks_init(&t);
    struct probe p[N_BLOCKED];
    for (int i = 0; i < N_BLOCKED; i++) {
        p[i] = (struct probe){ .task.fn = probe_main,
                               .mu = &mu,
                               .cv = &cv,
                               .started = &started,
                               .finished = &finished,
                               .wait_for = N_BLOCKED };
        assert_int_equal(gr__cluster_tasks_run(&t, &p[i].task), 0);
    }
    gr__cluster_tasks_fini(&t); /* waits for all of them */
    /* Every task saw all the others start: none waited for a thread. */
    assert_int_equal(started, N_BLOCKED);
    assert_int_equal(finished, N_BLOCKED);
    pthread_cond_destroy(&cv);
}

static void
test_idle_threads_are_reused(void** st)
{
    (void)st;
    pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    pthread_cond_t cv;
    gr_time_cond_init(&cv);
    int started = 0, finished = 0;
    gr__cluster_tasks t;
    gr__cluster_tasks_init(&t);
    struct probe p = { .task.fn = probe_main,
                       .mu = &mu,
                       .cv = &cv,
                       .started = &started,
                       .finished = &finished };
    for (int i = 0; i < 50; i++) {
        assert_int_equal(gr__cluster_tasks_run(&t, &p.task), 0);
        pthread_mutex_lock(&mu);
        while (finished < i + 1)
            pthread_cond_wait(&cv, &mu);
        pthread_mutex_unlock(&mu);
        /* Wait until the thread is idle again before the next task. */
        for (;;) {
            pthread_mutex_lock(&t.lock);
            size_t idle = t.idle;
            pthread_mutex_unlock(&t.lock);
            if (idle == 1)
                break;
            struct timespec ms = { .tv_nsec = 1000000 };
            nanosleep(&ms, NULL);
        }
    }
    pthread_mutex_lock(&t.lock);
    size_t threads = t.threads;
    pthread_mutex_unlock(&t.lock);
    assert_int_equal(threads, 1);
    gr__cluster_tasks_fini(&t);
    assert_int_equal(finished, 50);
    pthread_cond_destroy(&cv);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_blocked_tasks_do_not_hold_up_others),
        cmocka_unit_test(test_idle_threads_are_reused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
