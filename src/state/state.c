/* SPDX-License-Identifier: Apache-2.0 */
/* The state service (state.h): the table of local keys (one memfd each),
 * copying access, push/pull between the local and the global tier, locks,
 * and the whole-value API used by the HTTP layer and the CLI. */
#include "state/state.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "state/state_int.h"
#include "util/alloc.h"
#include "util/log.h"

#define PAGE 4096u
#define NAME_MAX_LEN (16 + GR_STATE_MAX_USER + 1 + GR_STATE_MAX_KEY + 1)

struct gr_state
{
    gr_global* global;
    size_t max_value;
    uint32_t lock_ttl_ms, lock_wait_ms;
    pthread_mutex_t mu; /* guards keys */
    gr__state_map keys; /* full name → gr_state_key (one reference) */
};

/* The guests' local read/write lock of a key. Not a pthread rwlock: any
 * thread may release it (a call's leftover locks are released by whoever
 * ends the call) and a wait ends at the waiting call's deadline. Readers
 * are preferred, as with glibc's default rwlock, so a call may take the
 * same read lock twice. All fields under lk_mu. */
struct key_lock
{
    pthread_mutex_t lk_mu;
    pthread_cond_t lk_cond; /* CLOCK_MONOTONIC; broadcast on every unlock */
    unsigned readers;       /* read holders */
    int writer;             /* 1 while write-held */
};

/* Threads: refs atomically; size/cap/map under mu; lk is the guests'
 * local lock and is never taken by the host functions themselves. */
struct gr_state_key
{
    gr_state* st;
    atomic_int refs;
    char* name; /* "granary:<user>:<key>" */
    size_t nlen;
    int fd;
    pthread_mutex_t mu;
    size_t size, cap;
    uint8_t* map; /* host view of the memfd, cap bytes */
    struct key_lock lk;
};

/* ---- names --------------------------------------------------------------- */

static int
valid_user(const char* user)
{
    size_t n = user ? strlen(user) : 0;
    if (n == 0 || n > GR_STATE_MAX_USER)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = user[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-'))
            return 0;
    }
    return 1;
}

/* Writes prefix + user + ':' + key into buf[NAME_MAX_LEN]. The user name
 * cannot contain ':', so names of different users never collide. */
static int
make_name(char* buf,
          const char* prefix,
          const char* user,
          const char* key,
          size_t klen,
          size_t* nlen)
{
    if (!valid_user(user) || !key || klen == 0 || klen > GR_STATE_MAX_KEY ||
        memchr(key, '\0', klen))
        return -EINVAL;
    int n = snprintf(buf, NAME_MAX_LEN, "%s:%s:", prefix, user);
    memcpy(buf + n, key, klen);
    buf[n + klen] = '\0';
    *nlen = (size_t)n + klen;
    return 0;
}

static size_t
round_page(size_t n)
{
    return (n + PAGE - 1) & ~(size_t)(PAGE - 1);
}

static void
make_token(char token[33])
{
    static atomic_ulong seq;
    uint8_t b[16];
    if (getrandom(b, sizeof b, 0) != (ssize_t)sizeof b) {
        /* Still unique within the process; unlikely to collide across. */
        unsigned long s = atomic_fetch_add(&seq, 1);
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        memcpy(b, &s, sizeof s);
        memcpy(b + 8, &ts.tv_nsec, sizeof ts.tv_nsec);
    }
    for (int i = 0; i < 16; i++)
        snprintf(token + 2 * i, 3, "%02x", b[i]);
}

/* ---- service ------------------------------------------------------------- */

