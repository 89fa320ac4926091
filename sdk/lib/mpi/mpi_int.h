/* SPDX-License-Identifier: Apache-2.0 */
/* Private header of the guest MPI library (runs inside the wasm guest, on
 * the granary_mpi device of sdk/include/granary/mpi_host.h). Single
 * threaded: MPI_THREAD_SINGLE/FUNNELED only, so no locking anywhere.
 */
#ifndef GR_MPI_INT_H
#define GR_MPI_INT_H

#include <stddef.h>
#include <stdint.h>

#include "granary/mpi_host.h"
#include "mpi.h"

/* ---- handle kinds (top byte of a handle) ---- */
#define H_KIND(h) ((unsigned)(h)&0xff000000u)
#define H_IDX(h) ((int)((unsigned)(h)&0x00ffffffu))
#define H_DTYPE_BUILTIN 0x4c000000u
#define H_DTYPE_DERIVED 0x8c000000u
#define H_COMM 0x44000000u
#define H_GROUP 0x48000000u
#define H_REQ 0x6c000000u
#define H_MSG 0x70000000u
#define H_OP_BUILTIN 0x58000000u
#define H_OP_USER 0x98000000u
#define H_EH_BUILTIN 0x54000000u
#define H_EH_USER 0x94000000u
#define H_INFO 0x5c000000u
#define H_KEYVAL 0xa4000000u

/* ---- context ids: each communicator owns 4 consecutive ones ---- */
#define CTX_P2P 0
#define CTX_COLL 1
#define CTX_LOCAL 2 /* intercomm: collectives inside the local group */
#define CTX_GROUP 3 /* MPI_Comm_create_group agreement on the parent */
#define CTX_PAIRS 1024
/* A standard send of at most this many bytes never waits for its
 * receive (the device copies it, into the receiver's channel when both
 * ranks share a host): an exchange of such messages sends first and then
 * receives, with no receive request posted in between, which is the
 * device's fastest way. */
#define SEND_FIRST_MAX 1024
#define CTX_MASK_WORDS (CTX_PAIRS / 32)

/* ---- datatypes ---- */
typedef struct blk
{
    MPI_Aint off;
    MPI_Aint len;
    int esize; /* size of one basic element of this block */
} blk;

typedef struct attr attr;

typedef struct dtype
{
    int used;
    int builtin;
    int committed;
    MPI_Count size;
    MPI_Aint lb, ub, tlb, tub;
    MPI_Datatype basic; /* homogeneous basic element type, or 0 (mixed) */
    MPI_Count nelem;    /* basic elements per instance */
    int nblk;
    blk* blk;
    int contig; /* one block covering the whole extent (or size 0) */
    int combiner;
    int ni, na, nd;
    int* ints;
    MPI_Aint* aints;
    MPI_Datatype* types;
    char name[MPI_MAX_OBJECT_NAME];
    attr* attrs;
    int holds; /* persistent requests using it (MPI_Type_free waits) */
} dtype;

dtype* gr__dt_get(MPI_Datatype h);
/* Bytes of count instances (packed). */
MPI_Count gr__dt_packed(dtype* t, MPI_Count count);
void gr__dt_pack(dtype* t, const void* buf, MPI_Count count, void* out);
/* Unpacks at most nbytes of packed data. */
void gr__dt_unpack(dtype* t,
                   const void* in,
                   MPI_Count nbytes,
                   void* buf,
                   MPI_Count count);
/* A pointer to the data of a contiguous type's buffer (buf + true lb). */
void* gr__dt_base(dtype* t, const void* buf);
void gr__dt_init(void);
/* A persistent request keeps derived type h alive past MPI_Type_free
 * until it drops it (when the request is freed). */
void gr__dt_hold(MPI_Datatype h);
void gr__dt_drop(MPI_Datatype h);

/* Data views used by point to point and collectives: either the user's
 * buffer (contiguous type) or a packed temporary. */
