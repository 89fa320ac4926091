/* SPDX-License-Identifier: Apache-2.0 */
/* Process topologies (Cartesian, graph, distributed graph) and the
 * neighbourhood collectives, which run as schedules (sched.c). Ranks are
 * never reordered: the topology communicator keeps the old ranks (the
 * first prod(dims) / nnodes of them).
 */
#include <stdlib.h>
#include <string.h>

#include "mpi_int.h"

static int*
ints(int n, const int* a)
{
    int* p = malloc(sizeof(int) * (size_t)(n > 0 ? n : 1));
    if (p && a && n > 0)
        memcpy(p, a, sizeof(int) * (size_t)n);
    return p;
}

#define GET(var, h)                                                            \
    CHECK_INIT();                                                              \
    comm* var = gr__comm_get(h);                                               \
    if (!var)                                                                  \
        return ERR(MPI_COMM_WORLD, MPI_ERR_COMM);

#define GET_TOPO(var, h, kind)                                                 \
    GET(var, h);                                                               \
    if (!var->topo || var->topo->kind_ != (kind))                              \
        return ERR(h, MPI_ERR_TOPOLOGY);

/* New communicator of the first n ranks of old (MPI_COMM_NULL on the
 * others), carrying t (freed if not attached). */
static int
topo_comm(MPI_Comm old, int n, topo* t, MPI_Comm* out)
{
    comm* c = gr__comm_get(old);
    int rc = MPI_Comm_split(old, c->rank < n ? 0 : MPI_UNDEFINED, c->rank, out);
    if (rc || *out == MPI_COMM_NULL) {
        free(t->dims);
        free(t->periods);
        free(t->index);
        free(t->edges);
        free(t->in);
        free(t->out);
        free(t->inw);
        free(t->outw);
        free(t);
        return rc;
    }
    gr__comm_get(*out)->topo = t;
    return 0;
}

int
MPI_Dims_create(int nnodes, int ndims, int dims[])
{
    if (nnodes <= 0 || ndims < 0)
        return ERR(MPI_COMM_WORLD, MPI_ERR_ARG);
    int rest = nnodes, nfree = 0;
    for (int i = 0; i < ndims; i++) {
        if (dims[i] < 0)
            return ERR(MPI_COMM_WORLD, MPI_ERR_DIMS);
        if (dims[i] > 0) {
            if (rest % dims[i])
                return ERR(MPI_COMM_WORLD, MPI_ERR_DIMS);
            rest /= dims[i];
        } else {
            nfree++;
        }
    }
    if (!nfree)
        return rest == 1 ? 0 : ERR(MPI_COMM_WORLD, MPI_ERR_DIMS);
    int* f = malloc(sizeof(int) * (size_t)nfree);
    if (!f)
        return ERR(MPI_COMM_WORLD, MPI_ERR_NO_MEM);
    for (int i = 0; i < nfree; i++)
        f[i] = 1;
    /* prime factors, largest first, each to the currently smallest dim */
    int pf[32], np = 0;
    for (int p = 2; rest > 1 && np < 32;) {
        if (rest % p == 0) {
            pf[np++] = p;
            rest /= p;
        } else {
            p = p * p > rest ? rest : p + 1;
        }
    }
    for (int k = np - 1; k >= 0; k--) {
        int m = 0;
        for (int i = 1; i < nfree; i++)
            if (f[i] < f[m])
                m = i;
        f[m] *= pf[k];
    }
    /* descending order */
    for (int i = 0; i < nfree; i++)
        for (int j = i + 1; j < nfree; j++)
            if (f[j] > f[i]) {
                int x = f[i];
                f[i] = f[j];
                f[j] = x;
            }
    for (int i = 0, k = 0; i < ndims; i++)
        if (dims[i] == 0)
            dims[i] = f[k++];
    free(f);
    return 0;
}

#define kind_ kind

