/* SPDX-License-Identifier: Apache-2.0 */
/* MPI collectives: argument handling (datatypes, MPI_IN_PLACE) around the
 * algorithms of algo.c; host-aware barrier, broadcast and all-reduce when a
 * communicator spans several hosts. Intercommunicators go through their
 * schedules (inter.c).
 */
#include <stdlib.h>
#include <string.h>

#include "mpi_int.h"

int gr__v_reduce(const view* v,
                 void* buf,
                 int count,
                 MPI_Datatype dt,
                 MPI_Op op,
                 int root);
int gr__v_allgatherv(const view* v,
                     char* all,
                     const MPI_Count* off,
                     const MPI_Count* len);
int gr__comm_hier(comm* c);
int gr__hier_views(comm* c,
                   int root,
                   view* local,
                   int* lleader,
                   view* leaders,
                   int* iam_leader,
                   int* groot);

#define GET_INTRA(var, h)                                                      \
    CHECK_INIT();                                                              \
    comm* var = gr__comm_get(h);                                               \
    if (!var)                                                                  \
        return ERR(MPI_COMM_WORLD, MPI_ERR_COMM);                              \
    if (var->inter)                                                            \
        return ERR(h, MPI_ERR_COMM);

/* On an intercommunicator, a blocking collective is its non-blocking
 * schedule (inter.c) and a wait. */
#define INTER_VIA(ch, icall)                                                   \
    do {                                                                       \
        comm* ic_ = gr__comm_get(ch);                                          \
        if (ic_ && ic_->inter) {                                               \
            MPI_Request r_;                                                    \
            int rc_ = (icall);                                                 \
            return rc_ ? rc_ : MPI_Wait(&r_, MPI_STATUS_IGNORE);               \
        }                                                                      \
    } while (0)

#define GET_TYPE(var, h, ch)                                                   \
    dtype* var = gr__dt_get(h);                                                \
    if (!var)                                                                  \
        return ERR(ch, MPI_ERR_TYPE);

static void
cview(view* v, comm* c)
{
    gr__view_of(v, c, CTX_COLL);
}

/* Packs count of t at buf into a fresh buffer. */
static char*
pack_new(const void* buf, int count, dtype* t)
{
    MPI_Count n = gr__dt_packed(t, count);
    char* p = gr__malloc((size_t)n);
    if (p)
        gr__dt_pack(t, buf, count, p);
    return p;
}

int
MPI_Barrier(MPI_Comm ch)
{
    INTER_VIA(ch, MPI_Ibarrier(ch, &r_));
    GET_INTRA(c, ch);
    view v;
    cview(&v, c);
    if (gr__comm_hier(c)) {
        view l, g;
        int ll, il, gr;
        int rc = gr__hier_views(c, 0, &l, &ll, &g, &il, &gr);
        if (rc)
            return ERR(ch, rc);
        l.ctx = g.ctx = v.ctx;
        l.tag = 1;
        g.tag = 2;
        char z = 0;
        /* fan-in to the host leader, leaders' barrier, fan-out */
        if (!il)
            rc = gr__vsend(&l, &z, 0, ll);
        else
            for (int i = 0; i < l.n && !rc; i++)
                if (i != l.me)
                    rc = gr__vrecv(&l, &z, 0, i);
        if (!rc && il)
            rc = gr__v_barrier(&g);
        if (!rc)
            rc = gr__v_bcast(&l, &z, 0, ll);
        free((void*)l.w);
        free((void*)g.w);
        return ERR(ch, rc);
    }
    return ERR(ch, gr__v_barrier(&v));
}

static int
bcast_bytes(comm* c, void* p, MPI_Count len, int root)
{
    view v;
    cview(&v, c);
    if (!gr__comm_hier(c))
        return gr__v_bcast(&v, p, len, root);
    view l, g;
    int ll, il, gr;
    int rc = gr__hier_views(c, root, &l, &ll, &g, &il, &gr);
    if (rc)
        return rc;
    l.ctx = g.ctx = v.ctx;
    l.tag = 1;
    g.tag = 2;
    if (il)
        rc = gr__v_bcast(&g, p, len, gr);
    if (!rc)
        rc = gr__v_bcast(&l, p, len, ll);
    free((void*)l.w);
    free((void*)g.w);
    return rc;
}

