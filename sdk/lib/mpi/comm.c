/* SPDX-License-Identifier: Apache-2.0 */
/* Groups, communicators (dup, split, create, intercommunicators), context
 * id agreement, attributes and keyvals.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mpi_int.h"

static comm** comms;
static int ncomms;
static group** groups;
static int ngroups;
static uint32_t ctx_used[CTX_MASK_WORDS];

/* ---- groups ---- */

group*
gr__group_get(MPI_Group h)
{
    if (H_KIND(h) != H_GROUP)
        return NULL;
    int i = H_IDX(h);
    return i < ngroups && groups[i] && groups[i]->used ? groups[i] : NULL;
}

MPI_Group
gr__group_new(int n, const int* w)
{
    group* g = calloc(1, sizeof(group));
    if (!g)
        return MPI_GROUP_NULL;
    g->w = gr__malloc(sizeof(int) * (size_t)n);
    if (!g->w) {
        free(g);
        return MPI_GROUP_NULL;
    }
    if (n)
        memcpy(g->w, w, sizeof(int) * (size_t)n);
    g->n = n;
    g->used = 1;
    int i;
    for (i = 1; i < ngroups; i++)
        if (!groups[i])
            break;
    if (i >= ngroups) {
        int nn = ngroups * 2 + 16;
        group** ng = realloc(groups, sizeof(*ng) * (size_t)nn);
        if (!ng) {
            free(g->w);
            free(g);
            return MPI_GROUP_NULL;
        }
        for (int k = ngroups; k < nn; k++)
            ng[k] = NULL;
        groups = ng;
        i = ngroups ? ngroups : 1;
        ngroups = nn;
    }
    groups[i] = g;
    return (MPI_Group)(H_GROUP | (unsigned)i);
}

/* ---- communicators ---- */

comm*
gr__comm_get(MPI_Comm h)
{
    if (H_KIND(h) != H_COMM)
        return NULL;
    int i = H_IDX(h);
    return i < ncomms && comms[i] && comms[i]->used ? comms[i] : NULL;
}

MPI_Comm
gr__comm_new(int size, int rank, int* w, int ctx)
{
    comm* c = calloc(1, sizeof(comm));
    if (!c)
        return MPI_COMM_NULL;
    c->used = 1;
    c->size = size;
    c->rank = rank;
    c->w = w;
    c->ctx = ctx;
    c->eh = gr__world_eh;
    c->hier = -1;
    int i;
    for (i = 0; i < ncomms; i++)
        if (!comms[i])
            break;
    if (i == ncomms) {
        int nn = ncomms * 2 + 16;
        comm** n = realloc(comms, sizeof(*n) * (size_t)nn);
        if (!n) {
            free(c);
            return MPI_COMM_NULL;
        }
        for (int k = ncomms; k < nn; k++)
            n[k] = NULL;
        comms = n;
        ncomms = nn;
    }
    comms[i] = c;
    return (MPI_Comm)(H_COMM | (unsigned)i);
}

void
gr__comm_init(void)
{
    int n = gr_mpi_world_size(), me = gr_mpi_world_rank();
    int* w = gr__malloc(sizeof(int) * (size_t)n);
    for (int i = 0; i < n; i++)
        w[i] = i;
    /* pair 0: world, pair 1: self */
    gr__comm_new(n, me, w, 0);
    int* s = gr__malloc(sizeof(int));
    s[0] = me;
    gr__comm_new(1, 0, s, 4);
    ctx_used[0] |= 3u;
    snprintf(comms[0]->name, MPI_MAX_OBJECT_NAME, "MPI_COMM_WORLD");
    snprintf(comms[1]->name, MPI_MAX_OBJECT_NAME, "MPI_COMM_SELF");
    /* the empty group at index 0 */
    if (!groups) {
        groups = calloc(16, sizeof(*groups));
        ngroups = 16;
        groups[0] = calloc(1, sizeof(group));
        groups[0]->used = 1;
        groups[0]->w = gr__malloc(1);
    }
}

int
gr__comm_from_world(comm* c, int wr)
{
    int n = c->inter ? c->rsize : c->size;
    const int* w = c->inter ? c->rw : c->w;
    for (int i = 0; i < n; i++)
        if (w[i] == wr)
            return i;
    return -1;
}

int
gr__peer_world(comm* c, int rank)
{
    if (c->inter)
        return rank >= 0 && rank < c->rsize ? c->rw[rank] : -1;
    return rank >= 0 && rank < c->size ? c->w[rank] : -1;
}

