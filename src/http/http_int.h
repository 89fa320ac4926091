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
};

/* One HTTP request; MHD's per-request pointer. Touched only by the MHD
 * thread serving its connection. */
typedef struct gr__http_req
{
    gr_http_server* srv;
    struct timespec t0;
    const char* method; /* MHD's, valid for the request */
    const char* url;    /* likewise */
    gr_http_route route;
    char user[GR_TOKEN_USER_MAX + 1]; /* the authenticated tenant */
    int admin;
    uint8_t* body; /* request body so far (gr_malloc) */
    size_t len, cap, limit;
    int too_big;
    unsigned status;  /* status sent, for the access log */
    uint64_t call_id; /* for the access log; 0 if none */
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

#endif