int
gr_state_create(const gr_state_config* cfg,
                gr_state** out,
                char* err,
                size_t errlen)
{
    gr_state_config def = { 0 };
    if (!cfg)
        cfg = &def;
    char dummy[1];
    if (!err || !errlen) {
        err = dummy;
        errlen = sizeof dummy;
    }
    err[0] = '\0';
    gr_state* st = gr_calloc(1, sizeof *st);
    if (!st)
        return -ENOMEM;
    pthread_mutex_init(&st->mu, NULL);
    st->max_value =
      cfg->max_value ? cfg->max_value : (size_t)GR_STATE_MAX_VALUE_DEFAULT;
    st->lock_ttl_ms = cfg->lock_ttl_ms ? cfg->lock_ttl_ms : 30000;
    st->lock_wait_ms = cfg->lock_wait_ms ? cfg->lock_wait_ms : 10000;
    int rc;
    if (cfg->redis && cfg->redis[0])
        rc = gr__state_global_redis(cfg->redis,
                                    cfg->timeout_ms ? cfg->timeout_ms : 2000,
                                    0,
                                    &st->global,
                                    err,
                                    errlen);
    else if (cfg->dir && cfg->dir[0]) {
        char path[4096];
        if (snprintf(path, sizeof path, "%s/state.db", cfg->dir) >=
            (int)sizeof path) {
            rc = -ENAMETOOLONG;
            goto fail;
        }
        rc = gr__state_global_embedded(path, &st->global, err, errlen);
    } else
        rc = gr__state_global_embedded(NULL, &st->global, err, errlen);
    if (rc)
        goto fail;
    *out = st;
    return 0;
fail:
    gr_state_destroy(st);
    return rc;
}

static void
key_drop(void* v)
{
    gr_state_key_unref(v);
}

void
gr_state_destroy(gr_state* st)
{
    if (!st)
        return;
    gr__state_map_fini(&st->keys, key_drop);
    if (st->global)
        st->global->ops->destroy(st->global);
    pthread_mutex_destroy(&st->mu);
    gr_free(st);
}

const char*
gr_state_global_kind(const gr_state* st)
{
    return st->global->ops->kind;
}

size_t
gr_state_max_value(const gr_state* st)
{
    return st->max_value;
}

/* ---- local keys ---------------------------------------------------------- */

/* Under k->mu (or before k is shared): capacity for n bytes. The memfd and
 * the host view only grow, so guests' mappings stay valid. */
static int
key_reserve(gr_state_key* k, size_t n)
{
    size_t cap = round_page(n ? n : 1);
    if (cap <= k->cap)
        return 0;
    if (ftruncate(k->fd, (off_t)cap) < 0)
        return -errno;
    void* m = k->map
                ? mremap(k->map, k->cap, cap, MREMAP_MAYMOVE)
                : mmap(NULL, cap, PROT_READ | PROT_WRITE, MAP_SHARED, k->fd, 0);
    if (m == MAP_FAILED)
        return -errno;
    k->map = m;
    k->cap = cap;
    return 0;
}

static void
key_free(gr_state_key* k)
{
    if (k->map)
        munmap(k->map, k->cap);
    if (k->fd >= 0)
        close(k->fd);
    pthread_mutex_destroy(&k->mu);
    pthread_mutex_destroy(&k->lk.lk_mu);
    pthread_cond_destroy(&k->lk.lk_cond);
    gr_free(k->name);
    gr_free(k);
}

static int
key_new(gr_state* st, const char* name, size_t nlen, gr_state_key** out)
{
    gr_state_key* k = gr_calloc(1, sizeof *k);
    if (!k)
        return -ENOMEM;
    k->st = st;
    atomic_init(&k->refs, 1);
    k->fd = -1;
    pthread_mutex_init(&k->mu, NULL);
    pthread_mutex_init(&k->lk.lk_mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&k->lk.lk_cond, &ca);
    pthread_condattr_destroy(&ca);
    k->name = gr_strndup(name, nlen);
    k->nlen = nlen;
    int rc = k->name ? 0 : -ENOMEM;
    if (!rc) {
        k->fd = memfd_create("granary-state", MFD_CLOEXEC);
        if (k->fd < 0)
            rc = -errno;
    }
    if (!rc)
        rc = key_reserve(k, 0);
    if (rc) {
        key_free(k);
        return rc;
    }
    *out = k;
    return 0;
}