void
gr__view_of(view* v, comm* c, int which)
{
    v->n = c->size;
    v->me = c->rank;
    v->w = c->w;
    v->ctx = c->ctx + which;
    v->tag = 0;
}

/* ---- context ids ---- */

/* Claims the first context base free in mask m (free on every process
 * that agreed on m). */
static int
ctx_take_first(const uint32_t* m, int* ctx)
{
    for (int i = 0; i < CTX_MASK_WORDS; i++)
        if (m[i])
            for (int b = 0; b < 32; b++)
                if (m[i] & (1u << b)) {
                    ctx_used[i] |= 1u << b;
                    *ctx = (i * 32 + b) * 4;
                    return 0;
                }
    return MPI_ERR_OTHER;
}

static int
ctx_agree(const view* v, int* ctx)
{
    uint32_t m[CTX_MASK_WORDS];
    for (int i = 0; i < CTX_MASK_WORDS; i++)
        m[i] = ~ctx_used[i];
    int rc = gr__v_allreduce(v, m, CTX_MASK_WORDS, MPI_UINT32_T, MPI_BAND);
    return rc ? rc : ctx_take_first(m, ctx);
}

/* Rank 0 of each group of intercommunicator c swaps `mine` (mlen bytes)
 * for the remote leader's (tlen bytes), then broadcasts what it got in its
 * group. Tags 7-31 on the intercommunicator's collective context are for
 * these exchanges (schedules use 64 and up). */
static int
leaders_swap(comm* c,
             int tag,
             const void* mine,
             MPI_Count mlen,
             void* theirs,
             MPI_Count tlen)
{
    int rc = 0;
    if (c->rank == 0) {
        view iv = { c->rsize, -1, c->rw, c->ctx + CTX_COLL, tag };
        rc = gr__vsendrecv(&iv, mine, mlen, 0, theirs, tlen, 0);
    }
    view lv;
    gr__view_of(&lv, c, CTX_LOCAL);
    int brc = gr__v_bcast(&lv, theirs, tlen, 0);
    return rc ? rc : brc;
}

/* A context base free on every process of both groups of c. */
static int
inter_ctx_agree(comm* c, int tag, int* ctx)
{
    uint32_t m[CTX_MASK_WORDS], r[CTX_MASK_WORDS];
    for (int i = 0; i < CTX_MASK_WORDS; i++)
        m[i] = ~ctx_used[i];
    view lv;
    gr__view_of(&lv, c, CTX_LOCAL);
    int rc = gr__v_allreduce(&lv, m, CTX_MASK_WORDS, MPI_UINT32_T, MPI_BAND);
    if (!rc)
        rc = leaders_swap(c, tag, m, sizeof m, r, sizeof r);
    if (rc)
        return rc;
    for (int i = 0; i < CTX_MASK_WORDS; i++)
        m[i] &= r[i];
    return ctx_take_first(m, ctx);
}

int
gr__ctx_alloc(comm* c, int* ctx)
{
    view v;
    gr__view_of(&v, c, c->inter ? CTX_LOCAL : CTX_COLL);
    return ctx_agree(&v, ctx);
}

void
gr__ctx_release(int ctx)
{
    int p = ctx / 4;
    if (p > 1)
        ctx_used[p / 32] &= ~(1u << (p % 32));
}

/* ---- basic queries ---- */

#define GET_C(var, h)                                                          \
    comm* var = gr__comm_get(h);                                               \
    if (!var)                                                                  \
        return ERR(MPI_COMM_WORLD, MPI_ERR_COMM);

int
MPI_Comm_size(MPI_Comm ch, int* size)
{
    CHECK_INIT();
    GET_C(c, ch);
    *size = c->size;
    return 0;
}

int
MPI_Comm_rank(MPI_Comm ch, int* rank)
{
    CHECK_INIT();
    GET_C(c, ch);
    *rank = c->rank;
    return 0;
}

int
MPI_Comm_test_inter(MPI_Comm ch, int* flag)
{
    GET_C(c, ch);
    *flag = c->inter;
    return 0;
}

int
MPI_Comm_remote_size(MPI_Comm ch, int* size)
{
    GET_C(c, ch);
    if (!c->inter)
        return ERR(ch, MPI_ERR_COMM);
    *size = c->rsize;
    return 0;
}

int
MPI_Comm_group(MPI_Comm ch, MPI_Group* g)
{
    GET_C(c, ch);
    *g = gr__group_new(c->size, c->w);
    return *g == MPI_GROUP_NULL ? ERR(ch, MPI_ERR_NO_MEM) : 0;
}

