/* SPDX-License-Identifier: Apache-2.0 */
/* MPI worlds: creation, the ranks' attach/detach around their guest
 * calls, and failure (the first failure ends every rank's call). */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mpi/mpi_int.h"
#include "util/alloc.h"

/* Pauses before a polling rank starts yielding (about 5-40 us). */
#define SPIN_PAUSES 256

/* Blocked ranks poll for a while before sleeping: a peer on another CPU
 * answers sooner than a futex wake-up would. When every rank can have a
 * CPU (of those the creating thread may run on), they poll with a pause,
 * then with sched_yield; with more ranks than CPUs, only with
 * sched_yield, which hands the CPU to a rank that waits for it. Not at
 * all on one CPU. GRANARY_MPI_SPIN_US overrides the time (0 = never). */
static void
default_spin(gr_mpi_world* w)
{
    cpu_set_t set;
    long cpus = sched_getaffinity(0, sizeof set, &set) == 0
                  ? CPU_COUNT(&set)
                  : sysconf(_SC_NPROCESSORS_ONLN);
    w->spin_ns = cpus > 1 ? GR_MPI_SPIN_NS : 0;
    w->spin_pauses = w->size <= cpus ? SPIN_PAUSES : 0;
    const char* e = getenv("GRANARY_MPI_SPIN_US");
    if (e && *e) {
        char* end;
        unsigned long long us = strtoull(e, &end, 10);
        if (*end == '\0' && us <= 1000000)
            w->spin_ns = (uint64_t)us * 1000;
    }
}

int
gr_mpi_world_create(int size, gr_mpi_world** out)
{
    *out = NULL;
    if (size < 1 || size > GR_MPI_MAX_RANKS)
        return -EINVAL;
    gr_mpi_world* w = gr_calloc(1, sizeof *w);
    if (!w)
        return -ENOMEM;
    w->ranks = gr_calloc((size_t)size, sizeof *w->ranks);
    if (!w->ranks) {
        gr_free(w);
        return -ENOMEM;
    }
    w->size = size;
    if (size <= GR__MPI_CHAN_MAX_RANKS) {
        w->chans = gr_calloc((size_t)size * (size_t)size, sizeof *w->chans);
        if (!w->chans) {
            gr_free(w->ranks);
            gr_free(w);
            return -ENOMEM;
        }
    }
    w->eager_limit = GR_MPI_EAGER_LIMIT;
    default_spin(w);
    /* When every rank has a CPU and polls, the lock is adaptive: a rank
     * finds it held by a peer running elsewhere for well under a
     * microsecond, and sleeping on it then costs a futex wake-up (with
     * bound ranks, ~10 us; measured). With ranks sharing CPUs, spinning
     * for a lock whose holder may be preempted only loses time. */
    pthread_mutexattr_t ma;
    pthread_mutexattr_init(&ma);
    if (w->spin_ns && w->spin_pauses)
        pthread_mutexattr_settype(&ma, PTHREAD_MUTEX_ADAPTIVE_NP);
    pthread_mutex_init(&w->mu, &ma);
    pthread_mutexattr_destroy(&ma);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    for (int i = 0; i < size; i++) {
        w->ranks[i].w = w;
        w->ranks[i].index = i;
        pthread_cond_init(&w->ranks[i].cv, &ca);
    }
    pthread_condattr_destroy(&ca);
    *out = w;
    return 0;
}

void
gr_mpi_world_destroy(gr_mpi_world* w)
{
    if (!w)
        return;
    if (w->link)
        gr__mpi_link_destroy(w);
    pthread_mutex_lock(&w->mu);
    for (int i = 0; i < w->size; i++) {
        gr_mpi_rank* r = &w->ranks[i];
        if (!r->detached)
            gr__mpi_rank_drop(r);
        r->detached = 1;
    }
    for (int i = 0; i < w->size; i++)
        gr__mpi_rank_free_all(&w->ranks[i]);
    gr__mpi_chans_free(w);
    pthread_mutex_unlock(&w->mu);
    for (int i = 0; i < w->size; i++)
        pthread_cond_destroy(&w->ranks[i].cv);
    pthread_mutex_destroy(&w->mu);
    gr_free(w->rank_host);
    gr_free(w->ranks);
    gr_free(w);
}

int
gr_mpi_world_rank_host(const gr_mpi_world* w, int rank)
{
    return w->rank_host && rank >= 0 && rank < w->size ? w->rank_host[rank] : 0;
}

int
gr_mpi_world_host_count(const gr_mpi_world* w)
{
    return w->nhosts ? w->nhosts : 1;
}

int
gr_mpi_world_self_host(const gr_mpi_world* w)
{
    return w->self_host;
}

