/* SPDX-License-Identifier: Apache-2.0 */
/* Collective algorithms on "views" (a list of world ranks, a context and a
 * tag) over packed bytes: dissemination barrier, binomial and
 * scatter+allgather broadcast, recursive-doubling and ring all-reduce,
 * binomial reduce, ring all-gather. Host-aware variants split a view into
 * one view per host and a view of host leaders.
 */
#include <stdlib.h>
#include <string.h>

#include "mpi_int.h"

#define BIG (64 * 1024)

int
gr__vsend(const view* v, const void* buf, MPI_Count len, int to)
{
    int rc = gr__psend(
      buf, (int32_t)len, v->w[to], v->tag, v->ctx, GR_MPI_MODE_STANDARD);
    return gr__dev_err(rc);
}

int
gr__vrecv(const view* v, void* buf, MPI_Count len, int from)
{
    gr_mpi_status st;
    int rc = gr__precv(buf, (int32_t)len, v->w[from], v->tag, v->ctx, &st);
    return gr__dev_err(rc);
}

int
gr__vsendrecv(const view* v,
              const void* sbuf,
              MPI_Count slen,
              int to,
              void* rbuf,
              MPI_Count rlen,
              int from)
{
    if (slen <= SEND_FIRST_MAX) {
        int rc = gr__vsend(v, sbuf, slen, to);
        int rc2 = gr__vrecv(v, rbuf, rlen, from);
        return rc ? rc : rc2;
    }
    int r = gr_mpi_irecv(rbuf, (int32_t)rlen, v->w[from], v->tag, v->ctx);
    if (r < 0)
        return gr__dev_err(r);
    int rc = gr__psend(
      sbuf, (int32_t)slen, v->w[to], v->tag, v->ctx, GR_MPI_MODE_STANDARD);
    gr_mpi_status st;
    int rc2 = gr__pwait(r, &st);
    return gr__dev_err(rc < 0 ? rc : rc2);
}

int
gr__v_barrier(const view* v)
{
    char a = 0, b;
    for (int k = 1; k < v->n; k <<= 1) {
        int rc = gr__vsendrecv(
          v, &a, 0, (v->me + k) % v->n, &b, 0, (v->me - k + v->n) % v->n);
        if (rc)
            return rc;
    }
    return 0;
}

static int
bcast_binomial(const view* v, void* buf, MPI_Count len, int root)
{
    int n = v->n, rel = (v->me - root + n) % n, mask = 1, rc;
    while (mask < n) {
        if (rel & mask) {
            if ((rc = gr__vrecv(v, buf, len, (rel - mask + root) % n)))
                return rc;
            break;
        }
        mask <<= 1;
    }
    mask >>= 1;
    while (mask > 0) {
        if (rel + mask < n)
            if ((rc = gr__vsend(v, buf, len, (rel + mask + root) % n)))
                return rc;
        mask >>= 1;
    }
    return 0;
}

/* Ring all-gather of variable blocks inside one buffer. */
static int
ring_allgatherv(const view* v,
                char* all,
                const MPI_Count* off,
                const MPI_Count* len)
{
    int n = v->n, right = (v->me + 1) % n, left = (v->me - 1 + n) % n;
    for (int s = 0; s < n - 1; s++) {
        int sb = (v->me - s + n) % n, rb = (v->me - s - 1 + n) % n;
        int rc = gr__vsendrecv(
          v, all + off[sb], len[sb], right, all + off[rb], len[rb], left);
        if (rc)
            return rc;
    }
    return 0;
}

static void
chunks(MPI_Count total, int n, MPI_Count* off, MPI_Count* len, MPI_Count unit)
{
    MPI_Count units = total / unit, base = units / n, extra = units % n, o = 0;
    for (int i = 0; i < n; i++) {
        len[i] = (base + (i < extra)) * unit;
        off[i] = o;
        o += len[i];
    }
    len[n - 1] += total - o; /* a tail shorter than a unit */
}

