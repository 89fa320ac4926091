/* SPDX-License-Identifier: Apache-2.0 */
/* The Redis global tier (hiredis): one connection per gr_state, guarded by
 * a mutex, with connect and command timeouts so a dead server is an error,
 * never a hang. A broken connection is dropped and the next operation
 * reconnects. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "state/state_int.h"
#include "util/alloc.h"
#include "util/log.h"

/* Temporary keys of a chunked push expire on their own if the pusher dies
 * before the final RENAME. */
#define TMP_TTL_MS "120000"
/* How often the reaper retries releasing locks whose requests got no
 * reply, and how many "not ours" answers (one per round) it takes to be
 * sure a stalled request will not be applied any more. */
#define REAP_PERIOD_NS 100000000ull
#define REAP_ANSWERS 3

/* A lock request (or release) that was sent but got no reply: Redis may
 * apply it later (it was stalled, not dead), leaving a lock nobody knows
 * it holds. The reaper deletes it, if it is ours, once Redis answers. */
struct ghost
{
    struct ghost* next;
    char* name;
    size_t nlen;
    char token[33];
    uint64_t expires_ns; /* by then Redis expired it anyway */
    int answers;         /* "not ours" answers so far */
};

struct redis
{
    gr_global base;
    pthread_mutex_t mu; /* guards c */
    redisContext* c;    /* NULL while disconnected */
    char host[256];
    int port;
    struct timeval tv;
    size_t chunk;
    atomic_uint tmp_seq;
    int lost; /* under mu: the last command got no reply (it may or may not
                 have been applied) */

    /* Lock order: mu, then gmu. */
    pthread_mutex_t gmu; /* guards ghosts, stopping */
    pthread_cond_t gcond;
    struct ghost* ghosts;
    int stopping;
    pthread_t reaper;
    int reaper_started;
};

static uint64_t
mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Maps a hiredis context error to a negative errno. */
static int
ctx_errno(const redisContext* c, int saved_errno)
{
    if (!c)
        return -ENOMEM;
    switch (c->err) {
        case REDIS_ERR_EOF:
            return -ECONNRESET;
        case REDIS_ERR_OOM:
            return -ENOMEM;
        case REDIS_ERR_IO:
            if (saved_errno == EAGAIN || saved_errno == EWOULDBLOCK ||
                saved_errno == ETIMEDOUT || strstr(c->errstr, "temporarily"))
                return -ETIMEDOUT;
            if (saved_errno == ECONNREFUSED || strstr(c->errstr, "refused"))
                return -ECONNREFUSED;
            if (saved_errno == ECONNRESET || saved_errno == EPIPE)
                return -ECONNRESET;
            return saved_errno > 0 ? -saved_errno : -EIO;
        default:
            return -EIO;
    }
}

/* Under r->mu: makes sure r->c is connected. */
static int
connect_locked(struct redis* r)
{
    if (r->c)
        return 0;
    errno = 0;
    redisContext* c = redisConnectWithTimeout(r->host, r->port, r->tv);
    int saved = errno;
    if (!c || c->err) {
        int rc = ctx_errno(c, saved);
        GR_WARN("state: cannot connect to redis %s:%d: %s",
                r->host,
                r->port,
                c ? c->errstr : "out of memory");
        if (c)
            redisFree(c);
        return rc;
    }
    redisSetTimeout(c, r->tv);
    r->c = c;
    return 0;
}

/* Under r->mu: drops the connection after an I/O error. */
static int
fail_conn(struct redis* r, int saved)
{
    int rc = ctx_errno(r->c, saved);
    GR_WARN("state: redis %s:%d: %s (reconnecting on next use)",
            r->host,
            r->port,
            r->c->errstr);
    redisFree(r->c);
    r->c = NULL;
    return rc;
}

/* Under r->mu: runs one command. Returns 0 with *out (free it), or an
 * error; a Redis error reply is -EIO (logged), *out NULL. */
