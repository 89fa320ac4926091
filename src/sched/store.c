/* SPDX-License-Identifier: Apache-2.0 */
/* The function store: per-user functions persisted as
 * <data_dir>/functions/<user>/<fn>.wasm plus <fn>.meta ("hash size
 * uploaded_ns"), indexed in memory by user/fn. Versions are reference
 * counted so a replaced function's running calls finish on the old one. */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <granary/status.h>

#include "sched/sched_int.h"
#include "util/alloc.h"
#include "util/fs.h"
#include "util/hash.h"
#include "util/log.h"

#define MAX_STORED_WASM (256u << 20)

int
gr__sched_name_ok(const char* name, size_t len)
{
    if (!name || len == 0 || len > GR_SCHED_NAME_MAX)
        return 0;
    if ((len == 1 && name[0] == '.') ||
        (len == 2 && name[0] == '.' && name[1] == '.'))
        return 0;
    for (size_t i = 0; i < len; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-'))
            return 0;
    }
    return 1;
}

int
gr__sched_names_ok(const char* user, const char* fn)
{
    return user && fn && gr__sched_name_ok(user, strlen(user)) &&
           gr__sched_name_ok(fn, strlen(fn));
}

static size_t
key_hash(const char* user, const char* fn, size_t fn_len)
{
    uint64_t h = 1469598103934665603ull;
    for (const char* p = user; *p; p++)
        h = (h ^ (uint8_t)*p) * 1099511628211ull;
    h = (h ^ '/') * 1099511628211ull;
    for (size_t i = 0; i < fn_len; i++)
        h = (h ^ (uint8_t)fn[i]) * 1099511628211ull;
    return (size_t)h;
}

static int
fn_path(const gr_sched* s,
        const char* user,
        const char* fn,
        const char* ext,
        char* out,
        size_t n)
{
    int w =
      ext
        ? snprintf(out, n, "%s/functions/%s/%s.%s", s->data_dir, user, fn, ext)
        : snprintf(out, n, "%s/functions/%s", s->data_dir, user);
    return w < 0 || (size_t)w >= n ? -ENAMETOOLONG : 0;
}

static struct gr__fn*
fn_new(const char* user, const char* name)
{
    struct gr__fn* f = gr_calloc(1, sizeof *f);
    if (!f)
        return NULL;
    atomic_init(&f->refs, 1);
    atomic_init(&f->loaded, 0);
    atomic_init(&f->last_used, 0);
    pthread_mutex_init(&f->load_lock, NULL);
    snprintf(f->info.user, sizeof f->info.user, "%s", user);
    snprintf(f->info.name, sizeof f->info.name, "%s", name);
    return f;
}

void
gr__sched_fn_unref(struct gr__fn* f)
{
    if (!f || atomic_fetch_sub(&f->refs, 1) != 1)
        return;
    /* Last reference: every call using it has released its Faaslet. */
    gr_pool_destroy(f->pool);
    gr_proto_unref(f->proto);
    pthread_mutex_destroy(&f->load_lock);
    gr_free(f);
}

/* Inserts f (taking the caller's reference) in place of any version with
 * the same name; returns the replaced one (its store reference) or NULL.
 * Caller holds fn_lock for writing. */
static struct gr__fn*
table_put(gr_sched* s, struct gr__fn* f)
{
    size_t b = key_hash(f->info.user, f->info.name, strlen(f->info.name)) %
               s->fn_nbuckets;
    for (struct gr__fn** pp = &s->fn_buckets[b]; *pp; pp = &(*pp)->next) {
        struct gr__fn* old = *pp;
        if (strcmp(old->info.user, f->info.user) == 0 &&
            strcmp(old->info.name, f->info.name) == 0) {
            f->next = old->next;
            *pp = f;
            return old;
        }
    }
    f->next = s->fn_buckets[b];
    s->fn_buckets[b] = f;
    return NULL;
}

static struct gr__fn*
table_take(gr_sched* s, const char* user, const char* fn)
{
    size_t b = key_hash(user, fn, strlen(fn)) % s->fn_nbuckets;
    for (struct gr__fn** pp = &s->fn_buckets[b]; *pp; pp = &(*pp)->next) {
        struct gr__fn* f = *pp;
        if (strcmp(f->info.user, user) == 0 && strcmp(f->info.name, fn) == 0) {
            *pp = f->next;
            return f;
        }
    }
    return NULL;
}

