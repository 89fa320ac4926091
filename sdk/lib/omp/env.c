/* SPDX-License-Identifier: Apache-2.0 */
/* The OpenMP runtime's initial ICVs, read once from the program's own
 * environment (OMP_NUM_THREADS, OMP_SCHEDULE, OMP_DYNAMIC, OMP_NESTED,
 * OMP_MAX_ACTIVE_LEVELS, OMP_THREAD_LIMIT, OMP_WAIT_POLICY, OMP_STACKSIZE,
 * ... and a few KMP_* settings), and the default team size: the threads the
 * host lets this call run at once.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "omp_int.h"

omp_globals omp__g;
static _Atomic uint32_t init_lock;
static _Atomic int init_done;

#define OMP_SUPPORTED_LEVELS 255

#ifdef __wasm__
__attribute__((import_module("granary"), import_name("thread_limit"))) int32_t
granary_thread_limit(void);
#endif

/* The number of threads the program may run at once: on Granary what the
 * host gave the call, natively the online processors. */
static int
host_threads(void)
{
#ifdef __wasm__
    int n = granary_thread_limit();
#else
    long n = sysconf(_SC_NPROCESSORS_ONLN);
#endif
    return n > 0 ? (int)n : 1;
}

static int
parse_bool(const char* s, int dflt)
{
    if (!s)
        return dflt;
    while (isspace((unsigned char)*s))
        s++;
    if (!strncasecmp(s, "true", 4) || !strncasecmp(s, "yes", 3) ||
        !strncasecmp(s, "on", 2) || *s == '1')
        return 1;
    if (!strncasecmp(s, "false", 5) || !strncasecmp(s, "no", 2) ||
        !strncasecmp(s, "off", 3) || *s == '0')
        return 0;
    return dflt;
}

static int
parse_int(const char* s, int dflt)
{
    if (!s)
        return dflt;
    char* end;
    long v = strtol(s, &end, 10);
    if (end == s)
        return dflt;
    return (int)v;
}

static size_t
parse_size(const char* s)
{
    if (!s)
        return 0;
    char* end;
    unsigned long long v = strtoull(s, &end, 10);
    if (end == s)
        return 0;
    while (isspace((unsigned char)*end))
        end++;
    switch (tolower((unsigned char)*end)) {
        case 'b':
            break;
        case 'm':
            v <<= 20;
            break;
        case 'g':
            v <<= 30;
            break;
        case 'k':
        default:
            v <<= 10; /* OMP_STACKSIZE without a unit is in kilobytes */
            break;
    }
    return (size_t)v;
}

/* OMP_SCHEDULE: [monotonic:|nonmonotonic:]kind[,chunk]. */
static void
parse_schedule(const char* s, omp_icv* icv)
{
    if (!s)
        return;
    int mono = 0;
    while (isspace((unsigned char)*s))
        s++;
    if (!strncasecmp(s, "monotonic:", 10)) {
        mono = 1;
        s += 10;
    } else if (!strncasecmp(s, "nonmonotonic:", 13)) {
        s += 13;
    }
    int kind;
    if (!strncasecmp(s, "static_steal", 12))
        kind = OMP_SCHED_STATIC_STEAL;
    else if (!strncasecmp(s, "static", 6))
        kind = omp_sched_static;
    else if (!strncasecmp(s, "dynamic", 7))
        kind = omp_sched_dynamic;
    else if (!strncasecmp(s, "guided", 6))
        kind = omp_sched_guided;
    else if (!strncasecmp(s, "auto", 4))
        kind = omp_sched_auto;
    else if (!strncasecmp(s, "trapezoidal", 11))
        kind = OMP_SCHED_TRAPEZOIDAL;
    else
        return;
    icv->sched = kind | (mono ? (int)omp_sched_monotonic : 0);
    icv->chunk = 0;
    const char* c = strchr(s, ',');
    if (c) {
        int v = parse_int(c + 1, 0);
        icv->chunk = v > 0 ? v : 0;
    }
}