static int
cmd(struct redis* r,
    int argc,
    const char** argv,
    const size_t* lens,
    redisReply** out)
{
    *out = NULL;
    r->lost = 0;
    int rc = connect_locked(r);
    if (rc)
        return rc;
    errno = 0;
    redisReply* rep = redisCommandArgv(r->c, argc, argv, lens);
    if (!rep) {
        r->lost = 1;
        return fail_conn(r, errno);
    }
    if (rep->type == REDIS_REPLY_ERROR) {
        GR_WARN("state: redis %s: %s", argv[0], rep->str);
        rc = strstr(rep->str, "maximum allowed size") ? -EFBIG : -EIO;
        freeReplyObject(rep);
        return rc;
    }
    *out = rep;
    return 0;
}

/* Convenience: a command made of NUL-terminated strings, except that argv
 * item `bin` (if >= 0) is (bin_data, bin_len) and item 1 is the name. */
struct args
{
    int argc;
    const char* argv[8];
    size_t lens[8];
};

static void
arg(struct args* a, const void* p, size_t n)
{
    a->argv[a->argc] = p;
    a->lens[a->argc] = n;
    a->argc++;
}

static void
arg_s(struct args* a, const char* s)
{
    arg(a, s, strlen(s));
}

static int
run(struct redis* r, struct args* a, redisReply** out)
{
    return cmd(r, a->argc, a->argv, a->lens, out);
}

/* ---- ghost locks --------------------------------------------------------
 * A lock request that timed out (or whose connection broke) may be applied
 * when a stalled Redis resumes. It is remembered here and a reaper thread
 * runs the compare-and-delete for it every REAP_PERIOD_NS until Redis
 * deletes it (it was ours), answers REAP_ANSWERS times that it is not ours
 * (by then the stalled request was processed or dropped: Redis serves
 * every readable connection on each turn of its event loop, and the old
 * request was already in its socket when it resumed), or its TTL ran
 * out. */

static void
ghost_free(struct ghost* gh)
{
    if (gh) {
        gr_free(gh->name);
        gr_free(gh);
    }
}

static void* reaper_main(void* arg);
static int unlock_once(struct redis* r,
                       const char* name,
                       size_t nlen,
                       const char* token,
                       long long* n);

/* Under r->mu. ttl_ms 0: unknown (an unlock), kept at most 10 minutes. */
static void
ghost_add(struct redis* r,
          const char* name,
          size_t nlen,
          const char* token,
          uint32_t ttl_ms)
{
    struct ghost* gh = gr_calloc(1, sizeof *gh);
    if (!gh || !(gh->name = gr_malloc(nlen))) {
        gr_free(gh);
        GR_WARN("state: out of memory: a timed-out lock stays until expiry");
        return;
    }
    memcpy(gh->name, name, nlen);
    gh->nlen = nlen;
    snprintf(gh->token, sizeof gh->token, "%s", token);
    gh->expires_ns =
      mono_ns() + (uint64_t)(ttl_ms ? ttl_ms : 600000) * 1000000u;
    pthread_mutex_lock(&r->gmu);
    gh->next = r->ghosts;
    r->ghosts = gh;
    if (!r->reaper_started &&
        pthread_create(&r->reaper, NULL, reaper_main, r) == 0)
        r->reaper_started = 1;
    pthread_cond_signal(&r->gcond);
    pthread_mutex_unlock(&r->gmu);
}

/* Under r->mu: the lock name/token was just taken for real: it is no
 * ghost (a retry with the same token). */
static void
ghost_forget(struct redis* r, const char* name, size_t nlen, const char* token)
{
    pthread_mutex_lock(&r->gmu);
    for (struct ghost** pp = &r->ghosts; *pp;) {
        struct ghost* gh = *pp;
        if (gh->nlen == nlen && memcmp(gh->name, name, nlen) == 0 &&
            strcmp(gh->token, token) == 0) {
            *pp = gh->next;
            ghost_free(gh);
        } else {
            pp = &gh->next;
        }
    }
    pthread_mutex_unlock(&r->gmu);
}

