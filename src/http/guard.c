/* SPDX-License-Identifier: Apache-2.0 */
/* Slow-loris guard: every connection is tracked from accept to close, and
 * a sweep thread closes those whose request has not fully arrived in time
 * (MHD's own timeout is per idle period, so a client sending one header
 * line every few seconds would hold its connection forever). The number
 * of connections per client address is MHD's (server.c). */
#include <stdlib.h>
#include <sys/socket.h>

#include "http/http_int.h"
#include "util/alloc.h"
#include "util/log.h"
#include "util/time.h"

#define SWEEP_NS 250000000u /* how often the sweep looks */
/* Body bytes per second of extra time a request gets on top of the
 * request timeout: large uploads may take longer, dribbled bodies not. */
#define BODY_RATE (64u << 10)

gr__http_conn*
gr__http_guard_conn(struct MHD_Connection* c)
{
    const union MHD_ConnectionInfo* ci =
      MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return ci ? ci->socket_context : NULL;
}

void
gr__http_guard_notify(void* cls,
                      struct MHD_Connection* c,
                      void** socket_context,
                      enum MHD_ConnectionNotificationCode code)
{
    gr_http_server* s = cls;
    gr__http_conn* hc = *socket_context;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo* ci =
          MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
        hc = gr_calloc(1, sizeof *hc);
        if (!hc || !ci) {
            /* Untracked: MHD's idle timeout still applies. */
            gr_free(hc);
            *socket_context = NULL;
            return;
        }
        hc->fd = ci->connect_fd;
        atomic_store(&hc->start_ns, gr_time_now_ns());
        pthread_mutex_lock(&s->conn_lock);
        hc->next = s->conns;
        if (s->conns)
            s->conns->prev = hc;
        s->conns = hc;
        pthread_mutex_unlock(&s->conn_lock);
        *socket_context = hc;
        return;
    }
    if (!hc)
        return;
    /* MHD closes the socket after this returns: once unlinked, the sweep
     * can no longer shut down a reused descriptor. */
    pthread_mutex_lock(&s->conn_lock);
    if (hc->prev)
        hc->prev->next = hc->next;
    else
        s->conns = hc->next;
    if (hc->next)
        hc->next->prev = hc->prev;
    pthread_mutex_unlock(&s->conn_lock);
    gr_free(hc);
    *socket_context = NULL;
}

/* conn_lock held. Closes late connections; returns how many. */
static unsigned
sweep(gr_http_server* s, uint64_t now)
{
    uint64_t base = (uint64_t)s->cfg.request_timeout_s * 1000000000u;
    unsigned n = 0;
    for (gr__http_conn* hc = s->conns; hc; hc = hc->next) {
        if (hc->fd < 0 || atomic_load(&hc->busy))
            continue;
        uint64_t start = atomic_load(&hc->start_ns);
        uint64_t extra = atomic_load(&hc->received) / BODY_RATE * 1000000000u;
        if (now > start && now - start > base + extra) {
            /* MHD sees the end of the stream and closes it. The
             * descriptor stays ours until the close notification. */
            shutdown(hc->fd, SHUT_RDWR);
            hc->fd = -1;
            n++;
        }
    }
    return n;
}

static void*
sweep_thread(void* arg)
{
    gr_http_server* s = arg;
    pthread_mutex_lock(&s->conn_lock);
    while (!s->sweep_stop) {
        gr_time_cond_wait_until(
          &s->sweep_cond, &s->conn_lock, gr_time_now_ns() + SWEEP_NS);
        if (s->sweep_stop)
            break;
        unsigned n = sweep(s, gr_time_now_ns());
        if (n)
            GR_INFO("closed %u connection(s) whose request did not arrive "
                    "within the request timeout",
                    n);
    }
    pthread_mutex_unlock(&s->conn_lock);
    return NULL;
}

int
gr__http_guard_start(gr_http_server* s)
{
    int rc = pthread_create(&s->sweeper, NULL, sweep_thread, s);
    if (rc)
        return -rc;
    s->sweep_started = 1;
    return 0;
}

void
gr__http_guard_stop(gr_http_server* s)
{
    if (!s->sweep_started)
        return;
    pthread_mutex_lock(&s->conn_lock);
    s->sweep_stop = 1;
    pthread_cond_broadcast(&s->sweep_cond);
    pthread_mutex_unlock(&s->conn_lock);
    pthread_join(s->sweeper, NULL);
    s->sweep_started = 0;
}
