/* SPDX-License-Identifier: Apache-2.0 */
/* MPI apps through the scheduler: a call with a world size runs as that
 * many ranks, one Faaslet each, in one MPI world (src/mpi), on a thread
 * of its own that waits until every rank has a slot here (never holding
 * some while waiting for others). On a worker, only this host's ranks of
 * a world the planner placed run here. The outcome is one record: a JSON
 * document with every rank's results as output, and the app's exit
 * status (as granary mpirun's) as return code. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include <granary/status.h>

#include "host/host.h"
#include "host/threads.h"
#include "mpi/mpi.h"
#include "sched/sched_int.h"
#include "util/alloc.h"
#include "util/log.h"

#define RANK_STACK (8u << 20)

/* The part of the world on this host (owned copy of gr_mpi_part). */
struct gr__sched_mpi
{
    gr_mpi_part part;
    int* rank_host;
    char** addrs;
    char** names;
};

void
gr__sched_mpi_free(struct gr__sched_mpi* m)
{
    if (!m)
        return;
    for (int i = 0; i < m->part.nhosts; i++) {
        gr_free(m->addrs ? m->addrs[i] : NULL);
        gr_free(m->names ? m->names[i] : NULL);
    }
    gr_free(m->addrs);
    gr_free(m->names);
    gr_free(m->rank_host);
    gr_free(m);
}

static struct gr__sched_mpi*
part_dup(const gr_mpi_part* p)
{
    struct gr__sched_mpi* m = gr_calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->part = *p;
    m->rank_host = gr_calloc((size_t)p->np, sizeof *m->rank_host);
    m->addrs = gr_calloc((size_t)p->nhosts, sizeof *m->addrs);
    m->names = gr_calloc((size_t)p->nhosts, sizeof *m->names);
    if (!m->rank_host || !m->addrs || !m->names)
        goto fail;
    memcpy(m->rank_host, p->rank_host, (size_t)p->np * sizeof *m->rank_host);
    for (int i = 0; i < p->nhosts; i++)
        if (!(m->addrs[i] = gr_strdup(p->addrs[i])) ||
            !(m->names[i] = gr_strdup(p->names ? p->names[i] : "")))
            goto fail;
    m->part.rank_host = m->rank_host;
    m->part.addrs = (const char* const*)m->addrs;
    m->part.names = (const char* const*)m->names;
    return m;
fail:
    gr__sched_mpi_free(m);
    return NULL;
}

/* One rank's run and outcome. */
struct rank_run
{
    gr_sched* s;
    struct gr__call* c;
    struct gr__fn* f;
    gr_mpi_world* world;
    int index;
    pthread_t thread;
    int started;
    int rc; /* gr_faaslet_call's, or an error before it */
    gr_call_result r;
    char trap[64];
    char* out; /* owned copies */
    char* err;
    size_t out_len, err_len;
};

static char*
copy(const char* p, size_t n)
{
    char* d = gr_malloc(n + 1);
    if (d) {
        memcpy(d, p, n);
        d[n] = '\0';
    }
    return d;
}