/* One round over the ghosts: r->mu held, then gmu. */
static void
reap_round(struct redis* r)
{
    uint64_t now = mono_ns();
    pthread_mutex_lock(&r->gmu);
    for (struct ghost** pp = &r->ghosts; *pp;) {
        struct ghost* gh = *pp;
        long long n = 0;
        int drop = now >= gh->expires_ns;
        if (!drop) {
            int rc = unlock_once(r, gh->name, gh->nlen, gh->token, &n);
            if (rc && !r->c)
                break; /* not answering: try again next round */
            if (!rc && n == 1) {
                GR_INFO("state: released a lock whose request had timed out");
                drop = 1;
            } else if (!rc && ++gh->answers >= REAP_ANSWERS) {
                drop = 1;
            }
        }
        if (drop) {
            *pp = gh->next;
            ghost_free(gh);
        } else {
            pp = &gh->next;
        }
    }
    pthread_mutex_unlock(&r->gmu);
}

static void*
reaper_main(void* arg)
{
    struct redis* r = arg;
    pthread_mutex_lock(&r->gmu);
    while (!r->stopping) {
        if (!r->ghosts) {
            pthread_cond_wait(&r->gcond, &r->gmu);
            continue;
        }
        uint64_t next = mono_ns() + REAP_PERIOD_NS;
        struct timespec ts = { .tv_sec = (time_t)(next / 1000000000u),
                               .tv_nsec = (long)(next % 1000000000u) };
        pthread_cond_timedwait(&r->gcond, &r->gmu, &ts);
        if (r->stopping)
            break;
        pthread_mutex_unlock(&r->gmu);
        pthread_mutex_lock(&r->mu);
        reap_round(r);
        pthread_mutex_unlock(&r->mu);
        pthread_mutex_lock(&r->gmu);
    }
    pthread_mutex_unlock(&r->gmu);
    return NULL;
}

static int
r_size(gr_global* g, const char* name, size_t nlen, size_t* len)
{
    struct redis* r = (struct redis*)g;
    struct args a = { 0 };
    arg_s(&a, "STRLEN");
    arg(&a, name, nlen);
    redisReply* rep;
    pthread_mutex_lock(&r->mu);
    int rc = run(r, &a, &rep);
    if (!rc && rep->integer == 0) {
        /* An empty value and a missing key both have length 0. */
        freeReplyObject(rep);
        a.argv[0] = "EXISTS";
        a.lens[0] = 6;
        rc = run(r, &a, &rep);
        if (!rc && rep->integer == 0)
            rc = -ENOENT;
        if (!rc)
            rep->integer = 0;
    }
    pthread_mutex_unlock(&r->mu);
    if (!rc)
        *len = (size_t)rep->integer;
    freeReplyObject(rep);
    return rc;
}

static int
r_get(gr_global* g,
      const char* name,
      size_t nlen,
      size_t off,
      size_t len,
      void* dst,
      size_t cap,
      size_t* got,
      size_t* total)
{
    struct redis* r = (struct redis*)g;
    redisReply *rep = NULL, *val;
    int rc;
    pthread_mutex_lock(&r->mu);
    if (off == 0 && len == SIZE_MAX) {
        struct args a = { 0 };
        arg_s(&a, "GET");
        arg(&a, name, nlen);
        rc = run(r, &a, &rep);
        if (rc)
            goto out;
        if (rep->type == REDIS_REPLY_NIL) {
            rc = -ENOENT;
            goto out;
        }
        val = rep;
        *total = rep->len;
    } else {
        /* One transaction, so the length and the bytes agree. */
        char start[24], end[24];
        snprintf(start, sizeof start, "%zu", off);
        uint64_t last = len == 0 ? 0 : (uint64_t)off + len - 1;
        if (len == SIZE_MAX || last > INT64_MAX)
            last = INT64_MAX;
        snprintf(end, sizeof end, "%llu", (unsigned long long)last);
        struct args m = { 0 }, e = { 0 }, s = { 0 }, gr = { 0 }, x = { 0 };
        arg_s(&m, "MULTI");
        arg_s(&e, "EXISTS");
        arg(&e, name, nlen);
        arg_s(&s, "STRLEN");
        arg(&s, name, nlen);
        arg_s(&gr, "GETRANGE");
        arg(&gr, name, nlen);
        arg_s(&gr, start);
        arg_s(&gr, end);
        arg_s(&x, "EXEC");
        struct args* seq[] = { &m, &e, &s, &gr };
        for (size_t i = 0; i < 4; i++) {
            if ((rc = run(r, seq[i], &rep)))
                goto out;
            freeReplyObject(rep);
            rep = NULL;
        }
        if ((rc = run(r, &x, &rep)))
            goto out;
        if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 3) {
            rc = -EIO;
            goto out;
        }
        if (rep->element[0]->integer == 0) {
            rc = -ENOENT;
            goto out;
        }
        *total = (size_t)rep->element[1]->integer;
        val = rep->element[2];
        if (len == 0)
            val->len = 0;
    }
    if (val->len > cap) {
        rc = -ENOBUFS;
        goto out;
    }
    if (val->len)
        memcpy(dst, val->str, val->len);
    *got = val->len;