int
MPI_Bcast(void* buf, int count, MPI_Datatype dt, int root, MPI_Comm ch)
{
    INTER_VIA(ch, MPI_Ibcast(buf, count, dt, root, ch, &r_));
    GET_INTRA(c, ch);
    GET_TYPE(t, dt, ch);
    if (root < 0 || root >= c->size)
        return ERR(ch, MPI_ERR_ROOT);
    if (count < 0)
        return ERR(ch, MPI_ERR_COUNT);
    xbuf x;
    int rc = c->rank == root ? gr__xbuf_send(&x, buf, count, t)
                             : gr__xbuf_recv(&x, buf, count, t);
    if (rc)
        return ERR(ch, rc);
    rc = bcast_bytes(c, x.p, x.len, root);
    if (c->rank != root)
        gr__xbuf_finish_recv(&x, buf, count, t, x.len);
    else
        gr__xbuf_free(&x);
    return ERR(ch, rc);
}

/* ---- reductions ---- */

static int
allreduce_packed(comm* c, char* p, int count, MPI_Datatype dt, MPI_Op op)
{
    view v;
    cview(&v, c);
    if (!gr__comm_hier(c) || !gr__op_commutative(op))
        return gr__v_allreduce(&v, p, count, dt, op);
    view l, g;
    int ll, il, gr;
    int rc = gr__hier_views(c, 0, &l, &ll, &g, &il, &gr);
    if (rc)
        return rc;
    l.ctx = g.ctx = v.ctx;
    l.tag = 1;
    g.tag = 2;
    rc = gr__v_reduce(&l, p, count, dt, op, ll);
    if (!rc && il)
        rc = gr__v_allreduce(&g, p, count, dt, op);
    if (!rc)
        rc = gr__v_bcast(&l, p, gr__dt_packed(gr__dt_get(dt), count), ll);
    free((void*)l.w);
    free((void*)g.w);
    return rc;
}

int
MPI_Allreduce(const void* sbuf,
              void* rbuf,
              int count,
              MPI_Datatype dt,
              MPI_Op op,
              MPI_Comm ch)
{
    INTER_VIA(ch, MPI_Iallreduce(sbuf, rbuf, count, dt, op, ch, &r_));
    GET_INTRA(c, ch);
    GET_TYPE(t, dt, ch);
    if (!gr__op_valid(op))
        return ERR(ch, MPI_ERR_OP);
    if (count < 0)
        return ERR(ch, MPI_ERR_COUNT);
    if (t->contig) { /* reduce in the receive buffer: no temporary */
        char* r = gr__dt_base(t, rbuf);
        if (sbuf != MPI_IN_PLACE && count > 0)
            memmove(r, gr__dt_base(t, sbuf), (size_t)gr__dt_packed(t, count));
        return ERR(ch, allreduce_packed(c, r, count, dt, op));
    }
    char* p = pack_new(sbuf == MPI_IN_PLACE ? rbuf : sbuf, count, t);
    if (!p)
        return ERR(ch, MPI_ERR_NO_MEM);
    int rc = allreduce_packed(c, p, count, dt, op);
    if (!rc)
        gr__dt_unpack(t, p, gr__dt_packed(t, count), rbuf, count);
    free(p);
    return ERR(ch, rc);
}

int
MPI_Reduce(const void* sbuf,
           void* rbuf,
           int count,
           MPI_Datatype dt,
           MPI_Op op,
           int root,
           MPI_Comm ch)
{
    INTER_VIA(ch, MPI_Ireduce(sbuf, rbuf, count, dt, op, root, ch, &r_));
    GET_INTRA(c, ch);
    GET_TYPE(t, dt, ch);
    if (!gr__op_valid(op))
        return ERR(ch, MPI_ERR_OP);
    if (root < 0 || root >= c->size)
        return ERR(ch, MPI_ERR_ROOT);
    const void* src = (sbuf == MPI_IN_PLACE && c->rank == root) ? rbuf : sbuf;
    char* p = pack_new(src, count, t);
    if (!p)
        return ERR(ch, MPI_ERR_NO_MEM);
    view v;
    cview(&v, c);
    int rc = gr__v_reduce(&v, p, count, dt, op, root);
    if (!rc && c->rank == root)
        gr__dt_unpack(t, p, gr__dt_packed(t, count), rbuf, count);
    free(p);
    return ERR(ch, rc);
}