static void
init_now(void)
{
    omp_globals* g = &omp__g;
    g->num_procs = host_threads();
    g->thread_limit = OMP_MAX_THREADS - 1;
    int tl = parse_int(getenv("OMP_THREAD_LIMIT"), 0);
    if (tl > 0 && tl < g->thread_limit)
        g->thread_limit = tl;
    g->icv.nthreads = g->num_procs;
    g->icv.dynamic = parse_bool(getenv("OMP_DYNAMIC"), 0);
    g->icv.max_active_levels = 1;
    g->icv.sched = omp_sched_static;
    g->icv.chunk = 0;
    const char* nt = getenv("OMP_NUM_THREADS");
    if (nt) {
        const char* p = nt;
        while (*p && g->nthreads_len < 16) {
            char* end;
            long v = strtol(p, &end, 10);
            if (end == p || v <= 0)
                break;
            g->nthreads_list[g->nthreads_len++] = (int)v;
            p = end;
            while (*p == ',' || isspace((unsigned char)*p))
                p++;
        }
        if (g->nthreads_len > 0)
            g->icv.nthreads = g->nthreads_list[0];
        if (g->nthreads_len > 1)
            g->icv.max_active_levels = g->nthreads_len;
    }
    if (g->icv.nthreads > g->thread_limit)
        g->icv.nthreads = g->thread_limit;
    if (parse_bool(getenv("OMP_NESTED"), 0))
        g->icv.max_active_levels = OMP_SUPPORTED_LEVELS;
    else if (getenv("OMP_NESTED"))
        g->icv.max_active_levels = 1;
    int mal = parse_int(getenv("OMP_MAX_ACTIVE_LEVELS"), -1);
    if (mal >= 0)
        g->icv.max_active_levels =
          mal > OMP_SUPPORTED_LEVELS ? OMP_SUPPORTED_LEVELS : mal;
    parse_schedule(getenv("OMP_SCHEDULE"), &g->icv);
    /* Spin 2 ms before sleeping: measured on a loaded 2-core host, 200 us
     * made back-to-back regions fall into sleep/wake chains costing
     * hundreds of microseconds each; libomp spins 200 ms. */
    g->blocktime_us = 2000;
    const char* wp = getenv("OMP_WAIT_POLICY");
    if (wp && !strcasecmp(wp, "passive"))
        g->blocktime_us = 0;
    else if (wp && !strcasecmp(wp, "active"))
        g->blocktime_us = OMP_BLOCKTIME_INFINITE;
    const char* bt = getenv("KMP_BLOCKTIME");
    if (bt) {
        if (!strcasecmp(bt, "infinite"))
            g->blocktime_us = OMP_BLOCKTIME_INFINITE;
        else
            g->blocktime_us = parse_int(bt, 2) * 1000;
    }
    g->max_task_prio = parse_int(getenv("OMP_MAX_TASK_PRIORITY"), 0);
    if (g->max_task_prio < 0)
        g->max_task_prio = 0;
    g->cancellation = parse_bool(getenv("OMP_CANCELLATION"), 0);
    g->disp_buffers = parse_int(getenv("KMP_DISP_NUM_BUFFERS"), 7);
    if (g->disp_buffers < 1 || g->disp_buffers > 4096)
        g->disp_buffers = 7;
    const char* fr = getenv("KMP_FORCE_REDUCTION");
    if (fr && !strcasecmp(fr, "critical"))
        g->force_reduce = 1;
    else if (fr && !strcasecmp(fr, "atomic"))
        g->force_reduce = 2;
    g->stacksize = parse_size(getenv("OMP_STACKSIZE"));
    if (!g->stacksize)
        g->stacksize = parse_size(getenv("KMP_STACKSIZE"));
    g->taskloop_min = parse_int(getenv("KMP_TASKLOOP_MIN_TASKS"), 0);
    g->throttle = parse_bool(getenv("KMP_ENABLE_TASK_THROTTLING"), 1) ? 256 : 0;
    omp__set_target_offload(getenv("OMP_TARGET_OFFLOAD"));
    g->initialized = 1;
}

void
omp__set_target_offload(const char* v)
{
    if (!v)
        omp__g.target_offload = 1;
    else if (!strcasecmp(v, "disabled"))
        omp__g.target_offload = 0;
    else if (!strcasecmp(v, "mandatory"))
        omp__g.target_offload = 2;
    else
        omp__g.target_offload = 1;
}

void
omp__init(void)
{
    if (atomic_load_explicit(&init_done, memory_order_acquire))
        return;
    omp__mutex_lock(&init_lock);
    if (!atomic_load_explicit(&init_done, memory_order_relaxed)) {
        init_now();
        atomic_store_explicit(&init_done, 1, memory_order_release);
    }
    omp__mutex_unlock(&init_lock);
}

int
omp__supported_levels(void)
{
    return OMP_SUPPORTED_LEVELS;
}
