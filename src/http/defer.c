/* SPDX-License-Identifier: Apache-2.0 */
/* Work that outlasts an HTTP thread's turn: sync calls and uploads run
 * with their connection suspended (MHD_suspend_connection), so that the
 * HTTP threads always serve; the call's completion hook or the upload
 * thread resumes it, and the access handler answers (gr__http_finish). */
#include <errno.h>
#include <stdlib.h>

#include <granary/status.h>

#include "http/http_int.h"
#include "util/alloc.h"
#include "util/log.h"

/* r->wake: whoever comes second resumes. The handler suspends and then
 * moves 0 -> 1; the finisher moves any -> 2. If the finisher saw 1, the
 * connection is suspended and it resumes it; if it saw 0, the handler has
 * not suspended yet, and will see 2 and resume the connection itself
 * (MHD forbids resuming a connection that is not suspended). Whoever
 * resumes then drops the server's waiting count, so that stop never sees
 * a suspended connection. */
enum
{
    WAKE_WORKING,
    WAKE_SUSPENDED,
    WAKE_DONE,
};

/* Counts one more suspended connection; -ESHUTDOWN once the drain has
 * begun (under the same lock, so none slips past it). */
static int
waiting_add(gr_http_server* s)
{
    int rc = 0;
    pthread_mutex_lock(&s->wait_lock);
    if (s->draining)
        rc = -ESHUTDOWN;
    else
        s->waiting++;
    pthread_mutex_unlock(&s->wait_lock);
    return rc;
}

static void
waiting_drop(gr_http_server* s)
{
    pthread_mutex_lock(&s->wait_lock);
    if (--s->waiting == 0)
        pthread_cond_broadcast(&s->wait_cond);
    pthread_mutex_unlock(&s->wait_lock);
}

/* Called by the finisher (executor or upload thread). Touches r only
 * before resuming: after that the MHD thread may free it. */
static void
wake(gr__http_req* r)
{
    gr_http_server* s = r->srv;
    struct MHD_Connection* c = r->conn;
    if (atomic_exchange(&r->wake, WAKE_DONE) == WAKE_SUSPENDED) {
        MHD_resume_connection(c);
        waiting_drop(s);
    }
}

/* In the handler, once the finisher may run: suspends. */
static void
suspend(struct MHD_Connection* c, gr__http_req* r)
{
    MHD_suspend_connection(c);
    int expect = WAKE_WORKING;
    if (!atomic_compare_exchange_strong(&r->wake, &expect, WAKE_SUSPENDED)) {
        /* Finished before we suspended: resume at once. */
        MHD_resume_connection(c);
        waiting_drop(r->srv);
    }
}

static void
call_done(void* ud, uint64_t id)
{
    (void)id;
    wake(ud);
}

enum MHD_Result
gr__http_defer_call(struct MHD_Connection* c, gr__http_req* r, uint64_t id)
{
    gr_http_server* s = r->srv;
    r->call_id = id;
    r->pending = GR__HTTP_PEND_CALL;
    r->conn = c;
    atomic_store(&r->wake, WAKE_WORKING);
    if (waiting_add(s) < 0) {
        /* Stopping: the call runs on, its record answers GET /calls. */
        r->pending = GR__HTTP_PEND_NONE;
        return gr__http_error(
          c, r, MHD_HTTP_SERVICE_UNAVAILABLE, "shutting down");
    }
    int rc = gr_sched_on_done(s->cfg.sched, id, call_done, r);
    if (rc == 0) {
        suspend(c, r);
        return MHD_YES;
    }
    waiting_drop(s);
    if (rc == 1)
        return gr__http_finish(c, r); /* already finished */
    /* -ENOENT: the record is gone already (evicted); -EBUSY cannot happen
     * for a call only we know the id of. */
    GR_WARN("call %llu: cannot wait for it: %s",
            (unsigned long long)id,
            gr_strerror(rc));
    r->pending = GR__HTTP_PEND_NONE;
    return gr__http_error(
      c, r, MHD_HTTP_INTERNAL_SERVER_ERROR, "lost track of the call");
}

