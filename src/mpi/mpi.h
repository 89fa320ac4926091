/* SPDX-License-Identifier: Apache-2.0 */
/* MPI worlds on the host: ranks, matching (MPI's non-overtaking order),
 * requests, probes, one-copy transport between ranks of one process, and
 * world failure. The device under the guest MPI library
 * (sdk/include/granary/mpi_host.h); the "granary_mpi" imports (imports.c)
 * check guest pointers and call the functions below with host pointers. */
#ifndef GR_MPI_MPI_H
#define GR_MPI_MPI_H

#include <stddef.h>
#include <stdint.h>

/* Mirrors of sdk/include/granary/mpi_host.h (the guest's ABI; imports.c
 * checks they agree at compile time). */
#define GR_MPI_ANY_SOURCE (-1)
#define GR_MPI_ANY_TAG (-1)
#define GR_MPI_PROC_NULL (-2)
#define GR_MPI_TAG_UB 0x3fffffff
#define GR_MPI_ERR_FAULT (-1)
#define GR_MPI_ERR_RANK (-2)
#define GR_MPI_ERR_TAG (-3)
#define GR_MPI_ERR_REQUEST (-4)
#define GR_MPI_ERR_TRUNCATE (-5)
#define GR_MPI_ERR_NOMEM (-6)
#define GR_MPI_ERR_ARG (-7)
#define GR_MPI_ERR_OTHER (-8)
#define GR_MPI_MODE_STANDARD 0
#define GR_MPI_MODE_SYNC 1
#define GR_MPI_MODE_READY 2

/* Host-only results of blocking calls, never returned to a guest: the
 * import layer ends the guest call instead. */
#define GR_MPI_EWORLD (-100)    /* another rank failed: the world is over */
#define GR_MPI_EDEADLINE (-101) /* the call's deadline passed */

/* Messages up to this many bytes are copied into a host buffer when no
 * receive is posted (the sender goes on); longer ones wait for the
 * receiver (rendezvous) and are copied once, memory to memory. */
#define GR_MPI_EAGER_LIMIT (64 * 1024)

/* A rank blocked in a receive, send, wait or probe polls for this long
 * before sleeping on its condition variable, on hosts with more than one
 * online CPU (gr_mpi_world_set_spin). */
#define GR_MPI_SPIN_NS (50 * 1000)

/* Same layout as the guest's gr_mpi_status (24 bytes on wasm32). */
typedef struct gr_mpi_status
{
    int32_t source;
    int32_t tag;
    int32_t error;
    int32_t cancelled;
    int64_t bytes;
} gr_mpi_status;

typedef struct gr_mpi_world gr_mpi_world;
typedef struct gr_mpi_rank gr_mpi_rank;

/* How a world ended early (the first failure wins). */
enum gr_mpi_fail_kind
{
    GR_MPI_FAIL_NONE = 0,
    GR_MPI_FAIL_TRAP,  /* a rank trapped (what = the trap's name) */
    GR_MPI_FAIL_EXIT,  /* a rank exited non-zero before MPI_Finalize */
    GR_MPI_FAIL_ABORT, /* a rank called MPI_Abort(code) */
    GR_MPI_FAIL_ERROR, /* the runner could not run a rank (what says why) */
    GR_MPI_FAIL_HOST,  /* a host of the world went away (rank = one of its
                          ranks, code = its host index, what says why) */
};

typedef struct gr_mpi_failure
{
    enum gr_mpi_fail_kind kind;
    int rank;
    int code;       /* exit or abort code */
    char what[128]; /* trap name or error text */
} gr_mpi_failure;

/* Creates a world of size ranks (1..GR_MPI_MAX_RANKS), all on this host.
 * Returns 0, -EINVAL or -ENOMEM. */
#define GR_MPI_MAX_RANKS 4096
int gr_mpi_world_create(int size, gr_mpi_world** out);

/* ---- several hosts (remote.c) -------------------------------------------
 * The ranks of a world may live on several hosts (processes): each host
 * creates the same world with the same rank -> host map and runs its own
 * ranks; messages to ranks of other hosts go over the cluster transport
 * (src/net), on one connection per world and direction that the sending
 * host opens when it first needs it. Small messages are sent whole
 * (eager); larger and synchronous ones are offered first and streamed in
 * GR_MPI_CHUNK pieces once the receive is matched, straight from the
 * sender's memory and into the receiver's, so no host ever holds a whole
 * copy. Matching is the same as between ranks of one host. A failure on
 * any host ends the world on every host; a host whose connection breaks
 * without saying Bye ends it with GR_MPI_FAIL_HOST. */
