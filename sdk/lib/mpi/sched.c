/* SPDX-License-Identifier: Apache-2.0 */
/* Progress engine: schedules (non-blocking, persistent and neighbourhood
 * collectives, Isendrecv) are lists of rounds; a round posts its sends and
 * receives on the device together and ends when all of them completed;
 * local steps (reductions, unpacking) run when their round is entered.
 * Every schedule started and not yet complete is on one list, advanced
 * whenever the rank is inside an MPI call that can wait (Wait*, Test*,
 * Iprobe, Probe, Recv, Send, blocking collectives): a rank blocked in one
 * operation still moves its pending collectives, so programs that
 * interleave point to point with pending non-blocking collectives cannot
 * deadlock on us.
 */
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "mpi_int.h"

enum
{
    ST_SEND = 1,
    ST_RECV,
    ST_OP,     /* inout := in op inout */
    ST_UNPACK, /* packed bytes -> (buf, count, dt) */
    ST_COPY
};

typedef struct step
{
    int kind;
    int round;
    void* buf;
    MPI_Count len;
    int peer; /* world rank (or a wildcard) */
    int ctx, tag;
    int32_t dev;
    int status; /* this receive's status is the schedule's */
    const void* in;
    int count;
    MPI_Datatype dt;
    MPI_Op op;
} step;

struct nbc
{
    int ctx, tag;
    step* st;
    int nst, cap;
    int nrounds; /* rounds are numbered 0..nrounds-1 */
    int cur;     /* round being run */
    int first;   /* first step of the current round */
    int posted;
    int done;
    int err;
    void** tmp;
    int ntmp, tcap;
    MPI_Status status;
    nbc* next;
    int active;
};

static nbc* active_list;

nbc*
gr__nbc_new(int ctx, int tag)
{
    nbc* s = calloc(1, sizeof(nbc));
    if (!s)
        return NULL;
    s->ctx = ctx;
    s->tag = tag;
    gr__status_empty(&s->status);
    return s;
}

void
gr__nbc_free(nbc* s)
{
    if (!s)
        return;
    if (s->active) {
        nbc** p = &active_list;
        while (*p && *p != s)
            p = &(*p)->next;
        if (*p)
            *p = s->next;
    }
    for (int i = 0; i < s->ntmp; i++)
        free(s->tmp[i]);
    free(s->tmp);
    free(s->st);
    free(s);
}

void*
gr__nbc_tmp(nbc* s, size_t n)
{
    if (s->ntmp == s->tcap) {
        int nc = s->tcap ? s->tcap * 2 : 8;
        void** t = realloc(s->tmp, sizeof(void*) * (size_t)nc);
        if (!t)
            return NULL;
        s->tmp = t;
        s->tcap = nc;
    }
    void* p = malloc(n ? n : 1);
    if (p)
        s->tmp[s->ntmp++] = p;
    else
        s->err = MPI_ERR_NO_MEM;
    return p;
}

static step*
add(nbc* s, int kind)
{
    if (s->nst == s->cap) {
        int nc = s->cap ? s->cap * 2 : 16;
        step* t = realloc(s->st, sizeof(step) * (size_t)nc);
        if (!t) {
            s->err = MPI_ERR_NO_MEM;
            return NULL;
        }
        s->st = t;
        s->cap = nc;
    }
    step* p = &s->st[s->nst++];
    memset(p, 0, sizeof(*p));
    p->kind = kind;
    p->round = s->nrounds;
    p->ctx = s->ctx;
    p->tag = s->tag;
    p->dev = -1;
    return p;
}

void
gr__nbc_round(nbc* s)
{
    s->nrounds++;
}

void
gr__nbc_send(nbc* s, const void* buf, MPI_Count len, int wpeer)
{
    step* p = add(s, ST_SEND);
    if (p) {
        p->buf = (void*)buf;
        p->len = len;
        p->peer = wpeer;
    }
}

void
gr__nbc_recv(nbc* s, void* buf, MPI_Count len, int wpeer)
{
    step* p = add(s, ST_RECV);
    if (p) {
        p->buf = buf;
        p->len = len;
        p->peer = wpeer;
    }
}

void
gr__nbc_p2p(nbc* s,
            int is_recv,
            void* buf,
            MPI_Count len,
            int wpeer,
            int ctx,
            int tag)
{
    step* p = add(s, is_recv ? ST_RECV : ST_SEND);
    if (p) {
        p->buf = buf;
        p->len = len;
        p->peer = wpeer;
        p->ctx = ctx;
        p->tag = tag;
        p->status = is_recv;
    }
}

