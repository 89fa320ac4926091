/* SPDX-License-Identifier: Apache-2.0 */
/* The embedded global tier: values in SQLite (<dir>/state.db, WAL mode;
 * in memory when no directory is given) and an in-memory lock table with
 * expiry, behind the same interface as Redis. Serves a single host (the
 * default of `granary serve`, where no Redis is configured). */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "state/state_int.h"
#include "util/alloc.h"
#include "util/log.h"

/* Growing a value copies it to a new blob in pieces of this size. */
#define COPY_CHUNK (1u << 20)

struct glock
{
    char token[33];
    uint64_t expires_ns;
};

/* Each row is one value: len bytes of data at the start of blob v, whose
 * size is the row's capacity (>= len; the bytes past len are zero). A
 * value that grows by ranges or appends gets capacity to spare, so a log
 * appended to is not copied on every append. A whole-value set stores
 * exactly len bytes. name is NULL only inside a transaction that grows a
 * value (the new copy, renamed before commit). */
static const char schema[] = "PRAGMA journal_mode=WAL;"
                             "PRAGMA synchronous=NORMAL;"
                             "PRAGMA journal_size_limit=67108864;"
                             "CREATE TABLE IF NOT EXISTS kv("
                             " id INTEGER PRIMARY KEY,"
                             " name BLOB UNIQUE,"
                             " len INTEGER NOT NULL,"
                             " v BLOB NOT NULL);";

enum
{
    S_FIND,
    S_UPSERT,
    S_SETLEN,
    S_NEW,
    S_DEL_ID,
    S_RENAME,
    S_DEL_NAME,
    S_BEGIN,
    S_COMMIT,
    S_ROLLBACK,
    S_COUNT
};

static const char* const sql[S_COUNT] = {
    [S_FIND] = "SELECT id, len FROM kv WHERE name = ?1",
    [S_UPSERT] = "INSERT INTO kv(name, len, v) VALUES(?1, ?2, ?3) "
                 "ON CONFLICT(name) DO UPDATE SET len = excluded.len, "
                 "v = excluded.v",
    [S_SETLEN] = "UPDATE kv SET len = ?1 WHERE id = ?2",
    [S_NEW] = "INSERT INTO kv(name, len, v) VALUES(NULL, ?1, zeroblob(?2))",
    [S_DEL_ID] = "DELETE FROM kv WHERE id = ?1",
    [S_RENAME] = "UPDATE kv SET name = ?1 WHERE id = ?2",
    [S_DEL_NAME] = "DELETE FROM kv WHERE name = ?1",
    [S_BEGIN] = "BEGIN IMMEDIATE",
    [S_COMMIT] = "COMMIT",
    [S_ROLLBACK] = "ROLLBACK",
};

struct embedded
{
    gr_global base;
    pthread_mutex_t mu; /* guards db and its statements */
    sqlite3* db;
    sqlite3_stmt* st[S_COUNT];
    int64_t max_len;         /* SQLite's largest blob */
    pthread_mutex_t lock_mu; /* guards locks */
    gr__state_map locks;
};

static uint64_t
now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Maps an SQLite result to a negative errno, logging unexpected ones. */
static int
db_errno(struct embedded* e, int src, const char* what)
{
    switch (src & 0xff) {
        case SQLITE_OK:
        case SQLITE_DONE:
        case SQLITE_ROW:
            return 0;
        case SQLITE_NOMEM:
            return -ENOMEM;
        case SQLITE_TOOBIG:
            return -EFBIG;
        case SQLITE_FULL:
            GR_WARN("state: %s: disk full", what);
            return -ENOSPC;
        default:
            GR_WARN("state: %s: %s", what, sqlite3_errmsg(e->db));
            return -EIO;
    }
}

/* Runs a statement with no result rows and resets it. */
static int
step_done(struct embedded* e, int which)
{
    sqlite3_stmt* s = e->st[which];
    int src = sqlite3_step(s);
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return src == SQLITE_DONE ? 0 : db_errno(e, src, sql[which]);
}

/* Under e->mu: the row and length of name; -ENOENT if missing. */
static int
find(struct embedded* e,
     const char* name,
     size_t nlen,
     sqlite3_int64* id,
     size_t* len)
{
    sqlite3_stmt* s = e->st[S_FIND];
    sqlite3_bind_blob64(s, 1, name, nlen, SQLITE_STATIC);
    int src = sqlite3_step(s);
    int rc = 0;
    if (src == SQLITE_ROW) {
        *id = sqlite3_column_int64(s, 0);
        *len = (size_t)sqlite3_column_int64(s, 1);
    } else if (src == SQLITE_DONE) {
        rc = -ENOENT;
    } else {
        rc = db_errno(e, src, "lookup");
    }
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return rc;
}

