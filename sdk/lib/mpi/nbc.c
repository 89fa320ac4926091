/* SPDX-License-Identifier: Apache-2.0 */
/* Non-blocking and persistent collectives as schedules (sched.c): each
 * call builds its rounds of sends, receives and local reductions and
 * returns a request that progresses whenever the rank is in an MPI call
 * that can wait. Every schedule has its own tag on the communicator's
 * collective context (taken in call order, which MPI makes the same on
 * every rank; a persistent collective keeps the tag of its _init), so
 * schedules never match each other's messages nor the blocking
 * collectives' (tags 0-2). Algorithms are flat (one or two rounds, all
 * pairs) except barrier (dissemination) and bcast (binomial); reductions
 * combine in rank order, so results are the same on every rank.
 */
#include <stdlib.h>
#include <string.h>

#include "mpi_int.h"

#define NBC_TAG_BASE 64

int
gr__nbc_next_tag(comm* c)
{
    return NBC_TAG_BASE + ((c->nbc_seq++ & 0xfffff) << 6);
}

static int
is_simple(dtype* t, int count)
{
    return t->contig || count == 0 || (count == 1 && t->nblk == 1);
}

/* Packed bytes of (buf, count, t) for sending: the user's buffer when
 * contiguous (unless snap), else a packed copy owned by s. */
const void*
gr__nbc_sview(nbc* s,
              const void* buf,
              int count,
              MPI_Datatype dt,
              MPI_Count* len,
              int snap)
{
    dtype* t = gr__dt_get(dt);
    *len = gr__dt_packed(t, count);
    if (is_simple(t, count) && !snap)
        return gr__dt_base(t, buf);
    void* p = gr__nbc_tmp(s, (size_t)*len);
    if (p)
        gr__dt_pack(t, buf, count, p);
    return p;
}

/* Space to receive (buf, count, t) into; *unpack set when it is a
 * temporary to unpack with gr__nbc_unpack after the receive's round. */
void*
gr__nbc_rview(nbc* s,
              void* buf,
              int count,
              MPI_Datatype dt,
              MPI_Count* len,
              int* unpack)
{
    dtype* t = gr__dt_get(dt);
    *len = gr__dt_packed(t, count);
    *unpack = !is_simple(t, count);
    if (!*unpack)
        return gr__dt_base(t, buf);
    return gr__nbc_tmp(s, (size_t)*len);
}

MPI_Aint
gr__nbc_extent(MPI_Datatype dt)
{
    dtype* t = gr__dt_get(dt);
    return t ? t->ub - t->lb : 0;
}

/* Receives (buf, count, dt) from world rank wr; remembers an unpack. */
void
gr__nbc_recv_into(nbc* s,
                  void* buf,
                  int count,
                  MPI_Datatype dt,
                  int wr,
                  pend* pd,
                  int* npd)
{
    MPI_Count len;
    int up;
    void* p = gr__nbc_rview(s, buf, count, dt, &len, &up);
    gr__nbc_recv(s, p, len, wr);
    if (up)
        pd[(*npd)++] = (pend){ p, len, buf, count, dt };
}

void
gr__nbc_flush(nbc* s, pend* pd, int npd)
{
    for (int i = 0; i < npd; i++)
        gr__nbc_unpack(s, pd[i].p, pd[i].len, pd[i].buf, pd[i].count, pd[i].dt);
}

static char dummy;

static int
b_barrier(nbc* s, comm* c)
{
    int n = c->size, me = c->rank;
    for (int k = 1; k < n; k <<= 1) {
        gr__nbc_send(s, &dummy, 0, c->w[(me + k) % n]);
        gr__nbc_recv(s, &dummy, 0, c->w[(me - k + n) % n]);
        gr__nbc_round(s);
    }
    return 0;
}

static int
b_bcast(nbc* s, comm* c, void* buf, int count, MPI_Datatype dt, int root)
{
    int n = c->size, me = c->rank;
    MPI_Count len;
    int up = 0;
    void* p = me == root ? (void*)gr__nbc_sview(s, buf, count, dt, &len, 0)
                         : gr__nbc_rview(s, buf, count, dt, &len, &up);
    int vr = (me - root + n) % n, mask = 1;
    while (mask < n) {
        if (vr & mask) {
            gr__nbc_recv(s, p, len, c->w[(vr - mask + root) % n]);
            gr__nbc_round(s);
            break;
        }
        mask <<= 1;
    }
    for (mask >>= 1; mask > 0; mask >>= 1)
        if (vr + mask < n)
            gr__nbc_send(s, p, len, c->w[(vr + mask + root) % n]);
    gr__nbc_round(s);
    if (up)
        gr__nbc_unpack(s, p, len, buf, count, dt);
    return 0;
}