int
MPI_Cart_create(MPI_Comm old,
                int ndims,
                const int dims[],
                const int periods[],
                int reorder,
                MPI_Comm* out)
{
    (void)reorder;
    GET(c, old);
    if (c->inter)
        return ERR(old, MPI_ERR_COMM);
    if (ndims < 0)
        return ERR(old, MPI_ERR_DIMS);
    long n = 1;
    for (int i = 0; i < ndims; i++) {
        if (dims[i] <= 0)
            return ERR(old, MPI_ERR_DIMS);
        n *= dims[i];
    }
    if (n > c->size)
        return ERR(old, MPI_ERR_DIMS);
    topo* t = calloc(1, sizeof(topo));
    if (!t)
        return ERR(old, MPI_ERR_NO_MEM);
    t->kind = MPI_CART;
    t->ndims = ndims;
    t->dims = ints(ndims, dims);
    t->periods = ints(ndims, periods);
    for (int i = 0; i < ndims; i++)
        t->periods[i] = periods[i] != 0;
    return ERR(old, topo_comm(old, (int)n, t, out));
}

static void
coords_of(const topo* t, int rank, int* co)
{
    for (int i = t->ndims - 1; i >= 0; i--) {
        co[i] = rank % t->dims[i];
        rank /= t->dims[i];
    }
}

int
MPI_Cartdim_get(MPI_Comm h, int* ndims)
{
    GET_TOPO(c, h, MPI_CART);
    *ndims = c->topo->ndims;
    return 0;
}

int
MPI_Cart_get(MPI_Comm h, int maxdims, int dims[], int periods[], int coords[])
{
    GET_TOPO(c, h, MPI_CART);
    topo* t = c->topo;
    int co[64];
    coords_of(t, c->rank, co);
    for (int i = 0; i < maxdims && i < t->ndims; i++) {
        dims[i] = t->dims[i];
        periods[i] = t->periods[i];
        coords[i] = co[i];
    }
    return 0;
}

int
MPI_Cart_coords(MPI_Comm h, int rank, int maxdims, int coords[])
{
    GET_TOPO(c, h, MPI_CART);
    if (rank < 0 || rank >= c->size)
        return ERR(h, MPI_ERR_RANK);
    int co[64];
    coords_of(c->topo, rank, co);
    for (int i = 0; i < maxdims && i < c->topo->ndims; i++)
        coords[i] = co[i];
    return 0;
}

int
MPI_Cart_rank(MPI_Comm h, const int coords[], int* rank)
{
    GET_TOPO(c, h, MPI_CART);
    topo* t = c->topo;
    int r = 0;
    for (int i = 0; i < t->ndims; i++) {
        int x = coords[i];
        if (t->periods[i]) {
            x %= t->dims[i];
            if (x < 0)
                x += t->dims[i];
        } else if (x < 0 || x >= t->dims[i]) {
            return ERR(h, MPI_ERR_ARG);
        }
        r = r * t->dims[i] + x;
    }
    *rank = r;
    return 0;
}

/* Rank at coords co moved by d in dim dir, or MPI_PROC_NULL. */
static int
moved(const topo* t, const int* co, int dir, int d)
{
    int r = 0;
    for (int i = 0; i < t->ndims; i++) {
        int x = co[i] + (i == dir ? d : 0);
        if (x < 0 || x >= t->dims[i]) {
            if (!t->periods[i])
                return MPI_PROC_NULL;
            x %= t->dims[i];
            if (x < 0)
                x += t->dims[i];
        }
        r = r * t->dims[i] + x;
    }
    return r;
}

int
MPI_Cart_shift(MPI_Comm h, int dir, int disp, int* src, int* dst)
{
    GET_TOPO(c, h, MPI_CART);
    topo* t = c->topo;
    if (dir < 0 || dir >= t->ndims)
        return ERR(h, MPI_ERR_ARG);
    int co[64];
    coords_of(t, c->rank, co);
    *dst = moved(t, co, dir, disp);
    *src = moved(t, co, dir, -disp);
    return 0;
}