int
MPI_Comm_remote_group(MPI_Comm ch, MPI_Group* g)
{
    GET_C(c, ch);
    if (!c->inter)
        return ERR(ch, MPI_ERR_COMM);
    *g = gr__group_new(c->rsize, c->rw);
    return *g == MPI_GROUP_NULL ? ERR(ch, MPI_ERR_NO_MEM) : 0;
}

int
MPI_Comm_set_name(MPI_Comm ch, const char* name)
{
    GET_C(c, ch);
    snprintf(c->name, sizeof c->name, "%s", name);
    return 0;
}

int
MPI_Comm_get_name(MPI_Comm ch, char* name, int* len)
{
    GET_C(c, ch);
    *len = snprintf(name, MPI_MAX_OBJECT_NAME, "%s", c->name);
    return 0;
}

int
MPI_Comm_set_info(MPI_Comm ch, MPI_Info info)
{
    GET_C(c, ch);
    (void)info;
    return 0;
}

int
MPI_Comm_get_info(MPI_Comm ch, MPI_Info* info)
{
    GET_C(c, ch);
    return MPI_Info_create(info);
}

static int
same_list(int n, const int* a, const int* b)
{
    return !n || !memcmp(a, b, sizeof(int) * (size_t)n);
}

static int
same_set(int n, const int* a, const int* b)
{
    for (int i = 0; i < n; i++) {
        int f = 0;
        for (int j = 0; j < n && !f; j++)
            f = a[i] == b[j];
        if (!f)
            return 0;
    }
    return 1;
}

int
MPI_Comm_compare(MPI_Comm a, MPI_Comm b, int* result)
{
    comm* x = gr__comm_get(a);
    comm* y = gr__comm_get(b);
    if (!x || !y)
        return ERR(MPI_COMM_WORLD, MPI_ERR_COMM);
    if (a == b)
        *result = MPI_IDENT;
    else if (x->inter != y->inter || x->size != y->size ||
             (x->inter && x->rsize != y->rsize))
        *result = MPI_UNEQUAL;
    else if (same_list(x->size, x->w, y->w) &&
             (!x->inter || same_list(x->rsize, x->rw, y->rw)))
        *result = MPI_CONGRUENT;
    else if (same_set(x->size, x->w, y->w) &&
             (!x->inter || same_set(x->rsize, x->rw, y->rw)))
        *result = MPI_SIMILAR;
    else
        *result = MPI_UNEQUAL;
    return 0;
}

/* ---- creation ---- */

static int*
dup_ints(int n, const int* a)
{
    int* r = gr__malloc(sizeof(int) * (size_t)n);
    if (r && n)
        memcpy(r, a, sizeof(int) * (size_t)n);
    return r;
}

static topo* topo_dup(const topo* t);

int
MPI_Comm_dup(MPI_Comm ch, MPI_Comm* out)
{
    CHECK_INIT();
    GET_C(c, ch);
    int ctx, rc;
    if ((rc = c->inter ? inter_ctx_agree(c, 7, &ctx) : gr__ctx_alloc(c, &ctx)))
        return ERR(ch, rc);
    *out = gr__comm_new(c->size, c->rank, dup_ints(c->size, c->w), ctx);
    comm* n = gr__comm_get(*out);
    c = gr__comm_get(ch);
    if (c->inter) {
        n->inter = 1;
        n->rsize = c->rsize;
        n->rw = dup_ints(c->rsize, c->rw);
    }
    n->eh = c->eh;
    if (c->topo)
        n->topo = topo_dup(c->topo);
    return gr__attr_copy_all(ch, *out);
}

int
MPI_Comm_dup_with_info(MPI_Comm ch, MPI_Info info, MPI_Comm* out)
{
    (void)info;
    return MPI_Comm_dup(ch, out);
}

int
MPI_Comm_idup(MPI_Comm ch, MPI_Comm* out, MPI_Request* request)
{
    int rc = MPI_Comm_dup(ch, out);
    *request = gr__req_done(ch, rc);
    return rc;
}

typedef struct ckey
{
    int color, key, rank, world;
} ckey;

static int
ckey_cmp(const void* a, const void* b)
{
    const ckey* x = a;
    const ckey* y = b;
    if (x->key != y->key)
        return x->key < y->key ? -1 : 1;
    return x->rank - y->rank;
}

/* Keeps the entries of color `color` of all[0..n), ordered by key then
 * rank; returns how many. */
