/* SPDX-License-Identifier: Apache-2.0 */
/* Private to src/http: the server object, the per-request state and the
 * reply helpers shared by the MHD glue (server.c) and the endpoint
 * handlers (api.c). */
#ifndef GR_HTTP_HTTP_INT_H
#define GR_HTTP_HTTP_INT_H

#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/types.h>
#include <time.h>

#include "http/http.h"
#include "http/metrics.h"
#include "http/route.h"
#include "http/tokens.h"

/* Most threads a call may ask for (?threads=, "threads"): the per-call
 * limit of src/host/threads.h plus the main thread. */
#define GR__HTTP_MAX_THREADS 257

/* One TCP connection (MHD's socket context), tracked for the
 * whole-request deadline (guard.c). Created and freed by the MHD thread
 * that owns the connection, linked in the server's list under conn_lock;
 * the sweep thread reads fd under conn_lock and the atomics at any time. */
typedef struct gr__http_conn
{
    struct gr__http_conn *prev, *next;
    int fd;
    _Atomic uint64_t start_ns; /* the current request began to arrive */
    _Atomic uint64_t received; /* its body bytes so far */
    _Atomic int busy;          /* whole request in: processing/answering */
} gr__http_conn;

struct gr__http_req;

struct gr_http_server
{
    gr_http_config cfg; /* strings below point at our own copies */
    char* host;
    char* tokens_path;
    struct MHD_Daemon* daemon;
    uint16_t port;
    /* The token table is swapped whole on reload: handlers hold the read
     * lock only while looking a token up. */
    pthread_rwlock_t tok_lock;
    gr_tokens tokens;
    struct timespec tok_mtime;
    off_t tok_size;
    ino_t tok_ino;
    int tok_present;
    _Atomic uint64_t responses[6]; /* by status class */
    _Atomic int stopping;

    /* Sync calls admitted and not yet answered (max_sync bound). */
    _Atomic unsigned sync_inflight;
    /* GET /calls/{id}?wait= requests blocking an HTTP thread now. */
    _Atomic unsigned polls;
    unsigned max_polls;

    /* Suspended connections (defer.c): stop waits until none is left. */
    int defer_ready;
    pthread_mutex_t wait_lock;
    pthread_cond_t wait_cond;
    unsigned waiting;
    int draining; /* no more suspending (under wait_lock) */

    /* Upload threads (defer.c): a queue of requests, at most max_uploads
     * in flight (queued or running), one thread each. */
    pthread_mutex_t up_lock;
    pthread_cond_t up_cond;
    struct gr__http_req *up_head, *up_tail;
    unsigned up_inflight;
    int up_stop;
    pthread_t* up_threads;
    unsigned up_nthreads;

    /* Connections and the sweep thread (guard.c). */
    pthread_mutex_t conn_lock;
    pthread_cond_t sweep_cond;
    gr__http_conn* conns;
    int sweep_stop;
    int sweep_started;
    pthread_t sweeper;
};

/* What a request waits for while its connection is suspended. */
typedef enum gr__http_pending
{
    GR__HTTP_PEND_NONE,
    GR__HTTP_PEND_CALL,   /* a sync call: answer from its record */
    GR__HTTP_PEND_UPLOAD, /* an upload on an upload thread */
} gr__http_pending;

/* One HTTP request; MHD's per-request pointer, created by the URI log
 * callback. Touched only by the MHD thread serving its connection, except
 * while the connection is suspended: then the upload thread (upload
 * fields) or the call's completion hook (wake only) may touch it, and
 * resuming hands it back. */
typedef struct gr__http_req
{
    gr_http_server* srv;
    struct MHD_Connection* conn;
    gr__http_conn* hc; /* NULL if MHD gave no socket context */
    struct timespec t0;
    int started;        /* the access handler has seen it */
    const char* method; /* MHD's, valid for the request */
    char* url;          /* the raw path (ours, for routing and the log) */
    gr_http_route route;
    char user[GR_TOKEN_USER_MAX + 1]; /* the authenticated tenant */
    int admin;
    uint8_t* body; /* request body so far (gr_malloc) */
    size_t len, cap, limit;
    int too_big;
    unsigned status;  /* status sent, for the access log */
    uint64_t call_id; /* for the access log; 0 if none */

    /* Deferred work (defer.c). */
    gr__http_pending pending;
    _Atomic int wake; /* 0 working, 1 suspended, 2 finished */
    int sync_counted; /* holds one of srv->sync_inflight */
    int json_reply;   /* the sync call came as POST /calls (JSON answer) */
    struct gr__http_req* up_next;
    int up_rc, up_existed;
    char up_err[1024];
} gr__http_req;

/* Queues a response with status code and optional Content-Type, counts it
 * and destroys our reference. Returns MHD's result. */
enum MHD_Result gr__http_send(struct MHD_Connection* c,
                              gr__http_req* r,
                              unsigned code,
                              struct MHD_Response* resp,
                              const char* ctype);

/* Sends {"error": msg} with code. */
enum MHD_Result gr__http_error(struct MHD_Connection* c,
                               gr__http_req* r,
                               unsigned code,
                               const char* msg);

/* Sends a jansson value (reference stolen) as application/json. */
struct json_t;
enum MHD_Result gr__http_json(struct MHD_Connection* c,
                              gr__http_req* r,
                              unsigned code,
                              struct json_t* v);

/* Runs the routed, authorised action once the whole body is in. */
enum MHD_Result gr__http_dispatch(struct MHD_Connection* c, gr__http_req* r);

/* Answers a request whose deferred work is done (its connection has been
 * resumed): the call's record or the upload's outcome. */
enum MHD_Result gr__http_finish(struct MHD_Connection* c, gr__http_req* r);

/* Runs the upload of r on an upload thread (blocking; api.c). Fills
 * r->up_rc, up_err and up_existed. */
void gr__http_upload_run(gr__http_req* r);

/* ---- defer.c: suspended connections ------------------------------------ */

int gr__http_defer_init(gr_http_server* s);
/* Waits until every suspended connection has been resumed, then stops
 * the upload threads. */
void gr__http_defer_drain(gr_http_server* s);
void gr__http_defer_fini(gr_http_server* s);

/* Suspends r's connection until sync call id finishes (r->pending =
 * CALL). Returns MHD_YES (suspended, or resumed at once if it finished
 * meanwhile: gr__http_finish answers) or the result of an error answer. */
enum MHD_Result gr__http_defer_call(struct MHD_Connection* c,
                                    gr__http_req* r,
                                    uint64_t id);

/* Queues r's upload for an upload thread and suspends the connection.
 * Returns MHD_YES, or answers 429 (too many uploads) or 503 (stopping). */
enum MHD_Result gr__http_defer_upload(struct MHD_Connection* c,
                                      gr__http_req* r);

/* ---- guard.c: connection limits ---------------------------------------- */

/* conn_lock and sweep_cond are the server's (initialised before the
 * daemon starts, destroyed after it stopped: MHD_stop_daemon notifies
 * every close). Start and stop only run the sweep thread. */
int gr__http_guard_start(gr_http_server* s);
void gr__http_guard_stop(gr_http_server* s);
void gr__http_guard_notify(void* cls,
                           struct MHD_Connection* c,
                           void** socket_context,
                           enum MHD_ConnectionNotificationCode code);
/* The connection's record, or NULL. */
gr__http_conn* gr__http_guard_conn(struct MHD_Connection* c);

#endif