typedef struct xbuf
{
    void* p;       /* bytes to send / receive into */
    MPI_Count len; /* packed length */
    void* tmp;     /* owned temporary, or NULL */
} xbuf;
/* For a send: p points at packed data (tmp allocated if needed). */
int gr__xbuf_send(xbuf* x, const void* buf, int count, dtype* t);
/* For a receive: p points at space for the data. */
int gr__xbuf_recv(xbuf* x, void* buf, int count, dtype* t);
/* After a receive of nbytes: unpack if needed, free tmp. */
void gr__xbuf_finish_recv(xbuf* x,
                          void* buf,
                          int count,
                          dtype* t,
                          MPI_Count nbytes);
void gr__xbuf_free(xbuf* x);

/* ---- ops ---- */
/* inout := in op inout over count instances of packed data of type dt. */
int gr__op_apply(MPI_Op op,
                 const void* in,
                 void* inout,
                 int count,
                 MPI_Datatype dt);
int gr__op_commutative(MPI_Op op);
int gr__op_valid(MPI_Op op);

/* ---- groups and communicators ---- */
typedef struct group
{
    int used;
    int refs;
    int n;
    int* w; /* world ranks */
} group;

typedef struct topo
{
    int kind; /* MPI_CART, MPI_GRAPH, MPI_DIST_GRAPH */
    int ndims;
    int* dims;
    int* periods;
    int nnodes;
    int* index;
    int* edges;
    int indeg, outdeg;
    int* in;
    int* out;
    int* inw;
    int* outw;
    int weighted;
} topo;

typedef struct comm
{
    int used;
    int size, rank;
    int* w; /* local group: comm rank -> world rank */
    int ctx;
    int inter;
    int rsize;
    int* rw; /* intercomm: remote group world ranks */
    MPI_Errhandler eh;
    char name[MPI_MAX_OBJECT_NAME];
    attr* attrs;
    topo* topo;
    int nbc_seq;
    /* host-aware layout, computed on first use */
    int hier;   /* -1 unknown, 0 flat, 1 hierarchical */
    int* host;  /* comm rank -> host index */
    int nhosts; /* distinct hosts in this communicator */
} comm;

comm* gr__comm_get(MPI_Comm h);
group* gr__group_get(MPI_Group h);
MPI_Group gr__group_new(int n, const int* w);
/* Creates a communicator with the given ranks and context base; takes
 * ownership of w (and rw). */
MPI_Comm gr__comm_new(int size, int rank, int* w, int ctx);
void gr__comm_init(void);
/* Comm rank of a world rank in the comm's (remote, for intercomms) group,
 * or -1. */
int gr__comm_from_world(comm* c, int wr);
int gr__peer_world(comm* c, int rank);
/* Agrees on a free context base over comm c (collective on c). */
int gr__ctx_alloc(comm* c, int* ctx);
void gr__ctx_release(int ctx);

/* ---- collective building blocks on views ---- */
typedef struct view
{
    int n, me;
    const int* w; /* view index -> world rank */
    int ctx;
    int tag;
} view;

void gr__view_of(view* v, comm* c, int which);
int gr__vsend(const view* v, const void* buf, MPI_Count len, int to);
int gr__vrecv(const view* v, void* buf, MPI_Count len, int from);
int gr__vsendrecv(const view* v,
                  const void* sbuf,
                  MPI_Count slen,
                  int to,
                  void* rbuf,
                  MPI_Count rlen,
                  int from);
int gr__v_barrier(const view* v);
int gr__v_bcast(const view* v, void* buf, MPI_Count len, int root);
int gr__v_allreduce(const view* v,
                    void* buf,
                    int count,
                    MPI_Datatype dt,
                    MPI_Op op);
int gr__v_allgather(const view* v, const void* mine, void* all, MPI_Count len);

/* ---- errors ---- */
int gr__dev_err(int rc);
/* Applies comm's error handler (MPI_COMM_WORLD's if comm is NULL) to
 * code, for function fn; returns code. */
int gr__err(MPI_Comm comm, int code, const char* fn);
#define ERR(comm, code) gr__err((comm), (code), __func__)
#define CHECK_INIT()                                                           \
    do {                                                                       \
        if (!gr__mpi_initialized)                                              \
            gr__not_initialized(__func__);                                     \
    } while (0)
extern int gr__mpi_initialized;
void gr__not_initialized(const char* fn);