static int
pick_color(ckey* all, int n, int color)
{
    int k = 0;
    for (int i = 0; i < n; i++)
        if (all[i].color == color)
            all[k++] = all[i];
    qsort(all, (size_t)k, sizeof(ckey), ckey_cmp);
    return k;
}

/* An intercommunicator of the given groups (world ranks, taken) or
 * MPI_COMM_NULL when this process is in none (me < 0) or the remote group
 * is empty; releases ctx then. */
static int
inter_finish(comm* c,
             int n,
             int me,
             int* w,
             int rn,
             int* rw,
             int ctx,
             MPI_Comm* out)
{
    *out = MPI_COMM_NULL;
    if (me < 0 || rn == 0) {
        free(w);
        free(rw);
        gr__ctx_release(ctx);
        return 0;
    }
    MPI_Errhandler eh = c->eh;
    *out = gr__comm_new(n, me, w, ctx);
    comm* nc = gr__comm_get(*out);
    if (!nc) {
        free(w);
        free(rw);
        return MPI_ERR_NO_MEM;
    }
    nc->inter = 1;
    nc->rsize = rn;
    nc->rw = rw;
    nc->eh = eh;
    return 0;
}

/* MPI_Comm_split of an intercommunicator: local and remote processes of
 * one color form a new intercommunicator (none if either side has none). */
static int
inter_split(comm* c, int color, int key, MPI_Comm* out)
{
    view lv;
    gr__view_of(&lv, c, CTX_LOCAL);
    ckey mine = { color, key, c->rank, c->w[c->rank] };
    int size = c->size, rsize = c->rsize;
    ckey* loc = gr__malloc(sizeof(ckey) * (size_t)size);
    ckey* rem = gr__malloc(sizeof(ckey) * (size_t)rsize);
    int ctx = -1, rc = loc && rem ? 0 : MPI_ERR_NO_MEM;
    if (!rc)
        rc = gr__v_allgather(&lv, &mine, loc, sizeof(ckey));
    if (!rc)
        rc = leaders_swap(c,
                          13,
                          loc,
                          sizeof(ckey) * (MPI_Count)size,
                          rem,
                          sizeof(ckey) * (MPI_Count)rsize);
    if (!rc)
        rc = inter_ctx_agree(c, 14, &ctx);
    *out = MPI_COMM_NULL;
    if (rc || color == MPI_UNDEFINED) {
        if (!rc)
            gr__ctx_release(ctx);
        free(loc);
        free(rem);
        return rc;
    }
    int n = pick_color(loc, size, color), rn = pick_color(rem, rsize, color);
    int* w = gr__malloc(sizeof(int) * (size_t)n);
    int* rw = gr__malloc(sizeof(int) * (size_t)(rn ? rn : 1));
    int me = -1;
    for (int i = 0; w && i < n; i++) {
        w[i] = loc[i].world;
        if (loc[i].rank == c->rank)
            me = i;
    }
    for (int i = 0; rw && i < rn; i++)
        rw[i] = rem[i].world;
    free(loc);
    free(rem);
    if (!w || !rw) {
        free(w);
        free(rw);
        gr__ctx_release(ctx);
        return MPI_ERR_NO_MEM;
    }
    return inter_finish(c, n, me, w, rn, rw, ctx, out);
}

int
MPI_Comm_split(MPI_Comm ch, int color, int key, MPI_Comm* out)
{
    CHECK_INIT();
    GET_C(c, ch);
    if (color < 0 && color != MPI_UNDEFINED)
        return ERR(ch, MPI_ERR_ARG);
    if (c->inter)
        return ERR(ch, inter_split(c, color, key, out));
    view v;
    gr__view_of(&v, c, CTX_COLL);
    ckey mine = { color, key, c->rank, c->w[c->rank] };
    ckey* all = gr__malloc(sizeof(ckey) * (size_t)c->size);
    if (!all)
        return ERR(ch, MPI_ERR_NO_MEM);
    int rc = gr__v_allgather(&v, &mine, all, sizeof(ckey));
    int ctx = 0;
    if (!rc)
        rc = gr__ctx_alloc(c, &ctx);
    if (rc) {
        free(all);
        return ERR(ch, rc);
    }
    if (color == MPI_UNDEFINED) {
        free(all);
        gr__ctx_release(ctx);
        *out = MPI_COMM_NULL;
        return 0;
    }
    int n = 0;
    for (int i = 0; i < c->size; i++)
        if (all[i].color == color)
            all[n++] = all[i];
    qsort(all, (size_t)n, sizeof(ckey), ckey_cmp);
    int* w = gr__malloc(sizeof(int) * (size_t)n);
    int me = 0;
    for (int i = 0; i < n; i++) {
        w[i] = all[i].world;
        if (all[i].rank == c->rank)
            me = i;
    }
    free(all);
    *out = gr__comm_new(n, me, w, ctx);
    gr__comm_get(*out)->eh = gr__comm_get(ch)->eh;
    return 0;
}