static int
b_gatherv(nbc* s,
          comm* c,
          const void* sb,
          int sc,
          MPI_Datatype st,
          void* rb,
          const int* rcs,
          const int* dis,
          MPI_Datatype rt,
          int root)
{
    int n = c->size, me = c->rank;
    MPI_Count len;
    if (me != root) {
        const void* p = gr__nbc_sview(s, sb, sc, st, &len, 0);
        gr__nbc_send(s, p, len, c->w[root]);
        gr__nbc_round(s);
        return 0;
    }
    MPI_Aint ext = gr__nbc_extent(rt);
    pend* pd = gr__nbc_tmp(s, sizeof(pend) * (size_t)n);
    int npd = 0;
    for (int i = 0; i < n; i++) {
        char* slot = (char*)rb + (MPI_Aint)dis[i] * ext;
        if (i == me) {
            if (sb != MPI_IN_PLACE) {
                const void* p = gr__nbc_sview(s, sb, sc, st, &len, 1);
                pd[npd++] = (pend){ (void*)p, len, slot, rcs[i], rt };
            }
        } else {
            gr__nbc_recv_into(s, slot, rcs[i], rt, c->w[i], pd, &npd);
        }
    }
    gr__nbc_round(s);
    gr__nbc_flush(s, pd, npd);
    return 0;
}

static int
b_scatterv(nbc* s,
           comm* c,
           const void* sb,
           const int* scs,
           const int* dis,
           MPI_Datatype st,
           void* rb,
           int rc,
           MPI_Datatype rt,
           int root)
{
    int n = c->size, me = c->rank;
    MPI_Count len;
    pend pd[1];
    int npd = 0;
    if (me != root) {
        gr__nbc_recv_into(s, rb, rc, rt, c->w[root], pd, &npd);
    } else {
        MPI_Aint ext = gr__nbc_extent(st);
        for (int i = 0; i < n; i++) {
            const char* slot = (const char*)sb + (MPI_Aint)dis[i] * ext;
            if (i == me) {
                if (rb != MPI_IN_PLACE) {
                    const void* p = gr__nbc_sview(s, slot, scs[i], st, &len, 1);
                    pd[npd++] = (pend){ (void*)p, len, rb, rc, rt };
                }
            } else {
                const void* p = gr__nbc_sview(s, slot, scs[i], st, &len, 0);
                gr__nbc_send(s, p, len, c->w[i]);
            }
        }
    }
    gr__nbc_round(s);
    gr__nbc_flush(s, pd, npd);
    return 0;
}

static int
b_allgatherv(nbc* s,
             comm* c,
             const void* sb,
             int sc,
             MPI_Datatype st,
             void* rb,
             const int* rcs,
             const int* dis,
             MPI_Datatype rt)
{
    int n = c->size, me = c->rank;
    MPI_Aint ext = gr__nbc_extent(rt);
    MPI_Count len;
    pend* pd = gr__nbc_tmp(s, sizeof(pend) * (size_t)n);
    int npd = 0;
    char* mine = (char*)rb + (MPI_Aint)dis[me] * ext;
    const void* own;
    if (sb == MPI_IN_PLACE) {
        own = gr__nbc_sview(s, mine, rcs[me], rt, &len, 0);
    } else {
        own = gr__nbc_sview(s, sb, sc, st, &len, 1);
        pd[npd++] = (pend){ (void*)own, len, mine, rcs[me], rt };
    }
    for (int j = 0; j < n; j++) {
        if (j == me)
            continue;
        gr__nbc_send(s, own, len, c->w[j]);
        gr__nbc_recv_into(
          s, (char*)rb + (MPI_Aint)dis[j] * ext, rcs[j], rt, c->w[j], pd, &npd);
    }
    gr__nbc_round(s);
    gr__nbc_flush(s, pd, npd);
    return 0;
}

/* Pairwise exchange with the n processes of w (world ranks): block j of
 * the send side (byte displacement sds[j], type sts[j]) to w[j], block j
 * of the receive side from w[j]; me is this process's index in w, or -1
 * (an intercommunicator's remote group). */
int
gr__nbc_pairwise(nbc* s,
                 int n,
                 int me,
                 const int* w,
                 const void* sb,
                 const int* scs,
                 const int* sds,
                 const MPI_Datatype* sts,
                 void* rb,
                 const int* rcs,
                 const int* rds,
                 const MPI_Datatype* rts)
{
    int inplace = sb == MPI_IN_PLACE;
    if (inplace) {
        sb = rb;
        scs = rcs;
        sds = rds;
        sts = rts;
    }
    MPI_Count len;
    pend* pd = gr__nbc_tmp(s, sizeof(pend) * (size_t)(n ? n : 1));
    if (!pd)
        return MPI_ERR_NO_MEM;
    int npd = 0;
    for (int j = 0; j < n; j++) {
        const void* p = gr__nbc_sview(s,
                                      (const char*)sb + sds[j],
                                      scs[j],
                                      sts[j],
                                      &len,
                                      inplace || j == me);
        char* slot = (char*)rb + rds[j];
        if (j == me) {
            pd[npd++] = (pend){ (void*)p, len, slot, rcs[j], rts[j] };
            continue;
        }
        gr__nbc_send(s, p, len, w[j]);
        gr__nbc_recv_into(s, slot, rcs[j], rts[j], w[j], pd, &npd);
    }
    gr__nbc_round(s);
    gr__nbc_flush(s, pd, npd);
    return 0;
}