static void*
rank_main(void* arg)
{
    struct rank_run* rr = arg;
    gr_rt_install_handlers();
    gr_mpi_rank* rank = gr_mpi_world_rank_at(rr->world, rr->index);
    gr_faaslet* fl = NULL;
    int cold = 0;
    int rc = gr_pool_acquire(rr->f->pool, &fl, &cold);
    if (!rc && cold && rr->s->cfg.state &&
        (rc = gr_faaslet_set_state(fl, rr->s->cfg.state, rr->c->user)) < 0) {
        gr_pool_release(rr->f->pool, fl, 1);
        fl = NULL;
    }
    if (!rc && gr_mpi_rank_attach(rank) < 0)
        rc = -EAGAIN;
    if (rc) {
        char what[128];
        snprintf(what, sizeof what, "cannot start: %s", gr_strerror(rc));
        gr_mpi_world_fail(rr->world, rr->index, GR_MPI_FAIL_ERROR, 0, what);
        rr->rc = rc;
        gr_mpi_rank_detach(rank);
        if (fl)
            gr_pool_release(rr->f->pool, fl, 0);
        return NULL;
    }
    gr_host_ctx* h = gr_instance_host(gr_faaslet_instance(fl));
    h->mpi = rank;
    /* a rank's threads (MPI + OpenMP) are granules of the app too */
    gr_threads_slots ts;
    struct gr__sched_tctx tctx;
    gr__sched_thread_slots(&ts, &tctx, rr->s, rr->c);
    h->thread_slots = &ts;
    /* stdin is rank 0's only, as under granary mpirun */
    gr_call call = { .input = rr->index == 0 ? rr->c->input : NULL,
                     .input_len = rr->index == 0 ? rr->c->input_len : 0,
                     .timeout_ns = rr->c->timeout_ns };
    rc = gr_faaslet_call(fl, &call, &rr->r);
    rr->rc = rc;
    h->mpi = NULL;
    h->thread_slots = NULL;
    if (rc == 0) {
        /* a command's stdout is its output */
        const char* o =
          rr->r.output_len ? (const char*)rr->r.output : rr->r.out;
        size_t on = rr->r.output_len ? rr->r.output_len : rr->r.out_len;
        rr->out = copy(o, on);
        rr->out_len = on;
        rr->err = copy(rr->r.err, rr->r.err_len);
        rr->err_len = rr->r.err_len;
        if (rr->r.status == GR_ETRAP)
            snprintf(
              rr->trap, sizeof rr->trap, "%s", gr_trap_name(rr->r.trap.kind));
    }
    int finalized = gr_mpi_rank_finalized(rank);
    if (rc < 0) {
        char what[128];
        snprintf(what, sizeof what, "%s", gr_strerror(rc));
        gr_mpi_world_fail(rr->world, rr->index, GR_MPI_FAIL_ERROR, 0, what);
    } else if (rr->r.status == GR_ETRAP) {
        gr_mpi_world_fail(rr->world, rr->index, GR_MPI_FAIL_TRAP, 0, rr->trap);
    } else if (rr->r.status) {
        gr_mpi_world_fail(rr->world,
                          rr->index,
                          GR_MPI_FAIL_ERROR,
                          0,
                          gr_strerror(rr->r.status));
    } else if (rr->r.return_code != 0 && !finalized) {
        gr_mpi_world_fail(
          rr->world, rr->index, GR_MPI_FAIL_EXIT, rr->r.return_code, NULL);
    }
    gr_mpi_rank_detach(rank);
    gr_pool_release(rr->f->pool, fl, rc < 0);
    return NULL;
}

/* ---- the outcome --------------------------------------------------------- */

/* The app's exit status and message, as granary mpirun's (docs/mpi.md);
 * st and status say how the record ends. */
static int
app_status(gr_mpi_world* w,
           const struct rank_run* rr,
           int np,
           char* msg,
           size_t len,
           gr_call_state* st,
           int* status,
           char* trap,
           size_t trap_len)
{
    gr_mpi_failure f;
    *st = GR_CALL_DONE;
    *status = 0;
    msg[0] = '\0';
    if (gr_mpi_world_failure(w, &f)) {
        switch (f.kind) {
            case GR_MPI_FAIL_TRAP:
                snprintf(msg, len, "rank %d trapped: %s", f.rank, f.what);
                snprintf(trap, trap_len, "rank %d: %.40s", f.rank, f.what);
                *st = GR_CALL_FAILED;
                *status =
                  strcmp(f.what, "timeout") == 0 ? GR_ETIMEOUT : GR_ETRAP;
                return 134;
            case GR_MPI_FAIL_EXIT:
                snprintf(msg, len, "rank %d exited with %d", f.rank, f.code);
                return f.code;
            case GR_MPI_FAIL_ABORT:
                snprintf(
                  msg, len, "rank %d called MPI_Abort(%d)", f.rank, f.code);
                return f.code ? f.code : 1;
            case GR_MPI_FAIL_HOST:
                snprintf(msg, len, "%s", f.what);
                *st = GR_CALL_FAILED;
                *status = -EHOSTDOWN;
                return 1;
            default:
                snprintf(msg, len, "rank %d: %s", f.rank, f.what);
                *st = GR_CALL_FAILED;
                *status = -EIO;
                return 1;
        }
    }
    for (int i = 0; i < np; i++)
        if (rr[i].started && rr[i].rc == 0 && rr[i].r.return_code != 0) {
            snprintf(msg,
                     len,
                     "rank %d exited with %d (after MPI_Finalize)",
                     i,
                     rr[i].r.return_code);
            return rr[i].r.return_code;
        }
    return 0;
}

