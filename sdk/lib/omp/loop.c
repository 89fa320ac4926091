/* SPDX-License-Identifier: Apache-2.0 */
/* Worksharing loops of the OpenMP runtime: static schedules computed by
 * each thread alone (__kmpc_for_static_init_*), and the dispatch interface
 * (__kmpc_dispatch_*) for dynamic, guided, runtime, auto and ordered loops
 * through a ring of shared buffers; doacross loops (ordered depend).
 * Iterations are numbered 0..trip-1 internally; i-th is lb + i * st.
 */
#include <sched.h>
#include <stdlib.h>

#include "kmp_abi.h"

/* Waits in hand-offs between the threads of a loop (the dispatch ring,
 * ordered, doacross). The thread waited for may be descheduled on a
 * loaded host: spinning through the whole block time would burn the slice
 * it needs, turning each hand-off of an ordered loop into a scheduler
 * round. Spin briefly, then yield every 16 rounds. */
static void
backoff(unsigned* spins)
{
    unsigned c = (*spins)++;
    if (c >= 128 && (c & 15) == 0)
        sched_yield();
    else
        omp__pause();
}

void
omp__disp_reset(omp_team* team)
{
    for (int i = 0; i < team->disp_n; i++) {
        omp_disp* b = &team->disp[i];
        atomic_store_explicit(&b->gen, (uint32_t)i, memory_order_relaxed);
        atomic_store_explicit(&b->done, 0, memory_order_relaxed);
        atomic_store_explicit(&b->next, 0, memory_order_relaxed);
        atomic_store_explicit(&b->ord_next, 0, memory_order_relaxed);
    }
}

/* The implicit task of the calling thread: worksharing state lives there,
 * one per thread per team, so nested regions keep their own. */
static omp_task*
implicit_of(omp_thread* thr)
{
    return &thr->team->implicit[thr->tid];
}

static omp_disp*
disp_enter(omp_team* team, omp_task* it)
{
    uint32_t k = it->ws_count++;
    omp_disp* b = &team->disp[k % (uint32_t)team->disp_n];
    unsigned spins = 0;
    while (atomic_load_explicit(&b->gen, memory_order_acquire) != k)
        backoff(&spins);
    return b;
}

/* Called once per thread when it is done with a buffer; the last one
 * resets it and hands it to construct gen + ring size. */
static void
disp_leave(omp_team* team, omp_disp* b)
{
    if (atomic_fetch_add_explicit(&b->done, 1, memory_order_acq_rel) + 1 ==
        team->nproc) {
        atomic_store_explicit(&b->done, 0, memory_order_relaxed);
        atomic_store_explicit(&b->next, 0, memory_order_relaxed);
        atomic_store_explicit(&b->ord_next, 0, memory_order_relaxed);
        atomic_fetch_add_explicit(
          &b->gen, (uint32_t)team->disp_n, memory_order_release);
    }
}

/* ---- static schedules ---- */

/* Balanced split of trip iterations over nth threads: [*start, *start+*n).
 */
static void
balanced(uint64_t trip,
         uint64_t nth,
         uint64_t tid,
         uint64_t* start,
         uint64_t* n)
{
    uint64_t small = trip / nth, extra = trip % nth;
    *n = small + (tid < extra ? 1 : 0);
    *start = tid * small + (tid < extra ? tid : extra);
}