/* Reduction helpers: slots[i] holds rank i's packed contribution; combines
 * slots[lo..hi] in rank order into a new buffer. */
void*
gr__nbc_combine(nbc* s,
                void** slots,
                int lo,
                int hi,
                MPI_Count len,
                int count,
                MPI_Datatype dt,
                MPI_Op op)
{
    void* acc = gr__nbc_tmp(s, (size_t)len);
    gr__nbc_copy(s, slots[hi], acc, len);
    for (int i = hi - 1; i >= lo; i--)
        gr__nbc_op(s, slots[i], acc, count, dt, op);
    return acc;
}

enum
{
    R_REDUCE,
    R_ALL,
    R_SCAN,
    R_EXSCAN
};

static int
b_reduce(nbc* s,
         comm* c,
         const void* sb,
         void* rb,
         int count,
         MPI_Datatype dt,
         MPI_Op op,
         int root,
         int kind)
{
    int n = c->size, me = c->rank;
    MPI_Count len;
    const void* own =
      gr__nbc_sview(s, sb == MPI_IN_PLACE ? rb : sb, count, dt, &len, 0);
    void** slots = gr__nbc_tmp(s, sizeof(void*) * (size_t)n);
    if (!slots || !own)
        return MPI_ERR_NO_MEM;
    slots[me] = (void*)own;
    int want = 0;
    for (int j = 0; j < n; j++) {
        if (j == me)
            continue;
        int to = kind == R_REDUCE ? me != root && j == root
                 : kind == R_ALL  ? 1
                                  : j > me;
        int from = kind == R_REDUCE ? me == root : kind == R_ALL ? 1 : j < me;
        if (to)
            gr__nbc_send(s, own, len, c->w[j]);
        if (from) {
            slots[j] = gr__nbc_tmp(s, (size_t)len);
            gr__nbc_recv(s, slots[j], len, c->w[j]);
        }
    }
    gr__nbc_round(s);
    void* acc = NULL;
    if (kind == R_REDUCE ? me == root : kind == R_ALL)
        acc = gr__nbc_combine(s, slots, 0, n - 1, len, count, dt, op);
    else if (kind == R_SCAN)
        acc = gr__nbc_combine(s, slots, 0, me, len, count, dt, op);
    else if (kind == R_EXSCAN && me > 0)
        acc = gr__nbc_combine(s, slots, 0, me - 1, len, count, dt, op);
    (void)want;
    if (acc)
        gr__nbc_unpack(s, acc, len, rb, count, dt);
    return 0;
}

static int
b_redscat(nbc* s,
          comm* c,
          const void* sb,
          void* rb,
          const int* rcs,
          MPI_Datatype dt,
          MPI_Op op)
{
    int n = c->size, me = c->rank;
    MPI_Count esz = gr__dt_packed(gr__dt_get(dt), 1), len, total = 0;
    int* off = gr__nbc_tmp(s, sizeof(int) * (size_t)n);
    void** slots = gr__nbc_tmp(s, sizeof(void*) * (size_t)n);
    if (!off || !slots)
        return MPI_ERR_NO_MEM;
    for (int j = 0; j < n; j++) {
        off[j] = (int)total;
        total += rcs[j];
    }
    const char* own =
      gr__nbc_sview(s, sb == MPI_IN_PLACE ? rb : sb, (int)total, dt, &len, 1);
    if (!own)
        return MPI_ERR_NO_MEM;
    MPI_Count mylen = rcs[me] * esz;
    for (int j = 0; j < n; j++) {
        if (j == me) {
            slots[j] = (void*)(own + off[j] * esz);
            continue;
        }
        gr__nbc_send(s, own + off[j] * esz, rcs[j] * esz, c->w[j]);
        slots[j] = gr__nbc_tmp(s, (size_t)mylen);
        gr__nbc_recv(s, slots[j], mylen, c->w[j]);
    }
    gr__nbc_round(s);
    void* acc = gr__nbc_combine(s, slots, 0, n - 1, mylen, rcs[me], dt, op);
    gr__nbc_unpack(s, acc, mylen, rb, rcs[me], dt);
    return 0;
}

/* ---- requests running schedules ---- */

static int
sched_progress(req* r, int blocking)
{
    if (blocking)
        gr__nbc_wait(r->nbc);
    else if (!gr__nbc_test(r->nbc))
        return 0;
    nbc* s = r->nbc;
    r->err = gr__nbc_err(s);
    r->st = *gr__nbc_status(s);
    comm* c = gr__comm_get(r->comm);
    if (c && r->st.MPI_SOURCE >= 0)
        r->st.MPI_SOURCE = gr__comm_from_world(c, r->st.MPI_SOURCE);
    r->st.MPI_ERROR = r->err;
    gr__nbc_free(s);
    r->nbc = NULL;
    r->state = RQ_DONE;
    return 1;
}

