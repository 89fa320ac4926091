/* SPDX-License-Identifier: Apache-2.0 */
/* GET /metrics: the scheduler's statistics and the HTTP layer's counters in
 * the Prometheus text exposition format (version 0.0.4). Pure formatting. */
#ifndef GR_HTTP_METRICS_H
#define GR_HTTP_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "sched/sched.h"

/* Responses sent, by status class: index 1 = 1xx ... 5 = 5xx. */
typedef struct gr_http_counters
{
    uint64_t responses[6];
} gr_http_counters;

/* Formats st and hc (hc may be NULL). *out is a new NUL-terminated buffer
 * owned by the caller (gr_free), *len its length. Returns 0 or -ENOMEM. */
int gr_http_metrics_format(const gr_sched_stats* st,
                           const gr_http_counters* hc,
                           char** out,
                           size_t* len);

#endif
