/* SPDX-License-Identifier: Apache-2.0 */
/* OpenMP test guest: `omp_constructs <case>` runs one construct and checks
 * its result against a serial computation; prints "ok <case> <value>" and
 * exits 0, or prints "FAIL <case> ..." and exits 1. The value printed does
 * not depend on the number of threads, so runs with 1, 2 and 4 threads,
 * natively (libomp or Granary's runtime) and on Granary, print the same.
 * Built natively (clang -fopenmp) and as a wasm guest (granary-cc -fopenmp).
 */
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N 1000

static int failed;

static void
check(const char* what, long long got, long long want)
{
    if (got != want) {
        printf("FAIL %s: got %lld, want %lld\n", what, got, want);
        failed = 1;
    }
}

/* ---- parallel regions ---- */

static long long
t_parallel(void)
{
    int n = 0, sum = 0, want = omp_get_max_threads();
#pragma omp parallel
    {
#pragma omp atomic
        n++;
#pragma omp atomic
        sum += omp_get_thread_num();
        if (omp_get_num_threads() != want)
            failed = 1;
    }
    check("team size", n, want);
    check("thread numbers", sum, (long long)want * (want - 1) / 2);
    return 1;
}

static long long
t_num_threads(void)
{
    int n3 = 0, n1 = 0;
#pragma omp parallel num_threads(3)
    {
#pragma omp atomic
        n3++;
    }
#pragma omp parallel num_threads(1)
    {
#pragma omp atomic
        n1++;
    }
    check("num_threads(3)", n3, 3);
    check("num_threads(1)", n1, 1);
    return n3 + n1;
}

static long long
t_if(void)
{
    int n = 0, in = -1, lvl = -1;
    int zero = 0;
#pragma omp parallel if (zero) num_threads(4)
    {
#pragma omp atomic
        n++;
        in = omp_in_parallel();
        lvl = omp_get_level();
    }
    check("if(0) team", n, 1);
    check("if(0) in_parallel", in, 0);
    check("if(0) level", lvl, 1);
    return n;
}

static long long
t_nested(void)
{
    int inner = 0, levels = 0;
    omp_set_max_active_levels(2);
#pragma omp parallel num_threads(2)
    {
#pragma omp parallel num_threads(2)
        {
#pragma omp atomic
            inner++;
            if (omp_get_level() == 2 && omp_get_active_level() == 2 &&
                omp_get_ancestor_thread_num(1) >= 0 &&
                omp_get_team_size(1) == 2 && omp_get_team_size(2) == 2) {
#pragma omp atomic
                levels++;
            }
        }
    }
    check("nested threads", inner, 4);
    check("nested levels", levels, 4);
    /* max_active_levels 1: the inner regions are serialized */
    omp_set_max_active_levels(1);
    inner = 0;
#pragma omp parallel num_threads(2)
    {
#pragma omp parallel num_threads(2)
        {
#pragma omp atomic
            inner++;
        }
    }
    check("max_active_levels=1", inner, 2);
    return 4 + inner;
}

static long long
t_many_args(void)
{
    int a0 = 1, a1 = 2, a2 = 3, a3 = 4, a4 = 5, a5 = 6, a6 = 7, a7 = 8;
    int a8 = 9, a9 = 10, b0 = 11, b1 = 12, b2 = 13, b3 = 14, b4 = 15;
    int b5 = 16, b6 = 17, b7 = 18, b8 = 19, b9 = 20;
    long long s = 0;
#pragma omp parallel reduction(+ : s)
    {
        if (omp_get_thread_num() == 0)
            s = a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + b0 + b1 + b2 +
                b3 + b4 + b5 + b6 + b7 + b8 + b9;
    }
    check("20 captured variables", s, 210);
    return s;
}

/* ---- loops ---- */

static long long
serial_sum(long long lo, long long hi, long long st)
{
    long long s = 0;
    if (st > 0)
        for (long long i = lo; i < hi; i += st)
            s += i * 3 + 1;
    else
        for (long long i = lo; i > hi; i += st)
            s += i * 3 + 1;
    return s;
}