MPI_Request
gr__req_sched(MPI_Comm comm, nbc* s)
{
    req* r;
    MPI_Request h = gr__req_new(&r);
    if (h == MPI_REQUEST_NULL) {
        gr__nbc_wait(s);
        gr__nbc_free(s);
        return h;
    }
    r->state = RQ_SCHED;
    r->comm = comm;
    r->nbc = s;
    r->progress = sched_progress;
    gr__status_empty(&r->st);
    return h;
}

/* ---- argument checks and the I- calls ---- */

#define NB_BEGIN(ch, cv)                                                       \
    CHECK_INIT();                                                              \
    comm* cv = gr__comm_get(ch);                                               \
    if (!cv)                                                                   \
        return ERR(MPI_COMM_WORLD, MPI_ERR_COMM);

static int
nb_finish(MPI_Comm ch, nbc* s, int rc, MPI_Request* out)
{
    if (rc) {
        gr__nbc_free(s);
        *out = MPI_REQUEST_NULL;
        return ERR(ch, rc);
    }
    gr__nbc_start(s);
    *out = gr__req_sched(ch, s);
    return *out == MPI_REQUEST_NULL ? ERR(ch, MPI_ERR_NO_MEM) : 0;
}

static int
chk_type(MPI_Datatype t)
{
    return gr__dt_get(t) ? 0 : MPI_ERR_TYPE;
}

static int*
fill_counts(nbc* s, int n, int count, int stride)
{
    int* a = gr__nbc_tmp(s, sizeof(int) * (size_t)n);
    if (a)
        for (int i = 0; i < n; i++)
            a[i] = stride < 0 ? count : i * stride;
    return a;
}

/* Builds the schedule of a into s. */
static int
build(nbc* s, comm* c, const cargs* a)
{
    int n = c->size;
    int rc = 0;
    if (a->kind != K_BARRIER && a->kind != K_ALLTOALLW) {
        if (a->rt && (rc = chk_type(a->rt)))
            return rc;
        if (a->st && a->sb != MPI_IN_PLACE && (rc = chk_type(a->st)))
            return rc;
    }
    if ((a->kind == K_REDUCE || a->kind == K_ALLREDUCE || a->kind == K_SCAN ||
         a->kind == K_EXSCAN || a->kind == K_RSB || a->kind == K_RS) &&
        !gr__op_valid(a->op))
        return MPI_ERR_OP;
    if (c->inter)
        return gr__inter_build(s, c, a);
    if ((a->kind == K_BCAST || a->kind == K_REDUCE || a->kind == K_GATHER ||
         a->kind == K_SCATTER || a->kind == K_GATHERV ||
         a->kind == K_SCATTERV) &&
        (a->root < 0 || a->root >= n))
        return MPI_ERR_ROOT;
    switch (a->kind) {
        case K_BARRIER:
            return b_barrier(s, c);
        case K_BCAST:
            return b_bcast(s, c, a->rb, a->rc, a->rt, a->root);
        case K_REDUCE:
            return b_reduce(
              s, c, a->sb, a->rb, a->rc, a->rt, a->op, a->root, R_REDUCE);
        case K_ALLREDUCE:
            return b_reduce(s, c, a->sb, a->rb, a->rc, a->rt, a->op, 0, R_ALL);
        case K_SCAN:
            return b_reduce(s, c, a->sb, a->rb, a->rc, a->rt, a->op, 0, R_SCAN);
        case K_EXSCAN:
            return b_reduce(
              s, c, a->sb, a->rb, a->rc, a->rt, a->op, 0, R_EXSCAN);
        case K_GATHER:
            return b_gatherv(s,
                             c,
                             a->sb,
                             a->sc,
                             a->st,
                             a->rb,
                             fill_counts(s, n, a->rc, -1),
                             fill_counts(s, n, 0, a->rc),
                             a->rt,
                             a->root);
        case K_GATHERV:
            return b_gatherv(
              s, c, a->sb, a->sc, a->st, a->rb, a->rcs, a->rds, a->rt, a->root);
        case K_SCATTER:
            return b_scatterv(s,
                              c,
                              a->sb,
                              fill_counts(s, n, a->sc, -1),
                              fill_counts(s, n, 0, a->sc),
                              a->st,
                              a->rb,
                              a->rc,
                              a->rt,
                              a->root);
        case K_SCATTERV:
            return b_scatterv(
              s, c, a->sb, a->scs, a->sds, a->st, a->rb, a->rc, a->rt, a->root);
        case K_ALLGATHER:
            return b_allgatherv(s,
                                c,
                                a->sb,
                                a->sc,
                                a->st,
                                a->rb,
                                fill_counts(s, n, a->rc, -1),
                                fill_counts(s, n, 0, a->rc),
                                a->rt);
        case K_ALLGATHERV:
            return b_allgatherv(
              s, c, a->sb, a->sc, a->st, a->rb, a->rcs, a->rds, a->rt);
        case K_ALLTOALL:
        case K_ALLTOALLV: {
            int* scs = gr__nbc_tmp(s, sizeof(int) * (size_t)n);
            int* sds = gr__nbc_tmp(s, sizeof(int) * (size_t)n);
            int* rcs = gr__nbc_tmp(s, sizeof(int) * (size_t)n);
            int* rds = gr__nbc_tmp(s, sizeof(int) * (size_t)n);
            MPI_Datatype* sts =
              gr__nbc_tmp(s, sizeof(MPI_Datatype) * (size_t)n);
            MPI_Datatype* rts =
              gr__nbc_tmp(s, sizeof(MPI_Datatype) * (size_t)n);
            if (!scs || !sds || !rcs || !rds || !sts || !rts)
                return MPI_ERR_NO_MEM;
            int inplace = a->sb == MPI_IN_PLACE;
            MPI_Aint se = inplace ? 0 : gr__nbc_extent(a->st),
                     re = gr__nbc_extent(a->rt);
            for (int j = 0; j < n; j++) {
                int v = a->kind == K_ALLTOALLV;
                scs[j] = inplace ? 0 : v ? a->scs[j] : a->sc;
                sds[j] = inplace ? 0 : (int)((v ? a->sds[j] : j * a->sc) * se);
                sts[j] = inplace ? a->rt : a->st;
                rcs[j] = v ? a->rcs[j] : a->rc;
                rds[j] = (int)((v ? a->rds[j] : j * a->rc) * re);
                rts[j] = a->rt;
            }
            return gr__nbc_pairwise(
              s, n, c->rank, c->w, a->sb, scs, sds, sts, a->rb, rcs, rds, rts);
        }
        case K_ALLTOALLW:
            for (int j = 0; j < n; j++)
                if ((a->sb != MPI_IN_PLACE && (rc = chk_type(a->sts[j]))) ||
                    (rc = chk_type(a->rts[j])))
                    return rc;
            return gr__nbc_pairwise(s,
                                    n,
                                    c->rank,
                                    c->w,
                                    a->sb,
                                    a->scs,
                                    a->sds,
                                    a->sts,
                                    a->rb,
                                    a->rcs,
                                    a->rds,
                                    a->rts);
        case K_RSB:
            return b_redscat(
              s, c, a->sb, a->rb, fill_counts(s, n, a->rc, -1), a->rt, a->op);
        case K_RS:
            return b_redscat(s, c, a->sb, a->rb, a->rcs, a->rt, a->op);
    }
    return MPI_ERR_ARG;
}

