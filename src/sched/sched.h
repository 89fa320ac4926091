/* SPDX-License-Identifier: Apache-2.0 */
/* The scheduler: the function store (per user), placement of calls behind
 * an interface the multi-host planner will implement, the executor pool
 * (one slot per core by default), bounded queueing with backpressure,
 * chaining, and the record of every call. The HTTP API and the CLI talk
 * only to this interface. Thread-safe throughout. */
#ifndef GR_SCHED_SCHED_H
#define GR_SCHED_SCHED_H

#include <stddef.h>
#include <stdint.h>

#include "engine/engine.h"

typedef struct gr_sched gr_sched;
struct gr_state;
struct gr_host_info;

#define GR_SCHED_NAME_MAX                                                      \
    64 /* user and function names: [A-Za-z0-9_.-]{1,64}                        \
        */

/* Where a granule runs. The embedded default has one host, "local". The
 * planner (multi-host) implements the same interface. */
typedef struct gr_placement
{
    void* ctx;
    /* Chooses a host for one call of user/fn; writes its id (NUL-terminated,
     * < 64 bytes) into host. Returns 0 or -EBUSY (no free slot anywhere). */
    int (*place)(void* ctx, const char* user, const char* fn, char* host);
    /* Optional: describes every host (gr_sched_hosts, GET /hosts); *out
     * owned by the caller (gr_host_info_free). NULL = this host only. */
    int (*hosts)(void* ctx, struct gr_host_info** out, size_t* n);
} gr_placement;

typedef struct gr_sched_config
{
    gr_engine* engine;    /* borrowed, required */
    const char* data_dir; /* function store; NULL = $GRANARY_DATA, else
                             $XDG_DATA_HOME/granary or
                             ~/.local/share/granary */
    int slots;            /* executor slots; 0 = number of CPUs */
    size_t queue_max;     /* queued calls before -EBUSY; 0 = 1024 */
    uint64_t timeout_ns;  /* default per-call timeout; 0 = 60 s */
    uint32_t max_pages;   /* per-Faaslet memory cap; 0 = 65536 pages */
    size_t max_input;     /* bytes; 0 = 16 MiB */
    size_t max_output;    /* bytes; 0 = 16 MiB */
    size_t max_module;    /* upload size; 0 = 64 MiB */
    size_t max_records;   /* finished call records kept; 0 = 100000 */
    /* The call journal (<data_dir>/calls.db) keeps records across
     * restarts, oldest dropped first past either bound. */
    size_t journal_max_records;    /* 0 = 100000 */
    size_t journal_max_bytes;      /* 0 = 1 GiB */
    size_t max_record_bytes;       /* bytes those records keep (output, stdout,
                                      stderr, input) in all; 0 = 256 MiB */
    size_t max_user_record_bytes;  /* the same, per user; 0 = 64 MiB */
    const gr_placement* placement; /* NULL = local only */
    struct gr_state* state; /* shared state given to every Faaslet (borrowed;
                               NULL = none: state calls fail cleanly) */
    uint64_t idle_ns;       /* evict Faaslets idle this long; 0 = 60 s */
    const struct gr_remote* remote; /* multi-host: runs calls placed on
                                       other hosts (borrowed; NULL = every
                                       host name runs here) */
} gr_sched_config;

/* Creates the scheduler, loads the store (re-compiling from the object
 * cache as needed, lazily) and starts the executor threads. */
int gr_sched_create(const gr_sched_config* cfg, gr_sched** out);
/* Stops accepting calls, finishes running ones, frees everything. */
void gr_sched_destroy(gr_sched* s);

/* ---- functions ---------------------------------------------------------- */

typedef struct gr_fn_info
{
    char user[GR_SCHED_NAME_MAX + 1];
    char name[GR_SCHED_NAME_MAX + 1];
    char hash[65];        /* SHA-256 of the wasm */
    uint64_t size;        /* wasm bytes */
    uint64_t uploaded_ns; /* CLOCK_REALTIME */
} gr_fn_info;

/* Validates, compiles, initialises and stores user/fn (replacing an older
 * version: running calls finish on the old one). Initialisation (start
 * function, _initialize, granary_init) runs under the call timeout and
 * the memory limit; a module whose initialisation traps, exits non-zero
 * or times out is rejected with GR_EINVALID_MODULE ("start function: ..."
 * in err). Returns 0, -EINVAL (bad name), -EFBIG (too large), or an engine
 * error (GR_EINVALID_MODULE, GR_EIMPORT, GR_ECOMPILE, ...) with the reason
 * in err. A failed upload leaves any previous version in place. */