#define STATIC_INIT(NAME, T, ST, UT)                                           \
    void NAME(ident_t* loc,                                                    \
              int32_t gtid,                                                    \
              int32_t sched,                                                   \
              int32_t* plast,                                                  \
              T* plower,                                                       \
              T* pupper,                                                       \
              ST* pstride,                                                     \
              ST incr,                                                         \
              ST chunk)                                                        \
    {                                                                          \
        (void)loc;                                                             \
        omp_thread* thr = omp__thr(gtid);                                      \
        uint64_t nth, tid;                                                     \
        sched &= ~SCH_MODIFIER_MASK;                                           \
        if (sched == SCH_DIST_STATIC || sched == SCH_DIST_STATIC_CHUNKED) {    \
            nth = (uint64_t)thr->num_teams;                                    \
            tid = (uint64_t)thr->team_num;                                     \
            sched =                                                            \
              sched == SCH_DIST_STATIC ? SCH_STATIC : SCH_STATIC_CHUNKED;      \
        } else {                                                               \
            nth = (uint64_t)thr->team->nproc;                                  \
            tid = (uint64_t)thr->tid;                                          \
        }                                                                      \
        T lb = *plower, ub = *pupper;                                          \
        if (incr == 0)                                                         \
            incr = 1;                                                          \
        uint64_t trip;                                                         \
        if (incr > 0)                                                          \
            trip =                                                             \
              ub < lb                                                          \
                ? 0                                                            \
                : (uint64_t)(UT)((UT)ub - (UT)lb) / (uint64_t)(UT)incr + 1;    \
        else                                                                   \
            trip = lb < ub ? 0                                                 \
                           : (uint64_t)(UT)((UT)lb - (UT)ub) /                 \
                                 (uint64_t)(UT)((UT)0 - (UT)incr) +            \
                               1;                                              \
        if (plast)                                                             \
            *plast = 0;                                                        \
        if (trip == 0) {                                                       \
            *pstride = incr;                                                   \
            return;                                                            \
        }                                                                      \
        if (sched == SCH_STATIC_CHUNKED) {                                     \
            uint64_t c = chunk > 0 ? (uint64_t)chunk : 1;                      \
            UT span = (UT)((UT)c * (UT)incr);                                  \
            *plower = (T)((UT)lb + (UT)tid * span);                            \
            *pupper = (T)((UT)*plower + span - (UT)incr);                      \
            *pstride = (ST)(span * (UT)nth);                                   \
            if (plast)                                                         \
                *plast = ((trip - 1) / c) % nth == tid;                        \
            return;                                                            \
        }                                                                      \
        uint64_t start, n;                                                     \
        if (sched == SCH_STATIC_BALANCED_CHUNKED && chunk > 1) {               \
            uint64_t c = (uint64_t)chunk;                                      \
            uint64_t per = ((trip + nth - 1) / nth + c - 1) / c * c;           \
            start = per * tid;                                                 \
            n = start >= trip ? 0 : (trip - start < per ? trip - start : per); \
        } else {                                                               \
            balanced(trip, nth, tid, &start, &n);                              \
        }                                                                      \
        if (n == 0) {                                                          \
            *plower = (T)((UT)ub + (UT)incr);                                  \
            *pupper = ub;                                                      \
        } else {                                                               \
            *plower = (T)((UT)lb + (UT)start * (UT)incr);                      \
            *pupper = (T)((UT)*plower + (UT)(n - 1) * (UT)incr);               \
            if (plast)                                                         \
                *plast = start + n == trip;                                    \
        }                                                                      \
        *pstride = (ST)((UT)trip * (UT)incr);                                  \
    }

STATIC_INIT(__kmpc_for_static_init_4, int32_t, int32_t, uint32_t)
STATIC_INIT(__kmpc_for_static_init_4u, uint32_t, int32_t, uint32_t)
STATIC_INIT(__kmpc_for_static_init_8, int64_t, int64_t, uint64_t)
STATIC_INIT(__kmpc_for_static_init_8u, uint64_t, int64_t, uint64_t)

void
__kmpc_for_static_fini(ident_t* loc, int32_t gtid)
{
    (void)loc;
    (void)gtid;
}

/* ---- dispatch ---- */

/* Maps a schedule to one of STATIC, STATIC_CHUNKED, BALANCED_CHUNKED
 * (static in multiples of *chunk), DYNAMIC and GUIDED; *simd is set when
 * guided chunks must be multiples of *chunk. */