#define GR_MPI_CHUNK (256 * 1024)

/* A host's listener for the MPI connections of every world it runs part
 * of. Thread-safe. */
typedef struct gr_mpi_net gr_mpi_net;

/* Listens on addr ("ip:port", port 0 = any). Errors as gr_server_start. */
int gr_mpi_net_start(const char* addr, gr_mpi_net** out);
int gr_mpi_net_port(const gr_mpi_net* n);
/* How many connections n's listener holds open (those other hosts dialed:
 * each pair of hosts of a world shares one, dialed by the lower host). */
int gr_mpi_net_conns(gr_mpi_net* n);
/* Stops listening. Every world using n must be destroyed first. NULL is a
 * no-op. */
void gr_mpi_net_stop(gr_mpi_net* n);

/* Ends the world of app running here, if any, with this failure (from
 * outside the world: the planner saw one of its hosts die). Returns 1 if
 * it was running here, else 0. */
int gr_mpi_net_fail(gr_mpi_net* n,
                    uint64_t app,
                    enum gr_mpi_fail_kind kind,
                    int rank,
                    int code,
                    const char* what);

typedef struct gr_mpi_hosts
{
    uint64_t app;             /* the world's id, the same on every host */
    int nhosts;               /* >= 1 */
    int self;                 /* this host's index */
    const int* rank_host;     /* host index of every rank (size entries) */
    const char* const* addrs; /* MPI address of every host ("ip:port") */
    gr_mpi_net* net;          /* this host's listener (borrowed; outlives
                                 the world) */
} gr_mpi_hosts;

/* Creates a world whose ranks live on several hosts (h is copied). With
 * nhosts 1 it is gr_mpi_world_create. Messages for it that arrive before
 * it is created wait (up to 30 s). Returns 0, -EINVAL (bad map, a host
 * without ranks, an app id already running here), -ENOMEM, -EAGAIN. */
int gr_mpi_world_create_hosts(int size,
                              const gr_mpi_hosts* h,
                              gr_mpi_world** out);

/* The host index of a rank (0 with one host), the number of hosts, this
 * host's index; 1 if rank runs on this host. */
int gr_mpi_world_rank_host(const gr_mpi_world* w, int rank);
int gr_mpi_world_host_count(const gr_mpi_world* w);
int gr_mpi_world_self_host(const gr_mpi_world* w);
int gr_mpi_world_is_local(const gr_mpi_world* w, int rank);

/* Frees the world (with several hosts: says Bye to the hosts it talked
 * to, or passes on its failure to every host, then closes its
 * connections). Every local rank must be detached (or never attached). */
void gr_mpi_world_destroy(gr_mpi_world* w);

int gr_mpi_world_nranks(const gr_mpi_world* w);

/* Rank i of the world (borrowed, lives as long as the world), or NULL. */
gr_mpi_rank* gr_mpi_world_rank_at(gr_mpi_world* w, int i);
int gr_mpi_rank_index(const gr_mpi_rank* r);
gr_mpi_world* gr_mpi_rank_world(const gr_mpi_rank* r);

/* Lowers the eager limit (for tests; default GR_MPI_EAGER_LIMIT). Before
 * any rank attaches. */
void gr_mpi_world_set_eager_limit(gr_mpi_world* w, size_t bytes);

/* Sets how long a blocked rank polls before sleeping (0 = sleep at once).
 * The default is GR_MPI_SPIN_NS with more than one online CPU, else 0;
 * the environment variable GRANARY_MPI_SPIN_US (read by
 * gr_mpi_world_create) overrides it. With more ranks than CPUs, ranks
 * poll with sched_yield only. */
void gr_mpi_world_set_spin(gr_mpi_world* w, uint64_t ns);

/* Ends the world: records the failure (only the first one counts; returns
 * 1 if this one did, else 0), wakes every blocked call of every rank and
 * cancels the attached ranks' guest calls (gr_rt_cancel), so spinning
 * ranks stop too. Thread-safe; what may be NULL. */
int gr_mpi_world_fail(gr_mpi_world* w,
                      int rank,
                      enum gr_mpi_fail_kind kind,
                      int code,
                      const char* what);

