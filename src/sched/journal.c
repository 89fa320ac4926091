/* SPDX-License-Identifier: Apache-2.0 */
/* The call-record journal (journal.h): one SQLite connection owned by a
 * writer thread that commits whatever was handed over since its last
 * commit in one transaction, and a second connection for lookups. */
#include "sched/journal.h"

#include <errno.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <granary/status.h>

#include "sched/sched_int.h"
#include "util/alloc.h"
#include "util/log.h"

/* Finished records waiting for the writer beyond this many bytes make
 * finishing calls wait (the writer is far behind the disk). */
#define PENDING_MAX (64u << 20)

/* One row to write: an accepted call (INSERT OR IGNORE: never overwrites
 * its outcome) or a finished one (replaces the row). */
struct entry
{
    struct entry* next;
    int accept;
    uint64_t id, parent;
    char user[GR_SCHED_NAME_MAX + 1];
    char fn[GR_SCHED_NAME_MAX + 1];
    char host[64];
    int state, status, return_code, cold, truncated;
    char trap[64];
    uint64_t queued_ns, started_ns, finished_ns;
    uint8_t* output;
    size_t output_len;
    char *out, *err;
    size_t bytes; /* what this record costs against max_bytes */
    /* Acceptances: the waiter owns the entry and reads the outcome. */
    int written, result;
};

static const char schema[] =
  "PRAGMA journal_mode=WAL;"
  "PRAGMA synchronous=NORMAL;"
  "PRAGMA journal_size_limit=67108864;"
  "CREATE TABLE IF NOT EXISTS calls("
  " id INTEGER PRIMARY KEY," /* the call id (its 64 bits as signed) */
  " seq INTEGER NOT NULL,"   /* order of writing: oldest dropped first */
  " parent INTEGER NOT NULL, user TEXT NOT NULL, fn TEXT NOT NULL,"
  " host TEXT NOT NULL, state INTEGER NOT NULL, status INTEGER NOT NULL,"
  " return_code INTEGER NOT NULL, trap TEXT NOT NULL, cold INTEGER NOT NULL,"
  " queued_ns INTEGER NOT NULL, started_ns INTEGER NOT NULL,"
  " finished_ns INTEGER NOT NULL,"
  " output BLOB, out BLOB, err BLOB,"
  " truncated INTEGER NOT NULL DEFAULT 0,"
  " bytes INTEGER NOT NULL);"
  "CREATE INDEX IF NOT EXISTS calls_seq ON calls(seq);";

static const char put_sql[] =
  "INSERT INTO calls(id, seq, parent, user, fn, host, state, status,"
  " return_code, trap, cold, queued_ns, started_ns, finished_ns, output,"
  " out, err, bytes, truncated) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9,"
  " ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19)"
  " ON CONFLICT(id) DO UPDATE SET seq = excluded.seq,"
  " parent = excluded.parent, user = excluded.user, fn = excluded.fn,"
  " host = excluded.host, state = excluded.state, status = excluded.status,"
  " return_code = excluded.return_code, trap = excluded.trap,"
  " cold = excluded.cold, queued_ns = excluded.queued_ns,"
  " started_ns = excluded.started_ns, finished_ns = excluded.finished_ns,"
  " output = excluded.output, out = excluded.out, err = excluded.err,"
  " bytes = excluded.bytes, truncated = excluded.truncated";

static const char get_sql[] =
  "SELECT parent, user, fn, host, state, status, return_code, trap, cold,"
  " queued_ns, started_ns, finished_ns, output, out, err, truncated"
  " FROM calls"
  " WHERE id = ?1";

struct gr__sched_journal
{
    sqlite3* wdb; /* the writer thread's */
    sqlite3* rdb; /* lookups (rmu) */
    sqlite3_stmt *put, *old_bytes, *oldest, *drop, *get;
    pthread_mutex_t rmu;
    size_t max_records, max_bytes;
    size_t n, bytes; /* rows and their bytes (writer only) */
    int64_t seq;     /* writer only */

    pthread_mutex_t mu; /* everything below */
    pthread_cond_t work, committed, room;
    struct entry *head, *tail;
    size_t pending_bytes;
    uint64_t handed, done; /* entries handed over / written (ok or not) */
    int stop;
    pthread_t writer;
    int writer_started;
};

static void
entry_free(struct entry* e)
{
    if (!e)
        return;
    gr_free(e->output);
    gr_free(e->out);
    gr_free(e->err);
    gr_free(e);
}