/* Pairwise reduce-scatter: everyone's contribution to my block, combined
 * in rank order (right for non-commutative operations). */
static int
reduce_scatter_packed(comm* c,
                      const char* all,
                      const int* counts,
                      char* mine,
                      MPI_Datatype dt,
                      MPI_Op op)
{
    dtype* t = gr__dt_get(dt);
    int n = c->size, me = c->rank, rc = 0;
    MPI_Count* off = gr__malloc(sizeof(MPI_Count) * (size_t)n);
    if (!off)
        return MPI_ERR_NO_MEM;
    MPI_Count o = 0;
    for (int i = 0; i < n; i++) {
        off[i] = o;
        o += gr__dt_packed(t, counts[i]);
    }
    MPI_Count ml = gr__dt_packed(t, counts[me]);
    char* contrib = gr__malloc((size_t)(ml * n));
    if (!contrib) {
        free(off);
        return MPI_ERR_NO_MEM;
    }
    memcpy(contrib + ml * me, all + off[me], (size_t)ml);
    view v;
    cview(&v, c);
    for (int s = 1; s < n && !rc; s++) {
        int to = (me + s) % n, from = (me - s + n) % n;
        rc = gr__vsendrecv(&v,
                           all + off[to],
                           gr__dt_packed(t, counts[to]),
                           to,
                           contrib + ml * from,
                           ml,
                           from);
    }
    /* acc = c0 op (c1 op (... op c[n-1])) */
    if (!rc) {
        memcpy(mine, contrib + ml * (n - 1), (size_t)ml);
        for (int j = n - 2; j >= 0 && !rc; j--)
            rc = gr__op_apply(op, contrib + ml * j, mine, counts[me], dt);
    }
    free(contrib);
    free(off);
    return rc;
}

int
MPI_Reduce_scatter(const void* sbuf,
                   void* rbuf,
                   const int counts[],
                   MPI_Datatype dt,
                   MPI_Op op,
                   MPI_Comm ch)
{
    INTER_VIA(ch, MPI_Ireduce_scatter(sbuf, rbuf, counts, dt, op, ch, &r_));
    GET_INTRA(c, ch);
    GET_TYPE(t, dt, ch);
    if (!gr__op_valid(op))
        return ERR(ch, MPI_ERR_OP);
    int total = 0;
    for (int i = 0; i < c->size; i++)
        total += counts[i];
    char* all = pack_new(sbuf == MPI_IN_PLACE ? rbuf : sbuf, total, t);
    char* mine = gr__malloc((size_t)gr__dt_packed(t, counts[c->rank]));
    if (!all || !mine) {
        free(all);
        free(mine);
        return ERR(ch, MPI_ERR_NO_MEM);
    }
    int rc = reduce_scatter_packed(c, all, counts, mine, dt, op);
    if (!rc)
        gr__dt_unpack(
          t, mine, gr__dt_packed(t, counts[c->rank]), rbuf, counts[c->rank]);
    free(all);
    free(mine);
    return ERR(ch, rc);
}

int
MPI_Reduce_scatter_block(const void* sbuf,
                         void* rbuf,
                         int count,
                         MPI_Datatype dt,
                         MPI_Op op,
                         MPI_Comm ch)
{
    INTER_VIA(ch,
              MPI_Ireduce_scatter_block(sbuf, rbuf, count, dt, op, ch, &r_));
    GET_INTRA(c, ch);
    int* counts = gr__malloc(sizeof(int) * (size_t)c->size);
    if (!counts)
        return ERR(ch, MPI_ERR_NO_MEM);
    for (int i = 0; i < c->size; i++)
        counts[i] = count;
    int rc = MPI_Reduce_scatter(sbuf, rbuf, counts, dt, op, ch);
    free(counts);
    return rc;
}