/* ---- requests ---- */
enum
{
    RQ_FREE = 0,
    RQ_ACTIVE,   /* device request in flight */
    RQ_DONE,     /* complete, status stored */
    RQ_INACTIVE, /* persistent, not started */
    RQ_SCHED     /* progressed in guest (non-blocking barrier) */
};

typedef struct req req;
typedef int (*req_start_fn)(req* r);
typedef int (*req_progress_fn)(req* r, int blocking);

struct req
{
    int state;
    int persistent;
    int is_recv;
    int dev;
    MPI_Comm comm;
    xbuf x;
    void* ubuf;
    int ucount;
    MPI_Datatype udt;
    MPI_Status st;
    int err;
    /* persistent point to point */
    const void* pbuf;
    int pcount;
    MPI_Datatype pdt;
    int peer, tag, mode;
    /* persistent collectives / schedules */
    req_start_fn start;
    req_progress_fn progress;
    void* args;
    int free_on_done;     /* MPI_Request_free on an active request */
    struct nbc* nbc;      /* schedule being run (RQ_SCHED) */
    int ptag;             /* persistent collective: its tag, fixed at init */
    MPI_Datatype held[2]; /* types kept alive for a persistent request */
};

MPI_Request gr__req_new(req** out);
req* gr__req_get(MPI_Request h);
/* Keeps datatypes a and b (0: none) alive while persistent request r
 * exists (dropped by gr__req_release). */
void gr__req_hold_types(req* r, MPI_Datatype a, MPI_Datatype b);
/* A request that is already complete with an empty status. */
MPI_Request gr__req_done(MPI_Comm comm, int err);
void gr__status_empty(MPI_Status* st);
/* Frees request h (its handle becomes invalid). */
void gr__req_release(MPI_Request h);
/* 0 if rank is a valid peer of c (MPI_PROC_NULL too; MPI_ANY_SOURCE when
 * any_ok), else MPI_ERR_RANK. */
int gr__check_comm_rank(comm* c, int rank, int any_ok);

/* ---- schedules and progress (sched.c) ---- */
typedef struct nbc nbc;
nbc* gr__nbc_new(int ctx, int tag);
void gr__nbc_free(nbc* s);
void* gr__nbc_tmp(nbc* s, size_t n);
void gr__nbc_round(nbc* s);
void gr__nbc_send(nbc* s, const void* buf, MPI_Count len, int wpeer);
void gr__nbc_recv(nbc* s, void* buf, MPI_Count len, int wpeer);
void gr__nbc_p2p(nbc* s,
                 int is_recv,
                 void* buf,
                 MPI_Count len,
                 int wpeer,
                 int ctx,
                 int tag);
void gr__nbc_op(nbc* s,
                const void* in,
                void* inout,
                int count,
                MPI_Datatype dt,
                MPI_Op op);
void gr__nbc_unpack(nbc* s,
                    const void* in,
                    MPI_Count len,
                    void* buf,
                    int count,
                    MPI_Datatype dt);
void gr__nbc_copy(nbc* s, const void* in, void* out, MPI_Count len);
const MPI_Status* gr__nbc_status(nbc* s);
int gr__nbc_err(nbc* s);
int gr__nbc_start(nbc* s);
void gr__nbc_wait(nbc* s);
int gr__nbc_test(nbc* s);
int gr__nbc_any_active(void);
/* Releases the requests freed by MPI_Request_free while active that have
 * completed since (called by gr__progress). */
void gr__reap_freed(void);
/* Advances every pending schedule (and reaps freed requests) without
 * blocking. */
void gr__progress(void);
/* gr_mpi_waitany over dv[0..n) and the pending schedules' device
 * requests: *idx = position in dv, or -2 when a schedule step completed
 * (result 0; call gr__progress and wait again). */
int gr__progress_waitany(const int32_t* dv,
                         int n,
                         int32_t* idx,
                         gr_mpi_status* ds);
/* gr_mpi_wait / send / recv / probe that progress schedules meanwhile. */
int gr__pwait(int32_t dev, gr_mpi_status* ds);
int gr__psend(const void* buf,
              int32_t len,
              int32_t dest,
              int32_t tag,
              int32_t ctx,
              int32_t mode);
int gr__precv(void* buf,
              int32_t len,
              int32_t src,
              int32_t tag,
              int32_t ctx,
              gr_mpi_status* st);
