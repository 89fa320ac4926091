/* SPDX-License-Identifier: Apache-2.0 */
/* The HTTP server's plumbing on libmicrohttpd: daemon start/stop, request
 * state, body accumulation with limits, routing and authentication before
 * any body is read, the access log and token reloads. Endpoints live in
 * api.c. */
#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "http/http_int.h"
#include "util/alloc.h"
#include "util/log.h"
#include "util/time.h"

#define DEFAULT_MAX_INPUT (16u << 20)
#define DEFAULT_MAX_UPLOAD (64u << 20)

enum MHD_Result
gr__http_send(struct MHD_Connection* c,
              gr__http_req* r,
              unsigned code,
              struct MHD_Response* resp,
              const char* ctype)
{
    if (!resp)
        return MHD_NO; /* out of memory: MHD closes the connection */
    if (ctype)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
    enum MHD_Result ret = MHD_queue_response(c, code, resp);
    MHD_destroy_response(resp);
    if (ret == MHD_YES && r) {
        r->status = code;
        if (code / 100 >= 1 && code / 100 <= 5)
            atomic_fetch_add_explicit(
              &r->srv->responses[code / 100], 1, memory_order_relaxed);
    }
    return ret;
}

enum MHD_Result
gr__http_json(struct MHD_Connection* c,
              gr__http_req* r,
              unsigned code,
              json_t* v)
{
    char* text = v ? json_dumps(v, JSON_COMPACT) : NULL;
    json_decref(v);
    if (!text)
        return MHD_NO;
    size_t n = strlen(text);
    /* json_dumps uses malloc; a trailing newline suits curl users. */
    char* body = realloc(text, n + 2);
    if (!body) {
        free(text);
        return MHD_NO;
    }
    body[n] = '\n';
    body[n + 1] = '\0';
    struct MHD_Response* resp =
      MHD_create_response_from_buffer(n + 1, body, MHD_RESPMEM_MUST_FREE);
    if (!resp)
        free(body);
    return gr__http_send(c, r, code, resp, "application/json");
}

enum MHD_Result
gr__http_error(struct MHD_Connection* c,
               gr__http_req* r,
               unsigned code,
               const char* msg)
{
    return gr__http_json(c, r, code, json_pack("{s:s}", "error", msg));
}

/* An error after which the connection must not be reused: the request's
 * framing is in doubt, so whatever follows it is not a request. */
static enum MHD_Result
reply_close(struct MHD_Connection* c,
            gr__http_req* r,
            unsigned code,
            const char* msg)
{
    json_t* v = json_pack("{s:s}", "error", msg);
    char* text = v ? json_dumps(v, JSON_COMPACT) : NULL;
    json_decref(v);
    struct MHD_Response* resp = text
                                  ? MHD_create_response_from_buffer(
                                      strlen(text), text, MHD_RESPMEM_MUST_FREE)
                                  : NULL;
    if (!resp) {
        free(text);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
    return gr__http_send(c, r, code, resp, "application/json");
}

typedef struct framing
{
    unsigned content_length; /* Content-Length headers seen */
    unsigned transfer_encoding;
} framing;

static enum MHD_Result
count_framing(void* cls,
              enum MHD_ValueKind kind,
              const char* key,
              const char* value)
{
    (void)kind;
    (void)value;
    framing* f = cls;
    if (strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH) == 0)
        f->content_length++;
    else if (strcasecmp(key, MHD_HTTP_HEADER_TRANSFER_ENCODING) == 0)
        f->transfer_encoding++;
    return MHD_YES;
}

static enum MHD_Result
reply_401(struct MHD_Connection* c, gr__http_req* r, const char* msg)
{
    char* text = json_dumps(json_pack("{s:s}", "error", msg), JSON_COMPACT);
    /* json_pack's value leaks if json_dumps fails; both only fail on OOM. */
    struct MHD_Response* resp = NULL;
    if (text) {
        resp = MHD_create_response_from_buffer(
          strlen(text), text, MHD_RESPMEM_MUST_FREE);
        if (!resp)
            free(text);
    }
    if (resp)
        MHD_add_response_header(
          resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer realm=\"granary\"");
    return gr__http_send(c, r, MHD_HTTP_UNAUTHORIZED, resp, "application/json");
}

/* Maps the Authorization header to a tenant. Returns 0, or the HTTP status
 * to answer with (401) and a message. */