static int
db_errno(sqlite3* db, int src, const char* what)
{
    switch (src & 0xff) {
        case SQLITE_OK:
        case SQLITE_DONE:
        case SQLITE_ROW:
            return 0;
        case SQLITE_NOMEM:
            return -ENOMEM;
        case SQLITE_FULL:
            GR_WARN("sched: call journal: %s: disk full", what);
            return -ENOSPC;
        default:
            GR_WARN("sched: call journal: %s: %s", what, sqlite3_errmsg(db));
            return -EIO;
    }
}

static int
exec(sqlite3* db, const char* q)
{
    char* msg = NULL;
    int src = sqlite3_exec(db, q, NULL, NULL, &msg);
    if (src != SQLITE_OK) {
        GR_WARN("sched: call journal: %s: %s", q, msg ? msg : "?");
        sqlite3_free(msg);
        return src == SQLITE_FULL ? -ENOSPC : -EIO;
    }
    return 0;
}

static void
bind_text(sqlite3_stmt* s, int i, const char* t)
{
    sqlite3_bind_text(s, i, t ? t : "", -1, SQLITE_STATIC);
}

static void
bind_bytes(sqlite3_stmt* s, int i, const void* p, size_t n)
{
    if (n)
        sqlite3_bind_blob64(s, i, p, n, SQLITE_STATIC);
    else
        sqlite3_bind_zeroblob(s, i, 0);
}

/* Writer: one row. Keeps n and bytes in step with the table. */
static int
put_one(gr__sched_journal* j, const struct entry* e)
{
    size_t old = 0;
    int exists = 0;
    sqlite3_bind_int64(j->old_bytes, 1, (sqlite3_int64)e->id);
    if (sqlite3_step(j->old_bytes) == SQLITE_ROW) {
        exists = 1;
        old = (size_t)sqlite3_column_int64(j->old_bytes, 0);
    }
    sqlite3_reset(j->old_bytes);
    if (exists && e->accept)
        return 0; /* the outcome (or an earlier acceptance) is there */
    sqlite3_stmt* s = j->put;
    sqlite3_bind_int64(s, 1, (sqlite3_int64)e->id);
    sqlite3_bind_int64(s, 2, ++j->seq);
    sqlite3_bind_int64(s, 3, (sqlite3_int64)e->parent);
    bind_text(s, 4, e->user);
    bind_text(s, 5, e->fn);
    bind_text(s, 6, e->host);
    sqlite3_bind_int(s, 7, e->state);
    sqlite3_bind_int(s, 8, e->status);
    sqlite3_bind_int(s, 9, e->return_code);
    bind_text(s, 10, e->trap);
    sqlite3_bind_int(s, 11, e->cold);
    sqlite3_bind_int64(s, 12, (sqlite3_int64)e->queued_ns);
    sqlite3_bind_int64(s, 13, (sqlite3_int64)e->started_ns);
    sqlite3_bind_int64(s, 14, (sqlite3_int64)e->finished_ns);
    bind_bytes(s, 15, e->output, e->output_len);
    bind_bytes(s, 16, e->out, e->out ? strlen(e->out) : 0);
    bind_bytes(s, 17, e->err, e->err ? strlen(e->err) : 0);
    sqlite3_bind_int64(s, 18, (sqlite3_int64)e->bytes);
    sqlite3_bind_int(s, 19, e->truncated);
    int src = sqlite3_step(s);
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    int rc = db_errno(j->wdb, src, "write");
    if (rc)
        return rc;
    if (exists)
        j->bytes -= old < j->bytes ? old : j->bytes;
    else
        j->n++;
    j->bytes += e->bytes;
    return 0;
}

/* Writer: drops the oldest rows until the bounds hold. */
static int
trim(gr__sched_journal* j)
{
    if (j->n <= j->max_records && j->bytes <= j->max_bytes)
        return 0;
    sqlite3_int64 upto = -1;
    while (j->n > j->max_records || j->bytes > j->max_bytes) {
        if (sqlite3_step(j->oldest) != SQLITE_ROW)
            break;
        upto = sqlite3_column_int64(j->oldest, 0);
        size_t b = (size_t)sqlite3_column_int64(j->oldest, 1);
        j->bytes -= b < j->bytes ? b : j->bytes;
        j->n--;
    }
    sqlite3_reset(j->oldest);
    if (upto < 0)
        return 0;
    sqlite3_bind_int64(j->drop, 1, upto);
    int src = sqlite3_step(j->drop);
    sqlite3_reset(j->drop);
    return db_errno(j->wdb, src, "trim");
}