int gr_sched_fn_upload(gr_sched* s,
                       const char* user,
                       const char* fn,
                       const uint8_t* wasm,
                       size_t len,
                       char* err,
                       size_t errlen);
int gr_sched_fn_delete(gr_sched* s, const char* user, const char* fn);
int gr_sched_fn_get(gr_sched* s,
                    const char* user,
                    const char* fn,
                    gr_fn_info* out);
/* All functions of user, sorted by name; *out owned by the caller
 * (gr_free). */
int gr_sched_fn_list(gr_sched* s,
                     const char* user,
                     gr_fn_info** out,
                     size_t* n);

/* ---- calls -------------------------------------------------------------- */

typedef enum gr_call_state
{
    GR_CALL_QUEUED,
    GR_CALL_RUNNING,
    GR_CALL_DONE,   /* ran to the end (any return code) */
    GR_CALL_FAILED, /* trap, timeout, or could not run (see status) */
} gr_call_state;

/* A copy of one call's record; free with gr_call_info_fini. */
typedef struct gr_call_info
{
    uint64_t id;
    uint64_t parent; /* the chaining caller, 0 if none */
    char user[GR_SCHED_NAME_MAX + 1];
    char fn[GR_SCHED_NAME_MAX + 1];
    char host[64];
    gr_call_state state;
    int status; /* 0, GR_ETRAP, GR_ETIMEOUT, -errno */
    int return_code;
    char trap[64]; /* trap name, "" if none */
    uint8_t* output;
    size_t output_len;
    char* out; /* captured stdout / stderr */
    char* err;
    int truncated; /* 1 if the output, stdout or stderr reached its limit
                      (max_output, 1 MiB capture): the guest's writes past
                      it failed with EFBIG and the rest was not kept */
    int cold;      /* 1 if a new Faaslet was restored for it */
    uint64_t queued_ns, started_ns, finished_ns; /* CLOCK_MONOTONIC */
} gr_call_info;

void gr_call_info_fini(gr_call_info* ci);
const char* gr_call_state_name(gr_call_state st);

typedef struct gr_invoke_opts
{
    uint64_t timeout_ns; /* 0 = the scheduler's default */
    uint64_t parent;     /* set by chaining */
    uint64_t id;         /* use this call id (assigned by the planner)
                            instead of a new one; 0 = new. -EEXIST if a
                            record with it exists. */
    const char* host;    /* skip placement and run on this host ("local" =
                            here); NULL = ask the placement */
    /* MPI (docs/mpi.md): np >= 1 runs the call as an app of np ranks, one
     * Faaslet each, in one MPI world: the input is rank 0's stdin, the
     * output a JSON document with every rank's stdout, stderr and exit
     * code, return_code the app's exit status (as granary mpirun's). Here
     * every rank runs on this host once np slots are free together; a
     * planner places the ranks on its workers (spread: as evenly as
     * possible over the hosts with free slots; else fill hosts in turn).
     * np above the slots there are is refused with -ENOSPC before
     * anything starts. mpi: a worker's part of a world the planner placed
     * (borrowed for the call to gr_sched_invoke only). */
    int np;
    int spread;
    const struct gr_mpi_part* mpi;
    /* Threads (docs/threads.md, "Scheduling"): the threads this call may
     * run at once, its own included, even beyond the free slots (the user
     * asks to oversubscribe): granary thread_limit returns it and
     * thread-spawn allows that many. 0 = only as many as the call is
     * granted slots (1 + the free slots when it asks). 1..257. */
    int threads;
} gr_invoke_opts;

/* One host's part of an MPI world placed by a planner: the world's id,
 * the host of every rank, every host's MPI address and name, and which
 * host this is. */
typedef struct gr_mpi_part
{
    uint64_t app;
    int np, nhosts, self;
    const int* rank_host;     /* np entries */
    const char* const* addrs; /* nhosts MPI addresses */
    const char* const* names; /* nhosts host ids (for the results) */
    struct gr_mpi_net* net;   /* this host's MPI listener */
} gr_mpi_part;

/* Queues a call of user/fn and returns its id at once. Returns 0, -ENOENT
 * (no such function), -EFBIG (input too large), -EBUSY (queue full: the
 * caller should answer 429/503), -ESHUTDOWN. */
int gr_sched_invoke(gr_sched* s,
                    const char* user,
                    const char* fn,
                    const uint8_t* input,
                    size_t len,
                    const gr_invoke_opts* o,
                    uint64_t* id);

