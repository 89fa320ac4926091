/* SPDX-License-Identifier: Apache-2.0 */
/* The "granary_mpi" import module: the message-passing device under the
 * guest's MPI library (sdk/lib/mpi). The guest library implements the MPI
 * API (communicators, groups, datatypes, collectives, ...) on these calls;
 * the host (src/mpi) implements matching and transport between the ranks
 * of one MPI world. Users call MPI_*, never these.
 *
 * Conventions:
 *   - ranks are WORLD ranks (the guest library translates communicator
 *     ranks); GR_MPI_ANY_SOURCE / GR_MPI_ANY_TAG are the wildcards;
 *   - ctx is a context id: messages match only within the same ctx (the
 *     guest library gives each communicator two, one for point to point
 *     and one for its collectives);
 *   - tags are >= 0 (wildcard -1), at most GR_MPI_TAG_UB;
 *   - matching follows MPI's non-overtaking rule: among messages from one
 *     sender on one ctx that a receive matches, the oldest is taken;
 *   - buffers are guest addresses of len bytes; a buffer outside the
 *     guest's memory is GR_MPI_ERR_FAULT, not a trap;
 *   - a send of a buffer reads it at most once, straight into the
 *     receiver's memory when the receive is posted (rendezvous), or into a
 *     host buffer first when it is not and len <= the eager limit;
 *   - every blocking call returns GR_MPI_ERR_TIMEOUT... never: at the
 *     call's deadline the host ends the call as a timeout (the whole app
 *     fails), so blocking calls always return a final result or not at
 *     all. If another rank of the world failed, blocking calls end the
 *     call with that error (the app is being torn down).
 *   - return values are >= 0 on success, a negative GR_MPI_ERR_* code on
 *     failure.
 */
#ifndef GRANARY_MPI_HOST_H
#define GRANARY_MPI_HOST_H

#include <stdint.h>

