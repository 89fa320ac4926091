/* SPDX-License-Identifier: Apache-2.0 */
/* Non-blocking and persistent collectives. Non-blocking ones run the
 * blocking algorithm at the call and return a completed request (see
 * docs/mpi.md for when that can deadlock); persistent ones store their
 * arguments and run at MPI_Start.
 */
#include <stdlib.h>
#include <string.h>

#include "mpi_int.h"

#define EAGER(call, comm, request)                                             \
    do {                                                                       \
        int rc_ = (call);                                                      \
        *(request) = gr__req_done((comm), rc_);                                \
        return rc_;                                                            \
    } while (0)

int
MPI_Ibarrier(MPI_Comm comm, MPI_Request* r)
{
    EAGER(MPI_Barrier(comm), comm, r);
}

int
MPI_Ibcast(void* b,
           int n,
           MPI_Datatype t,
           int root,
           MPI_Comm comm,
           MPI_Request* r)
{
    EAGER(MPI_Bcast(b, n, t, root, comm), comm, r);
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
    EAGER(MPI_Gather(sb, sc, st, rb, rc, rt, root, comm), comm, r);
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
    EAGER(MPI_Gatherv(sb, sc, st, rb, rcs, d, rt, root, comm), comm, r);
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
    EAGER(MPI_Scatter(sb, sc, st, rb, rc, rt, root, comm), comm, r);
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
    EAGER(MPI_Scatterv(sb, scs, d, st, rb, rc, rt, root, comm), comm, r);
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
    EAGER(MPI_Allgather(sb, sc, st, rb, rc, rt, comm), comm, r);
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
    EAGER(MPI_Allgatherv(sb, sc, st, rb, rcs, d, rt, comm), comm, r);
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
    EAGER(MPI_Alltoall(sb, sc, st, rb, rc, rt, comm), comm, r);
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
    EAGER(MPI_Alltoallv(sb, scs, sd, st, rb, rcs, rd, rt, comm), comm, r);
}

int
MPI_Ialltoallw(const void* sb,
               const int scs[],
               const int sd[],
               const MPI_Datatype st[],
               void* rb,
               const int rcs[],
               const int rd[],
               const MPI_Datatype rt[],
               MPI_Comm comm,
               MPI_Request* r)
{
    EAGER(MPI_Alltoallw(sb, scs, sd, st, rb, rcs, rd, rt, comm), comm, r);
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
    EAGER(MPI_Reduce(sb, rb, n, t, op, root, comm), comm, r);
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
    EAGER(MPI_Allreduce(sb, rb, n, t, op, comm), comm, r);
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
    EAGER(MPI_Reduce_scatter(sb, rb, rcs, t, op, comm), comm, r);
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
    EAGER(MPI_Reduce_scatter_block(sb, rb, n, t, op, comm), comm, r);
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
    EAGER(MPI_Scan(sb, rb, n, t, op, comm), comm, r);
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
    EAGER(MPI_Exscan(sb, rb, n, t, op, comm), comm, r);
}

/* ---- persistent collectives ---- */

enum
{
    K_BARRIER = 1,
    K_BCAST,
    K_REDUCE,
    K_ALLREDUCE,
    K_GATHER,
    K_SCATTER,
    K_ALLGATHER,
    K_ALLTOALL,
    K_SCAN,
    K_EXSCAN,
    K_RSB
};

typedef struct cargs
{
    int kind;
    const void* sb;
    void* rb;
    int sc, rc;
    MPI_Datatype st, rt;
    MPI_Op op;
    int root;
    MPI_Comm comm;
} cargs;