int
MPI_Comm_split_type(MPI_Comm ch,
                    int split_type,
                    int key,
                    MPI_Info info,
                    MPI_Comm* out)
{
    (void)info;
    GET_C(c, ch);
    int color = MPI_UNDEFINED;
    if (split_type == MPI_COMM_TYPE_SHARED)
        color = gr_mpi_rank_host(c->w[c->rank]);
    else if (split_type != MPI_UNDEFINED)
        return ERR(ch, MPI_ERR_ARG);
    return MPI_Comm_split(ch, color, key, out);
}

static int
group_rank_of(group* g, int wr)
{
    for (int i = 0; i < g->n; i++)
        if (g->w[i] == wr)
            return i;
    return -1;
}

/* MPI_Comm_create of an intercommunicator: each side passes a group of
 * its local processes; the result joins the two groups. */
static int
inter_create(comm* c, group* g, MPI_Comm* out)
{
    int me = group_rank_of(g, c->w[c->rank]);
    int n = g->n, rn = 0, ctx = -1;
    int* w = dup_ints(n, g->w);
    int rc = leaders_swap(c, 15, &n, sizeof n, &rn, sizeof rn);
    int* rw = rc ? NULL : gr__malloc(sizeof(int) * (size_t)(rn ? rn : 1));
    if (!rc && (!w || !rw))
        rc = MPI_ERR_NO_MEM;
    if (!rc)
        rc = leaders_swap(c,
                          16,
                          w,
                          sizeof(int) * (MPI_Count)n,
                          rw,
                          sizeof(int) * (MPI_Count)rn);
    if (!rc)
        rc = inter_ctx_agree(c, 14, &ctx);
    *out = MPI_COMM_NULL;
    if (rc) {
        free(w);
        free(rw);
        return rc;
    }
    return inter_finish(c, n, me, w, rn, rw, ctx, out);
}

int
MPI_Comm_create(MPI_Comm ch, MPI_Group gh, MPI_Comm* out)
{
    CHECK_INIT();
    GET_C(c, ch);
    group* g = gr__group_get(gh);
    if (!g)
        return ERR(ch, MPI_ERR_GROUP);
    if (c->inter)
        return ERR(ch, inter_create(c, g, out));
    int ctx, rc;
    if ((rc = gr__ctx_alloc(c, &ctx)))
        return ERR(ch, rc);
    g = gr__group_get(gh);
    int me = group_rank_of(g, gr__comm_get(ch)->w[gr__comm_get(ch)->rank]);
    if (me < 0) {
        gr__ctx_release(ctx);
        *out = MPI_COMM_NULL;
        return 0;
    }
    *out = gr__comm_new(g->n, me, dup_ints(g->n, g->w), ctx);
    gr__comm_get(*out)->eh = gr__comm_get(ch)->eh;
    return 0;
}

int
MPI_Comm_create_group(MPI_Comm ch, MPI_Group gh, int tag, MPI_Comm* out)
{
    CHECK_INIT();
    GET_C(c, ch);
    group* g = gr__group_get(gh);
    if (!g)
        return ERR(ch, MPI_ERR_GROUP);
    int me = group_rank_of(g, c->w[c->rank]);
    if (me < 0) {
        *out = MPI_COMM_NULL;
        return 0;
    }
    view v = { g->n, me, g->w, c->ctx + CTX_GROUP, tag };
    int ctx, rc;
    if ((rc = ctx_agree(&v, &ctx)))
        return ERR(ch, rc);
    g = gr__group_get(gh);
    *out = gr__comm_new(g->n, me, dup_ints(g->n, g->w), ctx);
    gr__comm_get(*out)->eh = gr__comm_get(ch)->eh;
    return 0;
}