int
MPI_Cart_sub(MPI_Comm h, const int remain[], MPI_Comm* out)
{
    GET_TOPO(c, h, MPI_CART);
    topo* t = c->topo;
    int co[64], color = 0, key = 0, nd = 0;
    coords_of(t, c->rank, co);
    for (int i = 0; i < t->ndims; i++) {
        if (remain[i]) {
            key = key * t->dims[i] + co[i];
            nd++;
        } else {
            color = color * t->dims[i] + co[i];
        }
    }
    int rc = MPI_Comm_split(h, color, key, out);
    if (rc)
        return rc;
    topo* n = calloc(1, sizeof(topo));
    if (!n)
        return ERR(h, MPI_ERR_NO_MEM);
    n->kind = MPI_CART;
    n->ndims = nd;
    n->dims = ints(nd, NULL);
    n->periods = ints(nd, NULL);
    for (int i = 0, k = 0; i < t->ndims; i++)
        if (remain[i]) {
            n->dims[k] = t->dims[i];
            n->periods[k++] = t->periods[i];
        }
    gr__comm_get(*out)->topo = n;
    return 0;
}

int
MPI_Cart_map(MPI_Comm h,
             int ndims,
             const int dims[],
             const int periods[],
             int* newrank)
{
    (void)periods;
    GET(c, h);
    long n = 1;
    for (int i = 0; i < ndims; i++)
        n *= dims[i];
    *newrank = c->rank < n ? c->rank : MPI_UNDEFINED;
    return 0;
}

int
MPI_Topo_test(MPI_Comm h, int* status)
{
    GET(c, h);
    *status = c->topo ? c->topo->kind : MPI_UNDEFINED;
    return 0;
}

int
MPI_Graph_create(MPI_Comm old,
                 int nnodes,
                 const int index[],
                 const int edges[],
                 int reorder,
                 MPI_Comm* out)
{
    (void)reorder;
    GET(c, old);
    if (c->inter)
        return ERR(old, MPI_ERR_COMM);
    if (nnodes < 0 || nnodes > c->size)
        return ERR(old, MPI_ERR_ARG);
    int ne = nnodes ? index[nnodes - 1] : 0;
    for (int i = 0; i < ne; i++)
        if (edges[i] < 0 || edges[i] >= nnodes)
            return ERR(old, MPI_ERR_ARG);
    topo* t = calloc(1, sizeof(topo));
    if (!t)
        return ERR(old, MPI_ERR_NO_MEM);
    t->kind = MPI_GRAPH;
    t->nnodes = nnodes;
    t->index = ints(nnodes, index);
    t->edges = ints(ne, edges);
    return ERR(old, topo_comm(old, nnodes, t, out));
}

int
MPI_Graphdims_get(MPI_Comm h, int* nnodes, int* nedges)
{
    GET_TOPO(c, h, MPI_GRAPH);
    *nnodes = c->topo->nnodes;
    *nedges = c->topo->nnodes ? c->topo->index[c->topo->nnodes - 1] : 0;
    return 0;
}

int
MPI_Graph_get(MPI_Comm h, int maxindex, int maxedges, int index[], int edges[])
{
    GET_TOPO(c, h, MPI_GRAPH);
    topo* t = c->topo;
    for (int i = 0; i < maxindex && i < t->nnodes; i++)
        index[i] = t->index[i];
    int ne = t->nnodes ? t->index[t->nnodes - 1] : 0;
    for (int i = 0; i < maxedges && i < ne; i++)
        edges[i] = t->edges[i];
    return 0;
}

int
MPI_Graph_neighbors_count(MPI_Comm h, int rank, int* n)
{
    GET_TOPO(c, h, MPI_GRAPH);
    topo* t = c->topo;
    if (rank < 0 || rank >= t->nnodes)
        return ERR(h, MPI_ERR_RANK);
    *n = t->index[rank] - (rank ? t->index[rank - 1] : 0);
    return 0;
}