static int
istart(const cargs* a, MPI_Request* out)
{
    NB_BEGIN(a->comm, c);
    nbc* s = gr__nbc_new(c->ctx + CTX_COLL, gr__nbc_next_tag(c));
    if (!s)
        return ERR(a->comm, MPI_ERR_NO_MEM);
    int rc = build(s, c, a);
    if (!rc)
        rc = gr__nbc_err(s);
    return nb_finish(a->comm, s, rc, out);
}

int
MPI_Ibarrier(MPI_Comm comm, MPI_Request* r)
{
    cargs a = { .kind = K_BARRIER, .comm = comm };
    return istart(&a, r);
}

int
MPI_Ibcast(void* b,
           int n,
           MPI_Datatype t,
           int root,
           MPI_Comm comm,
           MPI_Request* r)
{
    cargs a = {
        .kind = K_BCAST, .rb = b, .rc = n, .rt = t, .root = root, .comm = comm
    };
    return istart(&a, r);
}

#define C2(k, sb_, sc_, st_, rb_, rc_, rt_, root_, comm_)                      \
    {                                                                          \
        .kind = (k), .sb = (sb_), .sc = (sc_), .st = (st_), .rb = (rb_),       \
        .rc = (rc_), .rt = (rt_), .root = (root_), .comm = (comm_)             \
    }

int
MPI_Igather(const void* sb,
            int sc,
            MPI_Datatype st,
            void* rb,
            int rc,
            MPI_Datatype rt,
            int root,
            MPI_Comm comm,
            MPI_Request* r)
{
    cargs a = C2(K_GATHER, sb, sc, st, rb, rc, rt, root, comm);
    return istart(&a, r);
}

int
MPI_Igatherv(const void* sb,
             int sc,
             MPI_Datatype st,
             void* rb,
             const int rcs[],
             const int d[],
             MPI_Datatype rt,
             int root,
             MPI_Comm comm,
             MPI_Request* r)
{
    cargs a = C2(K_GATHERV, sb, sc, st, rb, 0, rt, root, comm);
    a.rcs = rcs;
    a.rds = d;
    return istart(&a, r);
}