int
MPI_Comm_free(MPI_Comm* ch)
{
    if (!ch || *ch == MPI_COMM_WORLD || *ch == MPI_COMM_SELF)
        return ERR(MPI_COMM_WORLD, MPI_ERR_COMM);
    comm* c = gr__comm_get(*ch);
    if (!c)
        return ERR(MPI_COMM_WORLD, MPI_ERR_COMM);
    gr__attr_delete_all(&c->attrs, *ch, 0);
    c = gr__comm_get(*ch);
    gr__ctx_release(c->ctx);
    free(c->w);
    free(c->rw);
    free(c->host);
    if (c->topo) {
        topo* t = c->topo;
        free(t->dims);
        free(t->periods);
        free(t->index);
        free(t->edges);
        free(t->in);
        free(t->out);
        free(t->inw);
        free(t->outw);
        free(t);
    }
    comms[H_IDX(*ch)] = NULL;
    free(c);
    *ch = MPI_COMM_NULL;
    return 0;
}

/* ---- intercommunicators ---- */

int
MPI_Intercomm_create(MPI_Comm lh,
                     int local_leader,
                     MPI_Comm ph,
                     int remote_leader,
                     int tag,
                     MPI_Comm* out)
{
    CHECK_INIT();
    GET_C(lc, lh);
    view lv;
    gr__view_of(&lv, lc, CTX_COLL);
    int rc;
    /* contexts: each side agrees locally on a free mask; leaders AND the
     * two masks; the choice is broadcast locally. */
    uint32_t m[CTX_MASK_WORDS], r[CTX_MASK_WORDS];
    for (int i = 0; i < CTX_MASK_WORDS; i++)
        m[i] = ~ctx_used[i];
    if ((rc = gr__v_allreduce(&lv, m, CTX_MASK_WORDS, MPI_UINT32_T, MPI_BAND)))
        return ERR(lh, rc);
    int rsize = 0, *rw = NULL;
    lc = gr__comm_get(lh);
    if (lc->rank == local_leader) {
        comm* pc = gr__comm_get(ph);
        if (!pc)
            return ERR(lh, MPI_ERR_COMM);
        view pv;
        gr__view_of(&pv, pc, CTX_P2P);
        pv.tag = tag;
        gr__vsendrecv(
          &pv, m, sizeof m, remote_leader, r, sizeof r, remote_leader);
        for (int i = 0; i < CTX_MASK_WORDS; i++)
            m[i] &= r[i];
        gr__vsendrecv(&pv,
                      &lc->size,
                      sizeof(int),
                      remote_leader,
                      &rsize,
                      sizeof(int),
                      remote_leader);
        rw = gr__malloc(sizeof(int) * (size_t)rsize);
        gr__vsendrecv(&pv,
                      lc->w,
                      sizeof(int) * (MPI_Count)lc->size,
                      remote_leader,
                      rw,
                      sizeof(int) * (MPI_Count)rsize,
                      remote_leader);
    }
    gr__v_bcast(&lv, m, sizeof m, local_leader);
    gr__v_bcast(&lv, &rsize, sizeof rsize, local_leader);
    if (lc->rank != local_leader)
        rw = gr__malloc(sizeof(int) * (size_t)rsize);
    gr__v_bcast(&lv, rw, sizeof(int) * (MPI_Count)rsize, local_leader);
    int ctx = -1;
    for (int i = 0; i < CTX_MASK_WORDS && ctx < 0; i++)
        for (int b = 0; b < 32; b++)
            if (m[i] & (1u << b)) {
                ctx_used[i] |= 1u << b;
                ctx = (i * 32 + b) * 4;
                break;
            }
    if (ctx < 0) {
        free(rw);
        return ERR(lh, MPI_ERR_OTHER);
    }
    lc = gr__comm_get(lh);
    *out = gr__comm_new(lc->size, lc->rank, dup_ints(lc->size, lc->w), ctx);
    comm* n = gr__comm_get(*out);
    n->inter = 1;
    n->rsize = rsize;
    n->rw = rw;
    n->eh = lc->eh;
    return 0;
}

int
MPI_Intercomm_merge(MPI_Comm ih, int high, MPI_Comm* out)
{
    CHECK_INIT();
    GET_C(c, ih);
    if (!c->inter)
        return ERR(ih, MPI_ERR_COMM);
    view lv;
    gr__view_of(&lv, c, CTX_LOCAL);
    int rhigh = 0;
    if (c->rank == 0) {
        view iv = { c->rsize, -1, c->rw, c->ctx + CTX_COLL, 9 };
        gr__vsendrecv(&iv, &high, sizeof high, 0, &rhigh, sizeof rhigh, 0);
    }
    gr__v_bcast(&lv, &rhigh, sizeof rhigh, 0);
    int first; /* this group goes first */
    if (!!high != !!rhigh)
        first = !high;
    else
        first = c->w[0] < c->rw[0];
    int n = c->size + c->rsize;
    int* w = gr__malloc(sizeof(int) * (size_t)n);
    const int* a = first ? c->w : c->rw;
    const int* b = first ? c->rw : c->w;
    int na = first ? c->size : c->rsize;
    memcpy(w, a, sizeof(int) * (size_t)na);
    memcpy(w + na, b, sizeof(int) * (size_t)(n - na));
    int me = first ? c->rank : c->rsize + c->rank;
    /* agree on a context over the merged group (world ranks list w) */
    view mv = { n, me, w, c->ctx + CTX_COLL, 11 };
    int ctx, rc;
    if ((rc = ctx_agree(&mv, &ctx))) {
        free(w);
        return ERR(ih, rc);
    }
    *out = gr__comm_new(n, me, w, ctx);
    gr__comm_get(*out)->eh = gr__comm_get(ih)->eh;
    return 0;
}