/* Copies the first failure into *f; returns 1 if the world failed, else
 * 0 (f->kind = GR_MPI_FAIL_NONE). Thread-safe. */
int gr_mpi_world_failure(gr_mpi_world* w, gr_mpi_failure* f);

/* Rank lifecycle, called on the thread that runs the rank's guest call:
 * attach before the call (records the thread so that a failure can cancel
 * it; returns 0, or GR_MPI_ERR_OTHER if the runtime cannot watch this
 * thread), detach after it (drops the rank's queued messages, posted
 * receives and requests, fails rendezvous sends waiting for it with
 * GR_MPI_ERR_RANK, removes its own pending sends from the other ranks'
 * queues, waits for copies into or out of its memory in progress on other
 * threads, and clears a cancel of this thread). After detach no other
 * thread touches the rank's memory. Detach is idempotent. finalize is
 * detach without clearing the cancel (MPI_Finalize: the call goes on);
 * 1 once the rank finalized. */
int gr_mpi_rank_attach(gr_mpi_rank* r);
void gr_mpi_rank_detach(gr_mpi_rank* r);
int gr_mpi_rank_finalize(gr_mpi_rank* r);
int gr_mpi_rank_finalized(gr_mpi_rank* r);

/* Point to point (the contract of each is in mpi_host.h), on host
 * pointers: the caller has checked buf[0..len) lies in the rank's memory
 * and keeps that memory in place until the call (or request) completes.
 * Called only on the rank's thread(s). Blocking calls wait at most until
 * gr_rt_deadline() and return GR_MPI_EDEADLINE past it, or GR_MPI_EWORLD
 * once the world failed; either way the caller ends the guest call. Errors
 * are GR_MPI_ERR_* codes. Requests and message handles are small ints
 * local to the rank. */
int gr_mpi_rank_send(gr_mpi_rank* r,
                     const void* buf,
                     size_t len,
                     int dest,
                     int tag,
                     int ctx,
                     int mode);
int gr_mpi_rank_isend(gr_mpi_rank* r,
                      const void* buf,
                      size_t len,
                      int dest,
                      int tag,
                      int ctx,
                      int mode,
                      int32_t* req);
int gr_mpi_rank_recv(gr_mpi_rank* r,
                     void* buf,
                     size_t len,
                     int src,
                     int tag,
                     int ctx,
                     gr_mpi_status* st);
int gr_mpi_rank_irecv(gr_mpi_rank* r,
                      void* buf,
                      size_t len,
                      int src,
                      int tag,
                      int ctx,
                      int32_t* req);
/* wait: the request's result (0 or an error). test: 1 when complete with
 * result 0, the (negative) result when complete with an error, 0 when not
 * complete. waitany: the completed entry's result (*index set); testany:
 * 1 when an entry completed (*index set, its result in st->error), 0 if
 * none. Both with all entries negative: 1 with *index = -1. st may be
 * NULL. */
int gr_mpi_rank_wait(gr_mpi_rank* r, int32_t req, gr_mpi_status* st);
int gr_mpi_rank_test(gr_mpi_rank* r, int32_t req, gr_mpi_status* st);
int gr_mpi_rank_waitany(gr_mpi_rank* r,
                        const int32_t* reqs,
                        int n,
                        int32_t* index,
                        gr_mpi_status* st);
int gr_mpi_rank_testany(gr_mpi_rank* r,
                        const int32_t* reqs,
                        int n,
                        int32_t* index,
                        gr_mpi_status* st);
int gr_mpi_rank_cancel(gr_mpi_rank* r, int32_t req);
int gr_mpi_rank_probe(gr_mpi_rank* r,
                      int src,
                      int tag,
                      int ctx,
                      int blocking,
                      gr_mpi_status* st);
/* *msg gets a message handle (>= 0), or GR_MPI_PROC_NULL for a probe of
 * GR_MPI_PROC_NULL (mrecv of it completes at once with an empty status). */
int gr_mpi_rank_mprobe(gr_mpi_rank* r,
                       int src,
                       int tag,
                       int ctx,
                       int blocking,
                       int32_t* msg,
                       gr_mpi_status* st);
int gr_mpi_rank_mrecv(gr_mpi_rank* r,
                      void* buf,
                      size_t len,
                      int32_t msg,
                      gr_mpi_status* st);
int gr_mpi_rank_imrecv(gr_mpi_rank* r,
                       void* buf,
                       size_t len,
                       int32_t msg,
                       int32_t* req);

#endif