gr_state_key*
gr_state_key_ref(gr_state_key* k)
{
    atomic_fetch_add(&k->refs, 1);
    return k;
}

void
gr_state_key_unref(gr_state_key* k)
{
    if (k && atomic_fetch_sub(&k->refs, 1) == 1)
        key_free(k);
}

/* Under k->mu: replaces the local value from the global one. */
static int
pull_locked(gr_state_key* k)
{
    gr_global* g = k->st->global;
    for (int tries = 0; tries < 5; tries++) {
        size_t total = 0, got = 0;
        int rc = g->ops->size(g, k->name, k->nlen, &total);
        if (rc)
            return rc;
        if (total > k->st->max_value)
            return -EFBIG;
        if ((rc = key_reserve(k, total)))
            return rc;
        rc = g->ops->get(
          g, k->name, k->nlen, 0, SIZE_MAX, k->map, k->cap, &got, &total);
        if (rc == -ENOBUFS)
            continue; /* it grew between STRLEN and GET */
        if (rc)
            return rc;
        if (got < k->size)
            memset(k->map + got, 0, k->size - got);
        k->size = got;
        return 0;
    }
    return -EAGAIN;
}

int
gr_state_key_open(gr_state* st,
                  const char* user,
                  const char* key,
                  size_t klen,
                  size_t min_size,
                  gr_state_key** out)
{
    char name[NAME_MAX_LEN];
    size_t nlen;
    int rc = make_name(name, "granary", user, key, klen, &nlen);
    if (rc)
        return rc;
    if (min_size > st->max_value)
        return -EFBIG;
    pthread_mutex_lock(&st->mu);
    gr_state_key* k = gr__state_map_get(&st->keys, name, nlen);
    if (k)
        gr_state_key_ref(k);
    pthread_mutex_unlock(&st->mu);
    if (!k) {
        /* Made outside the table lock (the pull may take a while); if
         * another thread won the race, use its key. */
        gr_state_key* n;
        if ((rc = key_new(st, name, nlen, &n)))
            return rc;
        rc = pull_locked(n);
        if (rc == -ENOENT && min_size)
            rc = 0;
        if (rc) {
            key_free(n);
            return rc;
        }
        pthread_mutex_lock(&st->mu);
        k = gr__state_map_get(&st->keys, name, nlen);
        if (!k && (rc = gr__state_map_put(&st->keys, name, nlen, n)) == 0) {
            k = n;
            n = NULL;
        }
        if (k)
            gr_state_key_ref(k);
        pthread_mutex_unlock(&st->mu);
        if (n)
            key_free(n);
        if (rc)
            return rc;
    }
    pthread_mutex_lock(&k->mu);
    if (k->size < min_size) {
        rc = key_reserve(k, min_size);
        if (!rc)
            k->size = min_size; /* the memfd's new bytes are zeros */
    }
    pthread_mutex_unlock(&k->mu);
    if (rc) {
        gr_state_key_unref(k);
        return rc;
    }
    *out = k;
    return 0;
}

size_t
gr_state_key_size(gr_state_key* k)
{
    pthread_mutex_lock(&k->mu);
    size_t n = k->size;
    pthread_mutex_unlock(&k->mu);
    return n;
}

int
gr_state_key_fd(const gr_state_key* k)
{
    return k->fd;
}

static int
range_ok(size_t off, size_t len, size_t size)
{
    return off <= size && len <= size - off;
}

int
gr_state_key_read(gr_state_key* k, size_t off, void* dst, size_t len)
{
    pthread_mutex_lock(&k->mu);
    int rc = range_ok(off, len, k->size) ? 0 : -ERANGE;
    if (!rc && len)
        memcpy(dst, k->map + off, len);
    pthread_mutex_unlock(&k->mu);
    return rc;
}

int
gr_state_key_write(gr_state_key* k, size_t off, const void* src, size_t len)
{
    pthread_mutex_lock(&k->mu);
    int rc = range_ok(off, len, k->size) ? 0 : -ERANGE;
    if (!rc && len)
        memcpy(k->map + off, src, len);
    pthread_mutex_unlock(&k->mu);
    return rc;
}