struct gr__fn*
gr__sched_fn_find(gr_sched* s, const char* user, const char* fn, size_t fn_len)
{
    size_t b = key_hash(user, fn, fn_len) % s->fn_nbuckets;
    struct gr__fn* found = NULL;
    pthread_rwlock_rdlock(&s->fn_lock);
    for (struct gr__fn* f = s->fn_buckets[b]; f; f = f->next) {
        if (strncmp(f->info.name, fn, fn_len) == 0 &&
            f->info.name[fn_len] == '\0' && strcmp(f->info.user, user) == 0) {
            found = f;
            atomic_fetch_add(&f->refs, 1);
            break;
        }
    }
    pthread_rwlock_unlock(&s->fn_lock);
    return found;
}

void
gr__sched_fn_each(gr_sched* s, void (*cb)(struct gr__fn* f, void* ud), void* ud)
{
    pthread_rwlock_rdlock(&s->fn_lock);
    for (size_t b = 0; b < s->fn_nbuckets; b++)
        for (struct gr__fn* f = s->fn_buckets[b]; f; f = f->next)
            if (atomic_load(&f->loaded))
                cb(f, ud);
    pthread_rwlock_unlock(&s->fn_lock);
}

static int
make_runtime(gr_sched* s,
             gr_object* obj,
             gr_proto** proto,
             gr_pool** pool,
             char* err,
             size_t errlen)
{
    /* Initialisation runs under the limits of a call: a module whose start
     * function traps, exits or loops is a rejected module, not a server
     * error. */
    gr_proto_config pc = { .max_pages = s->cfg.max_pages,
                           .max_output = s->cfg.max_output,
                           .init_timeout_ns = s->cfg.timeout_ns };
    int rc = gr_proto_create(obj, &pc, proto, err, errlen);
    if (rc == GR_ETRAP || rc == GR_EEXIT || rc == GR_ETIMEOUT)
        rc = GR_EINVALID_MODULE;
    if (rc)
        return rc;
    gr_pool_config cfg = { .idle_ns = s->cfg.idle_ns };
    rc = gr_pool_create(*proto, &cfg, pool);
    if (rc) {
        gr_proto_unref(*proto);
        *proto = NULL;
    }
    return rc;
}