void
gr__nbc_op(nbc* s,
           const void* in,
           void* inout,
           int count,
           MPI_Datatype dt,
           MPI_Op op)
{
    step* p = add(s, ST_OP);
    if (p) {
        p->in = in;
        p->buf = inout;
        p->count = count;
        p->dt = dt;
        p->op = op;
    }
}

void
gr__nbc_unpack(nbc* s,
               const void* in,
               MPI_Count len,
               void* buf,
               int count,
               MPI_Datatype dt)
{
    step* p = add(s, ST_UNPACK);
    if (p) {
        p->in = in;
        p->len = len;
        p->buf = buf;
        p->count = count;
        p->dt = dt;
    }
}

void
gr__nbc_copy(nbc* s, const void* in, void* out, MPI_Count len)
{
    step* p = add(s, ST_COPY);
    if (p) {
        p->in = in;
        p->buf = out;
        p->len = len;
    }
}

const MPI_Status*
gr__nbc_status(nbc* s)
{
    return &s->status;
}

int
gr__nbc_err(nbc* s)
{
    return s->err;
}

static void
step_finished(nbc* s, step* p, int rc, const gr_mpi_status* ds)
{
    p->dev = -1;
    if (rc < 0 && !s->err)
        s->err = gr__dev_err(rc);
    if (p->kind == ST_RECV && ds->bytes > p->len && !s->err)
        s->err = MPI_ERR_TRUNCATE;
    if (p->status) {
        s->status.MPI_SOURCE = ds->source;
        s->status.MPI_TAG = ds->tag;
        s->status.gr_count = ds->bytes;
        s->status.gr_cancelled = ds->cancelled;
    }
}

static void
run_local(nbc* s, step* p)
{
    switch (p->kind) {
        case ST_OP: {
            int rc = gr__op_apply(p->op, p->in, p->buf, p->count, p->dt);
            if (rc && !s->err)
                s->err = rc;
            break;
        }
        case ST_UNPACK: {
            dtype* t = gr__dt_get(p->dt);
            if (t)
                gr__dt_unpack(t, p->in, p->len, p->buf, p->count);
            break;
        }
        case ST_COPY:
            if (p->len)
                memmove(p->buf, p->in, (size_t)p->len);
            break;
    }
}

static void
post(nbc* s)
{
    int i = s->first;
    for (; i < s->nst && s->st[i].round == s->cur; i++) {
        step* p = &s->st[i];
        if (p->kind == ST_SEND)
            p->dev = gr_mpi_isend(p->buf,
                                  (int32_t)p->len,
                                  p->peer,
                                  p->tag,
                                  p->ctx,
                                  GR_MPI_MODE_STANDARD);
        else if (p->kind == ST_RECV)
            p->dev =
              gr_mpi_irecv(p->buf, (int32_t)p->len, p->peer, p->tag, p->ctx);
        else
            run_local(s, p);
        if ((p->kind == ST_SEND || p->kind == ST_RECV) && p->dev < 0) {
            if (!s->err)
                s->err = gr__dev_err(p->dev);
            p->dev = -1;
        }
    }
    s->posted = 1;
}

/* Advances s as far as it goes without blocking; returns 1 when done. */
static int
advance(nbc* s)
{
    while (!s->done) {
        if (s->cur >= s->nrounds) {
            s->done = 1;
            break;
        }
        if (!s->posted)
            post(s);
        int pending = 0, i = s->first;
        for (; i < s->nst && s->st[i].round == s->cur; i++) {
            step* p = &s->st[i];
            if (p->dev < 0)
                continue;
            gr_mpi_status ds = { 0 };
            int rc = gr_mpi_test(p->dev, &ds);
            if (rc == 0) {
                pending = 1;
                continue;
            }
            step_finished(s, p, rc == 1 ? ds.error : rc, &ds);
        }
        if (pending)
            return 0;
        s->first = i;
        s->cur++;
        s->posted = 0;
    }
    if (s->active) {
        nbc** p = &active_list;
        while (*p && *p != s)
            p = &(*p)->next;
        if (*p)
            *p = s->next;
        s->active = 0;
        if (!active_list) {
            gr__dt_deferred_free();
            gr__op_deferred_free();
        }
    }
    return 1;
}

