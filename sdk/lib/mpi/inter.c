/* SPDX-License-Identifier: Apache-2.0 */
/* Collectives on intercommunicators, as schedules (sched.c), for the
 * blocking, non-blocking and persistent forms alike. Data flows between
 * the two groups: rooted operations between the root (MPI_ROOT) and every
 * process of the other group, the others in the root's group (MPI_PROC_NULL)
 * taking no part; all-to-all style operations pairwise between every local
 * and every remote process. Reductions combine the remote group's
 * contributions in its rank order, so that every receiver gets the same
 * result for non-commutative operations. Scan and exscan are not defined
 * on intercommunicators (MPI_ERR_COMM).
 */
#include <stdlib.h>

#include "mpi_int.h"

enum
{
    ROLE_NONE, /* MPI_PROC_NULL: in the root's group, not the root */
    ROLE_ROOT, /* MPI_ROOT */
    ROLE_LEAF  /* in the other group; root is a remote rank */
};

static int
role_of(comm* c, int root, int* role)
{
    if (root == MPI_ROOT)
        *role = ROLE_ROOT;
    else if (root == MPI_PROC_NULL)
        *role = ROLE_NONE;
    else if (root >= 0 && root < c->rsize)
        *role = ROLE_LEAF;
    else
        return MPI_ERR_ROOT;
    return 0;
}

static char dummy;

/* Fan-in to each group's rank 0, leaders swap, fan-out. */
static int
i_barrier(nbc* s, comm* c)
{
    if (c->rank) {
        gr__nbc_send(s, &dummy, 0, c->w[0]);
        gr__nbc_round(s);
        gr__nbc_recv(s, &dummy, 0, c->w[0]);
        gr__nbc_round(s);
        return 0;
    }
    for (int i = 1; i < c->size; i++)
        gr__nbc_recv(s, &dummy, 0, c->w[i]);
    gr__nbc_round(s);
    gr__nbc_send(s, &dummy, 0, c->rw[0]);
    gr__nbc_recv(s, &dummy, 0, c->rw[0]);
    gr__nbc_round(s);
    for (int i = 1; i < c->size; i++)
        gr__nbc_send(s, &dummy, 0, c->w[i]);
    gr__nbc_round(s);
    return 0;
}

/* Root to every remote process (bcast, scatter(v)): counts and
 * displacements per remote rank (NULL dis: one buffer for all). */
static int
i_rooted_out(nbc* s,
             comm* c,
             int role,
             int root,
             const void* sb,
             const int* scs,
             const int* dis,
             MPI_Datatype st,
             void* rb,
             int rc,
             MPI_Datatype rt)
{
    MPI_Count len;
    if (role == ROLE_ROOT) {
        MPI_Aint ext = gr__nbc_extent(st);
        for (int j = 0; j < c->rsize; j++) {
            const char* slot = (const char*)sb + (dis ? dis[j] * ext : 0);
            const void* p = gr__nbc_sview(s, slot, scs[j], st, &len, 0);
            gr__nbc_send(s, p, len, c->rw[j]);
        }
        gr__nbc_round(s);
    } else if (role == ROLE_LEAF) {
        pend pd[1];
        int npd = 0;
        gr__nbc_recv_into(s, rb, rc, rt, c->rw[root], pd, &npd);
        gr__nbc_round(s);
        gr__nbc_flush(s, pd, npd);
    }
    return 0;
}

/* Every remote process to the root (gather(v)). */
static int
i_rooted_in(nbc* s,
            comm* c,
            int role,
            int root,
            const void* sb,
            int sc,
            MPI_Datatype st,
            void* rb,
            const int* rcs,
            const int* dis,
            MPI_Datatype rt)
{
    MPI_Count len;
    if (role == ROLE_LEAF) {
        const void* p = gr__nbc_sview(s, sb, sc, st, &len, 0);
        gr__nbc_send(s, p, len, c->rw[root]);
        gr__nbc_round(s);
    } else if (role == ROLE_ROOT) {
        MPI_Aint ext = gr__nbc_extent(rt);
        pend* pd = gr__nbc_tmp(s, sizeof(pend) * (size_t)c->rsize);
        if (!pd)
            return MPI_ERR_NO_MEM;
        int npd = 0;
        for (int j = 0; j < c->rsize; j++)
            gr__nbc_recv_into(s,
                              (char*)rb + (MPI_Aint)dis[j] * ext,
                              rcs[j],
                              rt,
                              c->rw[j],
                              pd,
                              &npd);
        gr__nbc_round(s);
        gr__nbc_flush(s, pd, npd);
    }
    return 0;
}