static json_t*
jstr(const char* p, size_t n)
{
    json_t* v = p ? json_stringn(p, n) : NULL;
    return v ? v : json_string(""); /* not UTF-8: dropped */
}

/* The output document: {"np", "exit_code", "error", "ranks": [{"rank",
 * "host", "exit_code", "trap", "stdout", "stderr"}]} with this host's
 * ranks (a planner merges the hosts' documents). */
static char*
render(const struct gr__call* c,
       const struct rank_run* rr,
       int code,
       const char* msg,
       const char* const* names,
       int self,
       int failed_rank)
{
    json_t* doc = json_object();
    json_t* ranks = json_array();
    if (!doc || !ranks)
        goto fail;
    for (int i = 0; i < c->np; i++) {
        if (!rr[i].started)
            continue;
        const char* host = names && names[self][0] ? names[self] : "local";
        /* ranks ended because another failed report no failure of their
         * own (their calls were cancelled) */
        int cancelled = failed_rank >= 0 && i != failed_rank;
        json_t* r = json_pack(
          "{s:i, s:s, s:o, s:o, s:b, s:o, s:o}",
          "rank",
          i,
          "host",
          host,
          "exit_code",
          cancelled || rr[i].rc || rr[i].trap[0]
            ? json_null()
            : json_integer(rr[i].r.return_code),
          "trap",
          rr[i].trap[0] && !cancelled ? json_string(rr[i].trap) : json_null(),
          "cancelled",
          cancelled,
          "stdout",
          jstr(rr[i].out, rr[i].out_len),
          "stderr",
          jstr(rr[i].err, rr[i].err_len));
        if (!r || json_array_append_new(ranks, r))
            goto fail;
    }
    json_object_set_new(doc, "np", json_integer(c->np));
    json_object_set_new(doc, "exit_code", json_integer(code));
    json_object_set_new(doc, "error", msg[0] ? json_string(msg) : json_null());
    json_object_set_new(doc, "ranks", ranks);
    char* s = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    return s;
fail:
    json_decref(ranks);
    json_decref(doc);
    return NULL;
}

/* Every rank's stdout (or stderr) in rank order. */
static char*
joined(const struct rank_run* rr, int np, int err, const char* tail)
{
    size_t n = tail ? strlen(tail) + 10 : 0;
    for (int i = 0; i < np; i++)
        n += err ? rr[i].err_len : rr[i].out_len;
    char* d = gr_malloc(n + 1);
    if (!d)
        return NULL;
    size_t k = 0;
    for (int i = 0; i < np; i++) {
        const char* p = err ? rr[i].err : rr[i].out;
        size_t m = err ? rr[i].err_len : rr[i].out_len;
        if (p && m) {
            memcpy(d + k, p, m);
            k += m;
        }
    }
    if (tail)
        k += (size_t)snprintf(d + k, n + 1 - k, "granary: %s\n", tail);
    d[k] = '\0';
    return d;
}

/* ---- the app ------------------------------------------------------------- */

struct app
{
    gr_sched* s;
    struct gr__call* c;
    int nlocal;
};

static void
sleep_ms(int ms)
{
    struct timespec ts = { 0, (long)ms * 1000000L };
    nanosleep(&ts, NULL);
}