/* ---- groups API ---- */

#define GET_G(var, h)                                                          \
    group* var = gr__group_get(h);                                             \
    if (!var)                                                                  \
        return ERR(MPI_COMM_WORLD, MPI_ERR_GROUP);

static int
my_world(void)
{
    return gr_mpi_world_rank();
}

int
MPI_Group_size(MPI_Group h, int* size)
{
    GET_G(g, h);
    *size = g->n;
    return 0;
}

int
MPI_Group_rank(MPI_Group h, int* rank)
{
    GET_G(g, h);
    int r = group_rank_of(g, my_world());
    *rank = r < 0 ? MPI_UNDEFINED : r;
    return 0;
}

int
MPI_Group_translate_ranks(MPI_Group h1,
                          int n,
                          const int r1[],
                          MPI_Group h2,
                          int r2[])
{
    GET_G(a, h1);
    GET_G(b, h2);
    for (int i = 0; i < n; i++) {
        if (r1[i] == MPI_PROC_NULL) {
            r2[i] = MPI_PROC_NULL;
            continue;
        }
        if (r1[i] < 0 || r1[i] >= a->n)
            return ERR(MPI_COMM_WORLD, MPI_ERR_RANK);
        int r = group_rank_of(b, a->w[r1[i]]);
        r2[i] = r < 0 ? MPI_UNDEFINED : r;
    }
    return 0;
}

int
MPI_Group_compare(MPI_Group h1, MPI_Group h2, int* result)
{
    GET_G(a, h1);
    GET_G(b, h2);
    if (a->n != b->n)
        *result = MPI_UNEQUAL;
    else if (same_list(a->n, a->w, b->w))
        *result = MPI_IDENT;
    else if (same_set(a->n, a->w, b->w))
        *result = MPI_SIMILAR;
    else
        *result = MPI_UNEQUAL;
    return 0;
}

static int
group_out(int n, const int* w, MPI_Group* out)
{
    if (n == 0) {
        *out = MPI_GROUP_EMPTY;
        return 0;
    }
    *out = gr__group_new(n, w);
    return *out == MPI_GROUP_NULL ? ERR(MPI_COMM_WORLD, MPI_ERR_NO_MEM) : 0;
}

int
MPI_Group_union(MPI_Group h1, MPI_Group h2, MPI_Group* out)
{
    GET_G(a, h1);
    GET_G(b, h2);
    int* w = gr__malloc(sizeof(int) * (size_t)(a->n + b->n));
    int n = 0;
    for (int i = 0; i < a->n; i++)
        w[n++] = a->w[i];
    for (int i = 0; i < b->n; i++)
        if (group_rank_of(a, b->w[i]) < 0)
            w[n++] = b->w[i];
    int rc = group_out(n, w, out);
    free(w);
    return rc;
}

int
MPI_Group_intersection(MPI_Group h1, MPI_Group h2, MPI_Group* out)
{
    GET_G(a, h1);
    GET_G(b, h2);
    int* w = gr__malloc(sizeof(int) * (size_t)a->n);
    int n = 0;
    for (int i = 0; i < a->n; i++)
        if (group_rank_of(b, a->w[i]) >= 0)
            w[n++] = a->w[i];
    int rc = group_out(n, w, out);
    free(w);
    return rc;
}

int
MPI_Group_difference(MPI_Group h1, MPI_Group h2, MPI_Group* out)
{
    GET_G(a, h1);
    GET_G(b, h2);
    int* w = gr__malloc(sizeof(int) * (size_t)a->n);
    int n = 0;
    for (int i = 0; i < a->n; i++)
        if (group_rank_of(b, a->w[i]) < 0)
            w[n++] = a->w[i];
    int rc = group_out(n, w, out);
    free(w);
    return rc;
}