int
MPI_Iscatter(const void* sb,
             int sc,
             MPI_Datatype st,
             void* rb,
             int rc,
             MPI_Datatype rt,
             int root,
             MPI_Comm comm,
             MPI_Request* r)
{
    cargs a = C2(K_SCATTER, sb, sc, st, rb, rc, rt, root, comm);
    return istart(&a, r);
}

int
MPI_Iscatterv(const void* sb,
              const int scs[],
              const int d[],
              MPI_Datatype st,
              void* rb,
              int rc,
              MPI_Datatype rt,
              int root,
              MPI_Comm comm,
              MPI_Request* r)
{
    cargs a = C2(K_SCATTERV, sb, 0, st, rb, rc, rt, root, comm);
    a.scs = scs;
    a.sds = d;
    return istart(&a, r);
}

int
MPI_Iallgather(const void* sb,
               int sc,
               MPI_Datatype st,
               void* rb,
               int rc,
               MPI_Datatype rt,
               MPI_Comm comm,
               MPI_Request* r)
{
    cargs a = C2(K_ALLGATHER, sb, sc, st, rb, rc, rt, 0, comm);
    return istart(&a, r);
}

int
MPI_Iallgatherv(const void* sb,
                int sc,
                MPI_Datatype st,
                void* rb,
                const int rcs[],
                const int d[],
                MPI_Datatype rt,
                MPI_Comm comm,
                MPI_Request* r)
{
    cargs a = C2(K_ALLGATHERV, sb, sc, st, rb, 0, rt, 0, comm);
    a.rcs = rcs;
    a.rds = d;
    return istart(&a, r);
}

int
MPI_Ialltoall(const void* sb,
              int sc,
              MPI_Datatype st,
              void* rb,
              int rc,
              MPI_Datatype rt,
              MPI_Comm comm,
              MPI_Request* r)
{
    cargs a = C2(K_ALLTOALL, sb, sc, st, rb, rc, rt, 0, comm);
    return istart(&a, r);
}

int
MPI_Ialltoallv(const void* sb,
               const int scs[],
               const int sd[],
               MPI_Datatype st,
               void* rb,
               const int rcs[],
               const int rd[],
               MPI_Datatype rt,
               MPI_Comm comm,
               MPI_Request* r)
{
    cargs a = C2(K_ALLTOALLV, sb, 0, st, rb, 0, rt, 0, comm);
    a.scs = scs;
    a.sds = sd;
    a.rcs = rcs;
    a.rds = rd;
    return istart(&a, r);
}

int
MPI_Ialltoallw(const void* sb,
               const int scs[],
               const int sd[],
               const MPI_Datatype sts[],
               void* rb,
               const int rcs[],
               const int rd[],
               const MPI_Datatype rts[],
               MPI_Comm comm,
               MPI_Request* r)
{
    cargs a = C2(K_ALLTOALLW, sb, 0, 0, rb, 0, 0, 0, comm);
    a.scs = scs;
    a.sds = sd;
    a.sts = sts;
    a.rcs = rcs;
    a.rds = rd;
    a.rts = rts;
    return istart(&a, r);
}

#define CR(k, sb_, rb_, n_, t_, op_, root_, comm_)                             \
    {                                                                          \
        .kind = (k), .sb = (sb_), .rb = (rb_), .rc = (n_), .rt = (t_),         \
        .op = (op_), .root = (root_), .comm = (comm_)                          \
    }

int
MPI_Ireduce(const void* sb,
            void* rb,
            int n,
            MPI_Datatype t,
            MPI_Op op,
            int root,
            MPI_Comm comm,
            MPI_Request* r)
{
    cargs a = CR(K_REDUCE, sb, rb, n, t, op, root, comm);
    return istart(&a, r);
}

int
MPI_Iallreduce(const void* sb,
               void* rb,
               int n,
               MPI_Datatype t,
               MPI_Op op,
               MPI_Comm comm,
               MPI_Request* r)
{
    cargs a = CR(K_ALLREDUCE, sb, rb, n, t, op, 0, comm);
    return istart(&a, r);
}

int
MPI_Ireduce_scatter(const void* sb,
                    void* rb,
                    const int rcs[],
                    MPI_Datatype t,
                    MPI_Op op,
                    MPI_Comm comm,
                    MPI_Request* r)
{
    cargs a = CR(K_RS, sb, rb, 0, t, op, 0, comm);
    a.rcs = rcs;
    return istart(&a, r);
}

int
MPI_Ireduce_scatter_block(const void* sb,
                          void* rb,
                          int n,
                          MPI_Datatype t,
                          MPI_Op op,
                          MPI_Comm comm,
                          MPI_Request* r)
{
    cargs a = CR(K_RSB, sb, rb, n, t, op, 0, comm);
    return istart(&a, r);
}