#define PRAGMA(x) _Pragma(#x)
#define LOOP_CASE(NAME, SCHED, T, LO, CMP, HI, ST)                             \
    static long long NAME(void)                                                \
    {                                                                          \
        long long s = 0;                                                       \
        PRAGMA(omp parallel for reduction(+ : s) SCHED)                        \
        for (T i = LO; i CMP HI; i += ST)                                      \
            s += (long long)i * 3 + 1;                                         \
        check(#NAME, s, serial_sum(LO, HI, ST));                               \
        return s;                                                              \
    }

LOOP_CASE(t_static, schedule(static), int, -7, <, 993, 1)
LOOP_CASE(t_static_chunk, schedule(static, 7), int, 5, <, 2000, 3)
LOOP_CASE(t_static_neg, schedule(static), int, 1000, >, -1000, -3)
LOOP_CASE(t_static_u, schedule(static, 5), unsigned, 3u, <, 1003u, 2)
LOOP_CASE(t_static8,
          schedule(static),
          long long,
          -5000000000LL,
          <,
          -4999990000LL,
          7)
LOOP_CASE(t_static8u,
          schedule(static),
          unsigned long long,
          5000000000ULL,
          <,
          5000003001ULL,
          3)
LOOP_CASE(t_dynamic, schedule(dynamic, 3), int, 0, <, 1001, 1)
LOOP_CASE(t_dynamic_u, schedule(dynamic), unsigned, 10u, <, 2010u, 4)
LOOP_CASE(t_dynamic8,
          schedule(dynamic, 16),
          long long,
          -3000000000LL,
          <,
          -2999997000LL,
          1)
LOOP_CASE(t_dynamic8u,
          schedule(dynamic, 2),
          unsigned long long,
          4000000000ULL,
          <,
          4000002000ULL,
          5)
LOOP_CASE(t_guided, schedule(guided, 4), int, 0, <, 3000, 1)
LOOP_CASE(t_guided8, schedule(guided), long long, 10, <, 20000, 7)
LOOP_CASE(t_runtime, schedule(runtime), int, 0, <, 1500, 1)
LOOP_CASE(t_auto, schedule(auto), int, -100, <, 900, 1)

static long long
t_nowait_collapse(void)
{
    static int a[40][30];
    long long s = 0;
#pragma omp parallel
    {
#pragma omp for collapse(2) schedule(dynamic, 5) nowait
        for (int i = 0; i < 40; i++)
            for (int j = 0; j < 30; j++)
                a[i][j] = i * 30 + j;
#pragma omp barrier
#pragma omp for reduction(+ : s)
        for (int i = 0; i < 40; i++)
            for (int j = 0; j < 30; j++)
                s += a[i][j];
    }
    check("collapse", s, 1200LL * 1199 / 2);
    return s;
}

static long long
t_ordered(void)
{
    static int order[N];
    int pos = 0;
#pragma omp parallel for ordered schedule(dynamic, 3)
    for (int i = 0; i < N; i++) {
#pragma omp ordered
        order[pos++] = i;
    }
    for (int i = 0; i < N; i++)
        check("ordered", order[i], i);
    pos = 0;
#pragma omp parallel for ordered schedule(static)
    for (int i = 0; i < N; i++) {
        if (i % 3 == 0) {
#pragma omp ordered
            order[pos++] = i;
        }
    }
    check("ordered skipping", pos, (N + 2) / 3);
    for (int i = 0; i < pos; i++)
        check("ordered skipping order", order[i], 3 * i);
    return N + pos;
}

static long long
t_lastprivate(void)
{
    int last = -1;
#pragma omp parallel for lastprivate(last) schedule(guided)
    for (int i = 0; i < 777; i++)
        last = i;
    check("lastprivate", last, 776);
    return last;
}

static long long
t_sections(void)
{
    int a = 0, b = 0, c = 0;
    long long s = 0;
#pragma omp parallel sections reduction(+ : s)
    {
#pragma omp section
        {
            a = 1;
            s += 10;
        }
#pragma omp section
        {
            b = 2;
            s += 20;
        }
#pragma omp section
        {
            c = 3;
            s += 30;
        }
    }
    check("sections", a + b + c, 6);
    check("sections reduction", s, 60);
    return s;
}

/* ---- reductions ---- */

typedef struct pair
{
    long long lo, hi;
} pair;

static pair
pair_combine(pair a, pair b)
{
    pair r = { a.lo < b.lo ? a.lo : b.lo, a.hi > b.hi ? a.hi : b.hi };
    return r;
}

#pragma omp declare reduction(minmax:pair                                      \
                              : omp_out = pair_combine(omp_out, omp_in))       \
  initializer(omp_priv = (pair){ 1LL << 62, -(1LL << 62) })