/* The remote group's contributions (len bytes each) received into
 * slots[0..rsize) of fresh temporaries; own (when not NULL) is sent to
 * every remote process in the same round. */
static void**
i_reduce_slots(nbc* s, comm* c, const void* own, MPI_Count len)
{
    void** slots = gr__nbc_tmp(s, sizeof(void*) * (size_t)c->rsize);
    if (!slots)
        return NULL;
    for (int j = 0; j < c->rsize; j++) {
        if (own)
            gr__nbc_send(s, own, len, c->rw[j]);
        slots[j] = gr__nbc_tmp(s, (size_t)len);
        if (!slots[j])
            return NULL;
        gr__nbc_recv(s, slots[j], len, c->rw[j]);
    }
    gr__nbc_round(s);
    return slots;
}

static int
i_reduce(nbc* s, comm* c, const cargs* a, int role)
{
    MPI_Count len;
    if (role == ROLE_NONE)
        return 0;
    if (role == ROLE_LEAF) {
        const void* own = gr__nbc_sview(s, a->sb, a->rc, a->rt, &len, 0);
        gr__nbc_send(s, own, len, c->rw[a->root]);
        gr__nbc_round(s);
        return 0;
    }
    len = gr__dt_packed(gr__dt_get(a->rt), a->rc);
    void** slots = i_reduce_slots(s, c, NULL, len);
    if (!slots)
        return MPI_ERR_NO_MEM;
    void* acc =
      gr__nbc_combine(s, slots, 0, c->rsize - 1, len, a->rc, a->rt, a->op);
    gr__nbc_unpack(s, acc, len, a->rb, a->rc, a->rt);
    return 0;
}

/* Allreduce (lo = 0, count = rc) and reduce-scatter: every process sends
 * its whole vector of `total` elements to every remote process and keeps
 * the combination of elements [lo, lo + count). */
static int
i_allreduce(nbc* s, comm* c, const cargs* a, int total, int lo, int count)
{
    MPI_Count len;
    const void* own = gr__nbc_sview(s, a->sb, total, a->rt, &len, 0);
    if (!own)
        return MPI_ERR_NO_MEM;
    void** slots = i_reduce_slots(s, c, own, len);
    if (!slots)
        return MPI_ERR_NO_MEM;
    MPI_Count esz = gr__dt_packed(gr__dt_get(a->rt), 1);
    for (int j = 0; j < c->rsize; j++)
        slots[j] = (char*)slots[j] + (MPI_Count)lo * esz;
    MPI_Count mylen = (MPI_Count)count * esz;
    void* acc =
      gr__nbc_combine(s, slots, 0, c->rsize - 1, mylen, count, a->rt, a->op);
    gr__nbc_unpack(s, acc, mylen, a->rb, count, a->rt);
    return 0;
}

static int*
ints(nbc* s, int n, int first, int step)
{
    int* v = gr__nbc_tmp(s, sizeof(int) * (size_t)(n ? n : 1));
    if (v)
        for (int i = 0; i < n; i++)
            v[i] = first + i * step;
    return v;
}

static MPI_Datatype*
types(nbc* s, int n, MPI_Datatype t)
{
    MPI_Datatype* v =
      gr__nbc_tmp(s, sizeof(MPI_Datatype) * (size_t)(n ? n : 1));
    if (v)
        for (int i = 0; i < n; i++)
            v[i] = t;
    return v;
}

/* Byte displacements of element displacements dis[] of type t. */
static int*
bytes_of(nbc* s, int n, const int* dis, MPI_Datatype t)
{
    int* v = ints(s, n, 0, 0);
    MPI_Aint ext = gr__nbc_extent(t);
    if (v)
        for (int i = 0; i < n; i++)
            v[i] = (int)(dis[i] * ext);
    return v;
}

static int
i_alltoall(nbc* s, comm* c, const cargs* a)
{
    int n = c->rsize;
    const int *scs, *sds, *rcs, *rds;
    const MPI_Datatype *sts, *rts;
    if (a->kind == K_ALLTOALLW) {
        scs = a->scs;
        sds = a->sds;
        sts = a->sts;
        rcs = a->rcs;
        rds = a->rds;
        rts = a->rts;
    } else if (a->kind == K_ALLTOALLV) {
        scs = a->scs;
        sds = bytes_of(s, n, a->sds, a->st);
        sts = types(s, n, a->st);
        rcs = a->rcs;
        rds = bytes_of(s, n, a->rds, a->rt);
        rts = types(s, n, a->rt);
    } else {
        scs = ints(s, n, a->sc, 0);
        sds = ints(s, n, 0, a->sc * (int)gr__nbc_extent(a->st));
        sts = types(s, n, a->st);
        rcs = ints(s, n, a->rc, 0);
        rds = ints(s, n, 0, a->rc * (int)gr__nbc_extent(a->rt));
        rts = types(s, n, a->rt);
    }
    if (!scs || !sds || !sts || !rcs || !rds || !rts)
        return MPI_ERR_NO_MEM;
    return gr__nbc_pairwise(
      s, c->rsize, -1, c->rw, a->sb, scs, sds, sts, a->rb, rcs, rds, rts);
}