int
MPI_Graph_neighbors(MPI_Comm h, int rank, int maxn, int nb[])
{
    GET_TOPO(c, h, MPI_GRAPH);
    topo* t = c->topo;
    if (rank < 0 || rank >= t->nnodes)
        return ERR(h, MPI_ERR_RANK);
    int lo = rank ? t->index[rank - 1] : 0;
    for (int i = lo, k = 0; i < t->index[rank] && k < maxn; i++)
        nb[k++] = t->edges[i];
    return 0;
}

int
MPI_Graph_map(MPI_Comm h,
              int nnodes,
              const int index[],
              const int edges[],
              int* newrank)
{
    (void)index;
    (void)edges;
    GET(c, h);
    *newrank = c->rank < nnodes ? c->rank : MPI_UNDEFINED;
    return 0;
}

static int
weighted(const int* w)
{
    return w != MPI_UNWEIGHTED;
}

int
MPI_Dist_graph_create_adjacent(MPI_Comm old,
                               int indeg,
                               const int src[],
                               const int srcw[],
                               int outdeg,
                               const int dst[],
                               const int dstw[],
                               MPI_Info info,
                               int reorder,
                               MPI_Comm* out)
{
    (void)info;
    (void)reorder;
    GET(c, old);
    if (c->inter)
        return ERR(old, MPI_ERR_COMM);
    if (indeg < 0 || outdeg < 0)
        return ERR(old, MPI_ERR_ARG);
    for (int i = 0; i < indeg; i++)
        if (src[i] < 0 || src[i] >= c->size)
            return ERR(old, MPI_ERR_RANK);
    for (int i = 0; i < outdeg; i++)
        if (dst[i] < 0 || dst[i] >= c->size)
            return ERR(old, MPI_ERR_RANK);
    topo* t = calloc(1, sizeof(topo));
    if (!t)
        return ERR(old, MPI_ERR_NO_MEM);
    t->kind = MPI_DIST_GRAPH;
    t->indeg = indeg;
    t->outdeg = outdeg;
    t->in = ints(indeg, src);
    t->out = ints(outdeg, dst);
    t->weighted = weighted(srcw) && weighted(dstw);
    int iw = t->weighted && srcw != MPI_WEIGHTS_EMPTY && indeg;
    int ow = t->weighted && dstw != MPI_WEIGHTS_EMPTY && outdeg;
    t->inw = ints(indeg, iw ? srcw : NULL);
    t->outw = ints(outdeg, ow ? dstw : NULL);
    return ERR(old, topo_comm(old, c->size, t, out));
}