static int
scan_common(const void* sbuf,
            void* rbuf,
            int count,
            MPI_Datatype dt,
            MPI_Op op,
            MPI_Comm ch,
            int exclusive)
{
    GET_INTRA(c, ch);
    GET_TYPE(t, dt, ch);
    if (!gr__op_valid(op))
        return ERR(ch, MPI_ERR_OP);
    MPI_Count len = gr__dt_packed(t, count);
    char* partial = pack_new(sbuf == MPI_IN_PLACE ? rbuf : sbuf, count, t);
    char* result = gr__malloc((size_t)len);
    char* tmp = gr__malloc((size_t)len);
    if (!partial || !result || !tmp) {
        free(partial);
        free(result);
        free(tmp);
        return ERR(ch, MPI_ERR_NO_MEM);
    }
    memcpy(result, partial, (size_t)len);
    int have = !exclusive; /* result holds something */
    view v;
    cview(&v, c);
    int rc = 0, me = c->rank;
    for (int mask = 1; mask < c->size && !rc; mask <<= 1) {
        int peer = me ^ mask;
        if (peer >= c->size)
            continue;
        rc = gr__vsendrecv(&v, partial, len, peer, tmp, len, peer);
        if (rc)
            break;
        if (peer < me) {
            /* tmp covers lower ranks */
            if (have) {
                char* t2 = gr__malloc((size_t)len);
                memcpy(t2, tmp, (size_t)len);
                rc = gr__op_apply(op, t2, result, count, dt);
                free(t2);
            } else {
                memcpy(result, tmp, (size_t)len);
                have = 1;
            }
            if (!rc)
                rc = gr__op_apply(op, tmp, partial, count, dt);
        } else {
            rc = gr__op_apply(op, partial, tmp, count, dt);
            memcpy(partial, tmp, (size_t)len);
        }
    }
    if (!rc && have)
        gr__dt_unpack(t, result, len, rbuf, count);
    free(partial);
    free(result);
    free(tmp);
    return ERR(ch, rc);
}

int
MPI_Scan(const void* sbuf,
         void* rbuf,
         int count,
         MPI_Datatype dt,
         MPI_Op op,
         MPI_Comm ch)
{
    return scan_common(sbuf, rbuf, count, dt, op, ch, 0);
}

int
MPI_Exscan(const void* sbuf,
           void* rbuf,
           int count,
           MPI_Datatype dt,
           MPI_Op op,
           MPI_Comm ch)
{
    return scan_common(sbuf, rbuf, count, dt, op, ch, 1);
}

/* ---- gather / scatter ---- */

int
MPI_Gatherv(const void* sbuf,
            int scount,
            MPI_Datatype stype,
            void* rbuf,
            const int rcounts[],
            const int displs[],
            MPI_Datatype rtype,
            int root,
            MPI_Comm ch)
{
    INTER_VIA(
      ch,
      MPI_Igatherv(
        sbuf, scount, stype, rbuf, rcounts, displs, rtype, root, ch, &r_));
    GET_INTRA(c, ch);
    if (root < 0 || root >= c->size)
        return ERR(ch, MPI_ERR_ROOT);
    int rc = 0;
    if (c->rank != root) {
        GET_TYPE(st, stype, ch);
        xbuf x;
        if ((rc = gr__xbuf_send(&x, sbuf, scount, st)))
            return ERR(ch, rc);
        view v;
        cview(&v, c);
        rc = gr__vsend(&v, x.p, x.len, root);
        gr__xbuf_free(&x);
        return ERR(ch, rc);
    }
    GET_TYPE(rt, rtype, ch);
    MPI_Aint ext = rt->ub - rt->lb;
    int n = c->size;
    int32_t* dv = gr__malloc(sizeof(int32_t) * (size_t)n);
    xbuf* xs = calloc((size_t)n, sizeof(xbuf));
    if (!dv || !xs) {
        free(dv);
        free(xs);
        return ERR(ch, MPI_ERR_NO_MEM);
    }
    for (int i = 0; i < n; i++) {
        dv[i] = -1;
        if (i == root)
            continue;
        char* dst = (char*)rbuf + (MPI_Aint)displs[i] * ext;
        if ((rc = gr__xbuf_recv(&xs[i], dst, rcounts[i], rt)))
            break;
        dv[i] = gr_mpi_irecv(
          xs[i].p, (int32_t)xs[i].len, c->w[i], 0, c->ctx + CTX_COLL);
        if (dv[i] < 0) {
            rc = gr__dev_err(dv[i]);
            break;
        }
    }
    if (!rc && sbuf != MPI_IN_PLACE) {
        /* my own block: pack then unpack through the two types */
        GET_TYPE(st, stype, ch);
        char* p = pack_new(sbuf, scount, st);
        gr__dt_unpack(rt,
                      p,
                      gr__dt_packed(st, scount),
                      (char*)rbuf + (MPI_Aint)displs[root] * ext,
                      rcounts[root]);
        free(p);
    }
    for (int i = 0; i < n; i++) {
        if (dv[i] < 0)
            continue;
        gr_mpi_status s;
        int r2 = gr__dev_err(gr__pwait(dv[i], &s));
        if (!rc)
            rc = r2;
        gr__xbuf_finish_recv(&xs[i],
                             (char*)rbuf + (MPI_Aint)displs[i] * ext,
                             rcounts[i],
                             rt,
                             s.bytes);
    }
    for (int i = 0; i < n; i++)
        gr__xbuf_free(&xs[i]);
    free(dv);
    free(xs);
    return ERR(ch, rc);
}