int
gr__nbc_start(nbc* s)
{
    /* a trailing local step needs a round of its own to run */
    if (s->nst && s->st[s->nst - 1].round == s->nrounds)
        s->nrounds++;
    s->active = 1;
    s->next = active_list;
    active_list = s;
    advance(s);
    return s->err;
}

int
gr__nbc_any_active(void)
{
    return active_list != NULL;
}

void
gr__progress(void)
{
    gr__reap_freed();
    nbc* s = active_list;
    while (s) {
        nbc* next = s->next;
        advance(s);
        s = next;
    }
}

int
gr__progress_waitany(const int32_t* dv, int n, int32_t* idx, gr_mpi_status* ds)
{
    int extra = 0;
    for (nbc* s = active_list; s; s = s->next)
        for (int i = s->first; i < s->nst && s->st[i].round == s->cur; i++)
            if (s->st[i].dev >= 0)
                extra++;
    if (!extra)
        return gr_mpi_waitany(dv, n, idx, ds);
    int32_t* all = malloc(sizeof(int32_t) * (size_t)(n + extra));
    step** who = malloc(sizeof(step*) * (size_t)extra);
    nbc** whos = malloc(sizeof(nbc*) * (size_t)extra);
    if (!all || !who || !whos) {
        free(all);
        free(who);
        free(whos);
        *idx = -1;
        return GR_MPI_ERR_NOMEM;
    }
    for (int i = 0; i < n; i++)
        all[i] = dv[i];
    int k = 0;
    for (nbc* s = active_list; s; s = s->next)
        for (int i = s->first; i < s->nst && s->st[i].round == s->cur; i++)
            if (s->st[i].dev >= 0) {
                who[k] = &s->st[i];
                whos[k] = s;
                all[n + k++] = s->st[i].dev;
            }
    int32_t j = -1;
    int rc = gr_mpi_waitany(all, n + extra, &j, ds);
    if (j >= n) {
        step_finished(whos[j - n], who[j - n], rc, ds);
        *idx = -2;
        rc = 0;
    } else {
        *idx = j;
    }
    free(all);
    free(who);
    free(whos);
    return rc;
}

void
gr__nbc_wait(nbc* s)
{
    while (!advance(s)) {
        int32_t idx;
        gr_mpi_status ds = { 0 };
        gr__progress_waitany(NULL, 0, &idx, &ds);
        gr__progress();
    }
}

int
gr__nbc_test(nbc* s)
{
    gr__progress();
    return advance(s);
}

int
gr__pwait(int32_t dev, gr_mpi_status* ds)
{
    if (!active_list)
        return gr_mpi_wait(dev, ds);
    for (;;) {
        gr__progress();
        int32_t idx = -1;
        int rc = gr__progress_waitany(&dev, 1, &idx, ds);
        if (idx == 0)
            return rc;
        if (idx == -1)
            return rc;
    }
}

int
gr__psend(const void* buf,
          int32_t len,
          int32_t dest,
          int32_t tag,
          int32_t ctx,
          int32_t mode)
{
    if (!active_list)
        return gr_mpi_send(buf, len, dest, tag, ctx, mode);
    int32_t d = gr_mpi_isend(buf, len, dest, tag, ctx, mode);
    if (d < 0)
        return d;
    gr_mpi_status ds = { 0 };
    return gr__pwait(d, &ds);
}

int
gr__precv(void* buf,
          int32_t len,
          int32_t src,
          int32_t tag,
          int32_t ctx,
          gr_mpi_status* st)
{
    if (!active_list)
        return gr_mpi_recv(buf, len, src, tag, ctx, st);
    int32_t d = gr_mpi_irecv(buf, len, src, tag, ctx);
    if (d < 0)
        return d;
    gr_mpi_status ds = { 0 };
    int rc = gr__pwait(d, &ds);
    if (st)
        *st = ds;
    return rc;
}

/* A blocking probe that keeps schedules moving: polls while any is
 * pending (a blocked host probe could not see their completions). */
int
gr__pprobe(int32_t src,
           int32_t tag,
           int32_t ctx,
           int32_t* msg,
           gr_mpi_status* st)
{
    for (;;) {
        if (!active_list)
            return msg ? gr_mpi_mprobe(src, tag, ctx, 1, msg, st)
                       : gr_mpi_probe(src, tag, ctx, 1, st);
        int rc = msg ? gr_mpi_mprobe(src, tag, ctx, 0, msg, st)
                     : gr_mpi_probe(src, tag, ctx, 0, st);
        if (rc != 0)
            return rc;
        gr__progress();
        sched_yield();
    }
}
