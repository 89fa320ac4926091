/* SPDX-License-Identifier: Apache-2.0 */
/* Multi-host Granary (docs/cluster.md): the planner (host registry fed by
 * Hello/Heartbeat, pluggable placement policies, remote execution of calls
 * over gr_net, failure detection) and the worker (local executor slots
 * behind a connection to the planner, modules fetched by content hash).
 * Both plug into gr_sched through gr_placement and gr_remote. */
#ifndef GR_CLUSTER_CLUSTER_H
#define GR_CLUSTER_CLUSTER_H

#include <stddef.h>
#include <stdint.h>

#include "sched/sched.h"

/* ---- placement policies ------------------------------------------------- */

/* What a policy sees of one live host when placing one call. */
typedef struct gr_cluster_view
{
    const char* id;
    uint32_t slots;
    uint32_t used;      /* calls placed there and not finished */
    uint32_t warm_idle; /* idle Faaslets of this function there */
    int near;           /* runs other granules of the same app (the caller
                           of a chained call) */
    uint64_t order;     /* registration order: lower joined earlier */
} gr_cluster_view;

/* A placement policy: picks one of n >= 1 hosts for a call, returning its
 * index. Must be pure (no locks, no I/O): it runs under the planner lock.
 * Hosts may be full (used >= slots); the worker then queues the call. */
typedef struct gr_cluster_policy
{
    const char* name;
    const char* summary;
    size_t (*choose)(const gr_cluster_view* v, size_t n);
} gr_cluster_policy;

/* Places the np ranks of an MPI world on n hosts, all or nothing:
 * counts[i] ranks go to v[i]. Only free slots (slots - used) count.
 * Bin-pack (spread 0) fills the earliest-joined host before the next, so
 * ranks stay together; spread puts each rank on the host with the most
 * free slots left (ties: joined earlier). Returns 0, or -ENOSPC when the
 * hosts have fewer free slots than np (counts all 0). Pure. */
int gr_cluster_mpi_place(const gr_cluster_view* v,
                         size_t n,
                         int np,
                         int spread,
                         int* counts);

/* "binpack" (the default) or "spread"; NULL if unknown. */
const gr_cluster_policy* gr_cluster_policy_find(const char* name);
/* The built-in policies, NULL-terminated. */
extern const gr_cluster_policy* const gr_cluster_policies[];

/* ---- planner ------------------------------------------------------------ */

typedef struct gr_planner gr_planner;

typedef struct gr_planner_config
{
    const char* listen; /* cluster address; NULL = "0.0.0.0:7070" */
    const gr_cluster_policy* policy; /* NULL = binpack */
    const char* id;              /* planner id in Welcome; NULL = "planner" */
    int heartbeat_ms;            /* asked of workers; 0 = 500 */
    int dead_ms;                 /* drop a host silent this long; 0 = 2000 */
    uint64_t grace_ns;           /* past a call's timeout before it is failed
                                    here; 0 = 5 s */
    uint64_t default_timeout_ns; /* a call's timeout when unset; 0 = 60 s */
} gr_planner_config;

/* Creates a planner (not yet listening). Its placement and remote hooks
 * go into the gr_sched_config of the planner's scheduler; then
 * gr_planner_start. Errors: -EINVAL, -ENOMEM. */
int gr_planner_create(const gr_planner_config* cfg, gr_planner** out);
/* Borrowed, valid while p lives. */
const gr_placement* gr_planner_placement(gr_planner* p);
const gr_remote* gr_planner_remote(gr_planner* p);
/* Starts listening for workers; s (borrowed) must outlive the planner's
 * stop. Errors: as gr_server_start, -EAGAIN (no thread). */
int gr_planner_start(gr_planner* p, gr_sched* s);
/* The bound cluster port. */
int gr_planner_port(const gr_planner* p);
/* Stops the listener, fails calls in flight with -ESHUTDOWN, frees p.
 * Call before destroying the scheduler. NULL is a no-op. */
void gr_planner_destroy(gr_planner* p);

/* ---- worker ------------------------------------------------------------- */

typedef struct gr_worker gr_worker;

typedef struct gr_worker_config
{
    const char* planner;  /* "host:port" of the planner's cluster address */
    const char* id;       /* host id; NULL = the hostname */
    uint32_t slots;       /* announced; should equal the scheduler's */
    int heartbeat_ms;     /* 0 = 500 */
    int fetch_timeout_ms; /* FetchModule; 0 = 30000 */
    /* MPI: this host's listener for the ranks of other hosts (borrowed;
     * NULL = no MPI apps here) and its port, announced in Hello (other
     * hosts connect to the address the planner sees this worker at). */
    struct gr_mpi_net* mpi_net;
    int mpi_port;
} gr_worker_config;

/* Creates a worker (not yet connected); put its placement and remote
 * hooks into the worker's gr_sched_config, then gr_worker_start. */
int gr_worker_create(const gr_worker_config* cfg, gr_worker** out);
const gr_placement* gr_worker_placement(gr_worker* w);
const gr_remote* gr_worker_remote(gr_worker* w);
/* Dials the planner (reconnecting forever) and starts heartbeats. */
int gr_worker_start(gr_worker* w, gr_sched* s);
/* Waits until registered with the planner: 0 or -ETIMEDOUT. */
int gr_worker_wait_registered(gr_worker* w, int timeout_ms);
/* Says Bye, disconnects, waits for running invocations, frees w. Call
 * before destroying the scheduler. NULL is a no-op. */
void gr_worker_destroy(gr_worker* w);

#endif