static uint64_t
mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* While the engine holds more objects than its bound, drops the runtime
 * (Proto-Faaslet and pool) of the least recently used function that no
 * call holds, so the engine can unload its object; the function loads
 * again on its next call. Under fn_lock for writing nobody can take a new
 * reference, and refs == 1 (the table's) means no call has one. */
static void
shed_idle(gr_sched* s)
{
    for (;;) {
        gr_engine_stats st;
        gr_engine_get_stats(s->cfg.engine, &st);
        if (st.loaded <= st.max_loaded)
            return;
        struct gr__fn* victim = NULL;
        gr_proto* proto = NULL;
        gr_pool* pool = NULL;
        pthread_rwlock_wrlock(&s->fn_lock);
        for (size_t b = 0; b < s->fn_nbuckets; b++)
            for (struct gr__fn* f = s->fn_buckets[b]; f; f = f->next)
                if (atomic_load(&f->loaded) && atomic_load(&f->refs) == 1 &&
                    (!victim || atomic_load(&f->last_used) <
                                  atomic_load(&victim->last_used)))
                    victim = f;
        if (victim) {
            atomic_store(&victim->loaded, 0);
            proto = victim->proto;
            pool = victim->pool;
            victim->proto = NULL;
            victim->pool = NULL;
        }
        pthread_rwlock_unlock(&s->fn_lock);
        if (!victim)
            return;
        gr_pool_destroy(pool);
        gr_proto_unref(proto);
        gr_engine_trim(s->cfg.engine);
    }
}

int
gr__sched_fn_load(gr_sched* s, struct gr__fn* f)
{
    atomic_store_explicit(&f->last_used, mono_ns(), memory_order_relaxed);
    if (atomic_load_explicit(&f->loaded, memory_order_acquire))
        return 0;
    int rc = 0;
    pthread_mutex_lock(&f->load_lock);
    if (!atomic_load(&f->loaded)) {
        char path[PATH_MAX], err[256] = "";
        gr_object* obj = NULL;
        rc = fn_path(s, f->info.user, f->info.name, "wasm", path, sizeof path);
        if (!rc)
            rc =
              gr_engine_load_file(s->cfg.engine, path, &obj, err, sizeof err);
        if (!rc)
            rc = make_runtime(s, obj, &f->proto, &f->pool, err, sizeof err);
        gr_object_unref(obj);
        if (rc)
            GR_WARN("sched: cannot load %s/%s: %s",
                    f->info.user,
                    f->info.name,
                    err[0] ? err : gr_strerror(rc));
        else
            atomic_store_explicit(&f->loaded, 1, memory_order_release);
    }
    pthread_mutex_unlock(&f->load_lock);
    if (!rc)
        shed_idle(s);
    return rc;
}

static int
write_meta(const char* path, const gr_fn_info* in)
{
    char buf[160];
    int n = snprintf(buf,
                     sizeof buf,
                     "%s %" PRIu64 " %" PRIu64 "\n",
                     in->hash,
                     in->size,
                     in->uploaded_ns);
    return gr_fs_write_atomic(path, buf, (size_t)n);
}

/* Fills info from <fn>.meta, or (missing or stale) from the wasm itself. */
static int
read_meta(const char* meta, const char* wasm, gr_fn_info* info)
{
    struct stat st;
    if (stat(wasm, &st) < 0)
        return -errno;
    uint8_t* data = NULL;
    size_t len = 0;
    if (gr_fs_read_file(meta, 256, &data, &len) == 0) {
        char buf[257];
        memcpy(buf, data, len);
        buf[len] = '\0';
        gr_free(data);
        char hash[65];
        uint64_t size, when;
        if (sscanf(buf, "%64s %" SCNu64 " %" SCNu64, hash, &size, &when) == 3 &&
            strlen(hash) == 64 && size == (uint64_t)st.st_size) {
            memcpy(info->hash, hash, sizeof info->hash);
            info->size = size;
            info->uploaded_ns = when;
            return 0;
        }
    }
    int rc = gr_fs_read_file(wasm, MAX_STORED_WASM, &data, &len);
    if (rc)
        return rc;
    rc = gr_sha256_hex(data, len, info->hash);
    gr_free(data);
    info->size = len;
    info->uploaded_ns =
      (uint64_t)st.st_mtim.tv_sec * 1000000000u + (uint64_t)st.st_mtim.tv_nsec;
    return rc;
}

static void
load_user(gr_sched* s, const char* user)
{
    char dir[PATH_MAX];
    if (fn_path(s, user, NULL, NULL, dir, sizeof dir))
        return;
    DIR* d = opendir(dir);
    if (!d)
        return;
    struct dirent* e;
    while ((e = readdir(d))) {
        size_t n = strlen(e->d_name);
        if (n <= 5 || strcmp(e->d_name + n - 5, ".wasm") != 0)
            continue;
        char name[GR_SCHED_NAME_MAX + 1];
        if (n - 5 > GR_SCHED_NAME_MAX || !gr__sched_name_ok(e->d_name, n - 5))
            continue;
        memcpy(name, e->d_name, n - 5);
        name[n - 5] = '\0';
        char wasm[PATH_MAX], meta[PATH_MAX];
        if (fn_path(s, user, name, "wasm", wasm, sizeof wasm) ||
            fn_path(s, user, name, "meta", meta, sizeof meta))
            continue;
        struct gr__fn* f = fn_new(user, name);
        if (!f)
            break;
        if (read_meta(meta, wasm, &f->info)) {
            gr__sched_fn_unref(f);
            continue;
        }
        gr__sched_fn_unref(table_put(s, f));
    }
    closedir(d);
}

int
gr__sched_store_open(gr_sched* s)
{
    s->fn_nbuckets = 1024;
    s->fn_buckets = gr_calloc(s->fn_nbuckets, sizeof *s->fn_buckets);
    if (!s->fn_buckets)
        return -ENOMEM;
    pthread_rwlock_init(&s->fn_lock, NULL);
    pthread_mutex_init(&s->upload_lock, NULL);
    char dir[PATH_MAX];
    if (snprintf(dir, sizeof dir, "%s/functions", s->data_dir) >=
        (int)sizeof dir)
        return -ENAMETOOLONG;
    int rc = gr_fs_mkdir_p(dir);
    if (rc)
        return rc;
    DIR* d = opendir(dir);
    if (!d)
        return -errno;
    struct dirent* e;
    while ((e = readdir(d)))
        if (gr__sched_name_ok(e->d_name, strlen(e->d_name)))
            load_user(s, e->d_name);
    closedir(d);
    return 0;
}

void
gr__sched_store_close(gr_sched* s)
{
    if (!s->fn_buckets)
        return;
    for (size_t b = 0; b < s->fn_nbuckets; b++) {
        struct gr__fn* f = s->fn_buckets[b];
        while (f) {
            struct gr__fn* next = f->next;
            gr__sched_fn_unref(f);
            f = next;
        }
    }
    gr_free(s->fn_buckets);
    s->fn_buckets = NULL;
    pthread_rwlock_destroy(&s->fn_lock);
    pthread_mutex_destroy(&s->upload_lock);
}

/* ---- public API ---------------------------------------------------------- */

int
gr_sched_fn_upload(gr_sched* s,
                   const char* user,
                   const char* fn,
                   const uint8_t* wasm,
                   size_t len,
                   char* err,
                   size_t errlen)
{
    if (err && errlen)
        err[0] = '\0';
    if (!gr__sched_names_ok(user, fn)) {
        if (err && errlen)
            snprintf(err, errlen, "invalid name: use [A-Za-z0-9_.-]{1,64}");
        return -EINVAL;
    }
    if (len > s->cfg.max_module) {
        if (err && errlen)
            snprintf(
              err, errlen, "module larger than %zu bytes", s->cfg.max_module);
        return -EFBIG;
    }
    gr_object* obj = NULL;
    struct gr__fn* f = NULL;
    char path[PATH_MAX];
    int locked = 0;
    /* Compile and initialise first: a module that fails leaves nothing
     * behind and the previous version in place. */
    int rc = gr_engine_load(s->cfg.engine, wasm, len, &obj, err, errlen);
    if (rc)
        goto fail;
    rc = -ENOMEM;
    if (!(f = fn_new(user, fn)))
        goto fail;
    rc = make_runtime(s, obj, &f->proto, &f->pool, err, errlen);
    if (rc)
        goto fail;
    atomic_store(&f->loaded, 1);
    atomic_store(&f->last_used, mono_ns());
    snprintf(f->info.hash, sizeof f->info.hash, "%s", gr_object_hash(obj));
    f->info.size = len;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    f->info.uploaded_ns =
      (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;

    pthread_mutex_lock(&s->upload_lock);
    locked = 1;
    if ((rc = fn_path(s, user, fn, NULL, path, sizeof path)) ||
        (rc = gr_fs_mkdir_p(path)) ||
        (rc = fn_path(s, user, fn, "wasm", path, sizeof path)) ||
        (rc = gr_fs_write_atomic(path, wasm, len)) ||
        (rc = fn_path(s, user, fn, "meta", path, sizeof path)) ||
        (rc = write_meta(path, &f->info))) {
        if (err && errlen)
            snprintf(
              err, errlen, "cannot store the module: %s", gr_strerror(rc));
        goto fail;
    }
    pthread_rwlock_wrlock(&s->fn_lock);
    struct gr__fn* old = table_put(s, f);
    pthread_rwlock_unlock(&s->fn_lock);
    pthread_mutex_unlock(&s->upload_lock);
    gr__sched_fn_unref(old);
    gr_object_unref(obj);
    shed_idle(s);
    return 0;
fail:
    if (locked)
        pthread_mutex_unlock(&s->upload_lock);
    gr__sched_fn_unref(f);
    gr_object_unref(obj);
    return rc;
}

int
gr_sched_fn_delete(gr_sched* s, const char* user, const char* fn)
{
    if (!gr__sched_names_ok(user, fn))
        return -EINVAL;
    pthread_mutex_lock(&s->upload_lock);
    pthread_rwlock_wrlock(&s->fn_lock);
    struct gr__fn* f = table_take(s, user, fn);
    pthread_rwlock_unlock(&s->fn_lock);
    int rc = -ENOENT;
    if (f) {
        char path[PATH_MAX];
        rc = fn_path(s, user, fn, "wasm", path, sizeof path);
        if (!rc && unlink(path) < 0 && errno != ENOENT)
            rc = -errno;
        if (!fn_path(s, user, fn, "meta", path, sizeof path))
            unlink(path);
    }
    pthread_mutex_unlock(&s->upload_lock);
    gr__sched_fn_unref(f);
    return rc;
}

int
gr_sched_fn_get(gr_sched* s, const char* user, const char* fn, gr_fn_info* out)
{
    if (!gr__sched_names_ok(user, fn))
        return -EINVAL;
    struct gr__fn* f = gr__sched_fn_find(s, user, fn, strlen(fn));
    if (!f)
        return -ENOENT;
    *out = f->info;
    gr__sched_fn_unref(f);
    return 0;
}

static int
cmp_info(const void* a, const void* b)
{
    return strcmp(((const gr_fn_info*)a)->name, ((const gr_fn_info*)b)->name);
}

int
gr_sched_fn_list(gr_sched* s, const char* user, gr_fn_info** out, size_t* n)
{
    *out = NULL;
    *n = 0;
    if (!user || !gr__sched_name_ok(user, strlen(user)))
        return -EINVAL;
    size_t cap = 0, cnt = 0;
    gr_fn_info* v = NULL;
    int rc = 0;
    pthread_rwlock_rdlock(&s->fn_lock);
    for (size_t b = 0; b < s->fn_nbuckets && !rc; b++) {
        for (struct gr__fn* f = s->fn_buckets[b]; f; f = f->next) {
            if (strcmp(f->info.user, user) != 0)
                continue;
            if (cnt == cap) {
                size_t nc = cap ? cap * 2 : 16;
                gr_fn_info* nv = gr_realloc(v, nc * sizeof *v);
                if (!nv) {
                    rc = -ENOMEM;
                    break;
                }
                v = nv;
                cap = nc;
            }
            v[cnt++] = f->info;
        }
    }
    pthread_rwlock_unlock(&s->fn_lock);
    if (rc) {
        gr_free(v);
        return rc;
    }
    if (cnt)
        qsort(v, cnt, sizeof *v, cmp_info);
    *out = v;
    *n = cnt;
    return 0;
}

/* ---- multi-host helpers ----------------------------------------------------
 */

int
gr_sched_fn_wasm(gr_sched* s,
                 const char* hash,
                 uint8_t** wasm,
                 size_t* len,
                 gr_fn_info* info)
{
    if (!hash || strlen(hash) != GR_SHA256_HEX_LEN)
        return -ENOENT;
    gr_fn_info found;
    int have = 0;
    pthread_rwlock_rdlock(&s->fn_lock);
    for (size_t b = 0; b < s->fn_nbuckets && !have; b++)
        for (struct gr__fn* f = s->fn_buckets[b]; f && !have; f = f->next)
            if (strcmp(f->info.hash, hash) == 0) {
                found = f->info;
                have = 1;
            }
    pthread_rwlock_unlock(&s->fn_lock);
    if (!have)
        return -ENOENT;
    char path[PATH_MAX], got[GR_SHA256_HEX_LEN + 1];
    int rc = fn_path(s, found.user, found.name, "wasm", path, sizeof path);
    if (!rc)
        rc = gr_fs_read_file(path, MAX_STORED_WASM, wasm, len);
    if (rc)
        return rc == -ENOENT ? -ENOENT : rc;
    /* The file may have been replaced by a newer upload since. */
    if ((rc = gr_sha256_hex(*wasm, *len, got)) || strcmp(got, hash) != 0) {
        gr_free(*wasm);
        *wasm = NULL;
        return rc ? rc : -ENOENT;
    }
    if (info)
        *info = found;
    return 0;
}

struct warm_acc
{
    gr_warm_fn* v;
    size_t n, cap;
    int rc;
};

static void
warm_one(struct gr__fn* f, void* ud)
{
    struct warm_acc* a = ud;
    gr_pool_stats ps;
    gr_pool_get_stats(f->pool, &ps);
    if (a->rc || (!ps.idle && !ps.busy))
        return;
    if (a->n == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 16;
        gr_warm_fn* v = gr_realloc(a->v, cap * sizeof *v);
        if (!v) {
            a->rc = -ENOMEM;
            return;
        }
        a->v = v;
        a->cap = cap;
    }
    gr_warm_fn* w = &a->v[a->n++];
    memcpy(w->user, f->info.user, sizeof w->user);
    memcpy(w->fn, f->info.name, sizeof w->fn);
    memcpy(w->hash, f->info.hash, sizeof w->hash);
    w->idle = (uint32_t)ps.idle;
    w->busy = (uint32_t)ps.busy;
}

int
gr_sched_warm_list(gr_sched* s, gr_warm_fn** out, size_t* n)
{
    struct warm_acc a = { 0 };
    gr__sched_fn_each(s, warm_one, &a);
    if (a.rc) {
        gr_free(a.v);
        return a.rc;
    }
    *out = a.v;
    *n = a.n;
    return 0;
}
