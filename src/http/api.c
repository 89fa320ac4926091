/* SPDX-License-Identifier: Apache-2.0 */
/* The endpoints of the HTTP API (docs/api.md): functions, invocations,
 * call records, health, metrics. The sync invoke path answers with headers
 * and the raw output only, no JSON, because it is the hot path. */
#include <errno.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <granary/status.h>

#include "http/http_int.h"
#include "http/text.h"
#include "state/state.h"
#include "util/alloc.h"
#include "util/log.h"

/* Adds key (a string if valid UTF-8, else base64) and key_encoding. */
static int
put_bytes(json_t* o, const char* key, const uint8_t* p, size_t len)
{
    char enc_key[64];
    snprintf(enc_key, sizeof enc_key, "%s_encoding", key);
    if (!p)
        len = 0;
    if (gr_http_utf8_valid(p, len)) {
        json_object_set_new(
          o, key, json_stringn(len ? (const char*)p : "", len));
        json_object_set_new(o, enc_key, json_string("utf-8"));
        return 0;
    }
    size_t cap = 4 * ((len + 2) / 3) + 1;
    unsigned char* b64 = gr_malloc(cap);
    if (!b64)
        return -ENOMEM;
    int n = EVP_EncodeBlock(b64, p, (int)len);
    json_object_set_new(o, key, json_stringn((const char*)b64, (size_t)n));
    json_object_set_new(o, enc_key, json_string("base64"));
    gr_free(b64);
    return 0;
}

static json_t*
fn_json(const gr_fn_info* f)
{
    char when[32] = "";
    time_t t = (time_t)(f->uploaded_ns / 1000000000u);
    struct tm tm;
    if (gmtime_r(&t, &tm))
        strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return json_pack("{s:s, s:s, s:s, s:I, s:s}",
                     "user",
                     f->user,
                     "name",
                     f->name,
                     "hash",
                     f->hash,
                     "size",
                     (json_int_t)f->size,
                     "uploaded",
                     when);
}

static long long
us_between(uint64_t a, uint64_t b)
{
    return a && b >= a ? (long long)((b - a) / 1000) : -1;
}

static const char*
call_status_text(const gr_call_info* ci)
{
    if (ci->status == 0)
        return "ok";
    if (ci->status == GR_ETIMEOUT)
        return "timeout";
    if (ci->status == GR_ETRAP)
        return "trap";
    return gr_strerror(ci->status);
}

/* Whether the call's output or logs were cut at a limit. */
static int
call_truncated(const gr_call_info* ci)
{
    return ci->truncated;
}

static json_t*
id_json(uint64_t id)
{
    char b[24];
    snprintf(b, sizeof b, "%llu", (unsigned long long)id);
    return json_string(b);
}

static json_t*
call_json(const gr_call_info* ci)
{
    json_t* o = json_object();
    if (!o)
        return NULL;
    /* Ids use all 64 bits: strings, so that no JSON reader rounds them. */
    json_object_set_new(o, "id", id_json(ci->id));
    if (ci->parent)
        json_object_set_new(o, "parent", id_json(ci->parent));
    json_object_set_new(o, "user", json_string(ci->user));
    json_object_set_new(o, "function", json_string(ci->fn));
    json_object_set_new(o, "host", json_string(ci->host));
    json_object_set_new(o, "state", json_string(gr_call_state_name(ci->state)));
    int finished = ci->state == GR_CALL_DONE || ci->state == GR_CALL_FAILED;
    if (finished) {
        json_object_set_new(o, "status", json_string(call_status_text(ci)));
        json_object_set_new(o, "return_code", json_integer(ci->return_code));
        json_object_set_new(
          o, "trap", ci->trap[0] ? json_string(ci->trap) : json_null());
        json_object_set_new(o, "cold", json_boolean(ci->cold));
        if (call_truncated(ci))
            json_object_set_new(o, "truncated", json_true());
        put_bytes(o, "output", ci->output, ci->output_len);
        put_bytes(
          o, "stdout", (const uint8_t*)ci->out, ci->out ? strlen(ci->out) : 0);
        put_bytes(
          o, "stderr", (const uint8_t*)ci->err, ci->err ? strlen(ci->err) : 0);
    }
    json_t* t = json_object();
    long long q = us_between(ci->queued_ns, ci->started_ns);
    long long x = us_between(ci->started_ns, ci->finished_ns);
    long long all = us_between(ci->queued_ns, ci->finished_ns);
    if (t) {
        json_object_set_new(
          t, "queue_us", q < 0 ? json_null() : json_integer(q));
        json_object_set_new(
          t, "exec_us", x < 0 ? json_null() : json_integer(x));
        json_object_set_new(
          t, "total_us", all < 0 ? json_null() : json_integer(all));
        json_object_set_new(o, "timings", t);
    }
    return o;
}