static int
e_size(gr_global* g, const char* name, size_t nlen, size_t* len)
{
    struct embedded* e = (struct embedded*)g;
    sqlite3_int64 id;
    pthread_mutex_lock(&e->mu);
    int rc = find(e, name, nlen, &id, len);
    pthread_mutex_unlock(&e->mu);
    return rc;
}

static int
e_get(gr_global* g,
      const char* name,
      size_t nlen,
      size_t off,
      size_t len,
      void* dst,
      size_t cap,
      size_t* got,
      size_t* total)
{
    struct embedded* e = (struct embedded*)g;
    sqlite3_int64 id;
    size_t vlen;
    sqlite3_blob* b = NULL;
    pthread_mutex_lock(&e->mu);
    int rc = find(e, name, nlen, &id, &vlen);
    if (rc)
        goto out;
    *total = vlen;
    size_t n = off >= vlen ? 0 : vlen - off;
    if (n > len)
        n = len;
    if (n > cap) {
        rc = -ENOBUFS;
        goto out;
    }
    if (n) {
        /* Incremental I/O: only the range is read from the file. */
        int src = sqlite3_blob_open(e->db, "main", "kv", "v", id, 0, &b);
        if (src == SQLITE_OK)
            src = sqlite3_blob_read(b, dst, (int)n, (int)off);
        if ((rc = db_errno(e, src, "read")))
            goto out;
    }
    *got = n;
out:
    sqlite3_blob_close(b);
    pthread_mutex_unlock(&e->mu);
    return rc;
}

static int
e_set(gr_global* g, const char* name, size_t nlen, const void* data, size_t len)
{
    struct embedded* e = (struct embedded*)g;
    if ((uint64_t)len > (uint64_t)e->max_len)
        return -EFBIG;
    sqlite3_stmt* s = e->st[S_UPSERT];
    pthread_mutex_lock(&e->mu);
    /* One statement in autocommit: readers see the old or the new value,
     * and once it returns the value is in the write-ahead log. */
    sqlite3_bind_blob64(s, 1, name, nlen, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, (sqlite3_int64)len);
    if (len)
        sqlite3_bind_blob64(s, 3, data, len, SQLITE_STATIC);
    else
        sqlite3_bind_zeroblob(s, 3, 0);
    int rc = step_done(e, S_UPSERT);
    pthread_mutex_unlock(&e->mu);
    return rc;
}

/* Under e->mu, inside a transaction: replaces row *id (len bytes used) by
 * a copy with capacity cap, copied COPY_CHUNK at a time so memory stays
 * bounded whatever the value's size. */
static int
grow(struct embedded* e,
     const char* name,
     size_t nlen,
     sqlite3_int64* id,
     size_t len,
     size_t cap)
{
    sqlite3_stmt* s = e->st[S_NEW];
    sqlite3_bind_int64(s, 1, (sqlite3_int64)len);
    sqlite3_bind_int64(s, 2, (sqlite3_int64)cap);
    int rc = step_done(e, S_NEW);
    if (rc)
        return rc;
    sqlite3_int64 nid = sqlite3_last_insert_rowid(e->db);
    sqlite3_blob *from = NULL, *to = NULL;
    uint8_t* buf = NULL;
    if (len) {
        buf = gr_malloc(len < COPY_CHUNK ? len : COPY_CHUNK);
        if (!buf)
            return -ENOMEM;
        int src = sqlite3_blob_open(e->db, "main", "kv", "v", *id, 0, &from);
        if (src == SQLITE_OK)
            src = sqlite3_blob_open(e->db, "main", "kv", "v", nid, 1, &to);
        for (size_t o = 0; src == SQLITE_OK && o < len; o += COPY_CHUNK) {
            int n = (int)(len - o < COPY_CHUNK ? len - o : COPY_CHUNK);
            src = sqlite3_blob_read(from, buf, n, (int)o);
            if (src == SQLITE_OK)
                src = sqlite3_blob_write(to, buf, n, (int)o);
        }
        rc = db_errno(e, src, "grow");
        sqlite3_blob_close(from);
        sqlite3_blob_close(to);
        gr_free(buf);
        if (rc)
            return rc;
    }
    sqlite3_bind_int64(e->st[S_DEL_ID], 1, *id);
    if ((rc = step_done(e, S_DEL_ID)))
        return rc;
    sqlite3_bind_blob64(e->st[S_RENAME], 1, name, nlen, SQLITE_STATIC);
    sqlite3_bind_int64(e->st[S_RENAME], 2, nid);
    if ((rc = step_done(e, S_RENAME)))
        return rc;
    *id = nid;
    return 0;
}