int
gr_state_key_set(gr_state_key* k, const void* src, size_t len)
{
    if (len > k->st->max_value)
        return -EFBIG;
    pthread_mutex_lock(&k->mu);
    int rc = key_reserve(k, len);
    if (!rc) {
        if (len)
            memmove(k->map, src, len);
        if (len < k->size)
            memset(k->map + len, 0, k->size - len);
        k->size = len;
    }
    pthread_mutex_unlock(&k->mu);
    return rc;
}

int
gr_state_key_push(gr_state_key* k)
{
    gr_global* g = k->st->global;
    pthread_mutex_lock(&k->mu);
    int rc = g->ops->set(g, k->name, k->nlen, k->map, k->size);
    pthread_mutex_unlock(&k->mu);
    return rc;
}

int
gr_state_key_push_range(gr_state_key* k, size_t off, size_t len)
{
    gr_global* g = k->st->global;
    pthread_mutex_lock(&k->mu);
    int rc = range_ok(off, len, k->size) ? 0 : -ERANGE;
    if (!rc && len)
        rc = g->ops->set_range(g, k->name, k->nlen, off, k->map + off, len);
    pthread_mutex_unlock(&k->mu);
    return rc;
}

int
gr_state_key_pull(gr_state_key* k)
{
    pthread_mutex_lock(&k->mu);
    int rc = pull_locked(k);
    pthread_mutex_unlock(&k->mu);
    return rc;
}

int
gr_state_key_pull_range(gr_state_key* k, size_t off, size_t len)
{
    gr_global* g = k->st->global;
    pthread_mutex_lock(&k->mu);
    int rc = range_ok(off, len, k->size) ? 0 : -ERANGE;
    size_t got = 0, total = 0;
    if (!rc && len)
        rc = g->ops->get(
          g, k->name, k->nlen, off, len, k->map + off, len, &got, &total);
    if (!rc && got != len)
        rc = -ERANGE; /* the global value is shorter than the range */
    pthread_mutex_unlock(&k->mu);
    return rc;
}

static uint64_t
mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int
lock_busy(const struct key_lock* l, int write)
{
    return l->writer || (write && l->readers);
}

int
gr_state_key_lock_until(gr_state_key* k, int write, uint64_t deadline_ns)
{
    struct key_lock* l = &k->lk;
    struct timespec ts = { (time_t)(deadline_ns / 1000000000u),
                           (long)(deadline_ns % 1000000000u) };
    int rc = 0;
    pthread_mutex_lock(&l->lk_mu);
    while (lock_busy(l, write)) {
        if (!deadline_ns) {
            pthread_cond_wait(&l->lk_cond, &l->lk_mu);
            continue;
        }
        /* The deadline signal of the call interrupts nothing here (condvar
         * waits resume), so the wait itself ends at the deadline. */
        if (pthread_cond_timedwait(&l->lk_cond, &l->lk_mu, &ts) == ETIMEDOUT &&
            lock_busy(l, write)) {
            rc = -ETIMEDOUT;
            break;
        }
    }
    if (!rc) {
        if (write)
            l->writer = 1;
        else
            l->readers++;
    }
    pthread_mutex_unlock(&l->lk_mu);
    return rc;
}

int
gr_state_key_lock(gr_state_key* k, int write)
{
    return gr_state_key_lock_until(k, write, 0);
}

int
gr_state_key_unlock(gr_state_key* k, int write)
{
    struct key_lock* l = &k->lk;
    int rc = 0;
    pthread_mutex_lock(&l->lk_mu);
    if (write && l->writer)
        l->writer = 0;
    else if (!write && l->readers)
        l->readers--;
    else
        rc = -EPERM;
    pthread_mutex_unlock(&l->lk_mu);
    if (!rc)
        pthread_cond_broadcast(&l->lk_cond);
    return rc;
}