int
gr__v_bcast(const view* v, void* buf, MPI_Count len, int root)
{
    if (v->n <= 1)
        return 0;
    if (len < BIG || v->n < 3)
        return bcast_binomial(v, buf, len, root);
    /* scatter from the root, then ring all-gather (chunks in view order) */
    int n = v->n;
    MPI_Count* off = gr__malloc(sizeof(MPI_Count) * 2 * (size_t)n);
    if (!off)
        return MPI_ERR_NO_MEM;
    MPI_Count* ln = off + n;
    chunks(len, n, off, ln, 1);
    int rc = 0;
    if (v->me == root) {
        for (int i = 0; i < n && !rc; i++)
            if (i != root)
                rc = gr__vsend(v, (char*)buf + off[i], ln[i], i);
    } else {
        rc = gr__vrecv(v, (char*)buf + off[v->me], ln[v->me], root);
    }
    if (!rc)
        rc = ring_allgatherv(v, buf, off, ln);
    free(off);
    return rc;
}

/* Recursive doubling with the non-power-of-two fold; keeps rank order, so
 * it is right for non-commutative operations too. */
static int
allreduce_rd(const view* v, void* buf, int count, MPI_Datatype dt, MPI_Op op)
{
    dtype* t = gr__dt_get(dt);
    MPI_Count len = gr__dt_packed(t, count);
    char* tmp = gr__malloc((size_t)len);
    if (!tmp)
        return MPI_ERR_NO_MEM;
    int n = v->n, me = v->me, p2 = 1, rc = 0;
    while (p2 * 2 <= n)
        p2 *= 2;
    int rem = n - p2, nr;
    if (me < 2 * rem) {
        if (me % 2 == 0) {
            rc = gr__vsend(v, buf, len, me + 1);
            nr = -1;
        } else {
            rc = gr__vrecv(v, tmp, len, me - 1);
            if (!rc)
                rc = gr__op_apply(op, tmp, buf, count, dt);
            nr = me / 2;
        }
    } else {
        nr = me - rem;
    }
    if (nr >= 0 && !rc) {
        for (int mask = 1; mask < p2 && !rc; mask <<= 1) {
            int pn = nr ^ mask;
            int peer = pn < rem ? pn * 2 + 1 : pn + rem;
            rc = gr__vsendrecv(v, buf, len, peer, tmp, len, peer);
            if (rc)
                break;
            if (pn < nr) {
                rc = gr__op_apply(op, tmp, buf, count, dt);
            } else {
                rc = gr__op_apply(op, buf, tmp, count, dt);
                memcpy(buf, tmp, (size_t)len);
            }
        }
    }
    if (!rc && me < 2 * rem) {
        if (me % 2)
            rc = gr__vsend(v, buf, len, me - 1);
        else
            rc = gr__vrecv(v, buf, len, me + 1);
    }
    free(tmp);
    return rc;
}

/* A sendrecv of large blocks whose sizes both sides compute alike: each
 * rank posts its receive, tells the rank it receives from (a 0-byte
 * message on a tag of its own) and sends only once told by the rank it
 * sends to. Every send then finds its receive posted and the sender
 * copies, so the two copies of an exchange run at once instead of one
 * rank doing both while the other waits. */
#define READY_TAG 0x10000
static int
sendrecv_posted(const view* v,
                const void* sbuf,
                MPI_Count slen,
                int to,
                void* rbuf,
                MPI_Count rlen,
                int from)
{
    if (slen < BIG && rlen < BIG)
        return gr__vsendrecv(v, sbuf, slen, to, rbuf, rlen, from);
    int r = gr_mpi_irecv(rbuf, (int32_t)rlen, v->w[from], v->tag, v->ctx);
    if (r < 0)
        return gr__dev_err(r);
    view rv = *v;
    rv.tag = v->tag + READY_TAG;
    int rc = 0;
    if (rlen >= BIG)
        rc = gr__vsend(&rv, NULL, 0, from);
    if (!rc && slen >= BIG)
        rc = gr__vrecv(&rv, NULL, 0, to);
    if (!rc)
        rc = gr__vsend(v, sbuf, slen, to);
    gr_mpi_status st;
    int rc2 = gr__dev_err(gr_mpi_wait(r, &st));
    return rc ? rc : rc2;
}