/* Answers for a scheduler error code. */
static enum MHD_Result
sched_error(struct MHD_Connection* c,
            gr__http_req* r,
            int rc,
            const char* detail)
{
    unsigned code = MHD_HTTP_INTERNAL_SERVER_ERROR;
    const char* msg = detail && *detail ? detail : gr_strerror(rc);
    switch (rc) {
        case -ENOENT:
            code = MHD_HTTP_NOT_FOUND;
            msg = "no such function or call";
            break;
        case -EACCES:
        case -EPERM:
            code = MHD_HTTP_FORBIDDEN;
            msg = "this token may not access that user";
            break;
        case -EFBIG:
            code = MHD_HTTP_CONTENT_TOO_LARGE;
            msg = "too large";
            break;
        case -EBUSY: {
            /* Queue full: 429 with a hint to retry. */
            json_t* v = json_pack(
              "{s:s}", "error", "queue full: too many calls, retry later");
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
            MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, "1");
            return gr__http_send(
              c, r, MHD_HTTP_TOO_MANY_REQUESTS, resp, "application/json");
        }
        case -ESHUTDOWN:
            code = MHD_HTTP_SERVICE_UNAVAILABLE;
            msg = "shutting down";
            break;
        case -ENOSPC:
            code = MHD_HTTP_CONFLICT;
            msg = "cannot place every rank of the MPI world: not enough "
                  "free slots";
            break;
        case -EINVAL:
            code = MHD_HTTP_BAD_REQUEST;
            break;
        case GR_EINVALID_MODULE:
        case GR_EIMPORT:
        case GR_ECOMPILE:
        case GR_ENOEXPORT:
            code = MHD_HTTP_BAD_REQUEST;
            break;
        case -ELOOP:
            code = MHD_HTTP_BAD_REQUEST;
            msg = "chain too deep";
            break;
        default:
            break;
    }
    return gr__http_error(c, r, code, msg);
}

static enum MHD_Result
do_healthz(struct MHD_Connection* c, gr__http_req* r)
{
    static const char ok[] = "ok\n";
    struct MHD_Response* resp = MHD_create_response_from_buffer(
      sizeof ok - 1, (void*)ok, MHD_RESPMEM_PERSISTENT);
    return gr__http_send(c, r, MHD_HTTP_OK, resp, "text/plain");
}

static enum MHD_Result
do_metrics(struct MHD_Connection* c, gr__http_req* r)
{
    gr_sched_stats st = { 0 };
    gr_http_counters hc = { 0 };
    gr_sched_get_stats(r->srv->cfg.sched, &st);
    for (int i = 1; i <= 5; i++)
        hc.responses[i] =
          atomic_load_explicit(&r->srv->responses[i], memory_order_relaxed);
    char* text = NULL;
    size_t len = 0;
    if (gr_http_metrics_format(&st, &hc, &text, &len) < 0)
        return MHD_NO;
    struct MHD_Response* resp =
      MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_COPY);
    gr_free(text);
    return gr__http_send(
      c, r, MHD_HTTP_OK, resp, "text/plain; version=0.0.4; charset=utf-8");
}

/* GET /hosts: every host calls may run on (the planner's registry, or
 * "local" for granary serve). Any authenticated user may list hosts and
 * their load; calls and warm functions of other users are shown to admins
 * only. */