int
MPI_Iscan(const void* sb,
          void* rb,
          int n,
          MPI_Datatype t,
          MPI_Op op,
          MPI_Comm comm,
          MPI_Request* r)
{
    cargs a = CR(K_SCAN, sb, rb, n, t, op, 0, comm);
    return istart(&a, r);
}

int
MPI_Iexscan(const void* sb,
            void* rb,
            int n,
            MPI_Datatype t,
            MPI_Op op,
            MPI_Comm comm,
            MPI_Request* r)
{
    cargs a = CR(K_EXSCAN, sb, rb, n, t, op, 0, comm);
    return istart(&a, r);
}

/* ---- persistent collectives (MPI-4): the arguments and a tag are fixed
 * at _init; every MPI_Start builds and starts the schedule afresh ---- */

static int
pstart(req* r)
{
    cargs* a = r->args;
    comm* c = gr__comm_get(a->comm);
    if (!c)
        return MPI_ERR_COMM;
    nbc* s = gr__nbc_new(c->ctx + CTX_COLL, r->ptag);
    if (!s)
        return MPI_ERR_NO_MEM;
    int rc = build(s, c, a);
    if (!rc)
        rc = gr__nbc_err(s);
    if (rc) {
        gr__nbc_free(s);
        r->state = RQ_DONE;
        r->err = rc;
        gr__status_empty(&r->st);
        return rc;
    }
    gr__nbc_start(s);
    r->nbc = s;
    r->state = RQ_SCHED;
    r->progress = sched_progress;
    gr__status_empty(&r->st);
    return 0;
}

static int
pinit(const cargs* a, MPI_Request* out)
{
    NB_BEGIN(a->comm, c);
    req* r;
    MPI_Request h = gr__req_new(&r);
    if (h == MPI_REQUEST_NULL)
        return ERR(a->comm, MPI_ERR_NO_MEM);
    r->args = malloc(sizeof(cargs));
    if (!r->args)
        return ERR(a->comm, MPI_ERR_NO_MEM);
    memcpy(r->args, a, sizeof(cargs));
    gr__req_hold_types(r, a->st, a->rt);
    r->persistent = 1;
    r->state = RQ_INACTIVE;
    r->comm = a->comm;
    r->start = pstart;
    r->ptag = gr__nbc_next_tag(c);
    gr__status_empty(&r->st);
    *out = h;
    return 0;
}

int
MPI_Barrier_init(MPI_Comm comm, MPI_Info info, MPI_Request* r)
{
    (void)info;
    cargs a = { .kind = K_BARRIER, .comm = comm };
    return pinit(&a, r);
}

int
MPI_Bcast_init(void* b,
               int n,
               MPI_Datatype t,
               int root,
               MPI_Comm comm,
               MPI_Info info,
               MPI_Request* r)
{
    (void)info;
    cargs a = {
        .kind = K_BCAST, .rb = b, .rc = n, .rt = t, .root = root, .comm = comm
    };
    return pinit(&a, r);
}

int
MPI_Reduce_init(const void* sb,
                void* rb,
                int n,
                MPI_Datatype t,
                MPI_Op op,
                int root,
                MPI_Comm comm,
                MPI_Info info,
                MPI_Request* r)
{
    (void)info;
    cargs a = CR(K_REDUCE, sb, rb, n, t, op, root, comm);
    return pinit(&a, r);
}

int
MPI_Allreduce_init(const void* sb,
                   void* rb,
                   int n,
                   MPI_Datatype t,
                   MPI_Op op,
                   MPI_Comm comm,
                   MPI_Info info,
                   MPI_Request* r)
{
    (void)info;
    cargs a = CR(K_ALLREDUCE, sb, rb, n, t, op, 0, comm);
    return pinit(&a, r);
}

int
MPI_Gather_init(const void* sb,
                int sc,
                MPI_Datatype st,
                void* rb,
                int rc,
                MPI_Datatype rt,
                int root,
                MPI_Comm comm,
                MPI_Info info,
                MPI_Request* r)
{
    (void)info;
    cargs a = C2(K_GATHER, sb, sc, st, rb, rc, rt, root, comm);
    return pinit(&a, r);
}

int
MPI_Gatherv_init(const void* sb,
                 int sc,
                 MPI_Datatype st,
                 void* rb,
                 const int rcs[],
                 const int d[],
                 MPI_Datatype rt,
                 int root,
                 MPI_Comm comm,
                 MPI_Info info,
                 MPI_Request* r)
{
    (void)info;
    cargs a = C2(K_GATHERV, sb, sc, st, rb, 0, rt, root, comm);
    a.rcs = rcs;
    a.rds = d;
    return pinit(&a, r);
}

int
MPI_Scatter_init(const void* sb,
                 int sc,
                 MPI_Datatype st,
                 void* rb,
                 int rc,
                 MPI_Datatype rt,
                 int root,
                 MPI_Comm comm,
                 MPI_Info info,
                 MPI_Request* r)
{
    (void)info;
    cargs a = C2(K_SCATTER, sb, sc, st, rb, rc, rt, root, comm);
    return pinit(&a, r);
}