int gr__pprobe(int32_t src,
               int32_t tag,
               int32_t ctx,
               int32_t* msg,
               gr_mpi_status* st);
/* Frees datatypes / user ops whose MPI_*_free came while schedules were
 * pending (called when the last one completes). */
void gr__dt_deferred_free(void);
void gr__op_deferred_free(void);
/* Makes a request running schedule s (started already). */
MPI_Request gr__req_sched(MPI_Comm comm, nbc* s);

/* ---- collective schedules shared by nbc.c and inter.c ---- */
/* Kinds of collective shared by the I- and persistent forms. */
enum
{
    K_BARRIER = 1,
    K_BCAST,
    K_REDUCE,
    K_ALLREDUCE,
    K_GATHER,
    K_SCATTER,
    K_ALLGATHER,
    K_ALLTOALL,
    K_SCAN,
    K_EXSCAN,
    K_RSB,
    K_GATHERV,
    K_SCATTERV,
    K_ALLGATHERV,
    K_ALLTOALLV,
    K_ALLTOALLW,
    K_RS
};

typedef struct cargs
{
    int kind;
    const void* sb;
    void* rb;
    int sc, rc;
    MPI_Datatype st, rt;
    MPI_Op op;
    int root;
    MPI_Comm comm;
    const int *scs, *sds, *rcs, *rds;
    const MPI_Datatype *sts, *rts;
} cargs;

/* A packed temporary to unpack into (buf, count, dt) after a round. */
typedef struct pend
{
    void* p;
    MPI_Count len;
    void* buf;
    int count;
    MPI_Datatype dt;
} pend;

/* The tag of the next schedule on c (same on every rank: call order). */
int gr__nbc_next_tag(comm* c);
MPI_Aint gr__nbc_extent(MPI_Datatype dt);
/* Space to receive (buf, count, dt) into; *unpack set when it is a
 * temporary to unpack with gr__nbc_unpack after the receive's round. */
void* gr__nbc_rview(nbc* s,
                    void* buf,
                    int count,
                    MPI_Datatype dt,
                    MPI_Count* len,
                    int* unpack);
/* Packed bytes of (buf, count, dt) to send: the user's buffer when
 * contiguous (and not snap), else a packed copy owned by s. */
const void* gr__nbc_sview(nbc* s,
                          const void* buf,
                          int count,
                          MPI_Datatype dt,
                          MPI_Count* len,
                          int snap);
/* Receives (buf, count, dt) from world rank wr; remembers an unpack in
 * pd[(*npd)++] when the data goes through a temporary. */
void gr__nbc_recv_into(nbc* s,
                       void* buf,
                       int count,
                       MPI_Datatype dt,
                       int wr,
                       pend* pd,
                       int* npd);
/* Schedules the unpacks of pd[0..npd). */
void gr__nbc_flush(nbc* s, pend* pd, int npd);
/* Combines slots[lo..hi] (packed contributions) in rank order into a new
 * buffer of s: slots[lo] op (... op slots[hi]). */
void* gr__nbc_combine(nbc* s,
                      void** slots,
                      int lo,
                      int hi,
                      MPI_Count len,
                      int count,
                      MPI_Datatype dt,
                      MPI_Op op);
/* Pairwise exchange with the n processes of w (world ranks): block j of
 * the send side (byte displacement sds[j], type sts[j]) to w[j], block j
 * of the receive side from w[j]; me: this process's index in w, or -1. */
int gr__nbc_pairwise(nbc* s,
                     int n,
                     int me,
                     const int* w,
                     const void* sb,
                     const int* scs,
                     const int* sds,
                     const MPI_Datatype* sts,
                     void* rb,
                     const int* rcs,
                     const int* rds,
                     const MPI_Datatype* rts);
/* Builds the schedule of collective a on intercommunicator c (inter.c). */
int gr__inter_build(nbc* s, comm* c, const cargs* a);

/* ---- attributes ---- */
int gr__attr_copy_all(MPI_Comm from, MPI_Comm to);
int gr__attr_delete_all(attr** list, int handle, int is_type);
int gr__info_valid(MPI_Info info);

/* ---- misc ---- */
void* gr__malloc(size_t n);
extern MPI_Errhandler gr__world_eh;

#endif
