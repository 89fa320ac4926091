/* SPDX-License-Identifier: Apache-2.0 */
/* Task dependences of the OpenMP runtime (depend clauses on task, if(0)
 * tasks and taskwait). Each task that creates children with dependences
 * keeps a hash from address to the last writer and the readers since; a
 * new task becomes a successor of those it must follow and is queued when
 * its last predecessor finishes. mutexinoutset and inoutset are ordered
 * like inout (stricter than required, never wrong).
 */
#include <stdlib.h>
#include <string.h>

#include "kmp_abi.h"
#include "task_int.h"

#define DEP_IN 1
#define DEP_OUT 2
#define DEP_MTX 4
#define DEP_SET 8
#define DEPHASH_BUCKETS 128

typedef struct dep_entry
{
    intptr_t addr;
    omp_depnode* last_out;
    omp_depnode** ins;
    int nins, capins;
    struct dep_entry* next;
} dep_entry;

/* Touched only by the task that owns it (the creator of the children). */
struct omp_dephash
{
    dep_entry* b[DEPHASH_BUCKETS];
};

static void*
xmalloc(size_t n)
{
    void* p = malloc(n ? n : 1);
    if (!p)
        omp__fatal("out of memory for task dependences");
    return p;
}

void
omp__depnode_unref(omp_depnode* n)
{
    if (atomic_fetch_sub_explicit(&n->refs, 1, memory_order_acq_rel) == 1) {
        free(n->succ);
        free(n);
    }
}

void
omp__dephash_free(omp_dephash* h)
{
    if (!h)
        return;
    for (int i = 0; i < DEPHASH_BUCKETS; i++) {
        dep_entry* e = h->b[i];
        while (e) {
            dep_entry* nx = e->next;
            if (e->last_out)
                omp__depnode_unref(e->last_out);
            for (int k = 0; k < e->nins; k++)
                omp__depnode_unref(e->ins[k]);
            free(e->ins);
            free(e);
            e = nx;
        }
    }
    free(h);
}

static dep_entry*
dephash_get(omp_dephash* h, intptr_t addr)
{
    uintptr_t k = (uintptr_t)addr;
    unsigned i = (unsigned)((k >> 3) ^ (k >> 11)) % DEPHASH_BUCKETS;
    for (dep_entry* e = h->b[i]; e; e = e->next)
        if (e->addr == addr)
            return e;
    dep_entry* e = xmalloc(sizeof(*e));
    memset(e, 0, sizeof(*e));
    e->addr = addr;
    e->next = h->b[i];
    h->b[i] = e;
    return e;
}

/* Makes n wait for pred unless pred has finished already. */
static void
add_pred(omp_depnode* n, omp_depnode* pred)
{
    if (!pred || pred == n)
        return;
    omp__mutex_lock(&pred->lock);
    if (!pred->done) {
        if (pred->nsucc == pred->capsucc) {
            pred->capsucc = pred->capsucc ? pred->capsucc * 2 : 4;
            omp_depnode** s =
              realloc(pred->succ, sizeof(omp_depnode*) * pred->capsucc);
            if (!s)
                omp__fatal("out of memory for task dependences");
            pred->succ = s;
        }
        pred->succ[pred->nsucc++] = n;
        atomic_fetch_add_explicit(&n->npred, 1, memory_order_relaxed);
    }
    omp__mutex_unlock(&pred->lock);
}

/* Registers n's dependences against the hash; record == 0 only computes
 * predecessors (a waiting node that later tasks need not follow). */
static void
deps_add(omp_dephash* h,
         omp_depnode* n,
         const kmp_depend_info_t* d,
         int nd,
         int record)
{
    for (int i = 0; i < nd; i++) {
        if (!d[i].base_addr)
            continue;
        dep_entry* e = dephash_get(h, d[i].base_addr);
        int out = d[i].flags & (DEP_OUT | DEP_MTX | DEP_SET);
        add_pred(n, e->last_out);
        if (out) {
            for (int k = 0; k < e->nins; k++)
                add_pred(n, e->ins[k]);
            if (!record)
                continue;
            for (int k = 0; k < e->nins; k++)
                omp__depnode_unref(e->ins[k]);
            e->nins = 0;
            if (e->last_out)
                omp__depnode_unref(e->last_out);
            atomic_fetch_add_explicit(&n->refs, 1, memory_order_relaxed);
            e->last_out = n;
        } else if (record) {
            if (e->nins == e->capins) {
                e->capins = e->capins ? e->capins * 2 : 4;
                omp_depnode** s =
                  realloc(e->ins, sizeof(omp_depnode*) * e->capins);
                if (!s)
                    omp__fatal("out of memory for task dependences");
                e->ins = s;
            }
            atomic_fetch_add_explicit(&n->refs, 1, memory_order_relaxed);
            e->ins[e->nins++] = n;
        }
    }
}