static void*
writer_main(void* arg)
{
    gr__sched_journal* j = arg;
    pthread_mutex_lock(&j->mu);
    for (;;) {
        while (!j->head && !j->stop)
            pthread_cond_wait(&j->work, &j->mu);
        if (!j->head)
            break; /* stopping, nothing left */
        struct entry* batch = j->head;
        j->head = j->tail = NULL;
        j->pending_bytes = 0;
        uint64_t upto = j->handed;
        pthread_cond_broadcast(&j->room);
        pthread_mutex_unlock(&j->mu);

        /* One transaction per batch: one write of the log for all. */
        int rc = exec(j->wdb, "BEGIN IMMEDIATE");
        for (struct entry* e = batch; e && !rc; e = e->next)
            rc = put_one(j, e);
        if (!rc)
            rc = trim(j);
        if (!rc)
            rc = exec(j->wdb, "COMMIT");
        if (rc) {
            exec(j->wdb, "ROLLBACK");
            /* Recount: the rollback undid our bookkeeping's changes. */
            sqlite3_stmt* c = NULL;
            if (sqlite3_prepare_v2(j->wdb,
                                   "SELECT count(*), coalesce(sum(bytes), 0)"
                                   " FROM calls",
                                   -1,
                                   &c,
                                   NULL) == SQLITE_OK &&
                sqlite3_step(c) == SQLITE_ROW) {
                j->n = (size_t)sqlite3_column_int64(c, 0);
                j->bytes = (size_t)sqlite3_column_int64(c, 1);
            }
            sqlite3_finalize(c);
        }
        pthread_mutex_lock(&j->mu);
        while (batch) {
            struct entry* n = batch->next;
            if (batch->accept) {
                batch->result = rc;
                batch->written = 1;
            } else {
                entry_free(batch);
            }
            batch = n;
        }
        j->done = upto;
        pthread_cond_broadcast(&j->committed);
    }
    pthread_mutex_unlock(&j->mu);
    return NULL;
}

/* Hands e to the writer; returns its sequence number. */
static uint64_t
hand_over(gr__sched_journal* j, struct entry* e, int wait_room)
{
    pthread_mutex_lock(&j->mu);
    while (wait_room && j->pending_bytes > PENDING_MAX && !j->stop)
        pthread_cond_wait(&j->room, &j->mu);
    if (j->stop) { /* closing: nothing will be written any more */
        e->written = 1;
        e->result = -ESHUTDOWN;
        if (!e->accept)
            entry_free(e);
        pthread_mutex_unlock(&j->mu);
        return j->handed;
    }
    e->next = NULL;
    if (j->tail)
        j->tail->next = e;
    else
        j->head = e;
    j->tail = e;
    j->pending_bytes += e->bytes;
    uint64_t seq = ++j->handed;
    pthread_cond_signal(&j->work);
    pthread_mutex_unlock(&j->mu);
    return seq;
}

/* Waits until entry seq is written (committed or failed). */
static void
wait_done(gr__sched_journal* j, uint64_t seq)
{
    pthread_mutex_lock(&j->mu);
    while (j->done < seq)
        pthread_cond_wait(&j->committed, &j->mu);
    pthread_mutex_unlock(&j->mu);
}

static struct entry*
entry_of(const struct gr__call* c, int accept, gr_call_state st)
{
    struct entry* e = gr_calloc(1, sizeof *e);
    if (!e)
        return NULL;
    e->accept = accept;
    e->id = c->id;
    e->parent = c->parent;
    memcpy(e->user, c->user, sizeof e->user);
    memcpy(e->fn, c->fn_name, sizeof e->fn);
    memcpy(e->host, c->host, sizeof e->host);
    e->state = (int)st;
    e->queued_ns = c->queued_ns;
    e->bytes = 256; /* the row's fixed part, roughly */
    if (accept)
        return e;
    e->status = c->status;
    e->return_code = c->return_code;
    e->cold = c->cold;
    e->truncated = c->truncated;
    memcpy(e->trap, c->trap, sizeof e->trap);
    e->started_ns = c->started_ns;
    e->finished_ns = c->finished_ns;
    size_t ol = c->out ? strlen(c->out) : 0, el = c->err ? strlen(c->err) : 0;
    if (c->output_len && !(e->output = gr_malloc(c->output_len)))
        goto fail;
    if (c->output_len)
        memcpy(e->output, c->output, c->output_len);
    e->output_len = c->output_len;
    if (ol && !(e->out = gr_strdup(c->out)))
        goto fail;
    if (el && !(e->err = gr_strdup(c->err)))
        goto fail;
    e->bytes += c->output_len + ol + el;
    return e;
fail:
    entry_free(e);
    return NULL;
}

