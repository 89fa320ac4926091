/* SPDX-License-Identifier: Apache-2.0 */
/* Prometheus formatting of scheduler statistics: every family present,
 * cumulative histogram with a +Inf bucket equal to _count; thread
 * granules. */
#include <math.h>
#include <string.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "http/metrics.h"
#include "util/alloc.h"

static void
test_format(void** state)
{
    (void)state;
    gr_sched_stats st = {
        .calls = 10,
        .errors = 2,
        .timeouts = 1,
        .rejected = 3,
        .cold_starts = 4,
        .warm_starts = 6,
        .queue_depth = 5,
        .running = 2,
        .slots = 2,
        .faaslets_alive = 7,
        .thread_granules = 3,
        .thread_slots = 2,
        .threads_started = 11,
        .threads_refused = 4,
        .latency_sum_s = 0.25,
    };
    for (int i = 0; i < GR_SCHED_LATENCY_BUCKETS; i++) {
        st.bucket_le[i] = 0.0001 * (double)(1 << i);
        st.bucket_count[i] = (uint64_t)(i < 8 ? i : 10);
    }
    gr_http_counters hc = { .responses = { 0, 0, 12, 0, 3, 1 } };
    char* text = NULL;
    size_t len = 0;
    assert_int_equal(gr_http_metrics_format(&st, &hc, &text, &len), 0);
    assert_int_equal(strlen(text), len);
    const char* want[] = {
        "# TYPE granary_calls_total counter\ngranary_calls_total 10\n",
        "granary_call_errors_total 2\n",
        "granary_call_timeouts_total 1\n",
        "granary_calls_rejected_total 3\n",
        "granary_starts_total{kind=\"cold\"} 4\n",
        "granary_starts_total{kind=\"warm\"} 6\n",
        "# TYPE granary_queue_depth gauge\ngranary_queue_depth 5\n",
        "granary_calls_running 2\n",
        "granary_faaslets_alive 7\n",
        "# TYPE granary_thread_granules gauge\ngranary_thread_granules 3\n",
        "# TYPE granary_thread_slots gauge\ngranary_thread_slots 2\n",
        ("# TYPE granary_thread_granules_total counter\n"
         "granary_thread_granules_total 11\n"),
        "granary_thread_spawns_refused_total 4\n",
        "# TYPE granary_call_duration_seconds histogram\n",
        "granary_call_duration_seconds_bucket{le=\"0.0001\"} 0\n",
        "granary_call_duration_seconds_bucket{le=\"0.0002\"} 1\n",
        "granary_call_duration_seconds_bucket{le=\"+Inf\"} 10\n",
        "granary_call_duration_seconds_sum 0.25\n",
        "granary_call_duration_seconds_count 10\n",
        "granary_http_responses_total{code=\"2xx\"} 12\n",
        "granary_http_responses_total{code=\"5xx\"} 1\n",
    };
    for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
        if (!strstr(text, want[i]))
            fail_msg("missing %s in\n%s", want[i], text);
    }
    /* one +Inf bucket only, and it comes last */
    const char* inf = strstr(text, "le=\"+Inf\"");
    assert_null(strstr(inf + 1, "le=\"+Inf\""));
    assert_null(strstr(inf, "_bucket{le=\"0"));
    gr_free(text);
}

static void
test_inf_bucket_from_sched(void** state)
{
    (void)state;
    gr_sched_stats st = { .calls = 3 };
    st.bucket_le[0] = 0.001;
    st.bucket_count[0] = 1;
    st.bucket_le[1] = INFINITY;
    st.bucket_count[1] = 3;
    char* text = NULL;
    size_t len = 0;
    assert_int_equal(gr_http_metrics_format(&st, NULL, &text, &len), 0);
    assert_non_null(
      strstr(text, "granary_call_duration_seconds_bucket{le=\"+Inf\"} 3\n"));
    const char* inf = strstr(text, "le=\"+Inf\"");
    assert_null(strstr(inf + 1, "le=\"+Inf\""));
    assert_non_null(strstr(text, "granary_call_duration_seconds_count 3\n"));
    assert_null(strstr(text, "granary_http_responses_total"));
    gr_free(text);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format),
        cmocka_unit_test(test_inf_bucket_from_sched),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