/* Ring reduce-scatter then ring all-gather (commutative ops, large data). */
static int
allreduce_ring(const view* v, void* buf, int count, MPI_Datatype dt, MPI_Op op)
{
    dtype* t = gr__dt_get(dt);
    int n = v->n;
    MPI_Count* off = gr__malloc(sizeof(MPI_Count) * 2 * (size_t)n);
    MPI_Count* cnt = gr__malloc(sizeof(MPI_Count) * (size_t)n);
    MPI_Count len = gr__dt_packed(t, count);
    char* tmp = gr__malloc((size_t)(len / n + t->size * 2 + 1));
    if (!off || !cnt || !tmp) {
        free(off);
        free(cnt);
        free(tmp);
        return MPI_ERR_NO_MEM;
    }
    MPI_Count* ln = off + n;
    chunks(len, n, off, ln, t->size);
    for (int i = 0; i < n; i++)
        cnt[i] = ln[i] / t->size;
    char* b = buf;
    int right = (v->me + 1) % n, left = (v->me - 1 + n) % n, rc = 0;
    for (int s = 0; s < n - 1 && !rc; s++) {
        int sb = (v->me - s + n) % n, rb = (v->me - s - 1 + n) % n;
        rc = sendrecv_posted(v, b + off[sb], ln[sb], right, tmp, ln[rb], left);
        if (!rc)
            rc = gr__op_apply(op, tmp, b + off[rb], (int)cnt[rb], dt);
    }
    /* now block (me+1)%n is complete here: shift so ring_allgatherv's
     * "my block" convention holds by rotating the view */
    if (!rc) {
        for (int s = 0; s < n - 1 && !rc; s++) {
            int sb = (v->me + 1 - s + n) % n, rb = (v->me - s + n) % n;
            rc = sendrecv_posted(
              v, b + off[sb], ln[sb], right, b + off[rb], ln[rb], left);
        }
    }
    free(off);
    free(cnt);
    free(tmp);
    return rc;
}

int
gr__v_allreduce(const view* v, void* buf, int count, MPI_Datatype dt, MPI_Op op)
{
    if (v->n <= 1)
        return 0;
    dtype* t = gr__dt_get(dt);
    if (gr__op_commutative(op) && gr__dt_packed(t, count) >= BIG &&
        count >= v->n && t->size > 0)
        return allreduce_ring(v, buf, count, dt, op);
    return allreduce_rd(v, buf, count, dt, op);
}

int
gr__v_allgather(const view* v, const void* mine, void* all, MPI_Count len)
{
    int n = v->n;
    if ((const char*)all + len * v->me != mine)
        memcpy((char*)all + len * v->me, mine, (size_t)len);
    MPI_Count* off = gr__malloc(sizeof(MPI_Count) * 2 * (size_t)n);
    if (!off)
        return MPI_ERR_NO_MEM;
    for (int i = 0; i < n; i++) {
        off[i] = len * i;
        off[n + i] = len;
    }
    int rc = ring_allgatherv(v, all, off, off + n);
    free(off);
    return rc;
}

int gr__v_allgatherv(const view* v,
                     char* all,
                     const MPI_Count* off,
                     const MPI_Count* len);
int
gr__v_allgatherv(const view* v,
                 char* all,
                 const MPI_Count* off,
                 const MPI_Count* len)
{
    return ring_allgatherv(v, all, off, len);
}

/* Binomial reduce into buf at root (rank order kept when root is 0). */
int gr__v_reduce(const view* v,
                 void* buf,
                 int count,
                 MPI_Datatype dt,
                 MPI_Op op,
                 int root);