#ifdef __cplusplus
extern "C"
{
#endif

#define GR_MPI_ANY_SOURCE (-1)
#define GR_MPI_ANY_TAG (-1)
#define GR_MPI_PROC_NULL (-2)
#define GR_MPI_TAG_UB 0x3fffffff

#define GR_MPI_ERR_FAULT (-1)   /* a buffer or pointer outside memory */
#define GR_MPI_ERR_RANK (-2)    /* no such world rank */
#define GR_MPI_ERR_TAG (-3)     /* tag out of range */
#define GR_MPI_ERR_REQUEST (-4) /* unknown or already freed request */
#define GR_MPI_ERR_TRUNCATE                                                    \
    (-5)                      /* message longer than the receive               \
                                 buffer: the status has the real length,       \
                                 the buffer holds the first len bytes */
#define GR_MPI_ERR_NOMEM (-6) /* too many requests / host out of memory */
#define GR_MPI_ERR_ARG (-7)   /* any other bad argument */
#define GR_MPI_ERR_OTHER (-8) /* e.g. a remote host is unreachable */

/* Send modes. */
#define GR_MPI_MODE_STANDARD 0 /* may complete before the receive is posted */
#define GR_MPI_MODE_SYNC 1     /* completes only once matched */
#define GR_MPI_MODE_READY 2    /* as standard (a receive must be posted) */

    /* Filled by receives, probes and request completion. */
    typedef struct gr_mpi_status
    {
        int32_t source; /* world rank of the sender */
        int32_t tag;
        int32_t error;     /* 0 or a GR_MPI_ERR_* code */
        int32_t cancelled; /* 1 if the request was cancelled */
        int64_t bytes;     /* length of the message in bytes */
    } gr_mpi_status;

#define GR_MPI_IMPORT(name)                                                    \
    __attribute__((import_module("granary_mpi"), import_name(#name)))

    /* This rank in the world, the world's size. */
    GR_MPI_IMPORT(world_rank) int32_t gr_mpi_world_rank(void);
    GR_MPI_IMPORT(world_size) int32_t gr_mpi_world_size(void);

    /* Index of the host a world rank runs on (ranks with the same index
     * share a host: collectives use it for a local phase per host), and
     * the number of hosts of the world. */
    GR_MPI_IMPORT(rank_host) int32_t gr_mpi_rank_host(int32_t rank);
    GR_MPI_IMPORT(host_count) int32_t gr_mpi_host_count(void);

    /* Writes the host's name (NUL-terminated, truncated to len) into buf;
     * returns its length without the NUL. */
    GR_MPI_IMPORT(host_name) int32_t gr_mpi_host_name(char* buf, int32_t len);

    /* Blocking send: returns 0 when buf may be reused (mode STANDARD:
     * buffered or delivered; SYNC: matched by a receive). */
    GR_MPI_IMPORT(send)
    int32_t gr_mpi_send(const void* buf,
                        int32_t len,
                        int32_t dest,
                        int32_t tag,
                        int32_t ctx,
                        int32_t mode);

    /* Blocking receive into buf (at most len bytes); src and tag may be
     * wildcards. Fills *status (may be NULL). 0 or GR_MPI_ERR_TRUNCATE. */
    GR_MPI_IMPORT(recv)
    int32_t gr_mpi_recv(void* buf,
                        int32_t len,
                        int32_t src,
                        int32_t tag,
                        int32_t ctx,
                        gr_mpi_status* status);

    /* Non-blocking forms: return a request handle (>= 0). buf must stay
     * valid (and, for receives, untouched) until the request completes. */
    GR_MPI_IMPORT(isend)
    int32_t gr_mpi_isend(const void* buf,
                         int32_t len,
                         int32_t dest,
                         int32_t tag,
                         int32_t ctx,
                         int32_t mode);
    GR_MPI_IMPORT(irecv)
    int32_t gr_mpi_irecv(void* buf,
                         int32_t len,
                         int32_t src,
                         int32_t tag,
                         int32_t ctx);

    /* Completion of requests. wait: blocks until req completes, fills
     * *status, frees req; returns the request's result (0 or an error).
     * test: like wait if complete (returns 1), else returns 0 at once.
     * waitany/testany over reqs[0..n): negative entries are ignored; on
     * completion *index gets the position (or -1 if all entries are
     * negative: returns 1 at once with *index = -1), the request is freed.
     * cancel: cancels a pending receive (a completed one is not affected);
     * the request must still be waited for (status.cancelled = 1).
     * Results in detail (host implementation, src/mpi): test returns 1
     * when complete with result 0 and the negative result (e.g.
     * GR_MPI_ERR_TRUNCATE, status filled) when complete with an error;
     * waitany returns the completed request's result; testany returns 1
     * when one completed, its result in status.error. */
    GR_MPI_IMPORT(wait)
    int32_t gr_mpi_wait(int32_t req, gr_mpi_status* status);
    GR_MPI_IMPORT(test)
    int32_t gr_mpi_test(int32_t req, gr_mpi_status* status);
    GR_MPI_IMPORT(waitany)
    int32_t gr_mpi_waitany(const int32_t* reqs,
                           int32_t n,
                           int32_t* index,
                           gr_mpi_status* status);
    GR_MPI_IMPORT(testany)
    int32_t gr_mpi_testany(const int32_t* reqs,
                           int32_t n,
                           int32_t* index,
                           gr_mpi_status* status);
    GR_MPI_IMPORT(cancel) int32_t gr_mpi_cancel(int32_t req);

    /* Probe for a matching message without receiving it. blocking 1: waits
     * (returns 1); 0: returns 1 if one is there, else 0. Fills *status.
     * mprobe additionally removes the message from matching and returns a
     * message handle (>= 0) in *msg for mrecv / imrecv. */
    GR_MPI_IMPORT(probe)
    int32_t gr_mpi_probe(int32_t src,
                         int32_t tag,
                         int32_t ctx,
                         int32_t blocking,
                         gr_mpi_status* status);
    GR_MPI_IMPORT(mprobe)
    int32_t gr_mpi_mprobe(int32_t src,
                          int32_t tag,
                          int32_t ctx,
                          int32_t blocking,
                          int32_t* msg,
                          gr_mpi_status* status);
    GR_MPI_IMPORT(mrecv)
    int32_t gr_mpi_mrecv(void* buf,
                         int32_t len,
                         int32_t msg,
                         gr_mpi_status* status);
    GR_MPI_IMPORT(imrecv)
    int32_t gr_mpi_imrecv(void* buf, int32_t len, int32_t msg);

    /* Ends the whole world with this error code: every rank's call ends,
     * the app's result names this rank and code. Does not return. */
    GR_MPI_IMPORT(abort) void gr_mpi_abort(int32_t code);

    /* Called by MPI_Finalize: the host may release this rank's resources;
     * messages still unreceived are dropped. */
    GR_MPI_IMPORT(finalize) int32_t gr_mpi_finalize(void);

#ifdef __cplusplus
}
#endif

#endif
