/* SPDX-License-Identifier: Apache-2.0 */
/* The listener: an accept thread that gives every connection its own peer
 * (and reader thread), reaps finished ones, and tears all down on stop. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/net.h"
#include "net/net_int.h"
#include "net/peer_int.h"
#include "util/alloc.h"
#include "util/log.h"

struct gr_server
{
    int fd;
    int wake[2]; /* stop writes to wake[1] */
    int port;
    gr_server_config cfg;
    pthread_t thread;
    pthread_mutex_t mu; /* peers, npeers */
    gr_peer** peers;
    int npeers;
};

/* Joins and drops peers whose connection ended. Accept thread only. */
static void
reap(gr_server* s)
{
    pthread_mutex_lock(&s->mu);
    for (int i = 0; i < s->npeers;) {
        gr_peer* p = s->peers[i];
        if (!gr__peer_done(p)) {
            i++;
            continue;
        }
        s->peers[i] = s->peers[--s->npeers];
        pthread_mutex_unlock(&s->mu);
        gr__peer_stop(p); /* joins a thread that has already finished */
        gr_peer_unref(p);
        pthread_mutex_lock(&s->mu);
    }
    pthread_mutex_unlock(&s->mu);
}

static void
admit(gr_server* s, int fd)
{
    gr_conn* c;
    gr_peer* p;
    pthread_mutex_lock(&s->mu);
    int full = s->npeers >= s->cfg.max_conns;
    pthread_mutex_unlock(&s->mu);
    if (full) {
        GR_WARN("net: listener: %d connections, refusing another",
                s->cfg.max_conns);
        close(fd);
        return;
    }
    if (gr_conn_open(fd, s->cfg.peer.max_payload, &c))
        return;
    if (gr_peer_adopt(c, &s->cfg.peer, &p)) {
        GR_WARN("net: %s: cannot start a reader", gr_conn_peer(c));
        gr_conn_close(c);
        return;
    }
    pthread_mutex_lock(&s->mu);
    s->peers[s->npeers++] = p; /* room reserved: npeers < max_conns */
    pthread_mutex_unlock(&s->mu);
}

static void*
accept_main(void* arg)
{
    gr_server* s = arg;
    for (;;) {
        struct pollfd pfd[2] = {
            { .fd = s->fd, .events = POLLIN },
            { .fd = s->wake[0], .events = POLLIN },
        };
        int n = poll(pfd, 2, 1000);
        if (n < 0 && errno != EINTR)
            break;
        if (pfd[1].revents)
            break;
        reap(s);
        if (n <= 0 || !(pfd[0].revents & POLLIN))
            continue;
        int fd = accept4(s->fd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE)
                GR_WARN("net: listener: out of descriptors");
            continue;
        }
        admit(s, fd);
    }
    return NULL;
}

int
gr_server_start(const gr_server_config* cfg, gr_server** out)
{
    struct sockaddr_storage ss;
    socklen_t sl;
    int rc;
    gr_server* s = gr_calloc(1, sizeof *s);
    if (!s)
        return -ENOMEM;
    s->fd = s->wake[0] = s->wake[1] = -1;
    s->cfg = *cfg;
    if (!s->cfg.listen)
        s->cfg.listen = "0.0.0.0:0";
    if (s->cfg.max_conns <= 0)
        s->cfg.max_conns = 1024;
    pthread_mutex_init(&s->mu, NULL);
    s->peers = gr_calloc((size_t)s->cfg.max_conns, sizeof *s->peers);
    if (!s->peers) {
        rc = -ENOMEM;
        goto fail;
    }
    rc = gr__net_resolve(s->cfg.listen, 1, &ss, &sl);
    if (rc)
        goto fail;
    s->fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    int one = 1;
    if (s->fd < 0 ||
        setsockopt(s->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
        bind(s->fd, (struct sockaddr*)&ss, sl) < 0 || listen(s->fd, 128) < 0 ||
        getsockname(s->fd, (struct sockaddr*)&ss, &sl) < 0 ||
        pipe2(s->wake, O_CLOEXEC) < 0) {
        rc = -errno;
        goto fail;
    }
    s->port = ss.ss_family == AF_INET6
                ? ntohs(((struct sockaddr_in6*)&ss)->sin6_port)
                : ntohs(((struct sockaddr_in*)&ss)->sin_port);
    s->cfg.listen = NULL; /* borrowed string: do not keep it */
    if (pthread_create(&s->thread, NULL, accept_main, s)) {
        rc = -EAGAIN;
        goto fail;
    }
    *out = s;
    return 0;
fail:
    if (s->fd >= 0)
        close(s->fd);
    if (s->wake[0] >= 0) {
        close(s->wake[0]);
        close(s->wake[1]);
    }
    pthread_mutex_destroy(&s->mu);
    gr_free(s->peers);
    gr_free(s);
    return rc;
}

int
gr_server_port(const gr_server* s)
{
    return s->port;
}

int
gr_server_conns(gr_server* s)
{
    int live = 0;
    pthread_mutex_lock(&s->mu);
    for (int i = 0; i < s->npeers; i++)
        live += !gr__peer_done(s->peers[i]);
    pthread_mutex_unlock(&s->mu);
    return live;
}

void
gr_server_stop(gr_server* s)
{
    if (!s)
        return;
    char b = 1;
    ssize_t w;
    do
        w = write(s->wake[1], &b, 1);
    while (w < 0 && errno == EINTR);
    pthread_join(s->thread, NULL);
    close(s->fd); /* no new connections from here on */
    for (int i = 0; i < s->npeers; i++) {
        gr__peer_stop(s->peers[i]);
        gr_peer_unref(s->peers[i]);
    }
    close(s->wake[0]);
    close(s->wake[1]);
    pthread_mutex_destroy(&s->mu);
    gr_free(s->peers);
    gr_free(s);
}