int
gr__v_reduce(const view* v,
             void* buf,
             int count,
             MPI_Datatype dt,
             MPI_Op op,
             int root)
{
    int n = v->n;
    if (n <= 1)
        return 0;
    int eff = gr__op_commutative(op) ? root : 0;
    dtype* t = gr__dt_get(dt);
    MPI_Count len = gr__dt_packed(t, count);
    char* tmp = gr__malloc((size_t)len);
    if (!tmp)
        return MPI_ERR_NO_MEM;
    int rel = (v->me - eff + n) % n, rc = 0;
    for (int mask = 1; mask < n; mask <<= 1) {
        if (rel & mask) {
            rc = gr__vsend(v, buf, len, (rel - mask + eff) % n);
            break;
        }
        if (rel + mask < n) {
            rc = gr__vrecv(v, tmp, len, (rel + mask + eff) % n);
            if (rc)
                break;
            /* buf covers lower ranks than tmp: buf op tmp */
            rc = gr__op_apply(op, buf, tmp, count, dt);
            memcpy(buf, tmp, (size_t)len);
            if (rc)
                break;
        }
    }
    if (!rc && eff != root) {
        if (v->me == eff)
            rc = gr__vsend(v, buf, len, root);
        else if (v->me == root)
            rc = gr__vrecv(v, buf, len, eff);
    }
    free(tmp);
    return rc;
}

/* ---- host-aware layout ---- */

/* Fills c->host and decides whether a local phase per host pays: more
 * than one host in the communicator and at least one with several ranks. */
int gr__comm_hier(comm* c);
int
gr__comm_hier(comm* c)
{
    if (c->hier >= 0)
        return c->hier;
    c->hier = 0;
    if (gr_mpi_host_count() <= 1 || c->inter)
        return 0;
    c->host = gr__malloc(sizeof(int) * (size_t)c->size);
    if (!c->host)
        return 0;
    int distinct = 0, shared = 0;
    for (int i = 0; i < c->size; i++) {
        c->host[i] = gr_mpi_rank_host(c->w[i]);
        int seen = 0;
        for (int j = 0; j < i; j++)
            if (c->host[j] == c->host[i])
                seen = 1;
        if (seen)
            shared = 1;
        else
            distinct++;
    }
    c->nhosts = distinct;
    c->hier = distinct > 1 && shared;
    return c->hier;
}

/* Local view (ranks of my host, in comm order) and leaders view (one rank
 * per host: root on root's host, else the lowest). The w arrays are
 * allocated; *lroot / *groot are the root's index in each (or the index
 * of my host's leader in the local view). */
int gr__hier_views(comm* c,
                   int root,
                   view* local,
                   int* lleader,
                   view* leaders,
                   int* iam_leader,
                   int* groot);
int
gr__hier_views(comm* c,
               int root,
               view* local,
               int* lleader,
               view* leaders,
               int* iam_leader,
               int* groot)
{
    int n = c->size;
    int* lw = gr__malloc(sizeof(int) * (size_t)n);
    int* gw = gr__malloc(sizeof(int) * (size_t)n);
    int* lead = gr__malloc(sizeof(int) * (size_t)n); /* host idx -> leader */
    if (!lw || !gw || !lead) {
        free(lw);
        free(gw);
        free(lead);
        return MPI_ERR_NO_MEM;
    }
    int myh = c->host[c->rank];
    int nl = 0;
    local->me = -1;
    *lleader = -1;
    for (int i = 0; i < n; i++) {
        if (c->host[i] != myh)
            continue;
        if (i == c->rank)
            local->me = nl;
        lw[nl++] = c->w[i];
    }
    /* leader per host */
    int ng = 0;
    leaders->me = -1;
    *groot = 0;
    for (int i = 0; i < n; i++) {
        int h = c->host[i], first = 1;
        for (int j = 0; j < i; j++)
            if (c->host[j] == h)
                first = 0;
        if (!first)
            continue;
        int l = (c->host[root] == h) ? root : i;
        lead[ng] = l;
        if (l == root)
            *groot = ng;
        if (l == c->rank)
            leaders->me = ng;
        gw[ng++] = c->w[l];
    }
    int myleader = -1;
    for (int g = 0; g < ng; g++)
        if (c->host[lead[g]] == myh)
            myleader = c->w[lead[g]];
    for (int i = 0; i < nl; i++)
        if (lw[i] == myleader)
            *lleader = i;
    local->n = nl;
    local->w = lw;
    leaders->n = ng;
    leaders->w = gw;
    *iam_leader = leaders->me >= 0;
    free(lead);
    return 0;
}