static long long
t_reduction(void)
{
    long long s = 0, prod = 1;
    double d = 0;
    int mx = -1, mn = 1 << 30, land = 1, lor = 0, bxor = 0;
    pair mm = { 1LL << 62, -(1LL << 62) };
#pragma omp parallel for reduction(+ : s, d) reduction(* : prod)             \
    reduction(max : mx) reduction(min : mn) reduction(&& : land)             \
    reduction(|| : lor) reduction(^ : bxor) reduction(minmax : mm)
    for (int i = 1; i <= N; i++) {
        s += i;
        d += 0.5;
        if (i <= 20)
            prod *= (i % 3) + 1;
        mx = i > mx ? i : mx;
        mn = i < mn ? i : mn;
        land = land && (i > 0);
        lor = lor || (i == 500);
        bxor ^= i;
        pair p = { i * 7 % 1009, i * 7 % 1009 };
        mm = pair_combine(mm, p);
    }
    long long wprod = 1, wxor = 0, wlo = 1LL << 62, whi = -(1LL << 62);
    for (int i = 1; i <= N; i++) {
        long long v = i * 7 % 1009;
        wlo = v < wlo ? v : wlo;
        whi = v > whi ? v : whi;
    }
    for (int i = 1; i <= 20; i++)
        wprod *= (i % 3) + 1;
    for (int i = 1; i <= N; i++)
        wxor ^= i;
    check("sum", s, (long long)N * (N + 1) / 2);
    check("double sum", (long long)(d * 2), N);
    check("product", prod, wprod);
    check("max", mx, N);
    check("min", mn, 1);
    check("and", land, 1);
    check("or", lor, 1);
    check("xor", bxor, wxor);
    check("user minmax lo", mm.lo, wlo);
    check("user minmax hi", mm.hi, whi);
    return s;
}

static long long
t_reduction_nowait(void)
{
    long long a = 0, b = 0;
#pragma omp parallel
    {
#pragma omp for reduction(+ : a) nowait
        for (int i = 0; i < N; i++)
            a += i;
#pragma omp for reduction(+ : b)
        for (int i = 0; i < N; i++)
            b += 2 * i;
    }
    check("nowait reduction", a, (long long)N * (N - 1) / 2);
    check("second reduction", b, (long long)N * (N - 1));
    return a + b;
}

/* ---- synchronisation ---- */

static long long
t_single_master(void)
{
    int singles = 0, masters = 0, masked = 0, copy = 0, bad = 0;
#pragma omp parallel
    {
        for (int k = 0; k < 50; k++) {
            /* atomic here too: the previous iteration's nowait single may
             * still be running on another thread */
#pragma omp single
            {
#pragma omp atomic
                singles++;
            }
#pragma omp single nowait
            {
#pragma omp atomic
                singles++;
            }
#pragma omp master
            masters++;
#pragma omp masked filter(0)
            masked++;
        }
#pragma omp barrier
        int v = 0;
#pragma omp single copyprivate(v)
        v = 42;
        if (v != 42) {
#pragma omp atomic
            bad++;
        }
#pragma omp atomic
        copy += v == 42;
    }
    check("singles", singles, 100);
    check("master", masters, 50);
    check("masked", masked, 50);
    check("copyprivate", bad, 0);
    return singles + masters + masked;
}