int
MPI_Group_incl(MPI_Group h, int n, const int ranks[], MPI_Group* out)
{
    GET_G(g, h);
    int* w = gr__malloc(sizeof(int) * (size_t)n);
    for (int i = 0; i < n; i++) {
        if (ranks[i] < 0 || ranks[i] >= g->n) {
            free(w);
            return ERR(MPI_COMM_WORLD, MPI_ERR_RANK);
        }
        w[i] = g->w[ranks[i]];
    }
    int rc = group_out(n, w, out);
    free(w);
    return rc;
}

int
MPI_Group_excl(MPI_Group h, int n, const int ranks[], MPI_Group* out)
{
    GET_G(g, h);
    int* w = gr__malloc(sizeof(int) * (size_t)g->n);
    int k = 0;
    for (int i = 0; i < n; i++)
        if (ranks[i] < 0 || ranks[i] >= g->n) {
            free(w);
            return ERR(MPI_COMM_WORLD, MPI_ERR_RANK);
        }
    for (int i = 0; i < g->n; i++) {
        int ex = 0;
        for (int j = 0; j < n && !ex; j++)
            ex = ranks[j] == i;
        if (!ex)
            w[k++] = g->w[i];
    }
    int rc = group_out(k, w, out);
    free(w);
    return rc;
}

/* Expands ranges into a rank list (NULL on a bad range). */
static int*
ranges_expand(group* g, int n, int ranges[][3], int* count)
{
    int total = 0;
    for (int i = 0; i < n; i++) {
        int f = ranges[i][0], l = ranges[i][1], s = ranges[i][2];
        if (s == 0 || f < 0 || f >= g->n || l < 0 || l >= g->n)
            return NULL;
        if ((s > 0 && f > l) || (s < 0 && f < l))
            continue;
        total += (l - f) / s + 1;
    }
    int* r = gr__malloc(sizeof(int) * (size_t)total);
    int k = 0;
    for (int i = 0; i < n; i++) {
        int f = ranges[i][0], l = ranges[i][1], s = ranges[i][2];
        if (s > 0)
            for (int x = f; x <= l; x += s)
                r[k++] = x;
        else
            for (int x = f; x >= l; x += s)
                r[k++] = x;
    }
    *count = k;
    return r;
}

int
MPI_Group_range_incl(MPI_Group h, int n, int ranges[][3], MPI_Group* out)
{
    GET_G(g, h);
    int k;
    int* r = ranges_expand(g, n, ranges, &k);
    if (!r)
        return ERR(MPI_COMM_WORLD, MPI_ERR_ARG);
    int rc = MPI_Group_incl(h, k, r, out);
    free(r);
    return rc;
}

int
MPI_Group_range_excl(MPI_Group h, int n, int ranges[][3], MPI_Group* out)
{
    GET_G(g, h);
    int k;
    int* r = ranges_expand(g, n, ranges, &k);
    if (!r)
        return ERR(MPI_COMM_WORLD, MPI_ERR_ARG);
    int rc = MPI_Group_excl(h, k, r, out);
    free(r);
    return rc;
}

int
MPI_Group_free(MPI_Group* h)
{
    if (!h)
        return ERR(MPI_COMM_WORLD, MPI_ERR_GROUP);
    if (*h == MPI_GROUP_EMPTY) {
        *h = MPI_GROUP_NULL;
        return 0;
    }
    group* g = gr__group_get(*h);
    if (!g)
        return ERR(MPI_COMM_WORLD, MPI_ERR_GROUP);
    free(g->w);
    free(g);
    groups[H_IDX(*h)] = NULL;
    *h = MPI_GROUP_NULL;
    return 0;
}

/* ---- topology copy (used by dup) ---- */

static int*
dup_opt(int n, const int* a)
{
    return a ? dup_ints(n, a) : NULL;
}

static topo*
topo_dup(const topo* t)
{
    topo* n = calloc(1, sizeof(topo));
    if (!n)
        return NULL;
    *n = *t;
    n->dims = dup_opt(t->ndims, t->dims);
    n->periods = dup_opt(t->ndims, t->periods);
    n->index = dup_opt(t->nnodes, t->index);
    n->edges = dup_opt(t->nnodes ? t->index[t->nnodes - 1] : 0, t->edges);
    n->in = dup_opt(t->indeg, t->in);
    n->out = dup_opt(t->outdeg, t->out);
    n->inw = dup_opt(t->indeg, t->inw);
    n->outw = dup_opt(t->outdeg, t->outw);
    return n;
}