static enum MHD_Result
do_hosts(struct MHD_Connection* c, gr__http_req* r)
{
    gr_host_info* v = NULL;
    size_t n = 0;
    if (gr_sched_hosts(r->srv->cfg.sched, &v, &n) < 0)
        return gr__http_error(
          c, r, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
    json_t* arr = json_array();
    for (size_t i = 0; i < n; i++) {
        const gr_host_info* h = &v[i];
        json_t* run = json_array();
        for (size_t k = 0; k < h->nrunning; k++) {
            if (!r->admin && strcmp(h->running[k].user, r->user) != 0)
                continue;
            char id[24];
            snprintf(
              id, sizeof id, "%llu", (unsigned long long)h->running[k].id);
            json_t* one = json_pack("{s:s, s:s, s:s}",
                                    "id",
                                    id,
                                    "user",
                                    h->running[k].user,
                                    "fn",
                                    h->running[k].fn);
            /* an MPI app's ranks there */
            if (one && h->running[k].ranks[0])
                json_object_set_new(
                  one, "ranks", json_string(h->running[k].ranks));
            /* its thread granules, when it runs any */
            if (one && h->running[k].threads)
                json_object_set_new(
                  one, "threads", json_integer(h->running[k].threads));
            json_array_append_new(run, one);
        }
        json_t* warm = json_array();
        for (size_t k = 0; k < h->nwarm; k++) {
            if (!r->admin && strcmp(h->warm[k].user, r->user) != 0)
                continue;
            json_array_append_new(warm,
                                  json_pack("{s:s, s:s, s:I}",
                                            "user",
                                            h->warm[k].user,
                                            "fn",
                                            h->warm[k].fn,
                                            "idle",
                                            (json_int_t)h->warm[k].idle));
        }
        json_array_append_new(
          arr,
          json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:b, s:f, s:I, s:o, s:o}",
                    "id",
                    h->id,
                    "address",
                    h->address,
                    "slots",
                    (json_int_t)h->slots,
                    "used",
                    (json_int_t)h->used,
                    "threads",
                    (json_int_t)h->threads,
                    "thread_slots",
                    (json_int_t)h->thread_slots,
                    "alive",
                    h->alive,
                    "seen_s",
                    (double)h->seen_ms / 1000.0,
                    "placed",
                    (json_int_t)h->placed,
                    "running",
                    run,
                    "warm",
                    warm));
    }
    gr_host_info_free(v, n);
    return gr__http_json(c, r, MHD_HTTP_OK, json_pack("{s:o}", "hosts", arr));
}

static enum MHD_Result
do_fn_list(struct MHD_Connection* c, gr__http_req* r)
{
    const char* user = r->route.user[0] ? r->route.user : r->user;
    gr_fn_info* v = NULL;
    size_t n = 0;
    int rc = gr_sched_fn_list(r->srv->cfg.sched, user, &v, &n);
    if (rc == -ENOENT) {
        rc = 0;
        n = 0;
    }
    if (rc < 0)
        return sched_error(c, r, rc, NULL);
    json_t* a = json_array();
    for (size_t i = 0; a && i < n; i++)
        json_array_append_new(a, fn_json(&v[i]));
    gr_free(v);
    return gr__http_json(c, r, MHD_HTTP_OK, a);
}

static enum MHD_Result
do_fn_get(struct MHD_Connection* c, gr__http_req* r)
{
    gr_fn_info f;
    int rc = gr_sched_fn_get(r->srv->cfg.sched, r->route.user, r->route.fn, &f);
    if (rc < 0)
        return rc == -ENOENT
                 ? gr__http_error(c, r, MHD_HTTP_NOT_FOUND, "no such function")
                 : sched_error(c, r, rc, NULL);
    return gr__http_json(c, r, MHD_HTTP_OK, fn_json(&f));
}

static enum MHD_Result
do_fn_delete(struct MHD_Connection* c, gr__http_req* r)
{
    int rc = gr_sched_fn_delete(r->srv->cfg.sched, r->route.user, r->route.fn);
    if (rc < 0)
        return rc == -ENOENT
                 ? gr__http_error(c, r, MHD_HTTP_NOT_FOUND, "no such function")
                 : sched_error(c, r, rc, NULL);
    return gr__http_json(c,
                         r,
                         MHD_HTTP_OK,
                         json_pack("{s:s, s:s, s:b}",
                                   "user",
                                   r->route.user,
                                   "name",
                                   r->route.fn,
                                   "deleted",
                                   1));
}

/* The status of a failed upload. A start function that traps or runs
 * out of time at upload rejects the module: the client's fault, 400. */
static unsigned
upload_status(int rc)
{
    switch (rc) {
        case -EFBIG:
            return MHD_HTTP_CONTENT_TOO_LARGE;
        case -EINVAL:
        case GR_EINVALID_MODULE:
        case GR_EIMPORT:
        case GR_ECOMPILE:
        case GR_ENOEXPORT:
        case GR_ETRAP:
        case GR_ETIMEOUT:
        case GR_EEXIT:
        case GR_ELIMIT:
            return MHD_HTTP_BAD_REQUEST;
        case -ESHUTDOWN:
            return MHD_HTTP_SERVICE_UNAVAILABLE;
        default:
            return MHD_HTTP_INTERNAL_SERVER_ERROR;
    }
}

/* PUT /f/{user}/{fn}: compiling takes seconds and runs the module's start
 * function, so it runs on an upload thread (defer.c). */