int
MPI_Gather(const void* sbuf,
           int scount,
           MPI_Datatype stype,
           void* rbuf,
           int rcount,
           MPI_Datatype rtype,
           int root,
           MPI_Comm ch)
{
    INTER_VIA(
      ch, MPI_Igather(sbuf, scount, stype, rbuf, rcount, rtype, root, ch, &r_));
    GET_INTRA(c, ch);
    int n = c->size;
    int* cd = gr__malloc(sizeof(int) * 2 * (size_t)n);
    if (!cd)
        return ERR(ch, MPI_ERR_NO_MEM);
    for (int i = 0; i < n; i++) {
        cd[i] = rcount;
        cd[n + i] = rcount * i;
    }
    int rc =
      MPI_Gatherv(sbuf, scount, stype, rbuf, cd, cd + n, rtype, root, ch);
    free(cd);
    return rc;
}

int
MPI_Scatterv(const void* sbuf,
             const int scounts[],
             const int displs[],
             MPI_Datatype stype,
             void* rbuf,
             int rcount,
             MPI_Datatype rtype,
             int root,
             MPI_Comm ch)
{
    INTER_VIA(
      ch,
      MPI_Iscatterv(
        sbuf, scounts, displs, stype, rbuf, rcount, rtype, root, ch, &r_));
    GET_INTRA(c, ch);
    if (root < 0 || root >= c->size)
        return ERR(ch, MPI_ERR_ROOT);
    int rc = 0;
    view v;
    cview(&v, c);
    if (c->rank != root) {
        GET_TYPE(rt, rtype, ch);
        xbuf x;
        if ((rc = gr__xbuf_recv(&x, rbuf, rcount, rt)))
            return ERR(ch, rc);
        rc = gr__vrecv(&v, x.p, x.len, root);
        gr__xbuf_finish_recv(&x, rbuf, rcount, rt, x.len);
        return ERR(ch, rc);
    }
    GET_TYPE(st, stype, ch);
    MPI_Aint ext = st->ub - st->lb;
    int n = c->size;
    int32_t* dv = gr__malloc(sizeof(int32_t) * (size_t)n);
    xbuf* xs = calloc((size_t)n, sizeof(xbuf));
    if (!dv || !xs) {
        free(dv);
        free(xs);
        return ERR(ch, MPI_ERR_NO_MEM);
    }
    for (int i = 0; i < n; i++) {
        dv[i] = -1;
        if (i == root)
            continue;
        const char* src = (const char*)sbuf + (MPI_Aint)displs[i] * ext;
        if ((rc = gr__xbuf_send(&xs[i], src, scounts[i], st)))
            break;
        dv[i] = gr_mpi_isend(xs[i].p,
                             (int32_t)xs[i].len,
                             c->w[i],
                             0,
                             c->ctx + CTX_COLL,
                             GR_MPI_MODE_STANDARD);
        if (dv[i] < 0) {
            rc = gr__dev_err(dv[i]);
            break;
        }
    }
    if (!rc && rbuf != MPI_IN_PLACE) {
        GET_TYPE(rt, rtype, ch);
        char* p = pack_new(
          (const char*)sbuf + (MPI_Aint)displs[root] * ext, scounts[root], st);
        gr__dt_unpack(rt, p, gr__dt_packed(st, scounts[root]), rbuf, rcount);
        free(p);
    }
    for (int i = 0; i < n; i++) {
        if (dv[i] < 0)
            continue;
        gr_mpi_status s;
        int r2 = gr__dev_err(gr__pwait(dv[i], &s));
        if (!rc)
            rc = r2;
        gr__xbuf_free(&xs[i]);
    }
    free(dv);
    free(xs);
    return ERR(ch, rc);
}

