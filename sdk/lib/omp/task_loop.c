/* SPDX-License-Identifier: Apache-2.0 */
/* The taskloop construct of the OpenMP runtime: the compiler hands over a
 * pattern task whose privates hold the loop bounds; it is copied into one
 * task per chunk (task_dup copies firstprivates and marks the last chunk
 * for lastprivate) inside an implicit taskgroup unless nogroup.
 */
#include <stdlib.h>
#include <string.h>

#include "kmp_abi.h"
#include "task_int.h"

typedef void (*task_dup_fn)(kmp_task_t* dst, kmp_task_t* src, int32_t last);

static omp_task*
task_copy(omp_thread* thr, const omp_task* pat)
{
    omp_task* t = omp__task_block(thr, pat->alloc_size);
    omp_thread* owner = t->owner;
    int pool_class = t->pool_class;
    memcpy(t, pat, pat->alloc_size);
    t->owner = owner;
    t->pool_class = pool_class;
    if (pat->kt.shareds)
        t->kt.shareds =
          (char*)t + ((const char*)pat->kt.shareds - (const char*)pat);
    atomic_store_explicit(&t->refs, 1, memory_order_relaxed);
    atomic_store_explicit(&t->children, 0, memory_order_relaxed);
    atomic_store_explicit(&t->untied_count, 0, memory_order_relaxed);
    atomic_store_explicit(&t->detach_state, 0, memory_order_relaxed);
    t->dep = NULL;
    t->dephash = NULL;
    t->started = 0;
    return t;
}

void
__kmpc_taskloop(ident_t* loc,
                int32_t gtid,
                kmp_task_t* kt,
                int if_val,
                uint64_t* lb,
                uint64_t* ub,
                int64_t st,
                int nogroup,
                int sched,
                uint64_t grainsize,
                void* task_dup)
{
    omp_thread* thr = omp__thr(gtid);
    omp_task* pat = OMP_TASK_OF(kt);
    uint64_t lower = *lb, upper = *ub;
    if (st == 0)
        st = 1;
    uint64_t tc;
    if (st > 0)
        tc = (int64_t)upper < (int64_t)lower
               ? 0
               : (upper - lower) / (uint64_t)st + 1;
    else
        tc = (int64_t)lower < (int64_t)upper
               ? 0
               : (lower - upper) / (uint64_t)(-st) + 1;
    if (!nogroup)
        __kmpc_taskgroup(loc, gtid);
    /* The pattern lives in the task it was made in, not the new group. */
    uint64_t ntasks = 0;
    if (tc > 0) {
        switch (sched) {
            case 1: /* grainsize */
                ntasks = grainsize ? tc / grainsize : tc;
                break;
            case 2: /* num_tasks */
                ntasks = grainsize;
                break;
            default:
                ntasks = (uint64_t)thr->team->nproc * 10;
                if (omp__g.taskloop_min > 0 &&
                    ntasks < (uint64_t)omp__g.taskloop_min)
                    ntasks = (uint64_t)omp__g.taskloop_min;
                break;
        }
        if (ntasks < 1)
            ntasks = 1;
        if (ntasks > tc)
            ntasks = tc;
    }
    size_t lb_off = (size_t)((char*)lb - (char*)kt);
    size_t ub_off = (size_t)((char*)ub - (char*)kt);
    uint64_t base = ntasks ? tc / ntasks : 0, extra = ntasks ? tc % ntasks : 0;
    uint64_t start = 0;
    omp_taskgroup* tg = thr->task->cur_tg;
    for (uint64_t i = 0; i < ntasks; i++) {
        uint64_t n = base + (i < extra ? 1 : 0);
        omp_task* t = task_copy(thr, pat);
        t->tg = tg;
        t->cur_tg = tg;
        uint64_t l = lower + start * (uint64_t)st;
        uint64_t u = lower + (start + n - 1) * (uint64_t)st;
        memcpy((char*)&t->kt + lb_off, &l, sizeof l);
        memcpy((char*)&t->kt + ub_off, &u, sizeof u);
        if (task_dup)
            ((task_dup_fn)task_dup)(&t->kt, &pat->kt, i + 1 == ntasks);
        start += n;
        omp__task_register(t);
        if (!if_val) {
            atomic_store_explicit(&t->untied_count, 1, memory_order_relaxed);
            omp__task_run(thr, t);
        } else {
            omp__task_submit(thr, t);
        }
    }
    omp__task_block_free(pat);
    if (!nogroup)
        __kmpc_end_taskgroup(loc, gtid);
}

void
__kmpc_taskloop_5(ident_t* loc,
                  int32_t gtid,
                  kmp_task_t* kt,
                  int if_val,
                  uint64_t* lb,
                  uint64_t* ub,
                  int64_t st,
                  int nogroup,
                  int sched,
                  uint64_t grainsize,
                  int modifier,
                  void* task_dup)
{
    (void)modifier;
    __kmpc_taskloop(
      loc, gtid, kt, if_val, lb, ub, st, nogroup, sched, grainsize, task_dup);
}
