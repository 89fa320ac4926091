/* SPDX-License-Identifier: Apache-2.0 */
/* Private to the planner (planner.c, planner_mpi.c): its hosts, calls in
 * flight and MPI apps. */
#ifndef GR_CLUSTER_PLANNER_INT_H
#define GR_CLUSTER_PLANNER_INT_H

#include <pthread.h>

#include "cluster/cluster_int.h"

struct gr__planner_app;

#define MAX_HOSTS 256
#define FLIGHT_BUCKETS 1024
#define MONITOR_PERIOD_NS 100000000ull

/* One registered worker. Under planner->lock; freed only after it is
 * unlinked from the table and every flight on it is gone. */
struct host
{
    char id[64];
    char addr[64];
    gr_peer* peer; /* a reference */
    uint32_t slots, hb_used;
    uint32_t hb_threads, hb_thread_slots; /* thread granules, their slots */
    uint64_t* tcall_id; /* the calls running them, and how many each */
    uint32_t* tcall_threads;
    size_t ntcalls;
    uint32_t inflight; /* placed here, no outcome yet (incl. reserved) */
    uint64_t last_ns, placed, order;
    int down;          /* connection ended or Bye: dropped at the next tick */
    uint32_t mpi_port; /* its MPI listener (Hello), 0 = none */
    gr_warm_fn* warm;
    size_t nwarm;
};

/* A call sent to a host and not yet answered. Under planner->lock. */
struct flight
{
    uint64_t id;
    struct host* host; /* valid while the flight is in the table */
    char host_id[64];  /* for messages after it left the table */
    char user[GR_SCHED_NAME_MAX + 1];
    char fn[GR_SCHED_NAME_MAX + 1];
    uint64_t deadline_ns;
    struct flight* next;
    /* a host's part of an MPI app (planner_mpi.c): its slots, the app */
    uint32_t weight;
    struct gr__planner_app* app;
    int part;
};

struct gr_planner
{
    gr_planner_config cfg;
    char listen[128];
    char id[64];
    gr_placement placement;
    gr_remote remote;
    gr_sched* sched;
    gr_server* server;

    pthread_mutex_t lock;
    pthread_cond_t cv; /* monitor wake-up */
    struct host* hosts[MAX_HOSTS];
    size_t nhosts;
    uint64_t next_order;
    struct flight* flights[FLIGHT_BUCKETS];
    int stopping;
    gr__cluster_tasks tasks; /* chained calls from workers */
    pthread_t monitor;
    int monitor_started;
    struct gr__planner_app* apps; /* MPI apps running (planner_mpi.c) */
};

/* planner.c (lock held): inserts f into the flight table; finds a live
 * host. */
void gr__planner_flight_add(gr_planner* p, struct flight* f);
struct flight* gr__planner_flight_take(gr_planner* p, uint64_t id);

/* planner_mpi.c: the remote hooks for MPI apps; a part's outcome (no
 * lock; f already out of the table, freed by the caller; lost: its host
 * died or it timed out). */
int gr__planner_mpi_place(void* ctx,
                          const char* user,
                          const char* fn,
                          int np,
                          int spread,
                          void** plan);
int gr__planner_mpi_start(void* ctx, void* plan, const gr_remote_call* d);
void gr__planner_mpi_cancel(void* ctx, void* plan);
void gr__planner_mpi_part_done(gr_planner* p,
                               struct flight* f,
                               const gr_call_info* ci,
                               int lost,
                               const char* why);
/* Fills r->ranks for a flight that is an MPI part (lock held). */
void gr__planner_mpi_ranks(const struct flight* f, char* buf, size_t len);

#endif