int
gr__inter_build(nbc* s, comm* c, const cargs* a)
{
    int n = c->rsize, role = ROLE_NONE, rc = 0;
    if (a->sb == MPI_IN_PLACE)
        return MPI_ERR_BUFFER;
    switch (a->kind) {
        case K_BCAST:
        case K_REDUCE:
        case K_GATHER:
        case K_GATHERV:
        case K_SCATTER:
        case K_SCATTERV:
            if ((rc = role_of(c, a->root, &role)))
                return rc;
            break;
        case K_SCAN:
        case K_EXSCAN:
            return MPI_ERR_COMM;
        default:
            break;
    }
    switch (a->kind) {
        case K_BARRIER:
            return i_barrier(s, c);
        case K_BCAST: {
            int* one = ints(s, n, a->rc, 0);
            return one ? i_rooted_out(s,
                                      c,
                                      role,
                                      a->root,
                                      a->rb,
                                      one,
                                      NULL,
                                      a->rt,
                                      a->rb,
                                      a->rc,
                                      a->rt)
                       : MPI_ERR_NO_MEM;
        }
        case K_SCATTER:
        case K_SCATTERV: {
            int v = a->kind == K_SCATTERV;
            const int* scs = v ? a->scs : ints(s, n, a->sc, 0);
            const int* dis = v ? a->sds : ints(s, n, 0, a->sc);
            if (!v && (!scs || !dis))
                return MPI_ERR_NO_MEM;
            return i_rooted_out(
              s, c, role, a->root, a->sb, scs, dis, a->st, a->rb, a->rc, a->rt);
        }
        case K_GATHER:
        case K_GATHERV: {
            int v = a->kind == K_GATHERV;
            const int* rcs = v ? a->rcs : ints(s, n, a->rc, 0);
            const int* dis = v ? a->rds : ints(s, n, 0, a->rc);
            if (!v && (!rcs || !dis))
                return MPI_ERR_NO_MEM;
            return i_rooted_in(
              s, c, role, a->root, a->sb, a->sc, a->st, a->rb, rcs, dis, a->rt);
        }
        case K_ALLGATHER:
        case K_ALLGATHERV: {
            int v = a->kind == K_ALLGATHERV;
            int* scs = ints(s, n, a->sc, 0);
            int* sds = ints(s, n, 0, 0);
            MPI_Datatype* sts = types(s, n, a->st);
            const int* rcs = v ? a->rcs : ints(s, n, a->rc, 0);
            const int* rds =
              v ? bytes_of(s, n, a->rds, a->rt)
                : ints(s, n, 0, a->rc * (int)gr__nbc_extent(a->rt));
            MPI_Datatype* rts = types(s, n, a->rt);
            if (!scs || !sds || !sts || !rcs || !rds || !rts)
                return MPI_ERR_NO_MEM;
            return gr__nbc_pairwise(s,
                                    c->rsize,
                                    -1,
                                    c->rw,
                                    a->sb,
                                    scs,
                                    sds,
                                    sts,
                                    a->rb,
                                    rcs,
                                    rds,
                                    rts);
        }
        case K_ALLTOALL:
        case K_ALLTOALLV:
        case K_ALLTOALLW:
            return i_alltoall(s, c, a);
        case K_REDUCE:
            return i_reduce(s, c, a, role);
        case K_ALLREDUCE:
            return i_allreduce(s, c, a, a->rc, 0, a->rc);
        case K_RSB:
            return i_allreduce(
              s, c, a, a->rc * c->size, a->rc * c->rank, a->rc);
        case K_RS: {
            int total = 0, lo = 0;
            for (int i = 0; i < c->size; i++) {
                if (i == c->rank)
                    lo = total;
                total += a->rcs[i];
            }
            return i_allreduce(s, c, a, total, lo, a->rcs[c->rank]);
        }
    }
    return MPI_ERR_ARG;
}
