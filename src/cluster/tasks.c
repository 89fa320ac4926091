/* SPDX-License-Identifier: Apache-2.0 */
/* A cache of task threads shared by the planner (chained calls from
 * workers) and the worker (Invokes): a task runs on an idle thread when
 * there is one, else on a new one, so a task never waits for another to
 * finish (a parent waiting for its child must not hold up the child) and
 * steady load creates no threads. */
#include <errno.h>

#include "cluster/cluster_int.h"

/* Idle threads beyond this long without work exit. */
#define LINGER_NS 10000000000ull

static void*
task_main(void* arg)
{
    gr__cluster_tasks* t = arg;
    pthread_mutex_lock(&t->lock);
    for (;;) {
        if (t->head) {
            gr__cluster_task* k = t->head;
            t->head = k->next;
            if (!t->head)
                t->tail = NULL;
            t->queued--;
            pthread_mutex_unlock(&t->lock);
            k->fn(k); /* k may be gone after this */
            pthread_mutex_lock(&t->lock);
            continue;
        }
        if (t->stopping)
            break;
        uint64_t until = gr_time_now_ns() + LINGER_NS;
        t->idle++;
        while (!t->head && !t->stopping && gr_time_now_ns() < until)
            gr_time_cond_wait_until(&t->work, &t->lock, until);
        t->idle--;
        if (!t->head && !t->stopping)
            break; /* lingered long enough */
    }
    t->threads--;
    pthread_cond_broadcast(&t->done);
    pthread_mutex_unlock(&t->lock);
    return NULL;
}

void
gr__cluster_tasks_init(gr__cluster_tasks* t)
{
    *t = (gr__cluster_tasks){ 0 };
    pthread_mutex_init(&t->lock, NULL);
    gr_time_cond_init(&t->work);
    pthread_cond_init(&t->done, NULL);
}

int
gr__cluster_tasks_run(gr__cluster_tasks* t, gr__cluster_task* k)
{
    int rc = 0;
    k->next = NULL;
    pthread_mutex_lock(&t->lock);
    if (t->stopping) {
        rc = -ESHUTDOWN;
        goto out;
    }
    /* Idle threads not yet claimed by queued tasks take it; else one
     * more thread, so that no task waits behind a blocked one. */
    if (t->idle <= t->queued) {
        pthread_attr_t a;
        pthread_t th;
        pthread_attr_init(&a);
        pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
        rc = -pthread_create(&th, &a, task_main, t);
        pthread_attr_destroy(&a);
        if (rc)
            goto out;
        t->threads++;
    }
    if (t->tail)
        t->tail->next = k;
    else
        t->head = k;
    t->tail = k;
    t->queued++;
    pthread_cond_signal(&t->work);
out:
    pthread_mutex_unlock(&t->lock);
    return rc;
}

void
gr__cluster_tasks_fini(gr__cluster_tasks* t)
{
    pthread_mutex_lock(&t->lock);
    t->stopping = 1;
    pthread_cond_broadcast(&t->work);
    while (t->threads)
        pthread_cond_wait(&t->done, &t->lock);
    pthread_mutex_unlock(&t->lock);
    pthread_mutex_destroy(&t->lock);
    pthread_cond_destroy(&t->work);
    pthread_cond_destroy(&t->done);
}
