/* SPDX-License-Identifier: Apache-2.0 */
/* The scheduler's lifecycle (configuration defaults, executor threads, the
 * idle-Faaslet janitor), the default local placement, and metrics. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <granary/status.h>

#include "sched/journal.h"
#include "sched/sched_int.h"
#include "util/alloc.h"
#include "util/log.h"
#include "util/time.h"

#define JANITOR_PERIOD_NS 1000000000ull

uint64_t
gr__sched_now(void)
{
    return gr_time_now_ns();
}

static int
place_local(void* ctx, const char* user, const char* fn, char* host)
{
    (void)ctx;
    (void)user;
    (void)fn;
    memcpy(host, "local", sizeof "local");
    return 0;
}

static char*
default_data_dir(void)
{
    const char* v = getenv("GRANARY_DATA");
    if (v && v[0])
        return gr_strdup(v);
    char buf[4096];
    const char* x = getenv("XDG_DATA_HOME");
    const char* home = getenv("HOME");
    if (x && x[0])
        snprintf(buf, sizeof buf, "%s/granary", x);
    else
        snprintf(buf,
                 sizeof buf,
                 "%s/.local/share/granary",
                 home && home[0] ? home : ".");
    return gr_strdup(buf);
}

struct evict_args
{
    uint64_t now;
};

static void
evict_one(struct gr__fn* f, void* ud)
{
    gr_pool_evict_idle(f->pool, ((struct evict_args*)ud)->now);
}

static void*
janitor_main(void* arg)
{
    gr_sched* s = arg;
    pthread_mutex_lock(&s->jan_lock);
    while (!atomic_load(&s->stopping)) {
        uint64_t next = gr__sched_now() + JANITOR_PERIOD_NS;
        struct timespec ts = { .tv_sec = (time_t)(next / 1000000000u),
                               .tv_nsec = (long)(next % 1000000000u) };
        pthread_cond_timedwait(&s->jan_cond, &s->jan_lock, &ts);
        if (atomic_load(&s->stopping))
            break;
        pthread_mutex_unlock(&s->jan_lock);
        struct evict_args a = { gr__sched_now() };
        gr__sched_fn_each(s, evict_one, &a);
        pthread_mutex_lock(&s->jan_lock);
    }
    pthread_mutex_unlock(&s->jan_lock);
    return NULL;
}

int
gr_sched_create(const gr_sched_config* cfg, gr_sched** out)
{
    if (!cfg || !cfg->engine)
        return -EINVAL;
    gr_sched* s = gr_calloc(1, sizeof *s);
    if (!s)
        return -ENOMEM;
    s->cfg = *cfg;
    gr_sched_config* c = &s->cfg;
    if (c->slots <= 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        c->slots = n > 0 ? (int)n : 1;
    }
    if (!c->queue_max)
        c->queue_max = 1024;
    if (!c->timeout_ns)
        c->timeout_ns = 60000000000ull;
    if (!c->max_pages)
        c->max_pages = 65536;
    if (!c->max_input)
        c->max_input = 16u << 20;
    if (!c->max_output)
        c->max_output = 16u << 20;
    if (!c->max_module)
        c->max_module = 64u << 20;
    if (!c->max_records)
        c->max_records = 100000;
    if (!c->max_record_bytes)
        c->max_record_bytes = (size_t)256 << 20;
    if (!c->max_user_record_bytes)
        c->max_user_record_bytes = (size_t)64 << 20;
    if (!c->idle_ns)
        c->idle_ns = 60000000000ull;
    if (!c->journal_max_records)
        c->journal_max_records = 100000;
    if (!c->journal_max_bytes)
        c->journal_max_bytes = 1ull << 30;
    s->placement = cfg->placement
                     ? *cfg->placement
                     : (gr_placement){ .ctx = NULL, .place = place_local };
    c->placement = &s->placement;
    if (cfg->remote)
        s->remote = *cfg->remote;
    c->remote = NULL; /* copied into s->remote */
    atomic_init(&s->free_slots, c->slots);
    pthread_mutex_init(&s->jan_lock, NULL);
    pthread_mutex_init(&s->t_lock, NULL);
    gr_time_cond_init(&s->jan_cond);

    int rc = -ENOMEM;
    s->data_dir = cfg->data_dir ? gr_strdup(cfg->data_dir) : default_data_dir();
    if (!s->data_dir)
        goto fail;
    c->data_dir = s->data_dir;
    if ((rc = gr__sched_calls_init(s)))
        goto fail;
    if ((rc = gr__sched_journal_open(s->data_dir,
                                     c->journal_max_records,
                                     c->journal_max_bytes,
                                     &s->journal)))
        goto fail;
    if ((rc = gr__sched_store_open(s))) {
        GR_ERROR("sched: cannot open the function store in %s: %s",
                 s->data_dir,
                 gr_strerror(rc));
        goto fail;
    }
    gr_rt_init();
    rc = -ENOMEM;
    s->max_threads = c->slots + GR__SCHED_EXTRA_THREADS;
    s->threads = gr_calloc((size_t)s->max_threads, sizeof *s->threads);
    if (!s->threads)
        goto fail;
    for (int i = 0; i < c->slots; i++) {
        pthread_mutex_lock(&s->q_lock);
        rc = -pthread_create(&s->threads[i], NULL, gr__sched_executor_main, s);
        if (!rc)
            s->nthreads++;
        pthread_mutex_unlock(&s->q_lock);
        if (rc)
            goto fail;
    }
    rc = -pthread_create(&s->janitor, NULL, janitor_main, s);
    if (rc)
        goto fail;
    s->janitor_started = 1;
    *out = s;
    return 0;