int
MPI_Dist_graph_create(MPI_Comm old,
                      int n,
                      const int src[],
                      const int deg[],
                      const int dst[],
                      const int w[],
                      MPI_Info info,
                      int reorder,
                      MPI_Comm* out)
{
    (void)info;
    (void)reorder;
    GET(c, old);
    if (c->inter)
        return ERR(old, MPI_ERR_COMM);
    int sz = c->size;
    int wt = weighted(w) ? 1 : 0;
    /* every edge goes as (src, dst, weight) to both of its ends */
    int* cnt = calloc((size_t)sz, sizeof(int));
    int* rcnt = calloc((size_t)sz, sizeof(int));
    int* sd = calloc((size_t)sz, sizeof(int));
    int* rd = calloc((size_t)sz, sizeof(int));
    if (!cnt || !rcnt || !sd || !rd)
        return ERR(old, MPI_ERR_NO_MEM);
    int ne = 0;
    for (int i = 0; i < n; i++)
        for (int k = 0; k < deg[i]; k++, ne++) {
            if (src[i] < 0 || src[i] >= sz || dst[ne] < 0 || dst[ne] >= sz)
                return ERR(old, MPI_ERR_RANK);
            cnt[src[i]] += 4;
            cnt[dst[ne]] += 4;
        }
    for (int j = 1; j < sz; j++)
        sd[j] = sd[j - 1] + cnt[j - 1];
    int tot = sd[sz - 1] + cnt[sz - 1];
    int* sb = malloc(sizeof(int) * (size_t)(tot ? tot : 1));
    int* fill = calloc((size_t)sz, sizeof(int));
    ne = 0;
    for (int i = 0; i < n; i++)
        for (int k = 0; k < deg[i]; k++, ne++) {
            int e[4] = {
                src[i], dst[ne], wt && w != MPI_WEIGHTS_EMPTY ? w[ne] : 1, 0
            };
            int ends[2] = { src[i], dst[ne] };
            for (int q = 0; q < 2; q++) {
                e[3] = q; /* 0: an out edge of the receiver, 1: an in edge */
                memcpy(sb + sd[ends[q]] + fill[ends[q]], e, sizeof e);
                fill[ends[q]] += 4;
            }
        }
    int rc = MPI_Alltoall(cnt, 1, MPI_INT, rcnt, 1, MPI_INT, old);
    int rtot = 0;
    for (int j = 0; j < sz; j++) {
        rd[j] = rtot;
        rtot += rcnt[j];
    }
    int* rb = malloc(sizeof(int) * (size_t)(rtot ? rtot : 1));
    if (!rc)
        rc = MPI_Alltoallv(sb, cnt, sd, MPI_INT, rb, rcnt, rd, MPI_INT, old);
    int wtany = 0;
    if (!rc)
        rc = MPI_Allreduce(&wt, &wtany, 1, MPI_INT, MPI_MAX, old);
    topo* t = calloc(1, sizeof(topo));
    t->kind = MPI_DIST_GRAPH;
    t->weighted = wtany;
    t->in = ints(rtot / 4, NULL);
    t->out = ints(rtot / 4, NULL);
    t->inw = ints(rtot / 4, NULL);
    t->outw = ints(rtot / 4, NULL);
    for (int i = 0; i < rtot; i += 4) {
        if (rb[i + 3] == 0) {
            t->outw[t->outdeg] = rb[i + 2];
            t->out[t->outdeg++] = rb[i + 1];
        } else {
            t->inw[t->indeg] = rb[i + 2];
            t->in[t->indeg++] = rb[i];
        }
    }
    free(cnt);
    free(rcnt);
    free(sd);
    free(rd);
    free(sb);
    free(fill);
    free(rb);
    if (rc)
        return ERR(old, rc);
    return ERR(old, topo_comm(old, sz, t, out));
}

int
MPI_Dist_graph_neighbors_count(MPI_Comm h, int* indeg, int* outdeg, int* w)
{
    GET(c, h);
    topo* t = c->topo;
    if (!t)
        return ERR(h, MPI_ERR_TOPOLOGY);
    if (t->kind == MPI_DIST_GRAPH) {
        *indeg = t->indeg;
        *outdeg = t->outdeg;
        *w = t->weighted;
        return 0;
    }
    return ERR(h, MPI_ERR_TOPOLOGY);
}

int
MPI_Dist_graph_neighbors(MPI_Comm h,
                         int maxin,
                         int src[],
                         int srcw[],
                         int maxout,
                         int dst[],
                         int dstw[])
{
    GET_TOPO(c, h, MPI_DIST_GRAPH);
    topo* t = c->topo;
    for (int i = 0; i < maxin && i < t->indeg; i++) {
        src[i] = t->in[i];
        if (t->weighted && srcw != MPI_UNWEIGHTED)
            srcw[i] = t->inw[i];
    }
    for (int i = 0; i < maxout && i < t->outdeg; i++) {
        dst[i] = t->out[i];
        if (t->weighted && dstw != MPI_UNWEIGHTED)
            dstw[i] = t->outw[i];
    }
    return 0;
}

/* ---- neighbourhood collectives ---- */

/* In- and out-neighbours of the calling rank (comm ranks, MPI_PROC_NULL
 * allowed) and, for Cartesian topologies, the sub-tag pairing: the block
 * sent to out[k] is the receiver's in[k ^ 1]. */
typedef struct nbrs
{
    int nin, nout;
    int* in;
    int* out;
    int cart;
} nbrs;