int
MPI_Scatter(const void* sbuf,
            int scount,
            MPI_Datatype stype,
            void* rbuf,
            int rcount,
            MPI_Datatype rtype,
            int root,
            MPI_Comm ch)
{
    INTER_VIA(
      ch,
      MPI_Iscatter(sbuf, scount, stype, rbuf, rcount, rtype, root, ch, &r_));
    GET_INTRA(c, ch);
    int n = c->size;
    int* cd = gr__malloc(sizeof(int) * 2 * (size_t)n);
    if (!cd)
        return ERR(ch, MPI_ERR_NO_MEM);
    for (int i = 0; i < n; i++) {
        cd[i] = scount;
        cd[n + i] = scount * i;
    }
    int rc =
      MPI_Scatterv(sbuf, cd, cd + n, stype, rbuf, rcount, rtype, root, ch);
    free(cd);
    return rc;
}

/* ---- allgather ---- */

int
MPI_Allgatherv(const void* sbuf,
               int scount,
               MPI_Datatype stype,
               void* rbuf,
               const int rcounts[],
               const int displs[],
               MPI_Datatype rtype,
               MPI_Comm ch)
{
    INTER_VIA(ch,
              MPI_Iallgatherv(
                sbuf, scount, stype, rbuf, rcounts, displs, rtype, ch, &r_));
    GET_INTRA(c, ch);
    GET_TYPE(rt, rtype, ch);
    int n = c->size, me = c->rank;
    MPI_Aint ext = rt->ub - rt->lb;
    MPI_Count* off = gr__malloc(sizeof(MPI_Count) * 2 * (size_t)n);
    if (!off)
        return ERR(ch, MPI_ERR_NO_MEM);
    MPI_Count total = 0;
    for (int i = 0; i < n; i++) {
        off[i] = total;
        off[n + i] = gr__dt_packed(rt, rcounts[i]);
        total += off[n + i];
    }
    char* all = gr__malloc((size_t)total);
    if (!all) {
        free(off);
        return ERR(ch, MPI_ERR_NO_MEM);
    }
    if (sbuf == MPI_IN_PLACE) {
        gr__dt_pack(rt,
                    (char*)rbuf + (MPI_Aint)displs[me] * ext,
                    rcounts[me],
                    all + off[me]);
    } else {
        GET_TYPE(st, stype, ch);
        gr__dt_pack(st, sbuf, scount, all + off[me]);
    }
    view v;
    cview(&v, c);
    int rc = gr__v_allgatherv(&v, all, off, off + n);
    if (!rc)
        for (int i = 0; i < n; i++)
            gr__dt_unpack(rt,
                          all + off[i],
                          off[n + i],
                          (char*)rbuf + (MPI_Aint)displs[i] * ext,
                          rcounts[i]);
    free(all);
    free(off);
    return ERR(ch, rc);
}

int
MPI_Allgather(const void* sbuf,
              int scount,
              MPI_Datatype stype,
              void* rbuf,
              int rcount,
              MPI_Datatype rtype,
              MPI_Comm ch)
{
    INTER_VIA(
      ch, MPI_Iallgather(sbuf, scount, stype, rbuf, rcount, rtype, ch, &r_));
    GET_INTRA(c, ch);
    int n = c->size;
    int* cd = gr__malloc(sizeof(int) * 2 * (size_t)n);
    if (!cd)
        return ERR(ch, MPI_ERR_NO_MEM);
    for (int i = 0; i < n; i++) {
        cd[i] = rcount;
        cd[n + i] = rcount * i;
    }
    int rc = MPI_Allgatherv(sbuf, scount, stype, rbuf, cd, cd + n, rtype, ch);
    free(cd);
    return rc;
}

/* ---- all to all ---- */