out:
    pthread_mutex_unlock(&r->mu);
    if (rep)
        freeReplyObject(rep);
    return rc;
}

static int
simple(struct redis* r, struct args* a, long long* integer)
{
    redisReply* rep;
    pthread_mutex_lock(&r->mu);
    int rc = run(r, a, &rep);
    pthread_mutex_unlock(&r->mu);
    if (!rc && integer)
        *integer = rep->integer;
    if (rep)
        freeReplyObject(rep);
    return rc;
}

/* Whole values up to one chunk are one SET (Redis applies a command
 * completely or not at all). Larger ones are written in chunks to a
 * temporary key (which expires by itself if we die) and then renamed over
 * the real key inside MULTI/EXEC: until the RENAME, readers see the old
 * value; a failure at any point leaves the old value in place. Chunking
 * bounds the client's command buffer (hiredis copies each argument). */
static int
r_set(gr_global* g, const char* name, size_t nlen, const void* data, size_t len)
{
    struct redis* r = (struct redis*)g;
    if (len <= r->chunk) {
        struct args a = { 0 };
        arg_s(&a, "SET");
        arg(&a, name, nlen);
        arg(&a, data, len);
        return simple(r, &a, NULL);
    }
    uint32_t rnd = 0;
    if (getrandom(&rnd, sizeof rnd, 0) < 0)
        rnd = (uint32_t)rand();
    char prefix[64];
    int pl = snprintf(prefix,
                      sizeof prefix,
                      "granary-tmp:%d:%u:%08x:",
                      (int)getpid(),
                      atomic_fetch_add(&r->tmp_seq, 1),
                      rnd);
    char* tmp = gr_malloc((size_t)pl + nlen);
    if (!tmp)
        return -ENOMEM;
    memcpy(tmp, prefix, (size_t)pl);
    memcpy(tmp + pl, name, nlen);
    size_t tlen = (size_t)pl + nlen;
    const uint8_t* p = data;
    redisReply* rep = NULL;
    int rc = 0;
    pthread_mutex_lock(&r->mu);
    for (size_t off = 0; off < len && !rc; off += r->chunk) {
        size_t n = len - off < r->chunk ? len - off : r->chunk;
        struct args a = { 0 };
        char offs[24];
        snprintf(offs, sizeof offs, "%zu", off);
        if (off == 0) {
            arg_s(&a, "SET");
            arg(&a, tmp, tlen);
            arg(&a, p, n);
            arg_s(&a, "PX");
            arg_s(&a, TMP_TTL_MS);
        } else {
            arg_s(&a, "SETRANGE");
            arg(&a, tmp, tlen);
            arg_s(&a, offs);
            arg(&a, p + off, n);
        }
        rc = run(r, &a, &rep);
        if (rep)
            freeReplyObject(rep);
        rep = NULL;
    }
    struct args m = { 0 }, rn = { 0 }, ps = { 0 }, x = { 0 };
    arg_s(&m, "MULTI");
    arg_s(&rn, "RENAME");
    arg(&rn, tmp, tlen);
    arg(&rn, name, nlen);
    arg_s(&ps, "PERSIST");
    arg(&ps, name, nlen);
    arg_s(&x, "EXEC");
    struct args* seq[] = { &m, &rn, &ps, &x };
    for (size_t i = 0; i < 4 && !rc; i++) {
        rc = run(r, seq[i], &rep);
        if (!rc && i == 3 &&
            (rep->type != REDIS_REPLY_ARRAY || rep->elements != 2 ||
             rep->element[0]->type == REDIS_REPLY_ERROR))
            rc = -EIO; /* the temporary key expired before the rename */
        if (rep)
            freeReplyObject(rep);
        rep = NULL;
    }
    if (rc && r->c) {
        /* Best effort: the key would expire anyway. */
        struct args d = { 0 };
        arg_s(&d, "DEL");
        arg(&d, tmp, tlen);
        if (run(r, &d, &rep) == 0)
            freeReplyObject(rep);
    }
    pthread_mutex_unlock(&r->mu);
    gr_free(tmp);
    return rc;
}