static enum MHD_Result
do_fn_upload(struct MHD_Connection* c, gr__http_req* r)
{
    if (r->len == 0)
        return gr__http_error(
          c, r, MHD_HTTP_BAD_REQUEST, "empty body: send the .wasm module");
    return gr__http_defer_upload(c, r);
}

void
gr__http_upload_run(gr__http_req* r)
{
    gr_sched* s = r->srv->cfg.sched;
    gr_fn_info f;
    r->up_err[0] = '\0';
    r->up_existed = gr_sched_fn_get(s, r->route.user, r->route.fn, &f) == 0;
    r->up_rc = gr_sched_fn_upload(s,
                                  r->route.user,
                                  r->route.fn,
                                  r->body,
                                  r->len,
                                  r->up_err,
                                  sizeof r->up_err);
    if (r->up_rc < 0)
        GR_INFO("upload %s/%s failed: %s",
                r->route.user,
                r->route.fn,
                r->up_err[0] ? r->up_err : gr_strerror(r->up_rc));
}

static enum MHD_Result
finish_upload(struct MHD_Connection* c, gr__http_req* r)
{
    int rc = r->up_rc;
    if (rc < 0) {
        unsigned code = upload_status(rc);
        const char* msg = r->up_err[0] ? r->up_err : gr_strerror(rc);
        if (rc == -EFBIG)
            msg = "module too large";
        else if (rc == -EINVAL && !r->up_err[0])
            msg = "bad function name";
        return gr__http_error(c, r, code, msg);
    }
    gr_fn_info f;
    rc = gr_sched_fn_get(r->srv->cfg.sched, r->route.user, r->route.fn, &f);
    if (rc < 0)
        return sched_error(c, r, rc, NULL);
    return gr__http_json(
      c, r, r->up_existed ? MHD_HTTP_OK : MHD_HTTP_CREATED, fn_json(&f));
}

/* Parses ?timeout=SECONDS (decimal). Returns 0 and the deadline in *ns
 * (0 = the scheduler's default), or -EINVAL. */
static int
query_timeout(struct MHD_Connection* c,
              const gr__http_req* r,
              const char* key,
              uint64_t* ns)
{
    const char* v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, key);
    *ns = 0;
    if (!v)
        return 0;
    char* end;
    double secs = strtod(v, &end);
    if (end == v || *end || !(secs > 0) || secs > 86400.0 * 365)
        return -EINVAL;
    *ns = (uint64_t)(secs * 1e9);
    if (*ns == 0)
        *ns = 1;
    uint64_t cap = r->srv->cfg.max_timeout_ns;
    if (cap && *ns > cap)
        *ns = cap;
    return 0;
}

static int
query_flag(struct MHD_Connection* c, const char* key)
{
    const char* v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, key);
    if (!v)
        return 0;
    return *v == '\0' || strcmp(v, "1") == 0 || strcmp(v, "true") == 0 ||
           strcmp(v, "yes") == 0;
}

static enum MHD_Result
accepted(struct MHD_Connection* c, gr__http_req* r, uint64_t id)
{
    char loc[48];
    snprintf(loc, sizeof loc, "/calls/%llu", (unsigned long long)id);
    json_t* v =
      json_pack("{s:o, s:s}", "call_id", id_json(id), "location", loc);
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
    MHD_add_response_header(resp, MHD_HTTP_HEADER_LOCATION, loc);
    return gr__http_send(c, r, MHD_HTTP_ACCEPTED, resp, "application/json");
}

/* The HTTP status for a finished call. */
static unsigned
call_http_status(const gr_call_info* ci)
{
    if (ci->state == GR_CALL_DONE)
        return MHD_HTTP_OK;
    if (ci->status == GR_ETIMEOUT)
        return MHD_HTTP_GATEWAY_TIMEOUT;
    return MHD_HTTP_INTERNAL_SERVER_ERROR;
}

/* Starts a sync call: admission (at most max_sync running or waiting),
 * then the scheduler's queue, with the connection suspended until the
 * call finishes. Never runs the call on this (HTTP) thread. */
static enum MHD_Result
start_sync(struct MHD_Connection* c,
           gr__http_req* r,
           const char* user,
           const char* fn,
           const uint8_t* in,
           size_t len,
           const gr_invoke_opts* o)
{
    gr_http_server* srv = r->srv;
    if (atomic_load(&srv->stopping))
        return sched_error(c, r, -ESHUTDOWN, NULL);
    unsigned n = atomic_fetch_add(&srv->sync_inflight, 1);
    r->sync_counted = 1;
    if (n >= srv->cfg.max_sync) {
        /* Counted as a rejected call in the metrics like a full queue. */
        return sched_error(c, r, -EBUSY, NULL);
    }
    uint64_t id = 0;
    int rc = gr_sched_invoke(srv->cfg.sched, user, fn, in, len, o, &id);
    if (rc < 0)
        return sched_error(c, r, rc, NULL);
    return gr__http_defer_call(c, r, id);
}