static omp_depnode*
depnode_create(omp_task* t)
{
    omp_depnode* n = xmalloc(sizeof(*n));
    memset(n, 0, sizeof(*n));
    atomic_store_explicit(&n->npred, 1, memory_order_relaxed);
    atomic_store_explicit(&n->refs, 1, memory_order_relaxed);
    n->task = t;
    return n;
}

void
omp__deps_release(omp_thread* thr, omp_depnode* n)
{
    omp__mutex_lock(&n->lock);
    n->done = 1;
    omp_depnode** succ = n->succ;
    int ns = n->nsucc;
    n->succ = NULL;
    n->nsucc = n->capsucc = 0;
    omp__mutex_unlock(&n->lock);
    omp_team* team = n->task ? n->task->team : thr->team;
    for (int i = 0; i < ns; i++) {
        omp_depnode* s = succ[i];
        /* seq_cst: omp__wake_team looks at the sleepers after it */
        if (atomic_fetch_sub(&s->npred, 1) != 1)
            continue;
        if (s->task)
            omp__task_submit(thr, s->task);
        else
            omp__wake_team(team); /* a thread waits in wait_deps */
    }
    free(succ);
}

static omp_dephash*
dephash_of(omp_task* parent)
{
    if (!parent->dephash) {
        parent->dephash = xmalloc(sizeof(omp_dephash));
        memset(parent->dephash, 0, sizeof(omp_dephash));
    }
    return parent->dephash;
}

int32_t
__kmpc_omp_task_with_deps(ident_t* loc,
                          int32_t gtid,
                          kmp_task_t* kt,
                          int32_t ndeps,
                          kmp_depend_info_t* deps,
                          int32_t ndeps_noalias,
                          kmp_depend_info_t* noalias)
{
    omp_thread* thr = omp__thr(gtid);
    omp_task* t = OMP_TASK_OF(kt);
    omp_task* parent = t->parent;
    if (parent->in_final || ndeps + ndeps_noalias == 0)
        return __kmpc_omp_task(loc, gtid, kt);
    omp_depnode* n = depnode_create(t);
    t->dep = n;
    omp__task_register(t);
    omp_dephash* h = dephash_of(parent);
    deps_add(h, n, deps, ndeps, 1);
    deps_add(h, n, noalias, ndeps_noalias, 1);
    atomic_store_explicit(&t->untied_count, 1, memory_order_relaxed);
    if (atomic_fetch_sub_explicit(&n->npred, 1, memory_order_acq_rel) == 1)
        omp__task_push(thr, t);
    return 0;
}

void
__kmpc_omp_wait_deps(ident_t* loc,
                     int32_t gtid,
                     int32_t ndeps,
                     kmp_depend_info_t* deps,
                     int32_t ndeps_noalias,
                     kmp_depend_info_t* noalias)
{
    (void)loc;
    omp_thread* thr = omp__thr(gtid);
    omp_task* cur = thr->task;
    if (ndeps + ndeps_noalias == 0 || !cur->dephash || cur->in_final)
        return;
    omp_depnode* n = depnode_create(NULL);
    deps_add(cur->dephash, n, deps, ndeps, 0);
    deps_add(cur->dephash, n, noalias, ndeps_noalias, 0);
    if (atomic_fetch_sub_explicit(&n->npred, 1, memory_order_acq_rel) != 1)
        omp__wait_tasks(thr, &n->npred, 0);
    /* npred reached 0 under each predecessor's release: none holds n */
    omp__depnode_unref(n);
}
