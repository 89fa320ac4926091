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

/* A value is a row of kv (its name and length) pointing at a row of data
 * whose blob holds the bytes: len bytes used at the start of a blob whose
 * size is the capacity (>= len; the bytes past len are zero). Keeping the
 * length out of the blob's row matters: SQLite rewrites a whole row on
 * UPDATE, so a length next to the blob would copy the blob on every
 * append. A value that grows by ranges or appends gets capacity to spare;
 * a whole-value set stores exactly len bytes. */
static const char schema[] = "PRAGMA journal_mode=WAL;"
                             "PRAGMA synchronous=NORMAL;"
                             "PRAGMA journal_size_limit=67108864;"
                             "CREATE TABLE IF NOT EXISTS kv("
                             " id INTEGER PRIMARY KEY,"
                             " name BLOB UNIQUE NOT NULL,"
                             " len INTEGER NOT NULL,"
                             " did INTEGER NOT NULL);"
                             "CREATE TABLE IF NOT EXISTS data("
                             " id INTEGER PRIMARY KEY,"
                             " v BLOB NOT NULL);";

enum
{
    S_FIND,
    S_KV_NEW,
    S_KV_SET,
    S_KV_DEL,
    S_DATA_NEW,
    S_DATA_DEL,
    S_DATA_SET,
    S_BEGIN,
    S_COMMIT,
    S_ROLLBACK,
    S_COUNT
};