/* ?np=N (an MPI world of N ranks): 0 if absent, -1 if bad. */
static int
query_np(struct MHD_Connection* c)
{
    const char* v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "np");
    if (!v)
        return 0;
    char* end;
    long n = strtol(v, &end, 10);
    return end == v || *end || n < 1 || n > 4096 ? -1 : (int)n;
}

/* ?threads=N (threads the call may run, oversubscribing): 0 if absent,
 * -1 if bad. */
static int
query_threads(struct MHD_Connection* c)
{
    const char* v =
      MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "threads");
    if (!v)
        return 0;
    char* end;
    long n = strtol(v, &end, 10);
    return end == v || *end || n < 1 || n > (long)GR__HTTP_MAX_THREADS ? -1
                                                                       : (int)n;
}

static enum MHD_Result
do_fn_invoke(struct MHD_Connection* c, gr__http_req* r)
{
    gr_sched* s = r->srv->cfg.sched;
    gr_invoke_opts o = { 0 };
    if (query_timeout(c, r, "timeout", &o.timeout_ns) < 0)
        return gr__http_error(c,
                              r,
                              MHD_HTTP_BAD_REQUEST,
                              "timeout must be a positive number of seconds");
    if ((o.np = query_np(c)) < 0)
        return gr__http_error(
          c, r, MHD_HTTP_BAD_REQUEST, "np must be a world size, 1..4096");
    o.spread = query_flag(c, "spread");
    if ((o.threads = query_threads(c)) < 0)
        return gr__http_error(
          c, r, MHD_HTTP_BAD_REQUEST, "threads must be 1..257");
    if (query_flag(c, "async")) {
        uint64_t id = 0;
        int rc = gr_sched_invoke(
          s, r->route.user, r->route.fn, r->body, r->len, &o, &id);
        if (rc < 0)
            return sched_error(c, r, rc, NULL);
        r->call_id = id;
        return accepted(c, r, id);
    }
    return start_sync(c, r, r->route.user, r->route.fn, r->body, r->len, &o);
}

/* The answer to POST /f/{user}/{fn} for a finished call: the raw output
 * with X-Granary-* headers, or a JSON error. */
static enum MHD_Result
answer_raw(struct MHD_Connection* c, gr__http_req* r, gr_call_info* ci)
{
    unsigned code = call_http_status(ci);
    struct MHD_Response* resp;
    if (code == MHD_HTTP_OK) {
        resp = MHD_create_response_from_buffer(
          ci->output_len, ci->output, MHD_RESPMEM_MUST_COPY);
    } else {
        char msg[160];
        if (ci->status == GR_ETIMEOUT)
            snprintf(msg, sizeof msg, "the call timed out");
        else if (ci->trap[0])
            snprintf(msg, sizeof msg, "the call trapped: %s", ci->trap);
        else
            snprintf(
              msg, sizeof msg, "the call failed: %s", gr_strerror(ci->status));
        json_t* v = json_pack("{s:s, s:o, s:s?}",
                              "error",
                              msg,
                              "call_id",
                              id_json(ci->id),
                              "trap",
                              ci->trap[0] ? ci->trap : NULL);
        char* text = v ? json_dumps(v, JSON_COMPACT) : NULL;
        json_decref(v);
        resp = text ? MHD_create_response_from_buffer(
                        strlen(text), text, MHD_RESPMEM_MUST_FREE)
                    : NULL;
        if (!resp)
            free(text);
    }
    if (resp) {
        char b[32];
        snprintf(b, sizeof b, "%llu", (unsigned long long)ci->id);
        MHD_add_response_header(resp, "X-Granary-Call-Id", b);
        MHD_add_response_header(
          resp, "X-Granary-Status", gr_call_state_name(ci->state));
        snprintf(b, sizeof b, "%d", ci->return_code);
        MHD_add_response_header(resp, "X-Granary-Return-Code", b);
        if (ci->trap[0])
            MHD_add_response_header(resp, "X-Granary-Trap", ci->trap);
        snprintf(
          b, sizeof b, "%lld", us_between(ci->started_ns, ci->finished_ns));
        MHD_add_response_header(resp, "X-Granary-Exec-Us", b);
        MHD_add_response_header(resp, "X-Granary-Cold", ci->cold ? "1" : "0");
        if (call_truncated(ci))
            MHD_add_response_header(resp, "X-Granary-Truncated", "1");
    }
    return gr__http_send(c,
                         r,
                         code,
                         resp,
                         code == MHD_HTTP_OK ? "application/octet-stream"
                                             : "application/json");
}