static int
pstart(req* r)
{
    cargs* a = r->args;
    int rc = 0;
    switch (a->kind) {
        case K_BARRIER:
            rc = MPI_Barrier(a->comm);
            break;
        case K_BCAST:
            rc = MPI_Bcast(a->rb, a->rc, a->rt, a->root, a->comm);
            break;
        case K_REDUCE:
            rc =
              MPI_Reduce(a->sb, a->rb, a->rc, a->rt, a->op, a->root, a->comm);
            break;
        case K_ALLREDUCE:
            rc = MPI_Allreduce(a->sb, a->rb, a->rc, a->rt, a->op, a->comm);
            break;
        case K_GATHER:
            rc = MPI_Gather(
              a->sb, a->sc, a->st, a->rb, a->rc, a->rt, a->root, a->comm);
            break;
        case K_SCATTER:
            rc = MPI_Scatter(
              a->sb, a->sc, a->st, a->rb, a->rc, a->rt, a->root, a->comm);
            break;
        case K_ALLGATHER:
            rc =
              MPI_Allgather(a->sb, a->sc, a->st, a->rb, a->rc, a->rt, a->comm);
            break;
        case K_ALLTOALL:
            rc =
              MPI_Alltoall(a->sb, a->sc, a->st, a->rb, a->rc, a->rt, a->comm);
            break;
        case K_SCAN:
            rc = MPI_Scan(a->sb, a->rb, a->rc, a->rt, a->op, a->comm);
            break;
        case K_EXSCAN:
            rc = MPI_Exscan(a->sb, a->rb, a->rc, a->rt, a->op, a->comm);
            break;
        case K_RSB:
            rc = MPI_Reduce_scatter_block(
              a->sb, a->rb, a->rc, a->rt, a->op, a->comm);
            break;
    }
    r->state = RQ_DONE;
    r->err = rc;
    gr__status_empty(&r->st);
    return rc;
}

static int
pinit(const cargs* a, MPI_Request* out)
{
    CHECK_INIT();
    if (!gr__comm_get(a->comm))
        return ERR(MPI_COMM_WORLD, MPI_ERR_COMM);
    req* r;
    MPI_Request h = gr__req_new(&r);
    if (h == MPI_REQUEST_NULL)
        return ERR(a->comm, MPI_ERR_NO_MEM);
    r->args = malloc(sizeof(cargs));
    if (!r->args)
        return ERR(a->comm, MPI_ERR_NO_MEM);
    memcpy(r->args, a, sizeof(cargs));
    r->persistent = 1;
    r->state = RQ_INACTIVE;
    r->comm = a->comm;
    r->start = pstart;
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
    cargs a = { .kind = K_REDUCE,
                .sb = sb,
                .rb = rb,
                .rc = n,
                .rt = t,
                .op = op,
                .root = root,
                .comm = comm };
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
    cargs a = { .kind = K_ALLREDUCE,
                .sb = sb,
                .rb = rb,
                .rc = n,
                .rt = t,
                .op = op,
                .comm = comm };
    return pinit(&a, r);
}

static int
init2(int kind,
      const void* sb,
      int sc,
      MPI_Datatype st,
      void* rb,
      int rc,
      MPI_Datatype rt,
      int root,
      MPI_Comm comm,
      MPI_Request* r)
{
    cargs a = { .kind = kind,
                .sb = sb,
                .sc = sc,
                .st = st,
                .rb = rb,
                .rc = rc,
                .rt = rt,
                .root = root,
                .comm = comm };
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
    return init2(K_GATHER, sb, sc, st, rb, rc, rt, root, comm, r);
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
    return init2(K_SCATTER, sb, sc, st, rb, rc, rt, root, comm, r);
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
    return init2(K_ALLGATHER, sb, sc, st, rb, rc, rt, 0, comm, r);
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
    return init2(K_ALLTOALL, sb, sc, st, rb, rc, rt, 0, comm, r);
}

static int
initred(int kind,
        const void* sb,
        void* rb,
        int n,
        MPI_Datatype t,
        MPI_Op op,
        MPI_Comm comm,
        MPI_Request* r)
{
    cargs a = { .kind = kind,
                .sb = sb,
                .rb = rb,
                .rc = n,
                .rt = t,
                .op = op,
                .comm = comm };
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
    return initred(K_SCAN, sb, rb, n, t, op, comm, r);
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
    return initred(K_EXSCAN, sb, rb, n, t, op, comm, r);
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
    return initred(K_RSB, sb, rb, n, t, op, comm, r);
}