static int
neighbours(comm* c, nbrs* nb)
{
    topo* t = c->topo;
    memset(nb, 0, sizeof *nb);
    if (!t)
        return MPI_ERR_TOPOLOGY;
    if (t->kind == MPI_CART) {
        int co[64];
        coords_of(t, c->rank, co);
        nb->nin = nb->nout = 2 * t->ndims;
        nb->in = ints(nb->nin, NULL);
        nb->out = ints(nb->nout, NULL);
        for (int d = 0; d < t->ndims; d++) {
            nb->in[2 * d] = nb->out[2 * d] = moved(t, co, d, -1);
            nb->in[2 * d + 1] = nb->out[2 * d + 1] = moved(t, co, d, 1);
        }
        nb->cart = 1;
    } else if (t->kind == MPI_GRAPH) {
        int lo = c->rank ? t->index[c->rank - 1] : 0;
        nb->nin = nb->nout = t->index[c->rank] - lo;
        nb->in = ints(nb->nin, t->edges + lo);
        nb->out = ints(nb->nout, t->edges + lo);
    } else {
        nb->nin = t->indeg;
        nb->nout = t->outdeg;
        nb->in = ints(nb->nin, t->in);
        nb->out = ints(nb->nout, t->out);
    }
    return 0;
}

/* Byte displacements; per-neighbour types. */
static int
nb_alltoallw(MPI_Comm h,
             const void* sb,
             const int scs[],
             const MPI_Aint sds[],
             const MPI_Datatype sts[],
             void* rb,
             const int rcs[],
             const MPI_Aint rds[],
             const MPI_Datatype rts[],
             const nbrs* nb,
             MPI_Request* out)
{
    comm* c = gr__comm_get(h);
    int tag = gr__nbc_next_tag(c);
    nbc* s = gr__nbc_new(c->ctx + CTX_COLL, tag);
    if (!s)
        return MPI_ERR_NO_MEM;
    MPI_Count len;
    typedef struct
    {
        void* p;
        MPI_Count len;
        void* buf;
        int count;
        MPI_Datatype dt;
    } up_t;
    up_t* ups = gr__nbc_tmp(s, sizeof(up_t) * (size_t)(nb->nin + 1));
    int nup = 0;
    for (int k = 0; k < nb->nout; k++) {
        if (nb->out[k] == MPI_PROC_NULL)
            continue;
        if (!gr__dt_get(sts[k])) {
            gr__nbc_free(s);
            return MPI_ERR_TYPE;
        }
        const void* p =
          gr__nbc_sview(s, (const char*)sb + sds[k], scs[k], sts[k], &len, 0);
        gr__nbc_p2p(s,
                    0,
                    (void*)p,
                    len,
                    c->w[nb->out[k]],
                    c->ctx + CTX_COLL,
                    tag + (nb->cart ? k : 0));
    }
    for (int k = 0; k < nb->nin; k++) {
        if (nb->in[k] == MPI_PROC_NULL)
            continue;
        if (!gr__dt_get(rts[k])) {
            gr__nbc_free(s);
            return MPI_ERR_TYPE;
        }
        int up;
        char* buf = (char*)rb + rds[k];
        void* p = gr__nbc_rview(s, buf, rcs[k], rts[k], &len, &up);
        gr__nbc_p2p(s,
                    1,
                    p,
                    len,
                    c->w[nb->in[k]],
                    c->ctx + CTX_COLL,
                    tag + (nb->cart ? (k ^ 1) : 0));
        if (up)
            ups[nup++] = (up_t){ p, len, buf, rcs[k], rts[k] };
    }
    gr__nbc_round(s);
    for (int i = 0; i < nup; i++)
        gr__nbc_unpack(
          s, ups[i].p, ups[i].len, ups[i].buf, ups[i].count, ups[i].dt);
    int rc = gr__nbc_err(s);
    if (rc) {
        gr__nbc_free(s);
        return rc;
    }
    gr__nbc_start(s);
    *out = gr__req_sched(h, s);
    return *out == MPI_REQUEST_NULL ? MPI_ERR_NO_MEM : 0;
}