/* Writes data at off (append: at the value's end), creating or growing
 * the value (zero padded) in one transaction. *total = the new length. */
static int
write_at(struct embedded* e,
         const char* name,
         size_t nlen,
         size_t off,
         int append,
         const void* data,
         size_t len,
         size_t* total)
{
    pthread_mutex_lock(&e->mu);
    int rc = step_done(e, S_BEGIN);
    if (rc)
        goto out;
    sqlite3_int64 id = 0;
    size_t vlen = 0, cap = 0;
    int exists = 1;
    rc = find(e, name, nlen, &id, &vlen);
    if (rc == -ENOENT) {
        exists = 0;
        rc = 0;
    }
    if (rc)
        goto fail;
    if (append)
        off = vlen;
    size_t need = off + len;
    if (need < off || (uint64_t)need > (uint64_t)e->max_len) {
        rc = -EFBIG;
        goto fail;
    }
    if (!exists) {
        sqlite3_stmt* s = e->st[S_UPSERT];
        sqlite3_bind_blob64(s, 1, name, nlen, SQLITE_STATIC);
        sqlite3_bind_int64(s, 2, (sqlite3_int64)need);
        sqlite3_bind_zeroblob64(s, 3, need);
        if ((rc = step_done(e, S_UPSERT)))
            goto fail;
        id = sqlite3_last_insert_rowid(e->db);
        cap = need;
    } else if (need > vlen) {
        sqlite3_blob* b = NULL;
        int src = sqlite3_blob_open(e->db, "main", "kv", "v", id, 0, &b);
        if (src == SQLITE_OK)
            cap = (size_t)sqlite3_blob_bytes(b);
        sqlite3_blob_close(b);
        if ((rc = db_errno(e, src, "open")))
            goto fail;
        if (need > cap) {
            /* Half again as much, so n appends copy O(n) bytes in all. */
            uint64_t ncap = (uint64_t)vlen + vlen / 2;
            if (ncap < need)
                ncap = need;
            if (ncap > (uint64_t)e->max_len)
                ncap = (uint64_t)e->max_len;
            if ((rc = grow(e, name, nlen, &id, vlen, (size_t)ncap)))
                goto fail;
        }
    }
    if (len) {
        sqlite3_blob* b = NULL;
        int src = sqlite3_blob_open(e->db, "main", "kv", "v", id, 1, &b);
        if (src == SQLITE_OK)
            src = sqlite3_blob_write(b, data, (int)len, (int)off);
        sqlite3_blob_close(b);
        if ((rc = db_errno(e, src, "write")))
            goto fail;
    }
    if (exists && need > vlen) {
        sqlite3_bind_int64(e->st[S_SETLEN], 1, (sqlite3_int64)need);
        sqlite3_bind_int64(e->st[S_SETLEN], 2, id);
        if ((rc = step_done(e, S_SETLEN)))
            goto fail;
    }
    if ((rc = step_done(e, S_COMMIT)))
        goto fail;
    if (total)
        *total = need > vlen ? need : vlen;
    goto out;
fail:
    step_done(e, S_ROLLBACK);
out:
    pthread_mutex_unlock(&e->mu);
    return rc;
}

static int
e_set_range(gr_global* g,
            const char* name,
            size_t nlen,
            size_t off,
            const void* data,
            size_t len)
{
    return write_at((struct embedded*)g, name, nlen, off, 0, data, len, NULL);
}

static int
e_append(gr_global* g,
         const char* name,
         size_t nlen,
         const void* data,
         size_t len,
         size_t* total)
{
    return write_at((struct embedded*)g, name, nlen, 0, 1, data, len, total);
}

static int
e_del(gr_global* g, const char* name, size_t nlen)
{
    struct embedded* e = (struct embedded*)g;
    pthread_mutex_lock(&e->mu);
    sqlite3_bind_blob64(e->st[S_DEL_NAME], 1, name, nlen, SQLITE_STATIC);
    int rc = step_done(e, S_DEL_NAME);
    if (!rc && sqlite3_changes(e->db) == 0)
        rc = -ENOENT;
    pthread_mutex_unlock(&e->mu);
    return rc;
}