static int
resolve_sched(int sched,
              int64_t* chunk,
              const omp_icv* icv,
              int* ordered,
              int* simd)
{
    sched &= ~SCH_MODIFIER_MASK;
    *ordered = sched >= SCH_ORD_LOWER && sched <= SCH_ORD_UPPER;
    *simd = 0;
    if (*ordered)
        sched -= 32;
    if (sched == SCH_RUNTIME || sched == SCH_RUNTIME_SIMD) {
        /* schedule(simd:runtime): the runtime chunk counts simd widths */
        int64_t width = sched == SCH_RUNTIME_SIMD && *chunk > 1 ? *chunk : 1;
        int64_t c = icv->chunk;
        int kind = icv->sched & ~(int)omp_sched_monotonic;
        if (kind == omp_sched_auto || (kind == omp_sched_static && c <= 0)) {
            *chunk = width;
            return width > 1 ? SCH_STATIC_BALANCED_CHUNKED : SCH_STATIC;
        }
        *chunk = (c > 0 ? c : 1) * width;
        *simd = width > 1;
        switch (kind) {
            case omp_sched_dynamic:
            case OMP_SCHED_STATIC_STEAL:
                return SCH_DYNAMIC;
            case omp_sched_guided:
            case OMP_SCHED_TRAPEZOIDAL:
                return SCH_GUIDED;
            default:
                return SCH_STATIC_CHUNKED;
        }
    }
    switch (sched) {
        case SCH_STATIC_CHUNKED:
            return *chunk > 0 ? SCH_STATIC_CHUNKED : SCH_STATIC;
        case SCH_STATIC_BALANCED_CHUNKED:
            return *chunk > 1 ? SCH_STATIC_BALANCED_CHUNKED : SCH_STATIC;
        case SCH_DYNAMIC:
        case SCH_STATIC_STEAL:
            return SCH_DYNAMIC;
        case SCH_GUIDED_SIMD:
            *simd = 1;
            return SCH_GUIDED;
        case SCH_GUIDED:
        case SCH_TRAPEZOIDAL:
        case SCH_GUIDED_ITERATIVE:
        case SCH_GUIDED_ANALYTICAL:
            return SCH_GUIDED;
        default:
            return SCH_STATIC;
    }
}

static void
disp_init(int32_t gtid,
          int32_t sched,
          int64_t lb,
          uint64_t trip,
          int64_t st,
          int64_t chunk)
{
    omp_thread* thr = omp__thr(gtid);
    omp_team* team = thr->team;
    omp_task* it = implicit_of(thr);
    int ordered, simd;
    it->d_sched = resolve_sched(sched, &chunk, &it->icv, &ordered, &simd);
    it->d_simd = simd;
    if (chunk < 1)
        chunk = 1;
    it->d_chunk = chunk;
    it->d_lb = lb;
    it->d_st = st;
    it->d_trip = trip;
    it->d_static_k = 0;
    it->d_ordered = ordered;
    it->d_ord_bumped = 0;
    it->disp = disp_enter(team, it);
}

/* The next chunk [*start, *end) for the calling thread; 0 when done. */
static int
disp_next(int32_t gtid, uint64_t* start, uint64_t* end)
{
    omp_thread* thr = omp__thr(gtid);
    omp_team* team = thr->team;
    omp_task* it = implicit_of(thr);
    omp_disp* b = it->disp;
    if (!b)
        return 0;
    uint64_t trip = it->d_trip, nth = (uint64_t)team->nproc;
    uint64_t c = (uint64_t)it->d_chunk, s, n;
    switch (it->d_sched) {
        case SCH_STATIC:
            if (it->d_static_k++ > 0)
                goto done;
            balanced(trip, nth, (uint64_t)thr->tid, &s, &n);
            if (n == 0)
                goto done;
            *start = s;
            *end = s + n;
            break;
        case SCH_STATIC_BALANCED_CHUNKED:
            if (it->d_static_k++ > 0)
                goto done;
            n = ((trip + nth - 1) / nth + c - 1) / c * c;
            s = n * (uint64_t)thr->tid;
            if (s >= trip)
                goto done;
            *start = s;
            *end = trip - s < n ? trip : s + n;
            break;
        case SCH_STATIC_CHUNKED:
            s = ((uint64_t)thr->tid + it->d_static_k++ * nth) * c;
            if (s >= trip)
                goto done;
            *start = s;
            *end = trip - s < c ? trip : s + c;
            break;
        case SCH_DYNAMIC:
            s = atomic_fetch_add_explicit(&b->next, c, memory_order_relaxed);
            if (s >= trip)
                goto done;
            *start = s;
            *end = trip - s < c ? trip : s + c;
            break;
        default: /* guided: a share of what is left, never below the chunk */
            s = atomic_load_explicit(&b->next, memory_order_relaxed);
            for (;;) {
                if (s >= trip)
                    goto done;
                uint64_t rem = trip - s;
                n = (rem + 2 * nth - 1) / (2 * nth);
                if (n < c)
                    n = c;
                if (it->d_simd)
                    n = (n + c - 1) / c * c;
                if (n > rem)
                    n = rem;
                if (atomic_compare_exchange_weak_explicit(&b->next,
                                                          &s,
                                                          s + n,
                                                          memory_order_relaxed,
                                                          memory_order_relaxed))
                    break;
            }
            *start = s;
            *end = s + n;
            break;
    }
    it->d_ord_iter = *start;
    it->d_ord_bumped = 0;
    return 1;
done:
    it->disp = NULL;
    disp_leave(team, b);
    return 0;
}