static long long
t_critical_barrier(void)
{
    long long a = 0, b = 0;
    int phase_err = 0;
    static int stage[64];
#pragma omp parallel
    {
        int me = omp_get_thread_num(), nt = omp_get_num_threads();
        for (int i = 0; i < 500; i++) {
#pragma omp critical
            a += 1;
#pragma omp critical(other)
            b += 2;
        }
        for (int r = 1; r <= 20; r++) {
            stage[me] = r;
#pragma omp barrier
            for (int t = 0; t < nt; t++)
                if (stage[t] != r) {
#pragma omp atomic
                    phase_err++;
                }
#pragma omp barrier
        }
#pragma omp flush
    }
    int nt = omp_get_max_threads();
    check("critical", a, 500LL * nt);
    check("named critical", b, 1000LL * nt);
    check("barrier phases", phase_err, 0);
    return 1;
}

static long long
t_atomic(void)
{
    long long x = 0;
    double f = 0;
    int cap = 0;
#pragma omp parallel for
    for (int i = 0; i < N; i++) {
#pragma omp atomic
        x += i;
#pragma omp atomic update
        f += 1.0;
        int old;
#pragma omp atomic capture
        old = cap++;
        (void)old;
    }
    check("atomic", x, (long long)N * (N - 1) / 2);
    check("atomic double", (long long)f, N);
    check("atomic capture", cap, N);
    return x;
}

static long long
t_locks(void)
{
    omp_lock_t l;
    omp_nest_lock_t nl;
    omp_lock_t hl;
    long long a = 0, b = 0, c = 0;
    int tested = 0;
    omp_init_lock(&l);
    omp_init_nest_lock(&nl);
    omp_init_lock_with_hint(&hl, omp_sync_hint_contended);
#pragma omp parallel
    {
        for (int i = 0; i < 300; i++) {
            omp_set_lock(&l);
            a++;
            omp_unset_lock(&l);
            omp_set_nest_lock(&nl);
            omp_set_nest_lock(&nl);
            b++;
            omp_unset_nest_lock(&nl);
            omp_unset_nest_lock(&nl);
            while (!omp_test_lock(&hl))
                ;
            c++;
            omp_unset_lock(&hl);
        }
        if (omp_test_nest_lock(&nl)) {
            int depth = omp_test_nest_lock(&nl);
            if (depth == 2) {
#pragma omp atomic
                tested++;
            }
            omp_unset_nest_lock(&nl);
            omp_unset_nest_lock(&nl);
        } else {
#pragma omp atomic
            tested++;
        }
    }
    omp_destroy_lock(&l);
    omp_destroy_nest_lock(&nl);
    omp_destroy_lock(&hl);
    int nt = omp_get_max_threads();
    check("simple lock", a, 300LL * nt);
    check("nested lock", b, 300LL * nt);
    check("hinted lock", c, 300LL * nt);
    check("test_nest_lock", tested, nt);
    return 300;
}

/* ---- tasks ---- */

static long long
fib(int n)
{
    if (n < 2)
        return n;
    long long x, y;
#pragma omp task shared(x) if (n > 12)
    x = fib(n - 1);
#pragma omp task shared(y) untied
    y = fib(n - 2);
#pragma omp taskwait
    return x + y;
}

static long long
t_tasks(void)
{
    long long f = 0;
    int count = 0, grouped = 0, yielded = 0;
#pragma omp parallel
    {
#pragma omp single
        f = fib(20);
#pragma omp single
        {
            for (int i = 0; i < 200; i++) {
#pragma omp task
                {
#pragma omp atomic
                    count++;
                }
            }
#pragma omp taskwait
            if (count != 200)
                failed = 1;
#pragma omp taskgroup
            {
                for (int i = 0; i < 50; i++) {
#pragma omp task
                    {
#pragma omp task
                        {
#pragma omp atomic
                            grouped++;
                        }
#pragma omp atomic
                        grouped++;
                    }
                }
            }
            if (grouped != 100)
                failed = 1;
            for (int i = 0; i < 20; i++) {
#pragma omp task
                {
#pragma omp taskyield
#pragma omp atomic
                    yielded++;
                }
            }
        }
    }
    int final_ok = 0;
#pragma omp parallel
#pragma omp single
#pragma omp task final(1)
    {
#pragma omp task
        final_ok = omp_in_final();
    }
    check("fib", f, 6765);
    check("tasks", count, 200);
    check("taskgroup", grouped, 100);
    check("taskyield", yielded, 20);
    check("final", final_ok, 1);
    return f;
}

