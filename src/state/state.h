/* SPDX-License-Identifier: Apache-2.0 */
/* Shared state: named byte arrays per user. The local tier keeps one memfd
 * per key per host that Faaslets map straight into their linear memory
 * (zero copy); the global tier (Redis, or an embedded in-process table when
 * no Redis is configured) holds the authoritative value. See docs/state.md. */
#ifndef GR_STATE_STATE_H
#define GR_STATE_STATE_H

#include <stddef.h>
#include <stdint.h>

#define GR_STATE_MAX_VALUE_DEFAULT (512ull << 20) /* Redis' own limit */
#define GR_STATE_MAX_KEY 1024                     /* bytes in a key name */
#define GR_STATE_MAX_USER 64                      /* bytes in a user name */

typedef struct gr_state gr_state;
typedef struct gr_state_key gr_state_key;
typedef struct gr_state_ctx gr_state_ctx;

typedef struct gr_state_config
{
    /* Global tier: NULL or "" = embedded (single host, the default of
     * `granary serve`); otherwise "host:port" or "redis://host[:port]". */
    const char* redis;
    /* Embedded tier only: keep the values in <dir>/state.db (SQLite, WAL)
     * so that they survive a restart or a kill -9; NULL = in memory only
     * (lost at exit: tests, benches). */
    const char* dir;
    size_t max_value;      /* largest value in bytes; 0 = 512 MiB */
    uint32_t timeout_ms;   /* Redis connect and command timeout; 0 = 2000 */
    uint32_t lock_ttl_ms;  /* expiry of a global lock; 0 = 30000 */
    uint32_t lock_wait_ms; /* how long a global lock waits; 0 = 10000 */
} gr_state_config;

/* Errors used throughout (all negative errno):
 *   -EINVAL      bad user or key name (users: 1-64 of [A-Za-z0-9_.-];
 *                keys: 1-1024 bytes, no NUL)
 *   -ENOENT      no such key
 *   -EFBIG       the value would exceed max_value
 *   -ERANGE      offset/length outside the value
 *   -ECONNREFUSED, -ECONNRESET, -ETIMEDOUT, -EIO
 *                the global tier is unreachable, dropped the connection,
 *                did not answer within timeout_ms, or replied with an
 *                error (the next operation reconnects). -ECONNREFUSED and
 *                an error reply (-EIO) mean the operation did not happen;
 *                -ETIMEDOUT and -ECONNRESET mean no answer: a stalled Redis
 *                may still apply it. Pushes (whole: old or new value,
 *                never a mix; ranges), set and delete are idempotent, so a
 *                retry is safe; an append may have happened once (never
 *                twice or partly) and a retry may append again; a lock
 *                request is not taken (the client releases it if Redis
 *                applies it later, see docs/state.md)
 *   -ENOSPC      the embedded tier's disk is full (nothing written)
 *   -EBUSY       a global lock is held by someone else (after waiting)
 *   -ETIMEDOUT   also: a lock wait reached the caller's deadline
 *   -EPERM       unlocking a global lock we do not hold (expired)
 *   -ENOMEM      out of memory */

/* Creates the state service of this host. With cfg->redis set, connects
 * once to check the server (a failure is reported in err and returned).
 * cfg may be NULL (embedded, defaults). Owned by the caller; thread-safe:
 * every function below may be called from any thread. */
int gr_state_create(const gr_state_config* cfg,
                    gr_state** out,
                    char* err,
                    size_t errlen);
/* Destroys st. Every key and context must have been released. */
void gr_state_destroy(gr_state* st);
/* "redis" or "embedded". */
const char* gr_state_global_kind(const gr_state* st);
size_t gr_state_max_value(const gr_state* st);

/* ---- whole values (for the HTTP API and the CLI) -------------------------
 * These work on the global (authoritative) tier; set and delete also
 * update or drop this host's local copy. */

/* Copies user/key's value into a new buffer (*data, owned: gr_free; NULL
 * with *len 0 for an empty value). */
int gr_state_get(gr_state* st,
                 const char* user,
                 const char* key,
                 uint8_t** data,
                 size_t* len);
/* Replaces the value (atomically: readers see the old or the new value). */
int gr_state_set(gr_state* st,
                 const char* user,
                 const char* key,
                 const void* data,
                 size_t len);
/* Deletes the value, globally and locally. -ENOENT if it did not exist. */
int gr_state_delete(gr_state* st, const char* user, const char* key);

/* ---- keys in the local tier ----------------------------------------------
 * Key names are (key, klen) byte strings so guests' names need no copy. */

/* Finds or creates the local copy of user/key and returns a reference.
 * A key new to this host is pulled from the global tier if it exists there;
 * otherwise it is created zero-filled with size min_size, or -ENOENT if
 * min_size is 0. If the local value is smaller than min_size it grows
 * (zero-filled). */
int gr_state_key_open(gr_state* st,
                      const char* user,
                      const char* key,
                      size_t klen,
                      size_t min_size,
                      gr_state_key** out);
gr_state_key* gr_state_key_ref(gr_state_key* k);
void gr_state_key_unref(gr_state_key* k);

/* Current size of the local value. */
size_t gr_state_key_size(gr_state_key* k);
/* The memfd behind the key (borrowed; valid while the reference is held).
 * Its length is the size rounded up to 4 KiB; the segment only grows, so a
 * mapping made earlier stays valid. */
int gr_state_key_fd(const gr_state_key* k);

/* Copying access to the local value: [off, off+len) must lie inside it
 * (-ERANGE otherwise). */