int
gr_mpi_world_is_local(const gr_mpi_world* w, int rank)
{
    return rank >= 0 && rank < w->size && !gr__mpi_is_remote(w, rank);
}

int
gr_mpi_world_nranks(const gr_mpi_world* w)
{
    return w->size;
}

gr_mpi_rank*
gr_mpi_world_rank_at(gr_mpi_world* w, int i)
{
    return w && i >= 0 && i < w->size ? &w->ranks[i] : NULL;
}

int
gr_mpi_rank_index(const gr_mpi_rank* r)
{
    return r->index;
}

gr_mpi_world*
gr_mpi_rank_world(const gr_mpi_rank* r)
{
    return r->w;
}

void
gr_mpi_world_set_eager_limit(gr_mpi_world* w, size_t bytes)
{
    pthread_mutex_lock(&w->mu);
    w->eager_limit = bytes;
    pthread_mutex_unlock(&w->mu);
}

void
gr_mpi_world_set_spin(gr_mpi_world* w, uint64_t ns)
{
    pthread_mutex_lock(&w->mu);
    w->spin_ns = ns;
    pthread_mutex_unlock(&w->mu);
}

int
gr_mpi_world_fail(gr_mpi_world* w,
                  int rank,
                  enum gr_mpi_fail_kind kind,
                  int code,
                  const char* what)
{
    pthread_mutex_lock(&w->mu);
    int first = gr__mpi_world_fail(w, rank, kind, code, what, 0);
    pthread_mutex_unlock(&w->mu);
    return first;
}

int
gr__mpi_world_fail(gr_mpi_world* w,
                   int rank,
                   enum gr_mpi_fail_kind kind,
                   int code,
                   const char* what,
                   int from_remote)
{
    int first = !w->failed;
    if (first) {
        __atomic_store_n(&w->failed, 1, __ATOMIC_RELEASE);
        w->failure.kind = kind;
        w->failure.rank = rank;
        w->failure.code = code;
        snprintf(
          w->failure.what, sizeof w->failure.what, "%s", what ? what : "");
        for (int i = 0; i < w->size; i++) {
            gr_mpi_rank* r = &w->ranks[i];
            gr__mpi_rank_wake(r);
            /* the handle is valid while attached (cleared under mu) */
            if (r->thread && i != rank)
                gr_rt_cancel(r->thread);
        }
        if (w->link)
            gr__mpi_world_failed(w, from_remote);
    }
    return first;
}

int
gr_mpi_world_failure(gr_mpi_world* w, gr_mpi_failure* f)
{
    pthread_mutex_lock(&w->mu);
    *f = w->failure;
    int failed = w->failed;
    pthread_mutex_unlock(&w->mu);
    return failed;
}

int
gr_mpi_rank_attach(gr_mpi_rank* r)
{
    gr_rt_thread* t = gr_rt_thread_self();
    if (!t)
        return GR_MPI_ERR_OTHER;
    gr_mpi_world* w = r->w;
    pthread_mutex_lock(&w->mu);
    r->thread = t;
    int failed = w->failed;
    pthread_mutex_unlock(&w->mu);
    if (failed)
        gr_rt_cancel(t); /* the world ended before this rank started */
    return 0;
}

/* Detaches r (lock held): see gr_mpi_rank_detach. */
static void
detach_locked(gr_mpi_rank* r)
{
    gr_mpi_world* w = r->w;
    if (!r->detached) {
        __atomic_store_n(&r->detached, 1, __ATOMIC_RELEASE);
        gr__mpi_rank_drop(r);
    }
    while (r->inflight > 0)
        pthread_cond_wait(&r->cv, &w->mu);
    gr__mpi_rank_free_all(r);
}

void
gr_mpi_rank_detach(gr_mpi_rank* r)
{
    gr_mpi_world* w = r->w;
    pthread_mutex_lock(&w->mu);
    detach_locked(r);
    r->thread = NULL;
    pthread_mutex_unlock(&w->mu);
    gr_rt_cancel_clear();
}

int
gr_mpi_rank_finalize(gr_mpi_rank* r)
{
    gr_mpi_world* w = r->w;
    pthread_mutex_lock(&w->mu);
    r->finalized = 1;
    detach_locked(r);
    r->thread = NULL; /* a later failure of others does not stop this one */
    pthread_mutex_unlock(&w->mu);
    return 0;
}

int
gr_mpi_rank_finalized(gr_mpi_rank* r)
{
    pthread_mutex_lock(&r->w->mu);
    int f = r->finalized;
    pthread_mutex_unlock(&r->w->mu);
    return f;
}