enum
{
    N_AG,
    N_AGV,
    N_A2A,
    N_A2AV,
    N_A2AW
};

static int
neighbor(int kind,
         MPI_Comm h,
         const void* sb,
         int sc,
         const int* scs,
         const void* sd,
         MPI_Datatype st,
         const MPI_Datatype* sts,
         void* rb,
         int rc,
         const int* rcs,
         const void* rd,
         MPI_Datatype rt,
         const MPI_Datatype* rts,
         MPI_Request* out)
{
    GET(c, h);
    nbrs nb;
    int err = neighbours(c, &nb);
    if (err)
        return ERR(h, err);
    int ni = nb.nin, no = nb.nout;
    int* a_scs = ints(no, NULL);
    MPI_Aint* a_sds = malloc(sizeof(MPI_Aint) * (size_t)(no + 1));
    MPI_Datatype* a_sts = malloc(sizeof(MPI_Datatype) * (size_t)(no + 1));
    int* a_rcs = ints(ni, NULL);
    MPI_Aint* a_rds = malloc(sizeof(MPI_Aint) * (size_t)(ni + 1));
    MPI_Datatype* a_rts = malloc(sizeof(MPI_Datatype) * (size_t)(ni + 1));
    dtype* tS = kind == N_A2AW ? NULL : gr__dt_get(st);
    dtype* tR = kind == N_A2AW ? NULL : gr__dt_get(rt);
    if (kind != N_A2AW && (!tS || !tR))
        err = MPI_ERR_TYPE;
    MPI_Aint se = tS ? tS->ub - tS->lb : 0, re = tR ? tR->ub - tR->lb : 0;
    for (int k = 0; k < no && !err; k++) {
        switch (kind) {
            case N_AG:
            case N_AGV:
                a_scs[k] = sc;
                a_sds[k] = 0;
                break;
            case N_A2A:
                a_scs[k] = sc;
                a_sds[k] = (MPI_Aint)k * sc * se;
                break;
            case N_A2AV:
                a_scs[k] = scs[k];
                a_sds[k] = (MPI_Aint)((const int*)sd)[k] * se;
                break;
            default:
                a_scs[k] = scs[k];
                a_sds[k] = ((const MPI_Aint*)sd)[k];
        }
        a_sts[k] = kind == N_A2AW ? sts[k] : st;
    }
    for (int k = 0; k < ni && !err; k++) {
        switch (kind) {
            case N_AG:
            case N_A2A:
                a_rcs[k] = rc;
                a_rds[k] = (MPI_Aint)k * rc * re;
                break;
            case N_AGV:
            case N_A2AV:
                a_rcs[k] = rcs[k];
                a_rds[k] = (MPI_Aint)((const int*)rd)[k] * re;
                break;
            default:
                a_rcs[k] = rcs[k];
                a_rds[k] = ((const MPI_Aint*)rd)[k];
        }
        a_rts[k] = kind == N_A2AW ? rts[k] : rt;
    }
    if (!err)
        err = nb_alltoallw(
          h, sb, a_scs, a_sds, a_sts, rb, a_rcs, a_rds, a_rts, &nb, out);
    free(a_scs);
    free(a_sds);
    free(a_sts);
    free(a_rcs);
    free(a_rds);
    free(a_rts);
    free(nb.in);
    free(nb.out);
    return ERR(h, err);
}

static int
wait_it(MPI_Comm h, int rc, MPI_Request* r)
{
    if (rc)
        return rc;
    return ERR(h, MPI_Wait(r, MPI_STATUS_IGNORE));
}

int
MPI_Ineighbor_allgather(const void* sb,
                        int sc,
                        MPI_Datatype st,
                        void* rb,
                        int rc,
                        MPI_Datatype rt,
                        MPI_Comm h,
                        MPI_Request* r)
{
    return neighbor(
      N_AG, h, sb, sc, NULL, NULL, st, NULL, rb, rc, NULL, NULL, rt, NULL, r);
}

