/* SPDX-License-Identifier: Apache-2.0 */
/* Task reductions of the OpenMP runtime (taskgroup task_reduction,
 * taskloop reduction, in_reduction): each team member gets its own copy of
 * every item, made on first use; the end of the taskgroup combines the
 * copies into the shared items.
 */
#include <stdlib.h>
#include <string.h>

#include "kmp_abi.h"

/* One item as clang describes it (kmp_taskred_input_t). */
typedef struct taskred_input
{
    void* shar;
    void* orig;
    size_t size;
    void* init; /* void (*)(void* priv, void* orig), or NULL: zeroes */
    void* fini; /* void (*)(void* priv), or NULL */
    void* comb; /* void (*)(void* shar, void* priv) */
    uint32_t flags;
} taskred_input;

typedef void (*red_init_fn)(void*, void*);
typedef void (*red_fini_fn)(void*);
typedef void (*red_comb_fn)(void*, void*);

/* A taskgroup's reductions: items and, per item, one copy per member of
 * the team (slot tid, written only by that thread). */
typedef struct omp_taskred
{
    int n, nproc;
    taskred_input* items;
    void** privs; /* [n * nproc] */
} omp_taskred;

void*
__kmpc_taskred_init(int32_t gtid, int32_t num, void* data)
{
    omp_thread* thr = omp__thr(gtid);
    omp_taskgroup* tg = thr->task->cur_tg;
    if (!tg)
        omp__fatal("task reduction outside a taskgroup");
    omp_taskred* r = calloc(1, sizeof(*r));
    int nproc = thr->team->nproc;
    if (r) {
        r->items = calloc((size_t)(num > 0 ? num : 1), sizeof(taskred_input));
        r->privs =
          calloc((size_t)(num > 0 ? num : 1) * (size_t)nproc, sizeof(void*));
    }
    if (!r || !r->items || !r->privs)
        omp__fatal("out of memory for a task reduction");
    r->n = num;
    r->nproc = nproc;
    memcpy(r->items, data, sizeof(taskred_input) * (size_t)num);
    tg->red = r;
    return tg;
}

void*
__kmpc_taskred_modifier_init(ident_t* loc,
                             int32_t gtid,
                             int is_ws,
                             int32_t num,
                             void* data)
{
    (void)loc;
    (void)is_ws;
    return __kmpc_taskred_init(gtid, num, data);
}

void
__kmpc_task_reduction_modifier_fini(ident_t* loc, int32_t gtid, int is_ws)
{
    (void)loc;
    (void)gtid;
    (void)is_ws;
}

static void*
priv_of(omp_taskred* r, int i, int tid)
{
    void** slot = &r->privs[(size_t)i * (size_t)r->nproc + (size_t)tid];
    if (!*slot) {
        taskred_input* it = &r->items[i];
        void* p = malloc(it->size ? it->size : 1);
        if (!p)
            omp__fatal("out of memory for a task reduction");
        if (it->init)
            ((red_init_fn)it->init)(p, it->orig ? it->orig : it->shar);
        else
            memset(p, 0, it->size);
        *slot = p;
    }
    return *slot;
}

void*
__kmpc_task_reduction_get_th_data(int32_t gtid, void* tgp, void* data)
{
    omp_thread* thr = omp__thr(gtid);
    omp_taskgroup* tg = tgp ? tgp : thr->task->cur_tg;
    int tid = thr->tid;
    for (; tg; tg = tg->parent) {
        omp_taskred* r = tg->red;
        if (!r || tid >= r->nproc)
            continue;
        for (int i = 0; i < r->n; i++) {
            char* s = r->items[i].shar;
            if ((char*)data >= s && (char*)data < s + r->items[i].size)
                return (char*)priv_of(r, i, tid) + ((char*)data - s);
            for (int t = 0; t < r->nproc; t++)
                if (r->privs[(size_t)i * (size_t)r->nproc + (size_t)t] == data)
                    return priv_of(r, i, tid);
        }
    }
    return data;
}

void
omp__taskred_fini(omp_taskgroup* tg)
{
    omp_taskred* r = tg->red;
    for (int i = 0; i < r->n; i++) {
        taskred_input* it = &r->items[i];
        for (int t = 0; t < r->nproc; t++) {
            void* p = r->privs[(size_t)i * (size_t)r->nproc + (size_t)t];
            if (!p)
                continue;
            ((red_comb_fn)it->comb)(it->shar, p);
            if (it->fini)
                ((red_fini_fn)it->fini)(p);
            free(p);
        }
    }
    free(r->items);
    free(r->privs);
    free(r);
    tg->red = NULL;
}