/* Task queues and task blocks: one thread makes many tasks of several
 * sizes (small, medium, over 2 KiB) that others steal and finish, tasks
 * make tasks. */
typedef struct payload
{
    int v[600];
} payload;

static long long
t_task_queue(void)
{
    long long sum = 0, chain = 0;
    payload big;
    for (int i = 0; i < 600; i++)
        big.v[i] = i;
#pragma omp parallel
#pragma omp single
    {
        for (int i = 0; i < 3000; i++) {
            int small = i;
            if (i % 3 == 0) {
#pragma omp task firstprivate(small) shared(sum)
                {
#pragma omp atomic
                    sum += small;
                }
            } else if (i % 3 == 1) {
                long long mid[20];
                for (int k = 0; k < 20; k++)
                    mid[k] = i + k;
#pragma omp task firstprivate(mid) shared(sum)
                {
                    long long m = 0;
                    for (int k = 0; k < 20; k++)
                        m += mid[k] - k;
#pragma omp atomic
                    sum += m / 20;
                }
            } else {
                big.v[0] = i;
#pragma omp task firstprivate(big) shared(sum)
                {
#pragma omp atomic
                    sum += big.v[0] + big.v[599] - 599;
                }
            }
        }
        for (int i = 0; i < 40; i++) {
#pragma omp task shared(chain)
            for (int k = 0; k < 40; k++) {
#pragma omp task shared(chain)
                {
#pragma omp atomic
                    chain++;
                }
            }
        }
#pragma omp taskwait
    }
    check("task_queue sum", sum, 3000LL * 2999 / 2);
    check("task_queue chain", chain, 1600);
    return sum + chain;
}

static long long
t_depend(void)
{
    int a = 0, b = 0, c = 0, bad = 0;
    static int seq[64];
    int nseq = 0;
#pragma omp parallel
#pragma omp single
    {
        for (int r = 0; r < 20; r++) {
#pragma omp task depend(out : a)
            a = r + 1;
#pragma omp task depend(in : a) depend(out : b)
            b = a * 2;
#pragma omp task depend(in : a) depend(out : c)
            c = a * 3;
#pragma omp task depend(in : b, c) depend(inout : a)
            {
                if (b != 2 * (r + 1) || c != 3 * (r + 1))
                    bad++;
                a = 0;
            }
        }
        for (int i = 0; i < 32; i++) {
#pragma omp task depend(inout : nseq)
            seq[nseq++] = i;
        }
#pragma omp task depend(mutexinoutset : c)
        c += 1;
#pragma omp task depend(mutexinoutset : c)
        c += 1;
#pragma omp taskwait depend(in : c)
        if (c != 62)
            bad++;
#pragma omp task if (0) depend(inout : b)
        b = -1;
        if (b != -1)
            bad++;
#pragma omp taskwait
    }
    for (int i = 0; i < 32; i++)
        check("inout chain", seq[i], i);
    check("depend", bad, 0);
    return a + b + c;
}

static long long
t_taskloop(void)
{
    long long s = 0, g = 0;
#pragma omp parallel
#pragma omp single
    {
#pragma omp taskloop reduction(+ : s) grainsize(10)
        for (int i = 0; i < N; i++)
            s += i;
#pragma omp taskloop num_tasks(7) shared(g)
        for (int i = 0; i < N; i++) {
#pragma omp atomic
            g += i;
        }
    }
    check("taskloop reduction", s, (long long)N * (N - 1) / 2);
    check("taskloop num_tasks", g, (long long)N * (N - 1) / 2);
    return s;
}

/* ---- threadprivate and copyin ---- */

static int tp = 7;
#pragma omp threadprivate(tp)

static long long
t_threadprivate(void)
{
    int sum = 0, bad = 0;
    tp = 11;
#pragma omp parallel copyin(tp) reduction(+ : sum)
    {
        if (tp != 11)
            bad = 1;
        tp = 100 + omp_get_thread_num();
        sum += tp;
    }
    int nt = omp_get_max_threads();
    check("copyin", bad, 0);
    check("threadprivate", sum, 100LL * nt + (long long)nt * (nt - 1) / 2);
    /* values persist between regions of the same team size */
    int persist = 0;
#pragma omp parallel reduction(+ : persist)
    persist += tp == 100 + omp_get_thread_num();
    check("threadprivate persists", persist, nt);
    return 1;
}