#define DISPATCH(SUF, T, ST, UT)                                               \
    void __kmpc_dispatch_init_##SUF(                                           \
      ident_t* loc, int32_t gtid, int32_t sched, T lb, T ub, ST st, ST chunk)  \
    {                                                                          \
        (void)loc;                                                             \
        if (st == 0)                                                           \
            st = 1;                                                            \
        uint64_t trip;                                                         \
        if (st > 0)                                                            \
            trip = ub < lb                                                     \
                     ? 0                                                       \
                     : (uint64_t)(UT)((UT)ub - (UT)lb) / (uint64_t)(UT)st + 1; \
        else                                                                   \
            trip = lb < ub ? 0                                                 \
                           : (uint64_t)(UT)((UT)lb - (UT)ub) /                 \
                                 (uint64_t)(UT)((UT)0 - (UT)st) +              \
                               1;                                              \
        disp_init(                                                             \
          gtid, sched, (int64_t)lb, trip, (int64_t)st, (int64_t)chunk);        \
    }                                                                          \
    int __kmpc_dispatch_next_##SUF(                                            \
      ident_t* loc, int32_t gtid, int32_t* plast, T* plb, T* pub, ST* pst)     \
    {                                                                          \
        (void)loc;                                                             \
        uint64_t s, e;                                                         \
        omp_thread* thr = omp__thr(gtid);                                      \
        omp_task* it = implicit_of(thr);                                       \
        T lb = (T)it->d_lb;                                                    \
        UT st = (UT)it->d_st;                                                  \
        uint64_t trip = it->d_trip;                                            \
        if (!disp_next(gtid, &s, &e))                                          \
            return 0;                                                          \
        *plb = (T)((UT)lb + (UT)s * st);                                       \
        *pub = (T)((UT)lb + (UT)(e - 1) * st);                                 \
        if (pst)                                                               \
            *pst = (ST)st;                                                     \
        if (plast)                                                             \
            *plast = e == trip;                                                \
        return 1;                                                              \
    }                                                                          \
    void __kmpc_dispatch_fini_##SUF(ident_t* loc, int32_t gtid)                \
    {                                                                          \
        (void)loc;                                                             \
        omp__dispatch_fini(gtid);                                              \
    }

static void omp__dispatch_fini(int32_t gtid);

DISPATCH(4, int32_t, int32_t, uint32_t)
DISPATCH(4u, uint32_t, int32_t, uint32_t)
DISPATCH(8, int64_t, int64_t, uint64_t)
DISPATCH(8u, uint64_t, int64_t, uint64_t)

void
__kmpc_dispatch_deinit(ident_t* loc, int32_t gtid)
{
    (void)loc;
    (void)gtid;
}

/* ---- ordered ---- */

static void
ordered_wait(omp_disp* b, uint64_t iter)
{
    unsigned spins = 0;
    while (atomic_load_explicit(&b->ord_next, memory_order_acquire) != iter)
        backoff(&spins);
}

/* End of one iteration of an ordered loop: if it skipped its ordered
 * region, take its turn now so the next iteration may go. */
static void
omp__dispatch_fini(int32_t gtid)
{
    omp_thread* thr = omp__thr(gtid);
    omp_task* it = implicit_of(thr);
    omp_disp* b = it->disp;
    if (!b || !it->d_ordered)
        return;
    if (!it->d_ord_bumped) {
        ordered_wait(b, it->d_ord_iter);
        atomic_store_explicit(
          &b->ord_next, it->d_ord_iter + 1, memory_order_release);
    }
    it->d_ord_bumped = 0;
    it->d_ord_iter++;
}

void
__kmpc_ordered(ident_t* loc, int32_t gtid)
{
    (void)loc;
    omp_thread* thr = omp__thr(gtid);
    omp_task* it = implicit_of(thr);
    if (it->disp && it->d_ordered)
        ordered_wait(it->disp, it->d_ord_iter);
}

void
__kmpc_end_ordered(ident_t* loc, int32_t gtid)
{
    (void)loc;
    omp_thread* thr = omp__thr(gtid);
    omp_task* it = implicit_of(thr);
    if (it->disp && it->d_ordered) {
        atomic_store_explicit(
          &it->disp->ord_next, it->d_ord_iter + 1, memory_order_release);
        it->d_ord_bumped = 1;
    }
}

/* ---- doacross ---- */