static void
app_fail(gr_sched* s, struct gr__call* c, int rc)
{
    c->status = rc;
    gr__sched_fn_unref(c->fn);
    c->fn = NULL;
    gr__sched_record_finish(s, c, GR_CALL_FAILED);
}

static void*
app_main(void* arg)
{
    struct app a = *(struct app*)arg;
    gr_free(arg);
    gr_sched* s = a.s;
    struct gr__call* c = a.c;
    struct rank_run* rr = NULL;
    gr_mpi_world* w = NULL;
    int taken = 0;

    /* every rank at once, or none: waiting while holding some slots could
     * deadlock two apps */
    while (!(taken = gr__sched_slots_take(s, a.nlocal))) {
        if (atomic_load(&s->stopping)) {
            app_fail(s, c, -ESHUTDOWN);
            goto out;
        }
        sleep_ms(2);
    }
    c->started_ns = gr__sched_now();
    atomic_store(&c->state, GR_CALL_RUNNING);
    int rc = gr__sched_fn_load(s, c->fn);
    if (!rc && !(rr = gr_calloc((size_t)c->np, sizeof *rr)))
        rc = -ENOMEM;
    if (!rc) {
        if (c->mpi) {
            const gr_mpi_part* p = &c->mpi->part;
            gr_mpi_hosts hs = { .app = p->app,
                                .nhosts = p->nhosts,
                                .self = p->self,
                                .rank_host = p->rank_host,
                                .addrs = p->addrs,
                                .net = p->net };
            rc = gr_mpi_world_create_hosts(c->np, &hs, &w);
        } else {
            rc = gr_mpi_world_create(c->np, &w);
        }
    }
    if (rc) {
        app_fail(s, c, rc);
        goto out;
    }
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, RANK_STACK);
    for (int i = 0; i < c->np; i++) {
        if (!gr_mpi_world_is_local(w, i))
            continue;
        rr[i] = (struct rank_run){
            .s = s, .c = c, .f = c->fn, .world = w, .index = i
        };
        if ((rc = pthread_create(&rr[i].thread, &attr, rank_main, &rr[i]))) {
            gr_mpi_world_fail(
              w, i, GR_MPI_FAIL_ERROR, 0, "cannot start a thread");
            break;
        }
        rr[i].started = 1;
    }
    pthread_attr_destroy(&attr);
    for (int i = 0; i < c->np; i++)
        if (rr[i].started)
            pthread_join(rr[i].thread, NULL);
    char msg[160];
    gr_call_state st;
    int status;
    c->return_code = app_status(
      w, rr, c->np, msg, sizeof msg, &st, &status, c->trap, sizeof c->trap);
    c->status = status;
    const char* const* names = c->mpi ? c->mpi->part.names : NULL;
    gr_mpi_failure fl;
    int failed_rank = gr_mpi_world_failure(w, &fl) ? fl.rank : -1;
    char* doc = render(c,
                       rr,
                       c->return_code,
                       msg,
                       names,
                       c->mpi ? c->mpi->part.self : 0,
                       failed_rank);
    if (doc) {
        size_t n = strlen(doc);
        if ((c->output = gr_malloc(n)))
            memcpy(c->output, doc, n), c->output_len = n;
        free(doc); /* jansson's allocator */
    }
    char* o = joined(rr, c->np, 0, NULL);
    char* e = joined(rr, c->np, 1, msg[0] ? msg : NULL);
    c->out = gr__sched_dup_str(o ? o : "", o ? strlen(o) : 0);
    c->err = gr__sched_dup_str(e ? e : "", e ? strlen(e) : 0);
    gr_free(o);
    gr_free(e);
    gr_mpi_world_destroy(w);
    w = NULL;
    gr__sched_fn_unref(c->fn);
    c->fn = NULL;
    gr_free(c->input);
    c->input = NULL;
    gr__sched_record_finish(s, c, st);
out:
    if (rr) {
        for (int i = 0; i < c->np; i++) {
            gr_free(rr[i].out);
            gr_free(rr[i].err);
        }
        gr_free(rr);
    }
    gr_mpi_world_destroy(w);
    if (taken)
        gr__sched_slots_release(s, a.nlocal);
    atomic_fetch_sub(&s->running, 1);
    gr__sched_call_unref(c);
    return NULL;
}