int gr_state_key_read(gr_state_key* k, size_t off, void* dst, size_t len);
int gr_state_key_write(gr_state_key* k,
                       size_t off,
                       const void* src,
                       size_t len);
/* Replaces the local value with len bytes (its size becomes len). */
int gr_state_key_set(gr_state_key* k, const void* src, size_t len);

/* Local → global: the whole value (atomic: a failed push never leaves a
 * partly written value visible) or the byte range [off, off+len) (one
 * SETRANGE). */
int gr_state_key_push(gr_state_key* k);
int gr_state_key_push_range(gr_state_key* k, size_t off, size_t len);
/* Global → local: the whole value (the local size follows the global one)
 * or [off, off+len), which must lie inside both values. -ENOENT if the key
 * is not in the global tier. */
int gr_state_key_pull(gr_state_key* k);
int gr_state_key_pull_range(gr_state_key* k, size_t off, size_t len);

/* Local read/write lock of the key on this host. write = 0 for a read
 * lock; readers are preferred (a holder of a read lock may take it again).
 * The lock belongs to no thread: any thread may unlock it (a call's
 * leftover locks are released by whoever ends the call). _until waits at
 * most until deadline_ns (CLOCK_MONOTONIC ns; 0 = forever) and then
 * returns -ETIMEDOUT; gr_state_key_lock waits forever. Unlocking a lock of
 * that kind that is not held returns -EPERM. */
int gr_state_key_lock_until(gr_state_key* k, int write, uint64_t deadline_ns);
int gr_state_key_lock(gr_state_key* k, int write);
int gr_state_key_unlock(gr_state_key* k, int write);
/* Global write lock: waits up to lock_wait_ms (-EBUSY after) for the lock
 * to be free, then holds it for at most lock_ttl_ms (a dead holder cannot
 * block others forever). token[33] receives the holder's token, needed to
 * unlock; unlocking after expiry returns -EPERM. _until also stops waiting
 * at deadline_ns (CLOCK_MONOTONIC ns, 0 = none) with -ETIMEDOUT when that
 * comes before lock_wait_ms runs out. A single request to the global tier
 * is bounded by timeout_ms, not by the deadline. */
int gr_state_key_lock_global_until(gr_state_key* k,
                                   char token[33],
                                   uint64_t deadline_ns);
int gr_state_key_lock_global(gr_state_key* k, char token[33]);
int gr_state_key_unlock_global(gr_state_key* k, const char token[33]);
/* One attempt, no waiting, with an explicit expiry (tests, benches). */
int gr_state_lock_global_try(gr_state* st,
                             const char* user,
                             const char* key,
                             size_t klen,
                             uint32_t ttl_ms,
                             char token[33]);
int gr_state_unlock_global(gr_state* st,
                           const char* user,
                           const char* key,
                           size_t klen,
                           const char token[33]);

/* Appends to the global value (logs, queues: Redis APPEND, which creates
 * the key). *total (may be NULL) receives the value's new length. The
 * local copy is not touched; pull to see appended bytes locally. */
int gr_state_append(gr_state* st,
                    const char* user,
                    const char* key,
                    size_t klen,
                    const void* data,
                    size_t len,
                    size_t* total);
/* Reads [off, off+len) of the global value (clamped to its end) into dst;
 * *got = bytes copied, *total = the value's length. */
int gr_state_read_global(gr_state* st,
                         const char* user,
                         const char* key,
                         size_t klen,
                         size_t off,
                         void* dst,
                         size_t len,
                         size_t* got,
                         size_t* total);
/* Size of the value: local if this host has it, else global. */
int gr_state_size(gr_state* st,
                  const char* user,
                  const char* key,
                  size_t klen,
                  size_t* size);
/* Deletes user/key globally and locally (mappings already made stay valid
 * until their Faaslet resets). */
int gr_state_delete_key(gr_state* st,
                        const char* user,
                        const char* key,
                        size_t klen);

/* ---- per-Faaslet context -------------------------------------------------
 * What one Faaslet holds during a call: the linear-memory ranges where it
 * mapped keys, and the locks it took. The Faaslet's reset hands the ranges
 * to the snapshot reset and then clears the context (leftover locks are
 * released). Used by one thread at a time (the one running the Faaslet). */

int gr_state_ctx_create(gr_state* st, const char* user, gr_state_ctx** out);
void gr_state_ctx_destroy(gr_state_ctx* c);
gr_state* gr_state_ctx_state(const gr_state_ctx* c);
const char* gr_state_ctx_user(const gr_state_ctx* c);

/* Records that k is mapped over [start, end) (page aligned) of the linear
 * memory; keeps a reference to k until the context is cleared. */
int gr_state_ctx_add_range(gr_state_ctx* c,
                           gr_state_key* k,
                           uint64_t start,
                           uint64_t end);
/* The recorded ranges, as gr_snapshot_reset's remap argument. */
size_t gr_state_ctx_ranges(const gr_state_ctx* c, const uint64_t (**ranges)[2]);

/* Lock bookkeeping: mode 0 read, 1 write, 2 global. gr_state_ctx_lock
 * waits at most until deadline_ns (the call's deadline, CLOCK_MONOTONIC ns;
 * 0 = none; -ETIMEDOUT then, see the _until functions above). Every lock
 * taken here is released by gr_state_ctx_clear, from any thread. */
int gr_state_ctx_lock(gr_state_ctx* c,
                      gr_state_key* k,
                      int mode,
                      uint64_t deadline_ns);
int gr_state_ctx_unlock(gr_state_ctx* c, gr_state_key* k, int mode);

/* Forgets every range and releases every lock still held. */
void gr_state_ctx_clear(gr_state_ctx* c);

#endif