static unsigned
authenticate(struct MHD_Connection* c, gr__http_req* r, const char** msg)
{
    const char* h = MHD_lookup_connection_value(
      c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    if (!h) {
        *msg = "missing bearer token (Authorization: Bearer TOKEN)";
        return MHD_HTTP_UNAUTHORIZED;
    }
    if (strncasecmp(h, "Bearer ", 7) != 0) {
        *msg = "Authorization must be 'Bearer TOKEN'";
        return MHD_HTTP_UNAUTHORIZED;
    }
    const char* tok = h + 7;
    while (*tok == ' ')
        tok++;
    size_t len = strlen(tok);
    while (len && tok[len - 1] == ' ')
        len--;
    gr_http_server* s = r->srv;
    pthread_rwlock_rdlock(&s->tok_lock);
    const gr_token_entry* e = gr_tokens_find(&s->tokens, tok, len);
    if (e) {
        memcpy(r->user, e->user, sizeof r->user);
        r->admin = e->admin;
    }
    pthread_rwlock_unlock(&s->tok_lock);
    if (!e) {
        *msg = "invalid token";
        return MHD_HTTP_UNAUTHORIZED;
    }
    return 0;
}

/* Whether the tenant may touch resources of route user u. */
static int
allowed(const gr__http_req* r, const char* u)
{
    return r->admin || u[0] == '\0' || strcmp(r->user, u) == 0;
}

/* First call for a request: route, authenticate and check the declared
 * length, all before the body is read. Returns MHD_YES to go on reading,
 * or the result of queueing an error response. */
static enum MHD_Result
begin(struct MHD_Connection* c, gr__http_req* r, const char* url)
{
    gr_http_server* s = r->srv;
    /* Two lengths, or a length and chunking, are how requests get
     * smuggled past a proxy that reads them the other way: refuse, and
     * close, before anything else. */
    framing fr = { 0 };
    MHD_get_connection_values(c, MHD_HEADER_KIND, count_framing, &fr);
    if (fr.content_length > 1)
        return reply_close(
          c, r, MHD_HTTP_BAD_REQUEST, "more than one Content-Length");
    if (fr.content_length && fr.transfer_encoding)
        return reply_close(c,
                           r,
                           MHD_HTTP_BAD_REQUEST,
                           "both Content-Length and Transfer-Encoding");
    if (fr.transfer_encoding > 1)
        return reply_close(
          c, r, MHD_HTTP_BAD_REQUEST, "more than one Transfer-Encoding");
    int rc = gr_http_route_match(r->method, url, &r->route);
    if (rc == -ENOENT)
        return gr__http_error(c, r, MHD_HTTP_NOT_FOUND, "no such resource");
    if (rc == -EINVAL)
        return gr__http_error(
          c,
          r,
          MHD_HTTP_BAD_REQUEST,
          "bad name or id (names are [A-Za-z0-9_.-]{1,64})");
    if (rc == -ENOTSUP) {
        json_t* v = json_pack("{s:s}", "error", "method not allowed");
        char* text = v ? json_dumps(v, JSON_COMPACT) : NULL;
        json_decref(v);
        struct MHD_Response* resp =
          text ? MHD_create_response_from_buffer(
                   strlen(text), text, MHD_RESPMEM_MUST_FREE)
               : NULL;
        if (!resp) {
            free(text);
            return MHD_NO;
        }
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, r->route.allow);
        return gr__http_send(
          c, r, MHD_HTTP_METHOD_NOT_ALLOWED, resp, "application/json");
    }
    if (gr_http_action_needs_auth(r->route.action)) {
        const char* msg = NULL;
        if (authenticate(c, r, &msg))
            return reply_401(c, r, msg);
        if (!allowed(r, r->route.user))
            return gr__http_error(
              c, r, MHD_HTTP_FORBIDDEN, "this token may not access that user");
    }
    switch (r->route.action) {
        case GR_HTTP_FN_UPLOAD:
            r->limit = s->cfg.max_upload;
            break;
        case GR_HTTP_FN_INVOKE:
            r->limit = s->cfg.max_input;
            break;
        case GR_HTTP_CALL_POST:
            /* base64 input takes 4/3 of the bytes, plus the JSON around */
            r->limit = s->cfg.max_input / 3 * 4 + 65536;
            break;
        case GR_HTTP_STATE_PUT:
            r->limit = s->cfg.max_state;
            break;
        default:
            r->limit = 0; /* no body expected */
            break;
    }
    const char* cl = MHD_lookup_connection_value(
      c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (cl) {
        char* end;
        errno = 0;
        unsigned long long n = strtoull(cl, &end, 10);
        if (errno || *end || end == cl || cl[0] < '0' || cl[0] > '9')
            return reply_close(
              c, r, MHD_HTTP_BAD_REQUEST, "bad Content-Length");
        if (n > r->limit)
            return gr__http_error(c,
                                  r,
                                  MHD_HTTP_CONTENT_TOO_LARGE,
                                  r->limit ? "request body too large"
                                           : "this request takes no body");
        /* Reserve once: most bodies arrive in one piece. */
        if (n > 0) {
            r->body = gr_malloc((size_t)n);
            if (!r->body)
                return gr__http_error(c,
                                      r,
                                      MHD_HTTP_CONTENT_TOO_LARGE,
                                      "cannot buffer the request body");
            r->cap = (size_t)n;
        }
    }
    return MHD_YES;
}

static int
append_body(gr__http_req* r, const char* data, size_t n)
{
    if (r->too_big || n > r->limit - r->len) {
        r->too_big = 1;
        return 0;
    }
    if (r->len + n > r->cap) {
        size_t ncap = r->cap ? r->cap : 4096;
        while (ncap < r->len + n)
            ncap *= 2;
        if (ncap > r->limit)
            ncap = r->limit;
        uint8_t* nb = gr_realloc(r->body, ncap);
        if (!nb) {
            r->too_big = 1;
            return -ENOMEM;
        }
        r->body = nb;
        r->cap = ncap;
    }
    memcpy(r->body + r->len, data, n);
    r->len += n;
    if (r->hc)
        atomic_fetch_add_explicit(&r->hc->received, n, memory_order_relaxed);
    return 0;
}

/* Called by MHD once the request line is in, before anything is parsed:
 * creates the request (MHD's *con_cls) with the path as sent, so that
 * routing sees escapes like %00 and %2F rather than MHD's decoding. */
static void*
on_uri(void* cls, const char* uri, struct MHD_Connection* c)
{
    (void)c;
    gr__http_req* r = gr_calloc(1, sizeof *r);
    if (!r)
        return NULL;
    if (!uri)
        uri = "";
    size_t n = strcspn(uri, "?");
    r->url = gr_malloc(n + 1);
    if (!r->url) {
        gr_free(r);
        return NULL;
    }
    memcpy(r->url, uri, n);
    r->url[n] = '\0';
    r->srv = cls;
    clock_gettime(CLOCK_MONOTONIC, &r->t0);
    return r;
}

static enum MHD_Result
on_request(void* cls,
           struct MHD_Connection* c,
           const char* url,
           const char* method,
           const char* version,
           const char* upload,
           size_t* upload_size,
           void** con_cls)
{
    (void)version;
    (void)cls;
    (void)url; /* decoded by MHD: we route on the raw path (on_uri) */
    gr__http_req* r = *con_cls;
    if (!r)
        return MHD_NO; /* on_uri ran out of memory */
    if (!r->started) {
        r->started = 1;
        r->method = method;
        r->hc = gr__http_guard_conn(c);
        return begin(c, r, r->url);
    }
    if (r->status)
        return MHD_YES; /* answered early; MHD discards the rest */
    if (r->pending)
        return gr__http_finish(c, r); /* resumed */
    if (*upload_size) {
        append_body(r, upload, *upload_size);
        *upload_size = 0;
        return MHD_YES;
    }
    if (r->too_big)
        return gr__http_error(c,
                              r,
                              MHD_HTTP_CONTENT_TOO_LARGE,
                              r->limit ? "request body too large"
                                       : "this request takes no body");
    if (r->hc)
        atomic_store(&r->hc->busy, 1); /* in: no more receive deadline */
    return gr__http_dispatch(c, r);
}

static void
on_completed(void* cls,
             struct MHD_Connection* c,
             void** con_cls,
             enum MHD_RequestTerminationCode toe)
{
    gr_http_server* s = cls;
    gr__http_conn* hc = gr__http_guard_conn(c);
    if (hc) {
        /* The next request on this connection starts its clock now. */
        atomic_store(&hc->received, 0);
        atomic_store(&hc->start_ns, gr_time_now_ns());
        atomic_store(&hc->busy, 0);
    }
    gr__http_req* r = *con_cls;
    if (!r)
        return;
    if (r->sync_counted)
        atomic_fetch_sub(&s->sync_inflight, 1);
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    long long us = (t1.tv_sec - r->t0.tv_sec) * 1000000LL +
                   (t1.tv_nsec - r->t0.tv_nsec) / 1000;
    char callbuf[32] = "";
    if (r->call_id)
        snprintf(callbuf,
                 sizeof callbuf,
                 " call=%llu",
                 (unsigned long long)r->call_id);
    if (toe == MHD_REQUEST_TERMINATED_COMPLETED_OK)
        GR_INFO("%s %s %u %lldus user=%s%s",
                r->method ? r->method : "-",
                r->url,
                r->status,
                us,
                r->user[0] ? r->user : "-",
                callbuf);
    else
        GR_INFO("%s %s aborted (code %d) after %lldus",
                r->method ? r->method : "-",
                r->url,
                (int)toe,
                us);
    gr_free(r->body);
    gr_free(r->url);
    gr_free(r);
    *con_cls = NULL;
}

static void
mhd_log(void* cls, const char* fmt, va_list ap)
{
    (void)cls;
    char line[512];
    vsnprintf(line, sizeof line, fmt, ap);
    size_t n = strlen(line);
    while (n && line[n - 1] == '\n')
        line[--n] = '\0';
    GR_DEBUG("mhd: %s", line);
}

int
gr_http_server_reload_tokens(gr_http_server* s,
                             int force,
                             char* err,
                             size_t errlen)
{
    struct stat st;
    int present = stat(s->tokens_path, &st) == 0;
    if (!force && present == s->tok_present &&
        (!present || (st.st_mtim.tv_sec == s->tok_mtime.tv_sec &&
                      st.st_mtim.tv_nsec == s->tok_mtime.tv_nsec &&
                      st.st_size == s->tok_size && st.st_ino == s->tok_ino)))
        return 0;
    gr_tokens t;
    int insecure = 0;
    int rc = gr_tokens_load(s->tokens_path, &t, &insecure, err, errlen);
    if (rc < 0)
        return rc;
    if (insecure)
        GR_WARN("%s is readable by other users; chmod 600 it", s->tokens_path);
    pthread_rwlock_wrlock(&s->tok_lock);
    gr_tokens old = s->tokens;
    s->tokens = t;
    pthread_rwlock_unlock(&s->tok_lock);
    gr_tokens_fini(&old);
    s->tok_present = present;
    if (present) {
        s->tok_mtime = st.st_mtim;
        s->tok_size = st.st_size;
        s->tok_ino = st.st_ino;
    }
    return 1;
}

static int
parse_addr(const char* host,
           uint16_t port,
           struct sockaddr_storage* ss,
           int* v6)
{
    struct sockaddr_in* a4 = (struct sockaddr_in*)ss;
    struct sockaddr_in6* a6 = (struct sockaddr_in6*)ss;
    memset(ss, 0, sizeof *ss);
    if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        a4->sin_port = htons(port);
        *v6 = 0;
        return 0;
    }
    if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons(port);
        *v6 = 1;
        return 0;
    }
    if (strcmp(host, "localhost") == 0)
        return parse_addr("127.0.0.1", port, ss, v6);
    return -EINVAL;
}

