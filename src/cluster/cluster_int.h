/* SPDX-License-Identifier: Apache-2.0 */
/* Private to src/cluster: conversions between call records and the wire
 * messages, shared by the planner and the worker. */
#ifndef GR_CLUSTER_CLUSTER_INT_H
#define GR_CLUSTER_CLUSTER_INT_H

#include <pthread.h>

#include "cluster/cluster.h"
#include "net/net.h"
#include "util/time.h"

/* One task: fn(k) runs on a task thread; k is the caller's storage (embed
 * it first in a larger struct), untouched by the pool once fn starts. */
typedef struct gr__cluster_task
{
    void (*fn)(struct gr__cluster_task* k);
    struct gr__cluster_task* next;
} gr__cluster_task;

/* A cache of task threads (tasks.c): every task starts at once, on an
 * idle thread or a new one; idle threads exit after a while. All fields
 * under lock. */
typedef struct gr__cluster_tasks
{
    pthread_mutex_t lock;
    pthread_cond_t work; /* a task was queued, or stopping */
    pthread_cond_t done; /* a thread exited */
    gr__cluster_task *head, *tail;
    size_t queued;  /* tasks not yet taken by a thread */
    size_t idle;    /* threads waiting for a task */
    size_t threads; /* threads alive */
    int stopping;
} gr__cluster_tasks;

void gr__cluster_tasks_init(gr__cluster_tasks* t);
/* Runs k->fn(k) on a task thread. Returns 0, -ESHUTDOWN (after fini
 * started) or -EAGAIN (no thread); k->fn is not called then. */
int gr__cluster_tasks_run(gr__cluster_tasks* t, gr__cluster_task* k);
/* Runs the queued tasks, waits for every task to finish and for every
 * thread to exit. Not from a task. */
void gr__cluster_tasks_fini(gr__cluster_tasks* t);

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

/* Handles one Invoke (msg, borrowed) from peer on a task thread. */
typedef void (*gr__cluster_invoke_fn)(void* ctx,
                                      gr_peer* peer,
                                      const Granary__Envelope* msg);

/* Takes ownership of msg (an Invoke) and runs fn on a task thread with a
 * reference to peer; if it cannot, answers the Invoke with the error as
 * an InvokeResult from host. Frees msg either way. */
void gr__cluster_invoke_async(gr__cluster_tasks* t,
                              gr__cluster_invoke_fn fn,
                              void* ctx,
                              gr_peer* peer,
                              Granary__Envelope* msg,
                              const char* host);

/* Answers call_id with an InvokeResult: the failure rc, or (rc == 0) the
 * outcome ci with its timings. host names where it ran. */
int gr__cluster_send_outcome(gr_peer* p,
                             uint64_t call_id,
                             int rc,
                             const gr_call_info* ci,
                             const char* host);

/* Sends call d to p as a one-way Invoke from origin (a host id). */
int gr__cluster_send_invoke(gr_peer* p,
                            const gr_remote_call* d,
                            const char* origin);

/* Answers a Ping with a Pong (a reply to a request, else one-way). */
void gr__cluster_pong(gr_peer* p, const Granary__Envelope* m);

/* Logs a message of a type who (the planner, a worker) does not expect,
 * and answers a request with Error -ENOTSUP. */
void gr__cluster_unexpected(gr_peer* p,
                            const Granary__Envelope* m,
                            const char* who);

/* Sends an InvokeResult for call_id with only a failure status. */
int gr__cluster_send_failure(gr_peer* p,
                             uint64_t call_id,
                             int status,
                             const char* host);

/* ---- MPI apps (mpi_plan.c) ---------------------------------------------- */

/* One host's part of an MPI app, as the planner saw it end. */
typedef struct gr__cluster_mpi_part
{
    char host[64];
    int lost;               /* the host died (or never answered) */
    char why[160];          /* then: what the app's error says */
    const gr_call_info* ci; /* its outcome (output: its ranks' document) */
} gr__cluster_mpi_part;

/* The whole app's outcome from its parts (host index = part index): one
 * document with every rank, stdout and stderr in rank order, the
 * deciding part's state, status and exit status. out owns its buffers
 * (gr__cluster_info_fini). Returns 0 or -ENOMEM (out then says so). */
int gr__cluster_mpi_merge(int np,
                          const int* rank_host,
                          const gr__cluster_mpi_part* parts,
                          int nparts,
                          gr_call_info* out);

/* The ranks of host in rank_host[0..np) as text ("0-1,4"). */
void gr__cluster_mpi_ranks_text(const int* rank_host,
                                int np,
                                int host,
                                char* buf,
                                size_t len);

#endif