static int
lock_name(char* buf, const gr_state_key* k, size_t* nlen)
{
    /* "granary-lock:" + the part of the key's name after "granary:" */
    int n = snprintf(buf, NAME_MAX_LEN, "granary-lock:");
    memcpy(buf + n, k->name + 8, k->nlen - 8);
    *nlen = (size_t)n + k->nlen - 8;
    buf[*nlen] = '\0';
    return 0;
}

int
gr_state_key_lock_global_until(gr_state_key* k,
                               char token[33],
                               uint64_t deadline_ns)
{
    gr_global* g = k->st->global;
    char name[NAME_MAX_LEN];
    size_t nlen;
    lock_name(name, k, &nlen);
    make_token(token);
    uint64_t t0 = mono_ns();
    uint64_t give_up = t0 + (uint64_t)k->st->lock_wait_ms * 1000000u;
    int by_deadline = deadline_ns && deadline_ns < give_up;
    if (by_deadline)
        give_up = deadline_ns;
    uint64_t sleep_ns = 500000;
    for (;;) {
        int rc = g->ops->lock(g, name, nlen, token, k->st->lock_ttl_ms);
        if (rc != -EBUSY)
            return rc;
        uint64_t now = mono_ns();
        if (now >= give_up)
            return by_deadline ? -ETIMEDOUT : -EBUSY;
        uint64_t nap = give_up - now < sleep_ns ? give_up - now : sleep_ns;
        struct timespec ts = { (time_t)(nap / 1000000000u),
                               (long)(nap % 1000000000u) };
        nanosleep(&ts, NULL); /* EINTR (the deadline signal): try again */
        if (sleep_ns < 20000000)
            sleep_ns *= 2;
    }
}

int
gr_state_key_lock_global(gr_state_key* k, char token[33])
{
    return gr_state_key_lock_global_until(k, token, 0);
}

int
gr_state_key_unlock_global(gr_state_key* k, const char token[33])
{
    gr_global* g = k->st->global;
    char name[NAME_MAX_LEN];
    size_t nlen;
    lock_name(name, k, &nlen);
    return g->ops->unlock(g, name, nlen, token);
}

int
gr_state_lock_global_try(gr_state* st,
                         const char* user,
                         const char* key,
                         size_t klen,
                         uint32_t ttl_ms,
                         char token[33])
{
    char name[NAME_MAX_LEN];
    size_t nlen;
    int rc = make_name(name, "granary-lock", user, key, klen, &nlen);
    if (rc)
        return rc;
    make_token(token);
    return st->global->ops->lock(st->global, name, nlen, token, ttl_ms);
}

int
gr_state_unlock_global(gr_state* st,
                       const char* user,
                       const char* key,
                       size_t klen,
                       const char token[33])
{
    char name[NAME_MAX_LEN];
    size_t nlen;
    int rc = make_name(name, "granary-lock", user, key, klen, &nlen);
    if (rc)
        return rc;
    return st->global->ops->unlock(st->global, name, nlen, token);
}

/* ---- global-tier operations by name -------------------------------------- */

int
gr_state_append(gr_state* st,
                const char* user,
                const char* key,
                size_t klen,
                const void* data,
                size_t len,
                size_t* total)
{
    char name[NAME_MAX_LEN];
    size_t nlen, cur = 0;
    int rc = make_name(name, "granary", user, key, klen, &nlen);
    if (rc)
        return rc;
    /* Refuse before Redis would; the check races with other appenders but
     * only by one append's length. */
    rc = st->global->ops->size(st->global, name, nlen, &cur);
    if (rc && rc != -ENOENT)
        return rc;
    if (len > st->max_value || cur > st->max_value - len)
        return -EFBIG;
    return st->global->ops->append(st->global, name, nlen, data, len, total);
}

int
gr_state_read_global(gr_state* st,
                     const char* user,
                     const char* key,
                     size_t klen,
                     size_t off,
                     void* dst,
                     size_t len,
                     size_t* got,
                     size_t* total)
{
    char name[NAME_MAX_LEN];
    size_t nlen;
    int rc = make_name(name, "granary", user, key, klen, &nlen);
    if (rc)
        return rc;
    return st->global->ops->get(
      st->global, name, nlen, off, len, dst, len, got, total);
}