/* Waits for call id to finish (at most wait_ns; 0 = forever) and copies
 * its record into out. When the caller is itself running a call (a
 * chaining parent), it gives its slot back while it waits and another
 * executor thread runs the queued calls, each on its own thread under its
 * own deadline, so a chain never deadlocks when every slot is waiting on a
 * child; the parent takes the slot again when it wakes (briefly running
 * more calls than slots). Returns 0, -ENOENT, -ETIMEDOUT. */
int gr_sched_await(gr_sched* s,
                   uint64_t id,
                   uint64_t wait_ns,
                   gr_call_info* out);

/* Runs a call synchronously (invoke + await), on the calling thread when a
 * slot is free (no hand-off), else through the queue. Same errors as
 * gr_sched_invoke. */
int gr_sched_call(gr_sched* s,
                  const char* user,
                  const char* fn,
                  const uint8_t* input,
                  size_t len,
                  const gr_invoke_opts* o,
                  gr_call_info* out);

/* Completion hook for callers that must not block (the HTTP server
 * suspends a connection instead of waiting): asks for fn(ud, id) to be
 * called once when call id finishes, on the thread that finishes it, after
 * the record is published (gr_sched_await then returns at once). fn must
 * not block or call back into the scheduler's waiting functions. Returns 0
 * (registered), 1 (already finished: fn will not be called), -ENOENT, or
 * -EBUSY (a hook is already registered for this call). */
typedef void (*gr_sched_done_fn)(void* ud, uint64_t id);
int gr_sched_on_done(gr_sched* s, uint64_t id, gr_sched_done_fn fn, void* ud);

/* Copies the record of a call of user (queued, running or finished);
 * user NULL reads any user's call (for administrators). Returns 0 or
 * -ENOENT (unknown, forgotten, or another user's: which one is not told).
 * Call ids are 64 random bits from the kernel (getrandom), unrelated to
 * each other. Finished records are forgotten oldest first beyond
 * max_records, max_record_bytes (the user holding the most bytes loses its
 * oldest first) and max_user_record_bytes (that user's oldest first); the
 * newest record is always kept. */
int gr_sched_call_get(gr_sched* s,
                      const char* user,
                      uint64_t id,
                      gr_call_info* out);

/* ---- remote execution (multi-host; docs/cluster.md) --------------------
 * With gr_sched_config.remote set, a call that placement (or
 * gr_invoke_opts.host) puts on a host other than "local" is not queued
 * here: its record is marked running and remote->start hands it to that
 * host. The call then finishes when gr_sched_remote_done delivers its
 * outcome. Whoever implements start guarantees that done is called
 * exactly once for every start that returned 0 (also when the host dies
 * or the call's deadline passes), otherwise its waiters wait forever.
 * Without the function in the local store, a call can still be placed
 * remotely (a worker's chained call goes to the planner). */

typedef struct gr_remote_call
{
    uint64_t id;     /* this scheduler's call id */
    uint64_t parent; /* the chaining parent's id, 0 if none */
    const char* user;
    const char* fn;
    const char* hash; /* hex SHA-256 of the wasm; "" if not stored here */
    const uint8_t* input;
    size_t input_len;
    uint64_t timeout_ns;
    int threads; /* gr_invoke_opts.threads */
} gr_remote_call;

typedef struct gr_remote
{
    void* ctx;
    /* Sends call d to host. Everything in d is borrowed for the duration
     * of the call only. Must not wait for the call to run (it is invoked
     * from guests that chain). Returns 0 (done will follow) or a negative
     * errno (the call fails with it; done must not be called). */
    int (*start)(void* ctx, const char* host, const gr_remote_call* d);
    /* Optional, MPI apps (gr_invoke_opts.np) on a planner. mpi_place
     * places np ranks of user/fn on hosts with free slots (spread or
     * bin-pack) and reserves them, or refuses with -ENOSPC (nothing
     * reserved); *plan is the placement. mpi_start then starts every
     * host's part of call d (takes plan; returns 0: done follows once
     * for d->id with the whole app's outcome; or an error, done not
     * called); mpi_cancel drops a plan that is not started. */
    int (*mpi_place)(void* ctx,
                     const char* user,
                     const char* fn,
                     int np,
                     int spread,
                     void** plan);
    int (*mpi_start)(void* ctx, void* plan, const gr_remote_call* d);
    void (*mpi_cancel)(void* ctx, void* plan);
} gr_remote;