/* Locks live in memory only: a restart releases every lock, as the
 * expiry of a dead holder would. */
static int
e_lock(gr_global* g,
       const char* name,
       size_t nlen,
       const char* token,
       uint32_t ttl_ms)
{
    struct embedded* e = (struct embedded*)g;
    uint64_t now = now_ns();
    int rc = 0;
    pthread_mutex_lock(&e->lock_mu);
    struct glock* l = gr__state_map_get(&e->locks, name, nlen);
    if (l && l->expires_ns > now) {
        rc = -EBUSY;
        goto out;
    }
    if (!l) {
        l = gr_calloc(1, sizeof *l);
        if (!l || gr__state_map_put(&e->locks, name, nlen, l) < 0) {
            gr_free(l);
            rc = -ENOMEM;
            goto out;
        }
    }
    snprintf(l->token, sizeof l->token, "%s", token);
    l->expires_ns = now + (uint64_t)ttl_ms * 1000000u;
out:
    pthread_mutex_unlock(&e->lock_mu);
    return rc;
}

static int
e_unlock(gr_global* g, const char* name, size_t nlen, const char* token)
{
    struct embedded* e = (struct embedded*)g;
    int rc = -EPERM;
    pthread_mutex_lock(&e->lock_mu);
    struct glock* l = gr__state_map_get(&e->locks, name, nlen);
    if (l && l->expires_ns > now_ns() && strcmp(l->token, token) == 0) {
        gr_free(gr__state_map_take(&e->locks, name, nlen));
        rc = 0;
    }
    pthread_mutex_unlock(&e->lock_mu);
    return rc;
}

static void
e_destroy(gr_global* g)
{
    struct embedded* e = (struct embedded*)g;
    if (!e)
        return;
    for (int i = 0; i < S_COUNT; i++)
        sqlite3_finalize(e->st[i]);
    /* The last connection to close checkpoints and removes the WAL. */
    sqlite3_close(e->db);
    gr__state_map_fini(&e->locks, gr_free);
    pthread_mutex_destroy(&e->mu);
    pthread_mutex_destroy(&e->lock_mu);
    gr_free(e);
}

static const struct gr_global_ops embedded_ops = {
    .kind = "embedded",
    .size = e_size,
    .get = e_get,
    .set = e_set,
    .set_range = e_set_range,
    .append = e_append,
    .del = e_del,
    .lock = e_lock,
    .unlock = e_unlock,
    .destroy = e_destroy,
};

int
gr__state_global_embedded(const char* path,
                          gr_global** out,
                          char* err,
                          size_t errlen)
{
    struct embedded* e = gr_calloc(1, sizeof *e);
    if (!e)
        return -ENOMEM;
    e->base.ops = &embedded_ops;
    pthread_mutex_init(&e->mu, NULL);
    pthread_mutex_init(&e->lock_mu, NULL);
    int rc = -EIO;
    /* Our mutex serialises use of the connection. */
    int flags =
      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    const char* what = path ? path : ":memory:";
    if (sqlite3_open_v2(what, &e->db, flags, NULL) != SQLITE_OK)
        goto fail;
    sqlite3_busy_timeout(e->db, 10000);
    char* msg = NULL;
    if (sqlite3_exec(e->db, schema, NULL, NULL, &msg) != SQLITE_OK) {
        snprintf(err, errlen, "cannot open %s: %s", what, msg ? msg : "?");
        sqlite3_free(msg);
        e_destroy(&e->base);
        return -EIO;
    }
    for (int i = 0; i < S_COUNT; i++)
        if (sqlite3_prepare_v3(
              e->db, sql[i], -1, SQLITE_PREPARE_PERSISTENT, &e->st[i], NULL) !=
            SQLITE_OK)
            goto fail;
    e->max_len = sqlite3_limit(e->db, SQLITE_LIMIT_LENGTH, -1);
    if (e->max_len > INT_MAX)
        e->max_len = INT_MAX; /* blob offsets are ints */
    *out = &e->base;
    return 0;
fail:
    snprintf(err,
             errlen,
             "cannot open %s: %s",
             what,
             e->db ? sqlite3_errmsg(e->db) : "out of memory");
    e_destroy(&e->base);
    return rc;
}