/* The general form: per-peer counts, byte displacements and types. */
static int
alltoallw_bytes(comm* c,
                const void* sbuf,
                const int sc[],
                const MPI_Aint sd[],
                const MPI_Datatype stv[],
                void* rbuf,
                const int rcv[],
                const MPI_Aint rd[],
                const MPI_Datatype rtv[])
{
    int n = c->size, me = c->rank, rc = 0;
    view v;
    cview(&v, c);
    int inplace = sbuf == MPI_IN_PLACE;
    char* saved = NULL;
    MPI_Count* soff = NULL;
    if (inplace) {
        /* snapshot what every peer is owed before the buffer is reused */
        soff = gr__malloc(sizeof(MPI_Count) * (size_t)(n + 1));
        if (!soff)
            return MPI_ERR_NO_MEM;
        MPI_Count tot = 0;
        for (int i = 0; i < n; i++) {
            soff[i] = tot;
            tot += gr__dt_packed(gr__dt_get(rtv[i]), rcv[i]);
        }
        soff[n] = tot;
        saved = gr__malloc((size_t)tot);
        if (!saved) {
            free(soff);
            return MPI_ERR_NO_MEM;
        }
        for (int i = 0; i < n; i++)
            gr__dt_pack(
              gr__dt_get(rtv[i]), (char*)rbuf + rd[i], rcv[i], saved + soff[i]);
    }
    for (int s = 0; s < n && !rc; s++) {
        int to = (me + s) % n, from = (me - s + n) % n;
        xbuf sx, rx;
        dtype* rt = gr__dt_get(rtv[from]);
        if (inplace) {
            sx.p = saved + soff[to];
            sx.len = soff[to + 1] - soff[to];
            sx.tmp = NULL;
        } else if ((rc = gr__xbuf_send(&sx,
                                       (const char*)sbuf + sd[to],
                                       sc[to],
                                       gr__dt_get(stv[to]))))
            break;
        if ((rc = gr__xbuf_recv(&rx, (char*)rbuf + rd[from], rcv[from], rt))) {
            gr__xbuf_free(&sx);
            break;
        }
        if (s == 0) {
            memcpy(rx.p, sx.p, (size_t)(sx.len < rx.len ? sx.len : rx.len));
        } else {
            rc = gr__vsendrecv(&v, sx.p, sx.len, to, rx.p, rx.len, from);
        }
        gr__xbuf_finish_recv(
          &rx, (char*)rbuf + rd[from], rcv[from], rt, rx.len);
        gr__xbuf_free(&sx);
    }
    free(saved);
    free(soff);
    return rc;
}

int
MPI_Alltoallw(const void* sbuf,
              const int sc[],
              const int sd[],
              const MPI_Datatype st[],
              void* rbuf,
              const int rcv[],
              const int rd[],
              const MPI_Datatype rt[],
              MPI_Comm ch)
{
    INTER_VIA(ch, MPI_Ialltoallw(sbuf, sc, sd, st, rbuf, rcv, rd, rt, ch, &r_));
    GET_INTRA(c, ch);
    int n = c->size;
    MPI_Aint* d = gr__malloc(sizeof(MPI_Aint) * 2 * (size_t)n);
    if (!d)
        return ERR(ch, MPI_ERR_NO_MEM);
    for (int i = 0; i < n; i++) {
        d[i] = sbuf == MPI_IN_PLACE ? 0 : sd[i];
        d[n + i] = rd[i];
        if ((sbuf != MPI_IN_PLACE && !gr__dt_get(st[i])) ||
            !gr__dt_get(rt[i])) {
            free(d);
            return ERR(ch, MPI_ERR_TYPE);
        }
    }
    int rc = alltoallw_bytes(c, sbuf, sc, d, st, rbuf, rcv, d + n, rt);
    free(d);
    return ERR(ch, rc);
}

