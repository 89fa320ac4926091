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
    /* a rendezvous offer from a rank on another host (remote.c): data is
     * NULL, shost/token name the sender's pending send */
    int remote;
    int shost;
    uint64_t token;
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
    /* Counts read without the lock by the rank's own fast receive (chan.c
     * channels; changed under the lock, atomically): posted receives,
     * unexpected messages, incoming channels with an overflow list. */
    int posted_n, unx_n, ovf_n;
    /* The rank's current blocking call has polled for its whole spin time
     * without an answer: it sleeps at once from then on (its own thread
     * only; cleared when a blocking call starts). */
    int polled;
    /* Read by every lock-free send to this rank, written rarely: alone
     * on their cache line (the padding), so that the owner's and its
     * neighbours' writes do not take the line from the senders. */
    char pad_a[64];
    /* Set (atomically) while the rank sleeps on cv, so that a sender that
     * wrote into one of its channels without the lock wakes it. */
    int sleeping;
    int detached; /* no more MPI: its memory is not touched any more
                     (written under the lock, read atomically) */
    char pad_b[64];
    int finalized;        /* detached by MPI_Finalize */
    int inflight;         /* copies into or out of its memory, lock not held */
    gr_rt_thread* thread; /* while attached */
};

/* Under mu, except that lock-free paths read failed (atomically) and the
 * channels (see chan.c). */
struct gr_mpi_world
{
    pthread_mutex_t mu;
    /* the lock's writes stay off the line of the fields below, which
     * lock-free sends and receives read */
    char pad_[64];
    int size;
    size_t eager_limit;
    uint64_t spin_ns; /* how long a blocked rank polls before sleeping */
    /* polls with a pause before polling with sched_yield (which lets a
     * rank waiting for this CPU run): 0 when ranks outnumber CPUs */
    unsigned spin_pauses;
    int failed;
    gr_mpi_failure failure;
    gr_mpi_rank* ranks;
    /* Several hosts (remote.c): rank -> host index, this host's index.
     * Ranks of other hosts have a gr_mpi_rank that is never attached; its
     * detached flag says their host ended (Bye). link is NULL with one
     * host. */
    int nhosts, self_host;
    int* rank_host;
    struct gr__mpi_link* link;
    /* Same-host channels, [dst * size + src] (NULL until the sender first
     * uses it; the whole table NULL above GR__MPI_CHAN_MAX_RANKS ranks). */
    struct gr__mpi_chan** chans;
};

/* ---- same-host channels (chan.c) ----------------------------------------
 * One ring per (sender, receiver) of local ranks. The sender alone writes
 * cells and head (without the lock); the receiver's thread alone reads
 * cells and moves tail (with or without the lock). The overflow list and
 * novf are under the world lock (novf is also read atomically by the
 * sender): once a message of the pair goes the locked way while the ring
 * holds records, it and every later one go to the overflow list, which
 * the receiver drains after the ring, so the pair's order holds. */
#define GR__MPI_CHAN_CELLS 64
#define GR__MPI_CELL_BYTES 256
#define GR__MPI_INLINE 1024 /* longest message sent through a ring */
#define GR__MPI_CHAN_MAX_RANKS 128

/* A cell: a header (seq = its position + 1, stored last by the sender,
 * then the envelope and the first bytes) or a continuation (a control
 * word that never holds a current seq, then bytes). */
struct gr__mpi_cell
{
    _Alignas(64) uint64_t seq;
    union
    {
        struct
        {
            int32_t tag;
            int32_t ctx;
            uint32_t len;
            uint32_t ncell;
            uint8_t data[GR__MPI_CELL_BYTES - 24];
        } h;
        uint8_t cont[GR__MPI_CELL_BYTES - 8];
    } u;
};

struct gr__mpi_chan
{
    uint64_t head;      /* sender: next cell to write */
    uint64_t tail_seen; /* sender: tail when last read */
    void* raw;          /* the allocation (the struct is aligned in it) */
    _Alignas(64) uint64_t tail; /* receiver: next cell to read */
    _Alignas(64) int novf;      /* overflow list in use */
    struct gr__mpi_msg *ovf_head, *ovf_tail;
    struct gr__mpi_cell cells[GR__MPI_CHAN_CELLS];
};

/* A record at the head of a ring (gr__mpi_chan_peek). */
struct gr__mpi_rec
{
    uint64_t pos;
    int tag, ctx;
    uint32_t len, ncell;
};

/* The sender's: the channel src -> dst, created if needed; NULL without
 * channels or memory. */
struct gr__mpi_chan* gr__mpi_chan_open(gr_mpi_world* w, int src, int dst);
/* Frees every channel of w (their overflow lists are empty). */
void gr__mpi_chans_free(gr_mpi_world* w);
/* The sender's: writes one record (len <= GR__MPI_INLINE); 0 if the ring
 * has no room. */
int gr__mpi_chan_push(struct gr__mpi_chan* c,
                      const void* buf,
                      size_t len,
                      int tag,
                      int ctx);
/* The sender's, under the world lock while its receiver has a receive
 * posted (so the receiver reads no record meanwhile): whether a record
 * not yet read has this context and a tag that tag (or ANY) matches. */
int gr__mpi_chan_sender_may_match(struct gr__mpi_chan* c, int tag, int ctx);
/* The sender's: whether the receiver has read every record. */
int gr__mpi_chan_sender_empty(struct gr__mpi_chan* c);
/* The receiver's: copies the first n bytes of rec (at most its length);
 * consumes it. (gr__mpi_chan_peek, below, finds it.) */