int
gr_state_size(gr_state* st,
              const char* user,
              const char* key,
              size_t klen,
              size_t* size)
{
    char name[NAME_MAX_LEN];
    size_t nlen;
    int rc = make_name(name, "granary", user, key, klen, &nlen);
    if (rc)
        return rc;
    pthread_mutex_lock(&st->mu);
    gr_state_key* k = gr__state_map_get(&st->keys, name, nlen);
    if (k)
        gr_state_key_ref(k);
    pthread_mutex_unlock(&st->mu);
    if (k) {
        *size = gr_state_key_size(k);
        gr_state_key_unref(k);
        return 0;
    }
    return st->global->ops->size(st->global, name, nlen, size);
}

int
gr_state_delete_key(gr_state* st,
                    const char* user,
                    const char* key,
                    size_t klen)
{
    char name[NAME_MAX_LEN];
    size_t nlen;
    int rc = make_name(name, "granary", user, key, klen, &nlen);
    if (rc)
        return rc;
    rc = st->global->ops->del(st->global, name, nlen);
    pthread_mutex_lock(&st->mu);
    gr_state_key* k = gr__state_map_take(&st->keys, name, nlen);
    pthread_mutex_unlock(&st->mu);
    gr_state_key_unref(k);
    return rc == -ENOENT && k ? 0 : rc;
}

int
gr_state_get(gr_state* st,
             const char* user,
             const char* key,
             uint8_t** data,
             size_t* len)
{
    *data = NULL;
    *len = 0;
    size_t klen = key ? strlen(key) : 0;
    char name[NAME_MAX_LEN];
    size_t nlen;
    int rc = make_name(name, "granary", user, key, klen, &nlen);
    if (rc)
        return rc;
    gr_global* g = st->global;
    for (int tries = 0; tries < 5; tries++) {
        size_t size = 0, got = 0, total = 0;
        if ((rc = g->ops->size(g, name, nlen, &size)))
            return rc;
        uint8_t* buf = gr_malloc(size ? size : 1);
        if (!buf)
            return -ENOMEM;
        rc = g->ops->get(g, name, nlen, 0, SIZE_MAX, buf, size, &got, &total);
        if (rc == -ENOBUFS) {
            gr_free(buf);
            continue;
        }
        if (rc || got == 0) {
            gr_free(buf);
            return rc;
        }
        *data = buf;
        *len = got;
        return 0;
    }
    return -EAGAIN;
}

int
gr_state_set(gr_state* st,
             const char* user,
             const char* key,
             const void* data,
             size_t len)
{
    size_t klen = key ? strlen(key) : 0;
    char name[NAME_MAX_LEN];
    size_t nlen;
    int rc = make_name(name, "granary", user, key, klen, &nlen);
    if (rc)
        return rc;
    if (len > st->max_value)
        return -EFBIG;
    if ((rc = st->global->ops->set(st->global, name, nlen, data, len)))
        return rc;
    pthread_mutex_lock(&st->mu);
    gr_state_key* k = gr__state_map_get(&st->keys, name, nlen);
    if (k)
        gr_state_key_ref(k);
    pthread_mutex_unlock(&st->mu);
    if (k) {
        rc = gr_state_key_set(k, data, len);
        gr_state_key_unref(k);
    }
    return rc;
}

int
gr_state_delete(gr_state* st, const char* user, const char* key)
{
    return gr_state_delete_key(st, user, key, key ? strlen(key) : 0);
}

/* ---- per-Faaslet context ------------------------------------------------- */

struct held
{
    gr_state_key* k;
    int mode;
    char token[33];
};

struct gr_state_ctx
{
    gr_state* st;
    char user[GR_STATE_MAX_USER + 1];
    uint64_t (*ranges)[2];
    gr_state_key** range_keys;
    size_t n_ranges, cap_ranges;
    struct held* held;
    size_t n_held, cap_held;
};