/* Delivers the outcome of remote call id: r->state (GR_CALL_DONE or
 * GR_CALL_FAILED), status, return_code, trap, output, out, err, cold and
 * host (where it ran; "" keeps the placed host) are copied. Returns 0,
 * -ENOENT (unknown or forgotten id) or -EALREADY (already finished, or
 * not a remote call). Thread-safe. */
int gr_sched_remote_done(gr_sched* s, uint64_t id, const gr_call_info* r);

/* Functions with warm (idle) Faaslets here, for heartbeats. */
typedef struct gr_warm_fn
{
    char user[GR_SCHED_NAME_MAX + 1];
    char fn[GR_SCHED_NAME_MAX + 1];
    char hash[65];
    uint32_t idle, busy;
} gr_warm_fn;

/* Lists loaded functions that have Faaslets (idle or busy); *out owned by
 * the caller (gr_free; NULL when *n is 0). Returns 0 or -ENOMEM. */
int gr_sched_warm_list(gr_sched* s, gr_warm_fn** out, size_t* n);

/* Copies the stored wasm whose SHA-256 is hash (hex) into *wasm (owned,
 * gr_free) and its function's record into info (may be NULL). Returns 0,
 * -ENOENT (no stored function has that hash) or an I/O error. */
int gr_sched_fn_wasm(gr_sched* s,
                     const char* hash,
                     uint8_t** wasm,
                     size_t* len,
                     gr_fn_info* info);

/* One host as the placement sees it (GET /hosts, granary hosts). */
typedef struct gr_host_call
{
    uint64_t id;
    char user[GR_SCHED_NAME_MAX + 1];
    char fn[GR_SCHED_NAME_MAX + 1];
    char ranks[48];   /* an MPI app's ranks there ("0-1 of 4"), else "" */
    uint32_t threads; /* its thread granules running there (0 = none or
                         not known) */
} gr_host_call;

typedef struct gr_host_info
{
    char id[64];
    char address[64];      /* where it connected from; "" for this host */
    uint32_t slots;        /* executor slots offered */
    uint32_t used;         /* calls running there now */
    uint32_t threads;      /* thread granules (guest threads of calls, the
                              main ones not counted) running there now */
    uint32_t thread_slots; /* slots those threads hold */
    int alive;             /* 0: dropped, kept for a while for the record */
    uint64_t seen_ms;      /* ms since its last heartbeat (0 = this host) */
    uint64_t placed;       /* calls placed there so far */
    gr_warm_fn* warm;      /* functions with Faaslets there */
    size_t nwarm;
    gr_host_call* running; /* calls running there */
    size_t nrunning;
} gr_host_info;

/* The calls of this scheduler running thread granules now, each with
 * their count (ranks ""); *out owned by the caller (gr_free; NULL when
 * *n is 0). Returns 0 or -ENOMEM. */
int gr_sched_thread_calls(gr_sched* s, gr_host_call** out, size_t* n);

/* Describes the hosts calls may run on: the placement's hosts callback,
 * or this host alone. *out owned by the caller (gr_host_info_free).
 * Returns 0 or -ENOMEM. */
int gr_sched_hosts(gr_sched* s, gr_host_info** out, size_t* n);
void gr_host_info_free(gr_host_info* v, size_t n);

/* ---- metrics ------------------------------------------------------------ */

#define GR_SCHED_LATENCY_BUCKETS 16

typedef struct gr_sched_stats
{
    uint64_t calls, errors, timeouts, rejected; /* rejected: queue full */
    uint64_t cold_starts, warm_starts;
    uint64_t queue_depth, running, slots;
    uint64_t faaslets_alive;
    /* thread granules: guest threads of calls other than their main
     * threads (docs/threads.md) */
    uint64_t thread_granules;       /* running now */
    uint64_t thread_slots;          /* slots they hold now (thread_limit grants
                                       included) */
    uint64_t threads_started;       /* started so far */
    uint64_t threads_refused;       /* spawns refused for want of a slot */
    uint64_t records, record_bytes; /* finished records kept, their bytes */
    /* Latency histogram (queue to finish), upper bounds in seconds:
     * bucket_le[i]; counts are cumulative as Prometheus expects. */
    double bucket_le[GR_SCHED_LATENCY_BUCKETS];
    uint64_t bucket_count[GR_SCHED_LATENCY_BUCKETS];
    double latency_sum_s;
} gr_sched_stats;

void gr_sched_get_stats(gr_sched* s, gr_sched_stats* st);

#endif