/* ---- ICVs and timing ---- */

static long long
t_icv(void)
{
    omp_sched_t k;
    int chunk;
    const char* env = getenv("OMP_SCHEDULE");
    omp_get_schedule(&k, &chunk);
    if (env && !strcmp(env, "dynamic,7")) {
        check("OMP_SCHEDULE kind", k & ~omp_sched_monotonic, omp_sched_dynamic);
        check("OMP_SCHEDULE chunk", chunk, 7);
    }
    omp_set_schedule(omp_sched_guided, 5);
    omp_get_schedule(&k, &chunk);
    check("set_schedule kind", k, omp_sched_guided);
    check("set_schedule chunk", chunk, 5);
    omp_set_dynamic(1);
    int dyn = omp_get_dynamic();
    omp_set_dynamic(0);
    check("dynamic", dyn == 0 || dyn == 1, 1);
    omp_set_nested(1);
    check("nested", omp_get_nested(), 1);
    check("max levels", omp_get_max_active_levels() > 1, 1);
    omp_set_nested(0);
    check("not nested", omp_get_max_active_levels(), 1);
    int before = omp_get_max_threads();
    omp_set_num_threads(3);
    check("set_num_threads", omp_get_max_threads(), 3);
    omp_set_num_threads(before);
    double t0 = omp_get_wtime(), tick = omp_get_wtick();
    volatile double x = 0;
    for (int i = 0; i < 1000000; i++)
        x += i;
    double t1 = omp_get_wtime();
    check("wtime monotonic", t1 >= t0 && x > 0, 1);
    check("wtick", tick > 0 && tick < 0.01, 1);
    check("thread_limit", omp_get_thread_limit() >= 1, 1);
    check("num_procs", omp_get_num_procs() >= 1, 1);
    return 1;
}

typedef struct tcase
{
    const char* name;
    long long (*fn)(void);
} tcase;

static const tcase cases[] = {
    { "parallel", t_parallel },
    { "num_threads", t_num_threads },
    { "if", t_if },
    { "nested", t_nested },
    { "many_args", t_many_args },
    { "static", t_static },
    { "static_chunk", t_static_chunk },
    { "static_neg", t_static_neg },
    { "static_u", t_static_u },
    { "static8", t_static8 },
    { "static8u", t_static8u },
    { "dynamic", t_dynamic },
    { "dynamic_u", t_dynamic_u },
    { "dynamic8", t_dynamic8 },
    { "dynamic8u", t_dynamic8u },
    { "guided", t_guided },
    { "guided8", t_guided8 },
    { "runtime", t_runtime },
    { "auto", t_auto },
    { "collapse", t_nowait_collapse },
    { "ordered", t_ordered },
    { "lastprivate", t_lastprivate },
    { "sections", t_sections },
    { "reduction", t_reduction },
    { "reduction_nowait", t_reduction_nowait },
    { "single_master", t_single_master },
    { "critical_barrier", t_critical_barrier },
    { "atomic", t_atomic },
    { "locks", t_locks },
    { "tasks", t_tasks },
    { "task_queue", t_task_queue },
    { "depend", t_depend },
    { "taskloop", t_taskloop },
    { "threadprivate", t_threadprivate },
    { "icv", t_icv },
};

int
main(int argc, char** argv)
{
    int ran = 0;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        if (argc > 1 && strcmp(argv[1], "all") &&
            strcmp(argv[1], cases[i].name))
            continue;
        failed = 0;
        long long v = cases[i].fn();
        ran++;
        if (failed) {
            printf("FAIL %s\n", cases[i].name);
            return 1;
        }
        printf("ok %s %lld\n", cases[i].name, v);
    }
    if (!ran) {
        printf("FAIL unknown case %s\n", argc > 1 ? argv[1] : "");
        return 2;
    }
    return 0;
}