void gr__mpi_chan_read(struct gr__mpi_chan* c,
                       const struct gr__mpi_rec* rec,
                       void* dst,
                       size_t n);
void gr__mpi_chan_pop(struct gr__mpi_chan* c, const struct gr__mpi_rec* rec);

/* The channel src -> dst, or NULL (not yet used, or none in this world). */
static inline struct gr__mpi_chan*
gr__mpi_chan_get(gr_mpi_world* w, int src, int dst)
{
    if (!w->chans)
        return NULL;
    return __atomic_load_n(&w->chans[(size_t)dst * (size_t)w->size + src],
                           __ATOMIC_ACQUIRE);
}

/* The receiver's: 1 with *rec if a record is at the head of c. */
static inline int
gr__mpi_chan_peek(struct gr__mpi_chan* c, struct gr__mpi_rec* rec)
{
    uint64_t pos = __atomic_load_n(&c->tail, __ATOMIC_RELAXED);
    struct gr__mpi_cell* h = &c->cells[pos % GR__MPI_CHAN_CELLS];
    if (__atomic_load_n(&h->seq, __ATOMIC_SEQ_CST) != pos + 1)
        return 0;
    rec->pos = pos;
    rec->tag = h->u.h.tag;
    rec->ctx = h->u.h.ctx;
    rec->len = h->u.h.len;
    /* the sender wrote these; a bad count would be a bug of ours, but
     * gr__mpi_chan_read stays inside the ring whatever it says */
    rec->ncell = h->u.h.ncell;
    if (rec->ncell < 1 || rec->ncell > GR__MPI_CHAN_CELLS / 2 ||
        rec->len > GR__MPI_INLINE)
        rec->ncell = 1, rec->len = 0;
    return 1;
}

static inline int
gr__mpi_is_remote(const gr_mpi_world* w, int rank)
{
    return w->link && w->rank_host[rank] != w->self_host;
}

/* Wakes r's waiters (lock held). */
void gr__mpi_rank_wake(gr_mpi_rank* r);

/* match.c: frees every request, message and queue of r (the world lock
 * held; r is detached and nothing refers to them any more). */
void gr__mpi_rank_free_all(gr_mpi_rank* r);
/* Drops r's queues and tables, completing foreign rendezvous senders with
 * GR_MPI_ERR_RANK, and removes r's rendezvous messages from the other
 * ranks' queues (lock held). */
void gr__mpi_rank_drop(gr_mpi_rank* r);

/* match.c, for remote.c (lock held): completes q with result; delivers
 * an eager message from a rank of another host to d (copied), or queues
 * (or matches) a rendezvous offer from one. */
void gr__mpi_req_done(struct gr__mpi_req* q, int result);
void gr__mpi_arrive_eager(gr_mpi_rank* d,
                          int src,
                          int tag,
                          int ctx,
                          const void* data,
                          size_t len);
void gr__mpi_arrive_rts(gr_mpi_rank* d,
                        int src,
                        int tag,
                        int ctx,
                        size_t len,
                        int shost,
                        uint64_t token);
/* The first failure of w was recorded (lock held): tell the other hosts,
 * unless it came from one of them. */
void gr__mpi_world_failed(gr_mpi_world* w, int from_remote);
int gr__mpi_world_fail(gr_mpi_world* w,
                       int rank,
                       enum gr_mpi_fail_kind kind,
                       int code,
                       const char* what,
                       int from_remote);

/* remote.c (lock held unless said): starts a send of q to a rank of
 * another host (the lock is released while writing to the network; q is
 * completed, or pending until the receiver fetched the data); starts
 * fetching a matched rendezvous offer m into q; refuses an offer that will
 * never be received (its sender gets GR_MPI_ERR_RANK); forgets r's
 * pending remote sends and fetches (r detaches). */
int gr__mpi_remote_send(gr_mpi_rank* r,
                        struct gr__mpi_req* q,
                        const void* buf,
                        size_t len,
                        int dest,
                        int tag,
                        int ctx,
                        int mode);
void gr__mpi_remote_fetch(gr_mpi_rank* d,
                          struct gr__mpi_req* q,
                          const struct gr__mpi_msg* m);
void gr__mpi_remote_refuse(gr_mpi_world* w, const struct gr__mpi_msg* m);
void gr__mpi_remote_rank_drop(gr_mpi_rank* r);
/* remote.c, for ranks spinning in a wait (without the lock; w->link set):
 * reads and handles the messages the other hosts' connections hold now,
 * on the calling thread (1 if any), so a waiting rank need not be woken
 * by a reader thread; for a while after, the reader threads leave those
 * connections to the polling ranks. gr__mpi_link_idle hands them back at
 * once (a rank about to sleep; lock held or not). */
int gr__mpi_link_poll(gr_mpi_world* w);
/* The same without yielding the CPU when there was nothing: for the
 * calls that do not block (test, iprobe), so that a guest looping on
 * them sees other hosts' messages as soon as a blocked rank would. */
int gr__mpi_link_read(gr_mpi_world* w);
void gr__mpi_link_idle(gr_mpi_world* w);
/* Ends the link of w (without the lock): Bye (or the failure) to the
 * other hosts, connections closed, the pump thread joined. */
void gr__mpi_link_destroy(gr_mpi_world* w);

#endif