int
MPI_Alltoallv(const void* sbuf,
              const int sc[],
              const int sd[],
              MPI_Datatype stype,
              void* rbuf,
              const int rcv[],
              const int rd[],
              MPI_Datatype rtype,
              MPI_Comm ch)
{
    INTER_VIA(
      ch, MPI_Ialltoallv(sbuf, sc, sd, stype, rbuf, rcv, rd, rtype, ch, &r_));
    GET_INTRA(c, ch);
    GET_TYPE(rt, rtype, ch);
    dtype* st = sbuf == MPI_IN_PLACE ? rt : gr__dt_get(stype);
    if (!st)
        return ERR(ch, MPI_ERR_TYPE);
    int n = c->size;
    MPI_Aint* d = gr__malloc(sizeof(MPI_Aint) * 2 * (size_t)n);
    MPI_Datatype* ty = gr__malloc(sizeof(MPI_Datatype) * 2 * (size_t)n);
    if (!d || !ty) {
        free(d);
        free(ty);
        return ERR(ch, MPI_ERR_NO_MEM);
    }
    for (int i = 0; i < n; i++) {
        d[i] = sbuf == MPI_IN_PLACE ? 0 : (MPI_Aint)sd[i] * (st->ub - st->lb);
        d[n + i] = (MPI_Aint)rd[i] * (rt->ub - rt->lb);
        ty[i] = stype;
        ty[n + i] = rtype;
    }
    int rc = alltoallw_bytes(c, sbuf, sc, d, ty, rbuf, rcv, d + n, ty + n);
    free(d);
    free(ty);
    return ERR(ch, rc);
}

int
MPI_Alltoall(const void* sbuf,
             int scount,
             MPI_Datatype stype,
             void* rbuf,
             int rcount,
             MPI_Datatype rtype,
             MPI_Comm ch)
{
    INTER_VIA(ch,
              MPI_Ialltoall(sbuf, scount, stype, rbuf, rcount, rtype, ch, &r_));
    GET_INTRA(c, ch);
    int n = c->size;
    int* cd = gr__malloc(sizeof(int) * 4 * (size_t)n);
    if (!cd)
        return ERR(ch, MPI_ERR_NO_MEM);
    for (int i = 0; i < n; i++) {
        cd[i] = scount;
        cd[n + i] = scount * i;
        cd[2 * n + i] = rcount;
        cd[3 * n + i] = rcount * i;
    }
    int rc = MPI_Alltoallv(
      sbuf, cd, cd + n, stype, rbuf, cd + 2 * n, cd + 3 * n, rtype, ch);
    free(cd);
    return rc;
}

/* Copies n large counts or displacements into ints; 0, or MPI_ERR_COUNT
 * when one does not fit. */
static int
narrow(int n, const MPI_Count* in, int* out)
{
    for (int i = 0; i < n; i++) {
        if (in[i] < -0x7fffffffLL - 1 || in[i] > 0x7fffffff)
            return MPI_ERR_COUNT;
        out[i] = (int)in[i];
    }
    return 0;
}

int
MPI_Alltoallv_c(const void* sbuf,
                const MPI_Count sc[],
                const MPI_Aint sd[],
                MPI_Datatype stype,
                void* rbuf,
                const MPI_Count rcv[],
                const MPI_Aint rd[],
                MPI_Datatype rtype,
                MPI_Comm ch)
{
    CHECK_INIT();
    comm* c = gr__comm_get(ch);
    if (!c)
        return ERR(MPI_COMM_WORLD, MPI_ERR_COMM);
    int n = c->inter ? c->rsize : c->size;
    int* v = gr__malloc(sizeof(int) * 4 * (size_t)(n ? n : 1));
    if (!v)
        return ERR(ch, MPI_ERR_NO_MEM);
    MPI_Count* sdc = gr__malloc(sizeof(MPI_Count) * 2 * (size_t)(n ? n : 1));
    int rc = sdc ? 0 : MPI_ERR_NO_MEM;
    for (int i = 0; !rc && i < n; i++) {
        sdc[i] = sbuf == MPI_IN_PLACE ? 0 : sd[i];
        sdc[n + i] = rd[i];
    }
    if (!rc && sbuf != MPI_IN_PLACE)
        rc = narrow(n, sc, v);
    if (!rc)
        rc = narrow(n, sdc, v + n);
    if (!rc)
        rc = narrow(n, rcv, v + 2 * n);
    if (!rc)
        rc = narrow(n, sdc + n, v + 3 * n);
    free(sdc);
    if (!rc)
        rc = MPI_Alltoallv(
          sbuf, v, v + n, stype, rbuf, v + 2 * n, v + 3 * n, rtype, ch);
    else
        rc = ERR(ch, rc);
    free(v);
    return rc;
}