int
MPI_Scatterv_init(const void* sb,
                  const int scs[],
                  const int d[],
                  MPI_Datatype st,
                  void* rb,
                  int rc,
                  MPI_Datatype rt,
                  int root,
                  MPI_Comm comm,
                  MPI_Info info,
                  MPI_Request* r)
{
    (void)info;
    cargs a = C2(K_SCATTERV, sb, 0, st, rb, rc, rt, root, comm);
    a.scs = scs;
    a.sds = d;
    return pinit(&a, r);
}

int
MPI_Allgather_init(const void* sb,
                   int sc,
                   MPI_Datatype st,
                   void* rb,
                   int rc,
                   MPI_Datatype rt,
                   MPI_Comm comm,
                   MPI_Info info,
                   MPI_Request* r)
{
    (void)info;
    cargs a = C2(K_ALLGATHER, sb, sc, st, rb, rc, rt, 0, comm);
    return pinit(&a, r);
}

int
MPI_Allgatherv_init(const void* sb,
                    int sc,
                    MPI_Datatype st,
                    void* rb,
                    const int rcs[],
                    const int d[],
                    MPI_Datatype rt,
                    MPI_Comm comm,
                    MPI_Info info,
                    MPI_Request* r)
{
    (void)info;
    cargs a = C2(K_ALLGATHERV, sb, sc, st, rb, 0, rt, 0, comm);
    a.rcs = rcs;
    a.rds = d;
    return pinit(&a, r);
}

int
MPI_Alltoall_init(const void* sb,
                  int sc,
                  MPI_Datatype st,
                  void* rb,
                  int rc,
                  MPI_Datatype rt,
                  MPI_Comm comm,
                  MPI_Info info,
                  MPI_Request* r)
{
    (void)info;
    cargs a = C2(K_ALLTOALL, sb, sc, st, rb, rc, rt, 0, comm);
    return pinit(&a, r);
}

int
MPI_Alltoallv_init(const void* sb,
                   const int scs[],
                   const int sd[],
                   MPI_Datatype st,
                   void* rb,
                   const int rcs[],
                   const int rd[],
                   MPI_Datatype rt,
                   MPI_Comm comm,
                   MPI_Info info,
                   MPI_Request* r)
{
    (void)info;
    cargs a = C2(K_ALLTOALLV, sb, 0, st, rb, 0, rt, 0, comm);
    a.scs = scs;
    a.sds = sd;
    a.rcs = rcs;
    a.rds = rd;
    return pinit(&a, r);
}

int
MPI_Alltoallw_init(const void* sb,
                   const int scs[],
                   const int sd[],
                   const MPI_Datatype sts[],
                   void* rb,
                   const int rcs[],
                   const int rd[],
                   const MPI_Datatype rts[],
                   MPI_Comm comm,
                   MPI_Info info,
                   MPI_Request* r)
{
    (void)info;
    cargs a = C2(K_ALLTOALLW, sb, 0, 0, rb, 0, 0, 0, comm);
    a.scs = scs;
    a.sds = sd;
    a.sts = sts;
    a.rcs = rcs;
    a.rds = rd;
    a.rts = rts;
    return pinit(&a, r);
}

int
MPI_Scan_init(const void* sb,
              void* rb,
              int n,
              MPI_Datatype t,
              MPI_Op op,
              MPI_Comm comm,
              MPI_Info info,
              MPI_Request* r)
{
    (void)info;
    cargs a = CR(K_SCAN, sb, rb, n, t, op, 0, comm);
    return pinit(&a, r);
}

int
MPI_Exscan_init(const void* sb,
                void* rb,
                int n,
                MPI_Datatype t,
                MPI_Op op,
                MPI_Comm comm,
                MPI_Info info,
                MPI_Request* r)
{
    (void)info;
    cargs a = CR(K_EXSCAN, sb, rb, n, t, op, 0, comm);
    return pinit(&a, r);
}

int
MPI_Reduce_scatter_block_init(const void* sb,
                              void* rb,
                              int n,
                              MPI_Datatype t,
                              MPI_Op op,
                              MPI_Comm comm,
                              MPI_Info info,
                              MPI_Request* r)
{
    (void)info;
    cargs a = CR(K_RSB, sb, rb, n, t, op, 0, comm);
    return pinit(&a, r);
}

int
MPI_Reduce_scatter_init(const void* sb,
                        void* rb,
                        const int rcs[],
                        MPI_Datatype t,
                        MPI_Op op,
                        MPI_Comm comm,
                        MPI_Info info,
                        MPI_Request* r)
{
    (void)info;
    cargs a = CR(K_RS, sb, rb, 0, t, op, 0, comm);
    a.rcs = rcs;
    return pinit(&a, r);
}
