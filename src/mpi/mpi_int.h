/* SPDX-License-Identifier: Apache-2.0 */
/* Private to src/mpi: the world, rank, request and message structures
 * shared by world.c (lifecycle, failure) and match.c (matching). */
#ifndef GR_MPI_MPI_INT_H
#define GR_MPI_MPI_INT_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/rt.h"
#include "mpi/mpi.h"

#define GR__MPI_MAX_REQS (1 << 20)

enum req_kind
{
    REQ_SEND = 1,
    REQ_RECV,
};

enum req_state
{
    REQ_PENDING = 1, /* queued: a posted receive or a rendezvous send */
    REQ_ACTIVE,      /* matched; another thread is copying (no lock held) */
    REQ_DONE,
};

struct gr__mpi_msg;

/* A request of one rank. All fields under the world lock. */
struct gr__mpi_req
{
    enum req_kind kind;
    enum req_state state;
    int result; /* 0 or GR_MPI_ERR_*, once DONE */
    gr_mpi_status st;
    int32_t handle; /* index in the owner's table */
    gr_mpi_rank* owner;
    /* receives: the posted buffer and what it matches */
    uint8_t* buf;
    size_t cap;
    int src, tag, ctx;
    struct gr__mpi_req *prev, *next; /* owner's posted queue */
    int queued;
    /* rendezvous sends: the message in the receiver's queue or tables */
    struct gr__mpi_msg* msg;
};

/* A message that arrived before its receive: eager (data is a host copy,
 * owned) or rendezvous (data is the sender's buffer; sreq is the sender's
 * request, completed once copied). Owned by the receiver's queue (or its
 * mprobe table once probed). */
struct gr__mpi_msg
{
    int src, tag, ctx;
    size_t len;
    uint8_t* data;
    int eager;
    struct gr__mpi_req* sreq;
    struct gr__mpi_msg *prev, *next;
    int32_t handle; /* in the receiver's mprobe table, or -1 */
};

struct gr_mpi_rank
{
    gr_mpi_world* w;
    int index;
    /* Broadcast whenever one of this rank's requests completes, a message
     * arrives for it, a copy touching its memory ends, or the world
     * fails. */
    pthread_cond_t cv;
    /* Bumped (atomically, under the lock) with every broadcast of cv, so
     * a waiter can spin on it without the lock before sleeping. */
    unsigned wakes;
    struct gr__mpi_req *posted_head, *posted_tail;
    struct gr__mpi_msg *unx_head, *unx_tail;
    struct gr__mpi_req** reqs; /* handle -> request (NULL = free) */
    int32_t n_reqs, cap_reqs;  /* slots [0, n_reqs) used or free */
    int32_t* free_ids;         /* free handles below n_reqs (a stack) */
    int32_t n_free;
    struct gr__mpi_msg** probed; /* message handle -> mprobed message */
    int32_t n_probed, cap_probed;
    int detached;         /* no more MPI: its memory is not touched any more */
    int finalized;        /* detached by MPI_Finalize */
    int inflight;         /* copies into or out of its memory, lock not held */
    gr_rt_thread* thread; /* while attached */
};

/* Everything under mu. */
struct gr_mpi_world
{
    pthread_mutex_t mu;
    int size;
    size_t eager_limit;
    uint64_t spin_ns; /* how long a blocked rank polls before sleeping */
    /* polls with a pause before polling with sched_yield (which lets a
     * rank waiting for this CPU run): 0 when ranks outnumber CPUs */
    unsigned spin_pauses;
    int failed;
    gr_mpi_failure failure;
    gr_mpi_rank* ranks;
};

/* Wakes r's waiters (lock held). */
void gr__mpi_rank_wake(gr_mpi_rank* r);

/* match.c: frees every request, message and queue of r (the world lock
 * held; r is detached and nothing refers to them any more). */
void gr__mpi_rank_free_all(gr_mpi_rank* r);
/* Drops r's queues and tables, completing foreign rendezvous senders with
 * GR_MPI_ERR_RANK, and removes r's rendezvous messages from the other
 * ranks' queues (lock held). */
void gr__mpi_rank_drop(gr_mpi_rank* r);

#endif