static enum MHD_Result
finish_call(struct MHD_Connection* c, gr__http_req* r)
{
    gr_call_info ci = { 0 };
    int rc = gr_sched_call_get(r->srv->cfg.sched, NULL, r->call_id, &ci);
    if (rc < 0 || (ci.state != GR_CALL_DONE && ci.state != GR_CALL_FAILED)) {
        gr_call_info_fini(&ci);
        /* Only if the record was dropped between finishing and now. */
        return gr__http_error(
          c, r, MHD_HTTP_INTERNAL_SERVER_ERROR, "lost track of the call");
    }
    enum MHD_Result ret;
    if (r->json_reply)
        ret = gr__http_json(c, r, call_http_status(&ci), call_json(&ci));
    else
        ret = answer_raw(c, r, &ci);
    gr_call_info_fini(&ci);
    return ret;
}

enum MHD_Result
gr__http_finish(struct MHD_Connection* c, gr__http_req* r)
{
    gr__http_pending p = r->pending;
    r->pending = GR__HTTP_PEND_NONE;
    if (p == GR__HTTP_PEND_UPLOAD)
        return finish_upload(c, r);
    return finish_call(c, r);
}

static int
call_get(gr__http_req* r, uint64_t id, gr_call_info* ci)
{
    /* An admin may read any user's calls. Another tenant's call is "no
     * such call": the answer must not confirm that an id exists. */
    int rc =
      gr_sched_call_get(r->srv->cfg.sched, r->admin ? NULL : r->user, id, ci);
    return rc == -EACCES || rc == -EPERM ? -ENOENT : rc;
}

static enum MHD_Result
do_call_get(struct MHD_Connection* c, gr__http_req* r)
{
    uint64_t wait_ns = 0;
    if (query_timeout(c, r, "wait", &wait_ns) < 0)
        return gr__http_error(c,
                              r,
                              MHD_HTTP_BAD_REQUEST,
                              "wait must be a positive number of seconds");
    gr_call_info ci = { 0 };
    int rc = call_get(r, r->route.call_id, &ci);
    gr_http_server* srv = r->srv;
    /* A long poll holds this HTTP thread; when half of them already do,
     * answer with the current state at once ("at most" that long). */
    int poll = rc == 0 && wait_ns &&
               (ci.state == GR_CALL_QUEUED || ci.state == GR_CALL_RUNNING) &&
               atomic_fetch_add(&srv->polls, 1) < srv->max_polls;
    if (rc == 0 && wait_ns && !poll &&
        (ci.state == GR_CALL_QUEUED || ci.state == GR_CALL_RUNNING))
        atomic_fetch_sub(&srv->polls, 1);
    if (poll) {
        gr_call_info_fini(&ci);
        ci = (gr_call_info){ 0 };
        rc = gr_sched_await(srv->cfg.sched, r->route.call_id, wait_ns, &ci);
        atomic_fetch_sub(&srv->polls, 1);
        if (rc == -ETIMEDOUT) {
            gr_call_info_fini(&ci);
            ci = (gr_call_info){ 0 };
            rc = call_get(r, r->route.call_id, &ci);
        }
    }
    if (rc < 0) {
        gr_call_info_fini(&ci);
        if (rc == -ENOENT)
            return gr__http_error(c, r, MHD_HTTP_NOT_FOUND, "no such call");
        return sched_error(c, r, rc, NULL);
    }
    r->call_id = ci.id;
    json_t* v = call_json(&ci);
    gr_call_info_fini(&ci);
    return gr__http_json(c, r, MHD_HTTP_OK, v);
}

