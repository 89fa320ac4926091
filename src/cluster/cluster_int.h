/* SPDX-License-Identifier: Apache-2.0 */
/* Private to src/cluster: conversions between call records and the wire
 * messages, shared by the planner and the worker. */
#ifndef GR_CLUSTER_CLUSTER_INT_H
#define GR_CLUSTER_CLUSTER_INT_H

#include "cluster/cluster.h"
#include "net/net.h"

/* Fills an InvokeResult (borrowing ci's buffers: ci must outlive res). */
void gr__cluster_result_from_info(Granary__InvokeResult* res,
                                  uint64_t call_id,
                                  const gr_call_info* ci,
                                  const char* host);

/* Converts a received InvokeResult into a gr_call_info owning copies
 * (gr__cluster_info_fini). Returns 0 or -ENOMEM. */
int gr__cluster_info_from_result(const Granary__InvokeResult* res,
                                 gr_call_info* ci);
void gr__cluster_info_fini(gr_call_info* ci);

/* A failed outcome with status and no output. */
void gr__cluster_info_failed(gr_call_info* ci, int status, const char* host);

/* Sends an InvokeResult for call_id with only a failure status. */
int gr__cluster_send_failure(gr_peer* p, uint64_t call_id, int status,
                             const char* host);

uint64_t gr__cluster_now(void);

#endif