fail:
    gr_sched_destroy(s);
    return rc;
}

void
gr_sched_destroy(gr_sched* s)
{
    if (!s)
        return;
    atomic_store(&s->stopping, 1);
    if (s->queue)
        gr__sched_queue_drain(s);
    /* No executor starts once stopping is set (executors_grow checks it
     * under q_lock), so this count is final. */
    int nthreads = 0;
    if (s->queue) {
        pthread_mutex_lock(&s->q_lock);
        nthreads = s->nthreads;
        pthread_mutex_unlock(&s->q_lock);
    }
    for (int i = 0; i < nthreads; i++)
        pthread_join(s->threads[i], NULL);
    /* Synchronous callers run on their own threads: let them finish. */
    while (atomic_load(&s->running))
        usleep(1000);
    if (s->janitor_started) {
        pthread_mutex_lock(&s->jan_lock);
        pthread_cond_broadcast(&s->jan_cond);
        pthread_mutex_unlock(&s->jan_lock);
        pthread_join(s->janitor, NULL);
    }
    gr__sched_journal_close(s->journal); /* after every record finished */
    gr__sched_calls_fini(s);
    gr__sched_store_close(s);
    pthread_mutex_destroy(&s->jan_lock);
    pthread_mutex_destroy(&s->t_lock);
    pthread_cond_destroy(&s->jan_cond);
    gr_free(s->threads);
    gr_free(s->data_dir);
    gr_free(s);
}

const char*
gr_call_state_name(gr_call_state st)
{
    switch (st) {
        case GR_CALL_QUEUED:
            return "queued";
        case GR_CALL_RUNNING:
            return "running";
        case GR_CALL_DONE:
            return "done";
        case GR_CALL_FAILED:
            return "failed";
    }
    return "unknown";
}

static void
count_faaslets(struct gr__fn* f, void* ud)
{
    gr_pool_stats ps;
    gr_pool_get_stats(f->pool, &ps);
    *(uint64_t*)ud += ps.idle + ps.busy;
}

void
gr_sched_get_stats(gr_sched* s, gr_sched_stats* st)
{
    static const double le[GR_SCHED_LATENCY_BUCKETS] = {
        10e-6, 25e-6, 50e-6, 100e-6, 250e-6, 500e-6, 1e-3, 2.5e-3,
        5e-3,  10e-3, 50e-3, 100e-3, 500e-3, 1.0,    5.0,  10.0
    };
    memset(st, 0, sizeof *st);
    st->calls = atomic_load(&s->calls);
    st->errors = atomic_load(&s->errors);
    st->timeouts = atomic_load(&s->timeouts);
    st->rejected = atomic_load(&s->rejected);
    st->cold_starts = atomic_load(&s->cold);
    st->warm_starts = atomic_load(&s->warm);
    st->queue_depth = atomic_load(&s->queue_len);
    st->running = (uint64_t)atomic_load(&s->running);
    st->slots = (uint64_t)s->cfg.slots;
    gr__sched_fn_each(s, count_faaslets, &st->faaslets_alive);
    int tg = atomic_load(&s->thread_granules);
    int ts = atomic_load(&s->thread_slots);
    st->thread_granules = tg > 0 ? (uint64_t)tg : 0;
    st->thread_slots = ts > 0 ? (uint64_t)ts : 0;
    st->threads_started = atomic_load(&s->threads_started);
    st->threads_refused = atomic_load(&s->threads_refused);
    pthread_mutex_lock(&s->rec_lock);
    st->records = s->rec_count;
    st->record_bytes = s->rec_bytes;
    pthread_mutex_unlock(&s->rec_lock);
    uint64_t cum = 0;
    for (int i = 0; i < GR_SCHED_LATENCY_BUCKETS; i++) {
        cum += atomic_load(&s->buckets[i]);
        st->bucket_le[i] = le[i];
        st->bucket_count[i] = cum;
    }
    st->latency_sum_s = (double)atomic_load(&s->latency_sum_ns) / 1e9;
}

void
gr_host_info_free(gr_host_info* v, size_t n)
{
    for (size_t i = 0; v && i < n; i++) {
        gr_free(v[i].warm);
        gr_free(v[i].running);
    }
    gr_free(v);
}

int
gr_sched_hosts(gr_sched* s, gr_host_info** out, size_t* n)
{
    if (s->placement.hosts)
        return s->placement.hosts(s->placement.ctx, out, n);
    gr_host_info* h = gr_calloc(1, sizeof *h);
    if (!h)
        return -ENOMEM;
    memcpy(h->id, "local", sizeof "local");
    h->slots = (uint32_t)s->cfg.slots;
    h->used = (uint32_t)atomic_load(&s->running);
    gr_sched_stats st;
    gr_sched_get_stats(s, &st);
    h->threads = (uint32_t)st.thread_granules;
    h->thread_slots = (uint32_t)st.thread_slots;
    h->alive = 1;
    h->placed = atomic_load(&s->calls);
    int rc = gr_sched_warm_list(s, &h->warm, &h->nwarm);
    /* of the calls running here, those that run thread granules */
    if (!rc)
        rc = gr_sched_thread_calls(s, &h->running, &h->nrunning);
    if (rc) {
        gr_host_info_free(h, 1);
        return rc;
    }
    *out = h;
    *n = 1;
    return 0;
}