int
MPI_Neighbor_allgather(const void* sb,
                       int sc,
                       MPI_Datatype st,
                       void* rb,
                       int rc,
                       MPI_Datatype rt,
                       MPI_Comm h)
{
    MPI_Request r;
    return wait_it(
      h, MPI_Ineighbor_allgather(sb, sc, st, rb, rc, rt, h, &r), &r);
}

int
MPI_Ineighbor_allgatherv(const void* sb,
                         int sc,
                         MPI_Datatype st,
                         void* rb,
                         const int rcs[],
                         const int d[],
                         MPI_Datatype rt,
                         MPI_Comm h,
                         MPI_Request* r)
{
    return neighbor(
      N_AGV, h, sb, sc, NULL, NULL, st, NULL, rb, 0, rcs, d, rt, NULL, r);
}

int
MPI_Neighbor_allgatherv(const void* sb,
                        int sc,
                        MPI_Datatype st,
                        void* rb,
                        const int rcs[],
                        const int d[],
                        MPI_Datatype rt,
                        MPI_Comm h)
{
    MPI_Request r;
    return wait_it(
      h, MPI_Ineighbor_allgatherv(sb, sc, st, rb, rcs, d, rt, h, &r), &r);
}

int
MPI_Ineighbor_alltoall(const void* sb,
                       int sc,
                       MPI_Datatype st,
                       void* rb,
                       int rc,
                       MPI_Datatype rt,
                       MPI_Comm h,
                       MPI_Request* r)
{
    return neighbor(
      N_A2A, h, sb, sc, NULL, NULL, st, NULL, rb, rc, NULL, NULL, rt, NULL, r);
}

int
MPI_Neighbor_alltoall(const void* sb,
                      int sc,
                      MPI_Datatype st,
                      void* rb,
                      int rc,
                      MPI_Datatype rt,
                      MPI_Comm h)
{
    MPI_Request r;
    return wait_it(
      h, MPI_Ineighbor_alltoall(sb, sc, st, rb, rc, rt, h, &r), &r);
}

int
MPI_Ineighbor_alltoallv(const void* sb,
                        const int scs[],
                        const int sd[],
                        MPI_Datatype st,
                        void* rb,
                        const int rcs[],
                        const int rd[],
                        MPI_Datatype rt,
                        MPI_Comm h,
                        MPI_Request* r)
{
    return neighbor(
      N_A2AV, h, sb, 0, scs, sd, st, NULL, rb, 0, rcs, rd, rt, NULL, r);
}

int
MPI_Neighbor_alltoallv(const void* sb,
                       const int scs[],
                       const int sd[],
                       MPI_Datatype st,
                       void* rb,
                       const int rcs[],
                       const int rd[],
                       MPI_Datatype rt,
                       MPI_Comm h)
{
    MPI_Request r;
    return wait_it(
      h, MPI_Ineighbor_alltoallv(sb, scs, sd, st, rb, rcs, rd, rt, h, &r), &r);
}

int
MPI_Ineighbor_alltoallw(const void* sb,
                        const int scs[],
                        const MPI_Aint sd[],
                        const MPI_Datatype sts[],
                        void* rb,
                        const int rcs[],
                        const MPI_Aint rd[],
                        const MPI_Datatype rts[],
                        MPI_Comm h,
                        MPI_Request* r)
{
    return neighbor(
      N_A2AW, h, sb, 0, scs, sd, 0, sts, rb, 0, rcs, rd, 0, rts, r);
}

int
MPI_Neighbor_alltoallw(const void* sb,
                       const int scs[],
                       const MPI_Aint sd[],
                       const MPI_Datatype sts[],
                       void* rb,
                       const int rcs[],
                       const MPI_Aint rd[],
                       const MPI_Datatype rts[],
                       MPI_Comm h)
{
    MPI_Request r;
    return wait_it(
      h,
      MPI_Ineighbor_alltoallw(sb, scs, sd, sts, rb, rcs, rd, rts, h, &r),
      &r);
}