static const char* const sql[S_COUNT] = {
    [S_FIND] = "SELECT id, len, did FROM kv WHERE name = ?1",
    [S_KV_NEW] = "INSERT INTO kv(name, len, did) VALUES(?1, ?2, ?3)",
    [S_KV_SET] = "UPDATE kv SET len = ?1, did = ?2 WHERE id = ?3",
    [S_KV_DEL] = "DELETE FROM kv WHERE id = ?1",
    [S_DATA_NEW] = "INSERT INTO data(v) VALUES(?1)",
    [S_DATA_DEL] = "DELETE FROM data WHERE id = ?1",
    [S_DATA_SET] = "UPDATE data SET v = ?1 WHERE id = ?2",
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

/* A value's rows: kv row, its length, its data row. */
struct row
{
    sqlite3_int64 id, did;
    size_t len;
};

/* Under e->mu: the rows of name; -ENOENT if missing. */
static int
find(struct embedded* e, const char* name, size_t nlen, struct row* r)
{
    sqlite3_stmt* s = e->st[S_FIND];
    sqlite3_bind_blob64(s, 1, name, nlen, SQLITE_STATIC);
    int src = sqlite3_step(s);
    int rc = 0;
    if (src == SQLITE_ROW) {
        r->id = sqlite3_column_int64(s, 0);
        r->len = (size_t)sqlite3_column_int64(s, 1);
        r->did = sqlite3_column_int64(s, 2);
    } else if (src == SQLITE_DONE) {
        rc = -ENOENT;
    } else {
        rc = db_errno(e, src, "lookup");
    }
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return rc;
}

/* Under e->mu, in a transaction: a new data row of cap zero bytes, or of
 * the bytes data[0..cap) when data is not NULL. */
static int
data_new(struct embedded* e, const void* data, size_t cap, sqlite3_int64* did)
{
    sqlite3_stmt* s = e->st[S_DATA_NEW];
    if (data && cap)
        sqlite3_bind_blob64(s, 1, data, cap, SQLITE_STATIC);
    else
        sqlite3_bind_zeroblob64(s, 1, cap);
    int rc = step_done(e, S_DATA_NEW);
    if (!rc)
        *did = sqlite3_last_insert_rowid(e->db);
    return rc;
}

static int
data_del(struct embedded* e, sqlite3_int64 did)
{
    sqlite3_bind_int64(e->st[S_DATA_DEL], 1, did);
    return step_done(e, S_DATA_DEL);
}

/* Under e->mu, in a transaction: points name's kv row (r->id; 0 = make
 * one) at r->did with length r->len. */
static int
kv_put(struct embedded* e, const char* name, size_t nlen, const struct row* r)
{
    if (!r->id) {
        sqlite3_stmt* s = e->st[S_KV_NEW];
        sqlite3_bind_blob64(s, 1, name, nlen, SQLITE_STATIC);
        sqlite3_bind_int64(s, 2, (sqlite3_int64)r->len);
        sqlite3_bind_int64(s, 3, r->did);
        return step_done(e, S_KV_NEW);
    }
    sqlite3_stmt* s = e->st[S_KV_SET];
    sqlite3_bind_int64(s, 1, (sqlite3_int64)r->len);
    sqlite3_bind_int64(s, 2, r->did);
    sqlite3_bind_int64(s, 3, r->id);
    return step_done(e, S_KV_SET);
}

static int
e_size(gr_global* g, const char* name, size_t nlen, size_t* len)
{
    struct embedded* e = (struct embedded*)g;
    struct row r;
    pthread_mutex_lock(&e->mu);
    int rc = find(e, name, nlen, &r);
    pthread_mutex_unlock(&e->mu);
    if (!rc)
        *len = r.len;
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
    struct row r;
    sqlite3_blob* b = NULL;
    pthread_mutex_lock(&e->mu);
    int rc = find(e, name, nlen, &r);
    if (rc)
        goto out;
    *total = r.len;
    size_t n = off >= r.len ? 0 : r.len - off;
    if (n > len)
        n = len;
    if (n > cap) {
        rc = -ENOBUFS;
        goto out;
    }
    if (n) {
        /* Incremental I/O: only the range is read from the file. */
        int src = sqlite3_blob_open(e->db, "main", "data", "v", r.did, 0, &b);
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

/* Under e->mu: starts a write transaction and finds name (r->id 0 if it
 * does not exist). */
static int
begin(struct embedded* e, const char* name, size_t nlen, struct row* r)
{
    int rc = step_done(e, S_BEGIN);
    if (rc)
        return rc;
    *r = (struct row){ 0 };
    rc = find(e, name, nlen, r);
    if (rc == -ENOENT)
        return 0;
    if (rc)
        step_done(e, S_ROLLBACK);
    return rc;
}

/* Under e->mu: commits, or rolls back after an error. */
static int
end(struct embedded* e, int rc)
{
    if (!rc)
        rc = step_done(e, S_COMMIT);
    if (rc)
        step_done(e, S_ROLLBACK);
    return rc;
}

static int
e_set(gr_global* g, const char* name, size_t nlen, const void* data, size_t len)
{
    struct embedded* e = (struct embedded*)g;
    if ((uint64_t)len > (uint64_t)e->max_len)
        return -EFBIG;
    struct row r;
    pthread_mutex_lock(&e->mu);
    /* One transaction: readers see the old or the new value, and once it
     * returns the value is in the write-ahead log. */
    int rc = begin(e, name, nlen, &r);
    if (rc)
        goto out;
    if (r.id) {
        sqlite3_stmt* s = e->st[S_DATA_SET];
        if (len)
            sqlite3_bind_blob64(s, 1, data, len, SQLITE_STATIC);
        else
            sqlite3_bind_zeroblob(s, 1, 0);
        sqlite3_bind_int64(s, 2, r.did);
        rc = step_done(e, S_DATA_SET);
    } else {
        rc = data_new(e, data, len, &r.did);
    }
    if (!rc && (!r.id || r.len != len)) {
        r.len = len;
        rc = kv_put(e, name, nlen, &r);
    }
    rc = end(e, rc);
out:
    pthread_mutex_unlock(&e->mu);
    return rc;
}

/* Under e->mu, in a transaction: moves r's len bytes to a new data row of
 * capacity cap, COPY_CHUNK at a time so memory stays bounded whatever the
 * value's size. */
static int
grow(struct embedded* e, struct row* r, size_t cap)
{
    sqlite3_int64 nid;
    int rc = data_new(e, NULL, cap, &nid);
    if (rc)
        return rc;
    if (r->len) {
        uint8_t* buf = gr_malloc(r->len < COPY_CHUNK ? r->len : COPY_CHUNK);
        if (!buf)
            return -ENOMEM;
        sqlite3_blob *from = NULL, *to = NULL;
        int src =
          sqlite3_blob_open(e->db, "main", "data", "v", r->did, 0, &from);
        if (src == SQLITE_OK)
            src = sqlite3_blob_open(e->db, "main", "data", "v", nid, 1, &to);
        for (size_t o = 0; src == SQLITE_OK && o < r->len; o += COPY_CHUNK) {
            int n = (int)(r->len - o < COPY_CHUNK ? r->len - o : COPY_CHUNK);
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
    if ((rc = data_del(e, r->did)))
        return rc;
    r->did = nid;
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
    struct row r;
    pthread_mutex_lock(&e->mu);
    int rc = begin(e, name, nlen, &r);
    if (rc)
        goto out;
    if (append)
        off = r.len;
    size_t need = off + len;
    if (need < off || (uint64_t)need > (uint64_t)e->max_len) {
        rc = end(e, -EFBIG);
        goto out;
    }
    size_t old_len = r.len;
    if (!r.id) {
        rc = data_new(e, NULL, need, &r.did);
    } else if (need > r.len) {
        sqlite3_blob* b = NULL;
        size_t cap = 0;
        int src = sqlite3_blob_open(e->db, "main", "data", "v", r.did, 0, &b);
        if (src == SQLITE_OK)
            cap = (size_t)sqlite3_blob_bytes(b);
        sqlite3_blob_close(b);
        rc = db_errno(e, src, "open");
        if (!rc && need > cap) {
            /* Half again as much, so n appends copy O(n) bytes in all. */
            uint64_t ncap = (uint64_t)r.len + r.len / 2;
            if (ncap < need)
                ncap = need;
            if (ncap > (uint64_t)e->max_len)
                ncap = (uint64_t)e->max_len;
            rc = grow(e, &r, (size_t)ncap);
        }
    }
    if (!rc && len) {
        sqlite3_blob* b = NULL;
        int src = sqlite3_blob_open(e->db, "main", "data", "v", r.did, 1, &b);
        if (src == SQLITE_OK)
            src = sqlite3_blob_write(b, data, (int)len, (int)off);
        sqlite3_blob_close(b);
        rc = db_errno(e, src, "write");
    }
    if (!rc && (!r.id || need > old_len)) {
        r.len = need > old_len ? need : old_len;
        rc = kv_put(e, name, nlen, &r);
    }
    rc = end(e, rc);
    if (!rc && total)
        *total = need > old_len ? need : old_len;
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
    struct row r;
    pthread_mutex_lock(&e->mu);
    int rc = begin(e, name, nlen, &r);
    if (rc)
        goto out;
    if (!r.id) {
        rc = end(e, -ENOENT);
        goto out;
    }
    rc = data_del(e, r.did);
    if (!rc) {
        sqlite3_bind_int64(e->st[S_KV_DEL], 1, r.id);
        rc = step_done(e, S_KV_DEL);
    }
    rc = end(e, rc);
out:
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