/* On a planner: the planner places the ranks on its workers and
 * delivers the whole app's outcome (gr_sched_remote_done). */
static int
start_planned(gr_sched* s, struct gr__call* c)
{
    const gr_remote* rm = &s->remote;
    if (!rm->mpi_place || !rm->mpi_start)
        return -ENOTSUP;
    void* plan = NULL;
    int rc =
      rm->mpi_place(rm->ctx, c->user, c->fn_name, c->np, c->spread, &plan);
    if (rc)
        return rc; /* refused before anything started */
    char hash[65];
    memcpy(hash, c->fn->info.hash, sizeof hash);
    gr__sched_fn_unref(c->fn);
    c->fn = NULL;
    snprintf(c->host, sizeof c->host, "planner");
    c->started_ns = gr__sched_now();
    atomic_store(&c->state, GR_CALL_RUNNING);
    atomic_store(&c->remote, 1);
    if ((rc = gr__sched_record_insert(s, c))) {
        if (rm->mpi_cancel)
            rm->mpi_cancel(rm->ctx, plan);
        return rc;
    }
    gr_remote_call d = { .id = c->id,
                         .user = c->user,
                         .fn = c->fn_name,
                         .hash = hash,
                         .input = c->input,
                         .input_len = c->input_len,
                         .timeout_ns = c->timeout_ns };
    rc = rm->mpi_start(rm->ctx, plan, &d);
    gr_free(c->input);
    c->input = NULL;
    int one = 1;
    if (rc && atomic_compare_exchange_strong(&c->remote, &one, 0)) {
        c->status = rc;
        gr__sched_record_finish(s, c, GR_CALL_FAILED);
    }
    return 0;
}

int
gr__sched_mpi_start(gr_sched* s, struct gr__call* c, const gr_invoke_opts* o)
{
    if (!o->mpi && s->remote.start && !(o->host && !strcmp(o->host, "local")))
        return start_planned(s, c);
    int nlocal = c->np;
    if (o->mpi) {
        const gr_mpi_part* p = o->mpi;
        if (p->np != c->np || p->nhosts < 1 || p->self < 0 ||
            p->self >= p->nhosts || !p->rank_host || !p->addrs ||
            (p->nhosts > 1 && !p->net))
            return -EINVAL;
        nlocal = 0;
        for (int i = 0; i < p->np; i++)
            nlocal += p->rank_host[i] == p->self;
        if (!(c->mpi = part_dup(p)))
            return -ENOMEM;
    }
    if (c->np > GR_MPI_MAX_RANKS)
        return -EINVAL;
    /* refused up front: these ranks could never all run here at once */
    if (nlocal > s->cfg.slots) {
        GR_INFO("sched: refusing %s/%s with %d ranks: %d slots",
                c->user,
                c->fn_name,
                nlocal,
                s->cfg.slots);
        return -ENOSPC;
    }
    struct app* a = gr_malloc(sizeof *a);
    if (!a)
        return -ENOMEM;
    *a = (struct app){ .s = s, .c = c, .nlocal = nlocal };
    snprintf(c->host,
             sizeof c->host,
             "%s",
             o->mpi && o->mpi->names ? o->mpi->names[o->mpi->self] : "local");
    int rc = gr__sched_record_insert(s, c);
    if (rc) {
        gr_free(a);
        return rc;
    }
    atomic_fetch_add(&c->refs, 1); /* the app thread's */
    atomic_fetch_add(&s->running, 1);
    pthread_t t;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    rc = pthread_create(&t, &attr, app_main, a);
    pthread_attr_destroy(&attr);
    if (rc) {
        atomic_fetch_sub(&s->running, 1);
        atomic_fetch_sub(&c->refs, 1);
        gr_free(a);
        app_fail(s, c, -EAGAIN);
        return 0; /* the record says why */
    }
    return 0;
}