int
gr_http_server_start(const gr_http_config* cfg,
                     gr_http_server** out,
                     char* err,
                     size_t errlen)
{
    int rc = 0;
    *out = NULL;
    if (!cfg || !cfg->sched || !cfg->tokens_path) {
        snprintf(err, errlen, "http: scheduler and token file are required");
        return -EINVAL;
    }
    gr_http_server* s = gr_calloc(1, sizeof *s);
    if (!s)
        return -ENOMEM;
    pthread_rwlock_init(&s->tok_lock, NULL);
    pthread_mutex_init(&s->conn_lock, NULL);
    gr_time_cond_init(&s->sweep_cond);
    s->cfg = *cfg;
    s->host = gr_strdup(cfg->host ? cfg->host : "127.0.0.1");
    s->tokens_path = gr_strdup(cfg->tokens_path);
    if (!s->host || !s->tokens_path) {
        rc = -ENOMEM;
        goto fail;
    }
    s->cfg.host = s->host;
    s->cfg.tokens_path = s->tokens_path;
    if (!s->cfg.max_input)
        s->cfg.max_input = DEFAULT_MAX_INPUT;
    if (!s->cfg.max_upload)
        s->cfg.max_upload = DEFAULT_MAX_UPLOAD;
    if (!s->cfg.max_state)
        s->cfg.max_state = 64u << 20;
    if (!s->cfg.idle_timeout_s)
        s->cfg.idle_timeout_s = 30;
    if (!s->cfg.max_connections)
        s->cfg.max_connections = 4096;
    if (!s->cfg.threads) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        s->cfg.threads = (unsigned)(n > 0 ? 2 * n : 2);
    }
    if (!s->cfg.max_sync) {
        gr_sched_stats st = { 0 };
        gr_sched_get_stats(s->cfg.sched, &st);
        s->cfg.max_sync = (unsigned)(st.slots ? 2 * st.slots : 2);
    }
    if (!s->cfg.max_uploads)
        s->cfg.max_uploads = 2;
    if (!s->cfg.request_timeout_s)
        s->cfg.request_timeout_s = 10;
    if (!s->cfg.max_per_ip)
        s->cfg.max_per_ip = 64;
    /* Long polls (GET /calls/ID?wait=) still hold their thread: at most
     * half of them, so that the others always serve. */
    s->max_polls = s->cfg.threads / 2 ? s->cfg.threads / 2 : 1;
    if ((rc = gr__http_defer_init(s)) < 0 ||
        (rc = gr__http_guard_start(s)) < 0) {
        snprintf(err, errlen, "http: cannot start threads: %s", strerror(-rc));
        goto fail;
    }
    rc = gr_http_server_reload_tokens(s, 1, err, errlen);
    if (rc < 0)
        goto fail;
    if (s->tokens.n == 0)
        GR_WARN("no API tokens in %s: every request but /healthz and "
                "/metrics will get 401 (create one with 'granary token "
                "create USER')",
                s->tokens_path);

    struct sockaddr_storage ss;
    int v6 = 0;
    if (parse_addr(s->host, cfg->port, &ss, &v6) < 0) {
        snprintf(
          err, errlen, "http: bad listen address '%s' (want an IP)", s->host);
        rc = -EINVAL;
        goto fail;
    }
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
                     MHD_USE_ERROR_LOG | MHD_USE_TURBO |
                     MHD_ALLOW_SUSPEND_RESUME;
    if (v6)
        flags |= MHD_USE_IPv6;
    errno = 0;
    s->daemon = MHD_start_daemon(flags,
                                 cfg->port,
                                 NULL,
                                 NULL,
                                 on_request,
                                 s,
                                 MHD_OPTION_SOCK_ADDR,
                                 (struct sockaddr*)&ss,
                                 MHD_OPTION_THREAD_POOL_SIZE,
                                 (unsigned)s->cfg.threads,
                                 MHD_OPTION_CONNECTION_TIMEOUT,
                                 (unsigned)s->cfg.idle_timeout_s,
                                 MHD_OPTION_CONNECTION_LIMIT,
                                 (unsigned)s->cfg.max_connections,
                                 MHD_OPTION_PER_IP_CONNECTION_LIMIT,
                                 (unsigned)s->cfg.max_per_ip,
                                 MHD_OPTION_NOTIFY_COMPLETED,
                                 on_completed,
                                 s,
                                 MHD_OPTION_NOTIFY_CONNECTION,
                                 gr__http_guard_notify,
                                 s,
                                 MHD_OPTION_URI_LOG_CALLBACK,
                                 on_uri,
                                 s,
                                 MHD_OPTION_EXTERNAL_LOGGER,
                                 mhd_log,
                                 s,
                                 MHD_OPTION_LISTEN_BACKLOG_SIZE,
                                 1024u,
                                 MHD_OPTION_END);
    if (!s->daemon) {
        rc = errno ? -errno : -EADDRINUSE;
        snprintf(err,
                 errlen,
                 "http: cannot listen on %s:%u: %s",
                 s->host,
                 (unsigned)cfg->port,
                 strerror(-rc));
        goto fail;
    }
    const union MHD_DaemonInfo* di =
      MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
    s->port = di ? di->port : cfg->port;
    *out = s;
    return 0;
fail:
    gr_http_server_stop(s);
    return rc;
}

uint16_t
gr_http_server_port(const gr_http_server* s)
{
    return s->port;
}

void
gr_http_server_stop(gr_http_server* s)
{
    if (!s)
        return;
    /* New sync calls and uploads get 503; running ones finish (by their
     * deadlines) and are answered before the daemon goes, since MHD must
     * not be stopped with a suspended connection. */
    atomic_store(&s->stopping, 1);
    gr__http_defer_drain(s);
    gr__http_guard_stop(s);
    if (s->daemon)
        MHD_stop_daemon(s->daemon);
    gr__http_defer_fini(s);
    pthread_cond_destroy(&s->sweep_cond);
    pthread_mutex_destroy(&s->conn_lock);
    gr_tokens_fini(&s->tokens);
    pthread_rwlock_destroy(&s->tok_lock);
    gr_free(s->host);
    gr_free(s->tokens_path);
    gr_free(s);
}