static int
r_set_range(gr_global* g,
            const char* name,
            size_t nlen,
            size_t off,
            const void* data,
            size_t len)
{
    struct redis* r = (struct redis*)g;
    char offs[24];
    snprintf(offs, sizeof offs, "%zu", off);
    struct args a = { 0 };
    arg_s(&a, "SETRANGE");
    arg(&a, name, nlen);
    arg_s(&a, offs);
    arg(&a, data, len);
    return simple(r, &a, NULL);
}

static int
r_append(gr_global* g,
         const char* name,
         size_t nlen,
         const void* data,
         size_t len,
         size_t* total)
{
    struct redis* r = (struct redis*)g;
    struct args a = { 0 };
    arg_s(&a, "APPEND");
    arg(&a, name, nlen);
    arg(&a, data, len);
    long long n = 0;
    int rc = simple(r, &a, &n);
    if (!rc && total)
        *total = (size_t)n;
    return rc;
}

static int
r_del(gr_global* g, const char* name, size_t nlen)
{
    struct redis* r = (struct redis*)g;
    struct args a = { 0 };
    arg_s(&a, "DEL");
    arg(&a, name, nlen);
    long long n = 0;
    int rc = simple(r, &a, &n);
    return rc ? rc : n ? 0 : -ENOENT;
}

static int
r_lock(gr_global* g,
       const char* name,
       size_t nlen,
       const char* token,
       uint32_t ttl_ms)
{
    struct redis* r = (struct redis*)g;
    char ttl[16];
    snprintf(ttl, sizeof ttl, "%u", ttl_ms ? ttl_ms : 1);
    struct args a = { 0 };
    arg_s(&a, "SET");
    arg(&a, name, nlen);
    arg_s(&a, token);
    arg_s(&a, "NX");
    arg_s(&a, "PX");
    arg_s(&a, ttl);
    redisReply* rep;
    pthread_mutex_lock(&r->mu);
    int rc = run(r, &a, &rep);
    /* Taken only when the reply says so. Sent without a reply: Redis may
     * still apply it, so the reaper releases it once Redis answers. */
    if (rc && r->lost)
        ghost_add(r, name, nlen, token, ttl_ms);
    else if (!rc)
        ghost_forget(r, name, nlen, token);
    pthread_mutex_unlock(&r->mu);
    if (!rc && rep->type == REDIS_REPLY_NIL)
        rc = -EBUSY;
    if (rep)
        freeReplyObject(rep);
    return rc;
}

/* Deletes the lock only if we still hold it: a GET then DEL from the
 * client could delete a lock someone else took after ours expired. */
static const char unlock_lua[] =
  "if redis.call('get', KEYS[1]) == ARGV[1] then "
  "return redis.call('del', KEYS[1]) else return 0 end";