int
gr__sched_journal_accept(gr__sched_journal* j, const struct gr__call* c)
{
    if (!j)
        return 0;
    struct entry* e = entry_of(c, 1, GR_CALL_QUEUED);
    if (!e)
        return -ENOMEM;
    hand_over(j, e, 0);
    pthread_mutex_lock(&j->mu);
    while (!e->written)
        pthread_cond_wait(&j->committed, &j->mu);
    pthread_mutex_unlock(&j->mu);
    int rc = e->result;
    entry_free(e);
    return rc;
}

void
gr__sched_journal_finish(gr__sched_journal* j,
                         const struct gr__call* c,
                         gr_call_state st)
{
    if (!j)
        return;
    struct entry* e = entry_of(c, 0, st);
    if (!e) {
        GR_WARN("sched: call journal: out of memory: call %llu not kept",
                (unsigned long long)c->id);
        return;
    }
    hand_over(j, e, 1);
}

void
gr__sched_journal_sync(gr__sched_journal* j)
{
    if (!j)
        return;
    pthread_mutex_lock(&j->mu);
    uint64_t seq = j->handed;
    pthread_mutex_unlock(&j->mu);
    wait_done(j, seq);
}

static char*
column_str(sqlite3_stmt* s, int i)
{
    size_t n = (size_t)sqlite3_column_bytes(s, i);
    const void* p = sqlite3_column_blob(s, i);
    char* d = gr_malloc(n + 1);
    if (!d)
        return NULL;
    if (n)
        memcpy(d, p, n);
    d[n] = '\0';
    return d;
}

int
gr__sched_journal_get(gr__sched_journal* j,
                      const char* user,
                      uint64_t id,
                      gr_call_info* out)
{
    if (!j)
        return -ENOENT;
    /* A record forgotten in memory may still be on its way to the disk. */
    gr__sched_journal_sync(j);
    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&j->rmu);
    sqlite3_stmt* s = j->get;
    sqlite3_bind_int64(s, 1, (sqlite3_int64)id);
    int src = sqlite3_step(s);
    int rc = 0;
    if (src != SQLITE_ROW) {
        rc = src == SQLITE_DONE ? -ENOENT : db_errno(j->rdb, src, "read");
        goto out;
    }
    const char* u = (const char*)sqlite3_column_text(s, 1);
    if (user && strcmp(user, u ? u : "") != 0) {
        rc = -ENOENT; /* as for an unknown id: do not confirm it exists */
        goto out;
    }
    out->id = id;
    out->parent = (uint64_t)sqlite3_column_int64(s, 0);
    snprintf(out->user, sizeof out->user, "%s", u ? u : "");
    snprintf(
      out->fn, sizeof out->fn, "%s", (const char*)sqlite3_column_text(s, 2));
    snprintf(out->host,
             sizeof out->host,
             "%s",
             (const char*)sqlite3_column_text(s, 3));
    out->state = (gr_call_state)sqlite3_column_int(s, 4);
    out->status = sqlite3_column_int(s, 5);
    out->return_code = sqlite3_column_int(s, 6);
    snprintf(out->trap,
             sizeof out->trap,
             "%s",
             (const char*)sqlite3_column_text(s, 7));
    out->cold = sqlite3_column_int(s, 8);
    out->truncated = sqlite3_column_int(s, 15);
    out->queued_ns = (uint64_t)sqlite3_column_int64(s, 9);
    out->started_ns = (uint64_t)sqlite3_column_int64(s, 10);
    out->finished_ns = (uint64_t)sqlite3_column_int64(s, 11);
    out->output_len = (size_t)sqlite3_column_bytes(s, 12);
    if (out->output_len) {
        out->output = gr_malloc(out->output_len);
        if (!out->output) {
            rc = -ENOMEM;
            goto out;
        }
        memcpy(out->output, sqlite3_column_blob(s, 12), out->output_len);
    }
    out->out = column_str(s, 13);
    out->err = column_str(s, 14);
    if (!out->out || !out->err)
        rc = -ENOMEM;
out:
    sqlite3_reset(s);
    pthread_mutex_unlock(&j->rmu);
    if (rc)
        gr_call_info_fini(out);
    return rc;
}

static int
open_db(const char* path, sqlite3** db)
{
    int flags =
      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    if (sqlite3_open_v2(path, db, flags, NULL) != SQLITE_OK) {
        GR_ERROR("sched: cannot open the call journal %s: %s",
                 path,
                 *db ? sqlite3_errmsg(*db) : "out of memory");
        return -EIO;
    }
    sqlite3_busy_timeout(*db, 10000);
    return 0;
}