/* Reads input / input_base64 of a JSON invocation. */
static int
json_input(json_t* req, uint8_t** buf, size_t* len, const char** why)
{
    json_t* s = json_object_get(req, "input");
    json_t* b = json_object_get(req, "input_base64");
    *buf = NULL;
    *len = 0;
    if (s && b) {
        *why = "give input or input_base64, not both";
        return -EINVAL;
    }
    if (s) {
        if (!json_is_string(s)) {
            *why = "input must be a string";
            return -EINVAL;
        }
        *len = json_string_length(s);
        *buf = gr_malloc(*len + 1);
        if (!*buf)
            return -ENOMEM;
        memcpy(*buf, json_string_value(s), *len);
        return 0;
    }
    if (b) {
        if (!json_is_string(b)) {
            *why = "input_base64 must be a string";
            return -EINVAL;
        }
        const char* t = json_string_value(b);
        size_t tl = json_string_length(b);
        if (tl % 4) {
            *why = "input_base64 is not valid base64";
            return -EINVAL;
        }
        *buf = gr_malloc(tl / 4 * 3 + 1);
        if (!*buf)
            return -ENOMEM;
        int n = EVP_DecodeBlock(*buf, (const unsigned char*)t, (int)tl);
        if (n < 0) {
            gr_free(*buf);
            *buf = NULL;
            *why = "input_base64 is not valid base64";
            return -EINVAL;
        }
        /* DecodeBlock counts the padding as zero bytes. */
        if (tl && t[tl - 1] == '=')
            n--;
        if (tl > 1 && t[tl - 2] == '=')
            n--;
        *len = (size_t)n;
    }
    return 0;
}

static enum MHD_Result
do_call_post(struct MHD_Connection* c, gr__http_req* r)
{
    json_error_t jerr;
    char msg[256];
    json_t* req = json_loadb((const char*)r->body, r->len, 0, &jerr);
    if (!req || !json_is_object(req)) {
        snprintf(
          msg, sizeof msg, "bad JSON: %s", req ? "want an object" : jerr.text);
        json_decref(req);
        return gr__http_error(c, r, MHD_HTTP_BAD_REQUEST, msg);
    }
    const char* fn = json_string_value(json_object_get(req, "function"));
    json_t* jasync = json_object_get(req, "async");
    json_t* jto = json_object_get(req, "timeout");
    json_t* jnp = json_object_get(req, "np");
    json_t* jspread = json_object_get(req, "spread");
    json_t* jthreads = json_object_get(req, "threads");
    char user[GR_TOKEN_USER_MAX + 1], name[GR_TOKEN_USER_MAX + 1];
    const char* slash = fn ? strchr(fn, '/') : NULL;
    if (!slash || !gr_http_name_valid(fn, (size_t)(slash - fn)) ||
        !gr_http_name_valid(slash + 1, strlen(slash + 1)) ||
        (jasync && !json_is_boolean(jasync)) ||
        (jto && (!json_is_number(jto) || !(json_number_value(jto) > 0))) ||
        (jnp && (!json_is_integer(jnp) || json_integer_value(jnp) < 1 ||
                 json_integer_value(jnp) > 4096)) ||
        (jspread && !json_is_boolean(jspread)) ||
        (jthreads &&
         (!json_is_integer(jthreads) || json_integer_value(jthreads) < 1 ||
          json_integer_value(jthreads) > GR__HTTP_MAX_THREADS))) {
        json_decref(req);
        return gr__http_error(
          c,
          r,
          MHD_HTTP_BAD_REQUEST,
          "want {\"function\": \"user/fn\", \"input\": \"...\" | "
          "\"input_base64\": \"...\", \"async\": bool, \"timeout\": secs, "
          "\"np\": ranks, \"spread\": bool, \"threads\": 1..257}");
    }
    memcpy(user, fn, (size_t)(slash - fn));
    user[slash - fn] = '\0';
    snprintf(name, sizeof name, "%s", slash + 1);
    if (!r->admin && strcmp(user, r->user) != 0) {
        json_decref(req);
        return gr__http_error(
          c, r, MHD_HTTP_FORBIDDEN, "this token may not access that user");
    }
    gr_invoke_opts o = { 0 };
    o.np = jnp ? (int)json_integer_value(jnp) : 0;
    o.spread = jspread && json_is_true(jspread);
    o.threads = jthreads ? (int)json_integer_value(jthreads) : 0;
    if (jto) {
        o.timeout_ns = (uint64_t)(json_number_value(jto) * 1e9);
        uint64_t cap = r->srv->cfg.max_timeout_ns;
        if (cap && o.timeout_ns > cap)
            o.timeout_ns = cap;
    }
    uint8_t* in = NULL;
    size_t in_len = 0;
    const char* why = NULL;
    int rc = json_input(req, &in, &in_len, &why);
    int async = jasync && json_is_true(jasync);
    json_decref(req);
    if (rc < 0)
        return why ? gr__http_error(c, r, MHD_HTTP_BAD_REQUEST, why) : MHD_NO;
    gr_sched* s = r->srv->cfg.sched;
    if (async) {
        uint64_t id = 0;
        rc = gr_sched_invoke(s, user, name, in, in_len, &o, &id);
        gr_free(in);
        if (rc < 0)
            return sched_error(c, r, rc, NULL);
        r->call_id = id;
        return accepted(c, r, id);
    }
    r->json_reply = 1;
    enum MHD_Result ret = start_sync(c, r, user, name, in, in_len, &o);
    gr_free(in);
    return ret;
}

