/* SPDX-License-Identifier: Apache-2.0 */
/* Prometheus text formatting of the scheduler's statistics (metrics.h). */
#include "http/metrics.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>

#include "util/alloc.h"

typedef struct textbuf
{
    char* p;
    size_t len, cap;
    int oom;
} textbuf;

static void put(textbuf* b, const char* fmt, ...)
  __attribute__((format(printf, 2, 3)));

static void
put(textbuf* b, const char* fmt, ...)
{
    if (b->oom)
        return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->oom = 1;
            return;
        }
        if ((size_t)n < b->cap - b->len) {
            b->len += (size_t)n;
            return;
        }
        size_t ncap = b->cap * 2 + (size_t)n + 1;
        char* np = gr_realloc(b->p, ncap);
        if (!np) {
            b->oom = 1;
            return;
        }
        b->p = np;
        b->cap = ncap;
    }
}

static void
metric(textbuf* b,
       const char* name,
       const char* type,
       const char* help,
       uint64_t v)
{
    put(b,
        "# HELP %s %s\n# TYPE %s %s\n%s %llu\n",
        name,
        help,
        name,
        type,
        name,
        (unsigned long long)v);
}

int
gr_http_metrics_format(const gr_sched_stats* st,
                       const gr_http_counters* hc,
                       char** out,
                       size_t* len)
{
    textbuf b = { .cap = 4096 };
    b.p = gr_malloc(b.cap);
    if (!b.p)
        return -ENOMEM;
    b.p[0] = '\0';
    metric(&b, "granary_calls_total", "counter", "Calls finished.", st->calls);
    metric(&b,
           "granary_call_errors_total",
           "counter",
           "Calls that failed (trap, timeout, could not run).",
           st->errors);
    metric(&b,
           "granary_call_timeouts_total",
           "counter",
           "Calls that ran past their deadline.",
           st->timeouts);
    metric(&b,
           "granary_calls_rejected_total",
           "counter",
           "Calls refused because the queue was full.",
           st->rejected);
    put(&b,
        "# HELP granary_starts_total Faaslet starts by kind.\n"
        "# TYPE granary_starts_total counter\n"
        "granary_starts_total{kind=\"cold\"} %llu\n"
        "granary_starts_total{kind=\"warm\"} %llu\n",
        (unsigned long long)st->cold_starts,
        (unsigned long long)st->warm_starts);
    metric(&b,
           "granary_queue_depth",
           "gauge",
           "Calls waiting for a slot.",
           st->queue_depth);
    metric(
      &b, "granary_calls_running", "gauge", "Calls running now.", st->running);
    metric(&b, "granary_slots", "gauge", "Executor slots.", st->slots);
    metric(&b,
           "granary_faaslets_alive",
           "gauge",
           "Faaslets alive (running or warm).",
           st->faaslets_alive);
    metric(&b,
           "granary_thread_granules",
           "gauge",
           "Guest threads of calls running now (thread granules; a call's "
           "main thread not counted).",
           st->thread_granules);
    metric(&b,
           "granary_thread_slots",
           "gauge",
           "Executor slots held by thread granules (and granted to calls "
           "for them).",
           st->thread_slots);
    metric(&b,
           "granary_thread_granules_total",
           "counter",
           "Thread granules started.",
           st->threads_started);
    metric(&b,
           "granary_thread_spawns_refused_total",
           "counter",
           "Thread spawns refused because no slot was free.",
           st->threads_refused);

    /* Histogram. The scheduler's counts are cumulative already; Prometheus
     * wants a final +Inf bucket equal to _count. */
    const char* h = "granary_call_duration_seconds";
    put(&b,
        "# HELP %s Call latency from queueing to finish.\n"
        "# TYPE %s histogram\n",
        h,
        h);
    uint64_t count = 0;
    int have_inf = 0;
    for (int i = 0; i < GR_SCHED_LATENCY_BUCKETS; i++) {
        double le = st->bucket_le[i];
        uint64_t c = st->bucket_count[i];
        if (le <= 0 && c == 0 && i > 0)
            break; /* unused trailing buckets */
        if (c > count)
            count = c;
        if (isinf(le)) {
            put(&b, "%s_bucket{le=\"+Inf\"} %llu\n", h, (unsigned long long)c);
            have_inf = 1;
            break;
        }
        put(&b, "%s_bucket{le=\"%g\"} %llu\n", h, le, (unsigned long long)c);
    }
    if (!have_inf)
        put(&b, "%s_bucket{le=\"+Inf\"} %llu\n", h, (unsigned long long)count);
    put(&b,
        "%s_sum %.9g\n%s_count %llu\n",
        h,
        st->latency_sum_s,
        h,
        (unsigned long long)count);

    if (hc) {
        put(&b,
            "# HELP granary_http_responses_total HTTP responses by "
            "status class.\n"
            "# TYPE granary_http_responses_total counter\n");
        for (int i = 1; i <= 5; i++)
            put(&b,
                "granary_http_responses_total{code=\"%dxx\"} %llu\n",
                i,
                (unsigned long long)hc->responses[i]);
    }
    if (b.oom) {
        gr_free(b.p);
        return -ENOMEM;
    }
    *out = b.p;
    *len = b.len;
    return 0;
}