int
gr_state_ctx_create(gr_state* st, const char* user, gr_state_ctx** out)
{
    if (!st || !valid_user(user))
        return -EINVAL;
    gr_state_ctx* c = gr_calloc(1, sizeof *c);
    if (!c)
        return -ENOMEM;
    c->st = st;
    snprintf(c->user, sizeof c->user, "%s", user);
    *out = c;
    return 0;
}

void
gr_state_ctx_destroy(gr_state_ctx* c)
{
    if (!c)
        return;
    gr_state_ctx_clear(c);
    gr_free(c->ranges);
    gr_free(c->range_keys);
    gr_free(c->held);
    gr_free(c);
}

gr_state*
gr_state_ctx_state(const gr_state_ctx* c)
{
    return c->st;
}

const char*
gr_state_ctx_user(const gr_state_ctx* c)
{
    return c->user;
}

int
gr_state_ctx_add_range(gr_state_ctx* c,
                       gr_state_key* k,
                       uint64_t start,
                       uint64_t end)
{
    if (c->n_ranges == c->cap_ranges) {
        size_t cap = c->cap_ranges ? 2 * c->cap_ranges : 8;
        uint64_t(*r)[2] = gr_realloc(c->ranges, cap * sizeof *r);
        if (!r)
            return -ENOMEM;
        c->ranges = r;
        gr_state_key** ks = gr_realloc(c->range_keys, cap * sizeof *ks);
        if (!ks)
            return -ENOMEM;
        c->range_keys = ks;
        c->cap_ranges = cap;
    }
    c->ranges[c->n_ranges][0] = start;
    c->ranges[c->n_ranges][1] = end;
    c->range_keys[c->n_ranges] = gr_state_key_ref(k);
    c->n_ranges++;
    return 0;
}

size_t
gr_state_ctx_ranges(const gr_state_ctx* c, const uint64_t (**ranges)[2])
{
    *ranges = (const uint64_t(*)[2])c->ranges;
    return c->n_ranges;
}

int
gr_state_ctx_lock(gr_state_ctx* c,
                  gr_state_key* k,
                  int mode,
                  uint64_t deadline_ns)
{
    if (mode < 0 || mode > 2)
        return -EINVAL;
    if (c->n_held == c->cap_held) {
        size_t cap = c->cap_held ? 2 * c->cap_held : 4;
        struct held* h = gr_realloc(c->held, cap * sizeof *h);
        if (!h)
            return -ENOMEM;
        c->held = h;
        c->cap_held = cap;
    }
    struct held* h = &c->held[c->n_held];
    *h = (struct held){ .k = k, .mode = mode };
    int rc = mode == 2
               ? gr_state_key_lock_global_until(k, h->token, deadline_ns)
               : gr_state_key_lock_until(k, mode, deadline_ns);
    if (rc)
        return rc;
    gr_state_key_ref(k);
    c->n_held++;
    return 0;
}

static int
release(struct held* h)
{
    int rc = h->mode == 2 ? gr_state_key_unlock_global(h->k, h->token)
                          : gr_state_key_unlock(h->k, h->mode);
    gr_state_key_unref(h->k);
    return rc;
}

int
gr_state_ctx_unlock(gr_state_ctx* c, gr_state_key* k, int mode)
{
    for (size_t i = c->n_held; i-- > 0;) {
        if (c->held[i].k != k || c->held[i].mode != mode)
            continue;
        int rc = release(&c->held[i]);
        memmove(
          &c->held[i], &c->held[i + 1], (c->n_held - i - 1) * sizeof *c->held);
        c->n_held--;
        return rc;
    }
    return -EPERM;
}

void
gr_state_ctx_clear(gr_state_ctx* c)
{
    while (c->n_held > 0) {
        if (release(&c->held[--c->n_held]))
            GR_DEBUG("state: a global lock expired before its call ended");
    }
    for (size_t i = 0; i < c->n_ranges; i++)
        gr_state_key_unref(c->range_keys[i]);
    c->n_ranges = 0;
}