static enum MHD_Result
do_whoami(struct MHD_Connection* c, gr__http_req* r)
{
    return gr__http_json(
      c,
      r,
      MHD_HTTP_OK,
      json_pack("{s:s, s:b}", "user", r->user, "admin", r->admin));
}

/* ---- state values --------------------------------------------------- */

/* Answers for a state-service error. */
static enum MHD_Result
state_error(struct MHD_Connection* c, gr__http_req* r, int rc)
{
    switch (rc) {
        case -ENOENT:
            return gr__http_error(c, r, MHD_HTTP_NOT_FOUND, "no such key");
        case -EFBIG:
            return gr__http_error(
              c, r, MHD_HTTP_CONTENT_TOO_LARGE, "value too large");
        case -EINVAL:
            return gr__http_error(c, r, MHD_HTTP_BAD_REQUEST, "bad key");
        case -ECONNREFUSED:
        case -ECONNRESET:
        case -ETIMEDOUT:
        case -EIO: {
            char msg[160];
            snprintf(msg,
                     sizeof msg,
                     "state service unavailable: %s",
                     gr_strerror(rc));
            return gr__http_error(c, r, MHD_HTTP_SERVICE_UNAVAILABLE, msg);
        }
        default:
            return sched_error(c, r, rc, NULL);
    }
}

static enum MHD_Result
do_state(struct MHD_Connection* c, gr__http_req* r)
{
    gr_state* st = r->srv->cfg.state;
    const char* user = r->route.user;
    const char* key = r->route.fn;
    if (!st)
        return gr__http_error(
          c, r, MHD_HTTP_SERVICE_UNAVAILABLE, "no state service configured");
    int rc;
    switch (r->route.action) {
        case GR_HTTP_STATE_GET: {
            uint8_t* data = NULL;
            size_t len = 0;
            rc = gr_state_get(st, user, key, &data, &len);
            if (rc < 0)
                return state_error(c, r, rc);
            struct MHD_Response* resp = MHD_create_response_from_buffer(
              len, data ? (void*)data : (void*)"", MHD_RESPMEM_MUST_COPY);
            gr_free(data);
            return gr__http_send(
              c, r, MHD_HTTP_OK, resp, "application/octet-stream");
        }
        case GR_HTTP_STATE_PUT:
            rc = gr_state_set(st, user, key, r->body, r->len);
            if (rc < 0)
                return state_error(c, r, rc);
            return gr__http_json(c,
                                 r,
                                 MHD_HTTP_OK,
                                 json_pack("{s:s, s:s, s:I}",
                                           "user",
                                           user,
                                           "key",
                                           key,
                                           "size",
                                           (json_int_t)r->len));
        default:
            rc = gr_state_delete(st, user, key);
            if (rc < 0)
                return state_error(c, r, rc);
            return gr__http_json(
              c,
              r,
              MHD_HTTP_OK,
              json_pack(
                "{s:s, s:s, s:b}", "user", user, "key", key, "deleted", 1));
    }
}

enum MHD_Result
gr__http_dispatch(struct MHD_Connection* c, gr__http_req* r)
{
    switch (r->route.action) {
        case GR_HTTP_HEALTHZ:
            return do_healthz(c, r);
        case GR_HTTP_METRICS:
            return do_metrics(c, r);
        case GR_HTTP_WHOAMI:
            return do_whoami(c, r);
        case GR_HTTP_FN_LIST:
            return do_fn_list(c, r);
        case GR_HTTP_FN_GET:
            return do_fn_get(c, r);
        case GR_HTTP_FN_UPLOAD:
            return do_fn_upload(c, r);
        case GR_HTTP_FN_DELETE:
            return do_fn_delete(c, r);
        case GR_HTTP_FN_INVOKE:
            return do_fn_invoke(c, r);
        case GR_HTTP_HOSTS:
            return do_hosts(c, r);
        case GR_HTTP_CALL_GET:
            return do_call_get(c, r);
        case GR_HTTP_CALL_POST:
            return do_call_post(c, r);
        case GR_HTTP_STATE_GET:
        case GR_HTTP_STATE_PUT:
        case GR_HTTP_STATE_DELETE:
            return do_state(c, r);
    }
    return gr__http_error(c, r, MHD_HTTP_NOT_FOUND, "no such resource");
}