enum MHD_Result
gr__http_defer_upload(struct MHD_Connection* c, gr__http_req* r)
{
    gr_http_server* s = r->srv;
    pthread_mutex_lock(&s->up_lock);
    int full = s->up_inflight >= s->cfg.max_uploads;
    int stop = !full && waiting_add(s) < 0;
    if (!stop && !full) {
        s->up_inflight++;
        r->pending = GR__HTTP_PEND_UPLOAD;
        r->conn = c;
        atomic_store(&r->wake, WAKE_WORKING);
        r->up_next = NULL;
        if (s->up_tail)
            s->up_tail->up_next = r;
        else
            s->up_head = r;
        s->up_tail = r;
        pthread_cond_signal(&s->up_cond);
    }
    pthread_mutex_unlock(&s->up_lock);
    if (stop)
        return gr__http_error(
          c, r, MHD_HTTP_SERVICE_UNAVAILABLE, "shutting down");
    if (full) {
        struct MHD_Response* resp = NULL;
        static const char msg[] =
          "{\"error\":\"too many uploads in flight, retry later\"}\n";
        resp = MHD_create_response_from_buffer(
          sizeof msg - 1, (void*)msg, MHD_RESPMEM_PERSISTENT);
        if (resp)
            MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, "1");
        return gr__http_send(
          c, r, MHD_HTTP_TOO_MANY_REQUESTS, resp, "application/json");
    }
    suspend(c, r);
    return MHD_YES;
}

static void*
upload_thread(void* arg)
{
    gr_http_server* s = arg;
    pthread_mutex_lock(&s->up_lock);
    for (;;) {
        while (!s->up_head && !s->up_stop)
            pthread_cond_wait(&s->up_cond, &s->up_lock);
        gr__http_req* r = s->up_head;
        if (!r)
            break; /* stopping and nothing left */
        s->up_head = r->up_next;
        if (!s->up_head)
            s->up_tail = NULL;
        pthread_mutex_unlock(&s->up_lock);
        gr__http_upload_run(r);
        pthread_mutex_lock(&s->up_lock);
        s->up_inflight--;
        pthread_mutex_unlock(&s->up_lock);
        wake(r);
        pthread_mutex_lock(&s->up_lock);
    }
    pthread_mutex_unlock(&s->up_lock);
    return NULL;
}

int
gr__http_defer_init(gr_http_server* s)
{
    pthread_mutex_init(&s->wait_lock, NULL);
    pthread_cond_init(&s->wait_cond, NULL);
    pthread_mutex_init(&s->up_lock, NULL);
    pthread_cond_init(&s->up_cond, NULL);
    s->defer_ready = 1;
    s->up_threads = gr_calloc(s->cfg.max_uploads, sizeof *s->up_threads);
    if (!s->up_threads)
        return -ENOMEM;
    for (unsigned i = 0; i < s->cfg.max_uploads; i++) {
        int rc = pthread_create(&s->up_threads[i], NULL, upload_thread, s);
        if (rc)
            return -rc;
        s->up_nthreads++;
    }
    return 0;
}

void
gr__http_defer_drain(gr_http_server* s)
{
    if (!s->defer_ready)
        return;
    /* Sync calls finish by their deadline, uploads by theirs: then every
     * connection has been resumed. */
    pthread_mutex_lock(&s->wait_lock);
    s->draining = 1;
    if (s->waiting)
        GR_INFO("waiting for %u running request(s) to finish", s->waiting);
    while (s->waiting)
        pthread_cond_wait(&s->wait_cond, &s->wait_lock);
    pthread_mutex_unlock(&s->wait_lock);
}

void
gr__http_defer_fini(gr_http_server* s)
{
    if (!s->defer_ready)
        return;
    pthread_mutex_lock(&s->up_lock);
    s->up_stop = 1;
    pthread_cond_broadcast(&s->up_cond);
    pthread_mutex_unlock(&s->up_lock);
    for (unsigned i = 0; i < s->up_nthreads; i++)
        pthread_join(s->up_threads[i], NULL);
    gr_free(s->up_threads);
    s->up_threads = NULL;
    s->up_nthreads = 0;
    pthread_cond_destroy(&s->up_cond);
    pthread_mutex_destroy(&s->up_lock);
    pthread_cond_destroy(&s->wait_cond);
    pthread_mutex_destroy(&s->wait_lock);
    s->defer_ready = 0;
}