/* Under r->mu: one compare-and-delete; 0 with *n = keys deleted. */
static int
unlock_once(struct redis* r,
            const char* name,
            size_t nlen,
            const char* token,
            long long* n)
{
    struct args a = { 0 };
    arg_s(&a, "EVAL");
    arg_s(&a, unlock_lua);
    arg_s(&a, "1");
    arg(&a, name, nlen);
    arg_s(&a, token);
    redisReply* rep;
    int rc = run(r, &a, &rep);
    if (!rc)
        *n = rep->integer;
    if (rep)
        freeReplyObject(rep);
    return rc;
}

static int
r_unlock(gr_global* g, const char* name, size_t nlen, const char* token)
{
    struct redis* r = (struct redis*)g;
    long long n = 0;
    pthread_mutex_lock(&r->mu);
    int rc = unlock_once(r, name, nlen, token, &n);
    /* No reply: the lock may still be held; the reaper retries. */
    if (rc && r->lost)
        ghost_add(r, name, nlen, token, 0);
    pthread_mutex_unlock(&r->mu);
    return rc ? rc : n == 1 ? 0 : -EPERM;
}

static void
r_destroy(gr_global* g)
{
    struct redis* r = (struct redis*)g;
    if (!r)
        return;
    pthread_mutex_lock(&r->gmu);
    r->stopping = 1;
    pthread_cond_broadcast(&r->gcond);
    int started = r->reaper_started;
    pthread_mutex_unlock(&r->gmu);
    if (started)
        pthread_join(r->reaper, NULL);
    /* A last try for ghosts (a lock left would expire at its TTL). */
    pthread_mutex_lock(&r->mu);
    if (r->ghosts && r->c)
        reap_round(r);
    pthread_mutex_unlock(&r->mu);
    while (r->ghosts) {
        struct ghost* n = r->ghosts->next;
        ghost_free(r->ghosts);
        r->ghosts = n;
    }
    if (r->c)
        redisFree(r->c);
    pthread_mutex_destroy(&r->mu);
    pthread_mutex_destroy(&r->gmu);
    pthread_cond_destroy(&r->gcond);
    gr_free(r);
}

static const struct gr_global_ops redis_ops = {
    .kind = "redis",
    .size = r_size,
    .get = r_get,
    .set = r_set,
    .set_range = r_set_range,
    .append = r_append,
    .del = r_del,
    .lock = r_lock,
    .unlock = r_unlock,
    .destroy = r_destroy,
};

int
gr__state_global_redis(const char* addr,
                       uint32_t timeout_ms,
                       size_t chunk,
                       gr_global** out,
                       char* err,
                       size_t errlen)
{
    if (strncmp(addr, "redis://", 8) == 0)
        addr += 8;
    struct redis* r = gr_calloc(1, sizeof *r);
    if (!r)
        return -ENOMEM;
    r->base.ops = &redis_ops;
    pthread_mutex_init(&r->mu, NULL);
    pthread_mutex_init(&r->gmu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&r->gcond, &ca);
    pthread_condattr_destroy(&ca);
    r->port = 6379;
    r->chunk = chunk ? chunk : (8u << 20);
    r->tv = (struct timeval){ .tv_sec = timeout_ms / 1000,
                              .tv_usec = (timeout_ms % 1000) * 1000 };
    const char* colon = strrchr(addr, ':');
    size_t hl = colon ? (size_t)(colon - addr) : strlen(addr);
    char* end = NULL;
    if (colon) {
        long p = strtol(colon + 1, &end, 10);
        if (*end || p <= 0 || p > 65535)
            hl = 0;
        r->port = (int)p;
    }
    if (hl == 0 || hl >= sizeof r->host) {
        snprintf(err, errlen, "bad redis address '%s' (want host:port)", addr);
        r_destroy(&r->base);
        return -EINVAL;
    }
    memcpy(r->host, addr, hl);
    r->host[hl] = '\0';
    pthread_mutex_lock(&r->mu);
    int rc = connect_locked(r);
    pthread_mutex_unlock(&r->mu);
    if (rc) {
        snprintf(err,
                 errlen,
                 "cannot connect to redis %s:%d: %s",
                 r->host,
                 r->port,
                 strerror(-rc));
        r_destroy(&r->base);
        return rc;
    }
    *out = &r->base;
    return 0;
}