static int
prepare(sqlite3* db, const char* q, sqlite3_stmt** s)
{
    if (sqlite3_prepare_v3(db, q, -1, SQLITE_PREPARE_PERSISTENT, s, NULL) ==
        SQLITE_OK)
        return 0;
    GR_ERROR("sched: call journal: %s: %s", q, sqlite3_errmsg(db));
    return -EIO;
}

int
gr__sched_journal_open(const char* dir,
                       size_t max_records,
                       size_t max_bytes,
                       gr__sched_journal** out)
{
    gr__sched_journal* j = gr_calloc(1, sizeof *j);
    if (!j)
        return -ENOMEM;
    pthread_mutex_init(&j->mu, NULL);
    pthread_mutex_init(&j->rmu, NULL);
    pthread_cond_init(&j->work, NULL);
    pthread_cond_init(&j->committed, NULL);
    pthread_cond_init(&j->room, NULL);
    j->max_records = max_records;
    j->max_bytes = max_bytes;
    char path[4096];
    int rc = -ENAMETOOLONG;
    if (snprintf(path, sizeof path, "%s/calls.db", dir) >= (int)sizeof path)
        goto fail;
    if ((rc = open_db(path, &j->wdb)) || (rc = exec(j->wdb, schema)))
        goto fail;
    /* Whatever a previous process left unfinished will never finish. */
    char mark[256];
    snprintf(mark,
             sizeof mark,
             "UPDATE calls SET state = %d, status = %d, finished_ns = 0"
             " WHERE state IN (%d, %d)",
             GR_CALL_FAILED,
             GR_ERESTARTED,
             GR_CALL_QUEUED,
             GR_CALL_RUNNING);
    if ((rc = exec(j->wdb, mark)))
        goto fail;
    int marked = sqlite3_changes(j->wdb);
    if (marked)
        GR_INFO("sched: %d call(s) unfinished at the last stop marked failed",
                marked);
    sqlite3_stmt* c = NULL;
    rc = prepare(j->wdb,
                 "SELECT count(*), coalesce(sum(bytes), 0),"
                 " coalesce(max(seq), 0) FROM calls",
                 &c);
    if (rc)
        goto fail;
    if (sqlite3_step(c) == SQLITE_ROW) {
        j->n = (size_t)sqlite3_column_int64(c, 0);
        j->bytes = (size_t)sqlite3_column_int64(c, 1);
        j->seq = sqlite3_column_int64(c, 2);
    }
    sqlite3_finalize(c);
    if ((rc = prepare(j->wdb, put_sql, &j->put)) ||
        (rc = prepare(
           j->wdb, "SELECT bytes FROM calls WHERE id = ?1", &j->old_bytes)) ||
        (rc = prepare(
           j->wdb, "SELECT seq, bytes FROM calls ORDER BY seq", &j->oldest)) ||
        (rc = prepare(j->wdb, "DELETE FROM calls WHERE seq <= ?1", &j->drop)))
        goto fail;
    /* The bounds may have shrunk since the last run. */
    if ((rc = exec(j->wdb, "BEGIN IMMEDIATE")) || (rc = trim(j)) ||
        (rc = exec(j->wdb, "COMMIT")))
        goto fail;
    if ((rc = open_db(path, &j->rdb)) ||
        (rc = prepare(j->rdb, get_sql, &j->get)))
        goto fail;
    if ((rc = -pthread_create(&j->writer, NULL, writer_main, j)))
        goto fail;
    j->writer_started = 1;
    *out = j;
    return 0;
fail:
    gr__sched_journal_close(j);
    return rc;
}

void
gr__sched_journal_close(gr__sched_journal* j)
{
    if (!j)
        return;
    if (j->writer_started) {
        pthread_mutex_lock(&j->mu);
        j->stop = 1;
        pthread_cond_broadcast(&j->work);
        pthread_cond_broadcast(&j->room);
        pthread_mutex_unlock(&j->mu);
        pthread_join(j->writer, NULL);
    }
    sqlite3_finalize(j->put);
    sqlite3_finalize(j->old_bytes);
    sqlite3_finalize(j->oldest);
    sqlite3_finalize(j->drop);
    sqlite3_finalize(j->get);
    sqlite3_close(j->rdb);
    sqlite3_close(j->wdb);
    pthread_mutex_destroy(&j->mu);
    pthread_mutex_destroy(&j->rmu);
    pthread_cond_destroy(&j->work);
    pthread_cond_destroy(&j->committed);
    pthread_cond_destroy(&j->room);
    gr_free(j);
}