void
__kmpc_doacross_init(ident_t* loc,
                     int32_t gtid,
                     int32_t ndims,
                     const kmp_dim_t* dims)
{
    (void)loc;
    omp_thread* thr = omp__thr(gtid);
    omp_team* team = thr->team;
    omp_task* it = implicit_of(thr);
    if (ndims < 1 || ndims > 8)
        omp__fatal("doacross loop with %d dimensions (1 to 8 supported)",
                   (int)ndims);
    omp_disp* b = disp_enter(team, it);
    it->da = b;
    uint32_t z = 0;
    if (atomic_compare_exchange_strong(&b->doacross_init, &z, 1)) {
        uint64_t total = 1;
        for (int i = 0; i < ndims; i++) {
            int64_t lo = dims[i].lo, up = dims[i].up, st = dims[i].st;
            if (st == 0)
                st = 1;
            uint64_t n;
            if (st > 0)
                n = up < lo ? 0 : (uint64_t)(up - lo) / (uint64_t)st + 1;
            else
                n = lo < up ? 0 : (uint64_t)(lo - up) / (uint64_t)(-st) + 1;
            b->da_lo[i] = lo;
            b->da_st[i] = st;
            b->da_n[i] = n;
            total *= n ? n : 1;
        }
        b->da_dims = ndims;
        _Atomic uint32_t* flags = calloc(total, sizeof(uint32_t));
        if (!flags)
            omp__fatal("out of memory for a doacross loop");
        atomic_store_explicit(&b->doacross, flags, memory_order_relaxed);
        atomic_store_explicit(&b->doacross_init, 2, memory_order_release);
    } else {
        unsigned spins = 0;
        while (atomic_load_explicit(&b->doacross_init, memory_order_acquire) !=
               2)
            backoff(&spins);
    }
}

/* Linear index of an iteration vector, or -1 outside the iteration space
 * (a sink outside it is satisfied by definition). */
static int64_t
da_index(const omp_disp* b, const int64_t* vec)
{
    uint64_t idx = 0;
    for (int i = 0; i < b->da_dims; i++) {
        int64_t d = vec[i] - b->da_lo[i];
        int64_t st = b->da_st[i];
        if ((st > 0 && d < 0) || (st < 0 && d > 0) || d % st != 0)
            return -1;
        uint64_t k = (uint64_t)(d / st);
        if (k >= b->da_n[i])
            return -1;
        idx = idx * b->da_n[i] + k;
    }
    return (int64_t)idx;
}

void
__kmpc_doacross_wait(ident_t* loc, int32_t gtid, const int64_t* vec)
{
    (void)loc;
    omp_task* it = implicit_of(omp__thr(gtid));
    omp_disp* b = it->da;
    if (!b)
        return;
    int64_t i = da_index(b, vec);
    if (i < 0)
        return;
    _Atomic uint32_t* flags = atomic_load(&b->doacross);
    unsigned spins = 0;
    while (!atomic_load_explicit(&flags[i], memory_order_acquire))
        backoff(&spins);
}

void
__kmpc_doacross_post(ident_t* loc, int32_t gtid, const int64_t* vec)
{
    (void)loc;
    omp_task* it = implicit_of(omp__thr(gtid));
    omp_disp* b = it->da;
    if (!b)
        return;
    int64_t i = da_index(b, vec);
    if (i < 0)
        return;
    _Atomic uint32_t* flags = atomic_load(&b->doacross);
    atomic_store_explicit(&flags[i], 1, memory_order_release);
}

void
__kmpc_doacross_fini(ident_t* loc, int32_t gtid)
{
    (void)loc;
    omp_thread* thr = omp__thr(gtid);
    omp_team* team = thr->team;
    omp_task* it = implicit_of(thr);
    omp_disp* b = it->da;
    if (!b)
        return;
    it->da = NULL;
    if (atomic_fetch_add_explicit(&b->done, 1, memory_order_acq_rel) + 1 ==
        team->nproc) {
        free((void*)atomic_load(&b->doacross));
        atomic_store(&b->doacross, NULL);
        atomic_store(&b->doacross_init, 0);
        atomic_store_explicit(&b->done, 0, memory_order_relaxed);
        atomic_store_explicit(&b->next, 0, memory_order_relaxed);
        atomic_store_explicit(&b->ord_next, 0, memory_order_relaxed);
        atomic_fetch_add_explicit(
          &b->gen, (uint32_t)team->disp_n, memory_order_release);
    }
}
