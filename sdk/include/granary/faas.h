/* SPDX-License-Identifier: Apache-2.0 */
/* Granary guest API: what a function compiled with granary-cc can call.
 *
 * A function is either
 *   - a WASI command (a plain main()): its input arrives on stdin, its
 *     output is what it writes to stdout, its return code is main's;
 *   - or a reactor (build with -mexec-model=reactor) that defines
 *     GRANARY_MAIN(fn): fn reads the call's input with granary_input*,
 *     writes output with granary_output_write and returns the call's return
 *     code. GRANARY_INIT(fn) names an optional function run once, before
 *     the Proto-Faaslet snapshot is taken: everything it sets up (tables,
 *     parsed models, heap) is there, for free, at the start of every call.
 *
 * Every call starts from that snapshot: nothing a call writes to its memory
 * is seen by the next call (use state keys for that).
 */
#ifndef GRANARY_FAAS_H
#define GRANARY_FAAS_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#ifdef __cplusplus
extern "C"
{
#endif

#define GRANARY_IMPORT(name)                                                   \
    __attribute__((import_module("granary"), import_name(#name)))

    /* Size of the call's input in bytes. */
    GRANARY_IMPORT(input_size) int32_t granary_input_size(void);

    /* Copies up to len bytes of the input, starting at offset, into buf.
     * Returns the number of bytes copied (0 at the end), or -1 if buf is not
     * inside the guest's memory. */
    GRANARY_IMPORT(input_read)
    int32_t granary_input_read(void* buf, int32_t len, int32_t offset);

    /* Appends len bytes to the call's output. Returns 0, or -1 if the output
     * would exceed the function's output limit (nothing is appended then). */
    GRANARY_IMPORT(output_write)
    int32_t granary_output_write(const void* buf, int32_t len);

/* ---- chaining ------------------------------------------------------------
 * A call may start calls of other functions of the same user (children)
 * and wait for them. Children run in their own Faaslets, possibly in
 * parallel with the caller. A chain is at most 64 calls deep and one call
 * may start at most 1024 children. Await results are the child's return
 * code (so functions meant to be awaited should return values >= 0) or one
 * of these negative codes: */
#define GRANARY_EHANDLE (-1)   /* unknown handle */
#define GRANARY_EFAILED (-2)   /* the child trapped or could not run */
#define GRANARY_ETIMEDOUT (-3) /* the child, or this call, timed out */
#define GRANARY_ENOENT (-4)    /* no such function */
#define GRANARY_EBUSY (-5)     /* the queue is full / too many children */
#define GRANARY_EDEPTH (-6)    /* the chain is too deep */
#define GRANARY_EFAULT (-7)    /* a pointer outside the guest's memory */
#define GRANARY_EINVAL (-8)    /* bad function name or argument */
#define GRANARY_ENOTSUP (-9)   /* chaining is not available here */

    /* Starts a call of function fn[0..fn_len) with a copy of input[0..len).
     * Returns a handle >= 0 for granary_await, or a negative code. */
    GRANARY_IMPORT(chain)
    int32_t granary_chain(const char* fn,
                          int32_t fn_len,
                          const void* input,
                          int32_t len);

    /* Waits for a child; returns its return code or a negative code. */
    GRANARY_IMPORT(await) int32_t granary_await(int32_t handle);

    /* Waits for a child, then copies up to len bytes of its output, starting
     * at offset, into buf. Returns the bytes copied (0 at the end) or a
     * negative code. */
    GRANARY_IMPORT(chain_output)
    int32_t granary_chain_output(int32_t handle,
                                 void* buf,
                                 int32_t len,
                                 int32_t offset);

    /* Waits for n children; rcs[i] (if rcs is not NULL) receives what
     * granary_await(handles[i]) would return. Returns 0 if every wait
     * succeeded, else the first negative code. */
    GRANARY_IMPORT(await_all)
    int32_t granary_await_all(const int32_t* handles, int32_t n, int32_t* rcs);

/* Marks the entry point of a reactor function: int fn(void). */
#define GRANARY_MAIN(fn)                                                       \
    __attribute__((export_name("granary_main"))) int fn(void)

/* Marks a function run once after start-up, before the snapshot. */
#define GRANARY_INIT(fn)                                                       \
    __attribute__((export_name("granary_init"))) void fn(void)

/* ---- shared state ---------------------------------------------------------
 * State keys are named byte arrays shared by all calls of the same user
 * (other users cannot see them). Each host keeps a local copy that
 * Faaslets map straight into their memory (zero copy: two Faaslets on one
 * host see each other's writes at once); the global tier holds the
 * authoritative value, reached by push (local -> global) and pull
 * (global -> local). A key used for the first time on a host is pulled
 * automatically. Keys are (name, name_len) byte strings. Functions return
 * a value >= 0 or one of these codes: */
#define GRANARY_STATE_EFAULT (-1)    /* a pointer outside the memory */
#define GRANARY_STATE_ENOENT (-2)    /* no such key */
#define GRANARY_STATE_ERANGE (-3)    /* offset/length outside the value */
#define GRANARY_STATE_ETOOBIG (-4)   /* larger than the host's maximum */
#define GRANARY_STATE_EUNAVAIL (-5)  /* global tier unreachable/failing */
#define GRANARY_STATE_EBUSY (-6)     /* global lock not obtained in time */
#define GRANARY_STATE_EINVAL (-7)    /* bad key, alignment or lock mode */
#define GRANARY_STATE_ENOMEM (-8)    /* out of memory on the host */
#define GRANARY_STATE_EPERM (-9)     /* unlocking a lock not held */
#define GRANARY_STATE_ENOSTATE (-10) /* no state service configured */

/* Lock modes for granary_state_lock/unlock. */
#define GRANARY_LOCK_READ 0   /* local (this host) shared lock */
#define GRANARY_LOCK_WRITE 1  /* local exclusive lock */
#define GRANARY_LOCK_GLOBAL 2 /* cluster-wide write lock (with expiry) */

    /* Size of the value in bytes (local copy if any, else global). */
    GRANARY_IMPORT(state_size)
    int32_t granary_state_size(const char* key, int32_t key_len);

    /* Maps the key's shared segment over [ptr, ptr + round_up(len, 4096)),
     * which must be 4096-aligned memory the guest allocated and never frees
     * (see granary_state_pointer). Creates the key (zero-filled) or grows it
     * to len bytes if needed. Returns the value's size. The mapping lasts
     * until the call ends. */
    GRANARY_IMPORT(state_map)
    int32_t granary_state_map(const char* key,
                              int32_t key_len,
                              void* ptr,
                              int32_t len);

    /* Copies [offset, offset + len) of the local value into buf / from buf.
     * Return len. A write to a new key creates it with size offset + len. */
    GRANARY_IMPORT(state_read)
    int32_t granary_state_read(const char* key,
                               int32_t key_len,
                               void* buf,
                               int32_t len,
                               int32_t offset);
    GRANARY_IMPORT(state_write)
    int32_t granary_state_write(const char* key,
                                int32_t key_len,
                                const void* buf,
                                int32_t len,
                                int32_t offset);
    /* Replaces the local value (its size becomes len). Returns 0. */
    GRANARY_IMPORT(state_set)
    int32_t granary_state_set(const char* key,
                              int32_t key_len,
                              const void* buf,
                              int32_t len);

    /* Local -> global, whole (atomic) or a byte range. Return 0. */
    GRANARY_IMPORT(state_push)
    int32_t granary_state_push(const char* key, int32_t key_len);
    GRANARY_IMPORT(state_push_range)
    int32_t granary_state_push_range(const char* key,
                                     int32_t key_len,
                                     int32_t offset,
                                     int32_t len);
    /* Global -> local, whole (the size follows) or a byte range. Return 0. */
    GRANARY_IMPORT(state_pull)
    int32_t granary_state_pull(const char* key, int32_t key_len);
    GRANARY_IMPORT(state_pull_range)
    int32_t granary_state_pull_range(const char* key,
                                     int32_t key_len,
                                     int32_t offset,
                                     int32_t len);

    /* Appends to the global value (logs, queues); returns its new length.
     * granary_state_read_appended copies up to len bytes of the global value
     * from offset and returns the count (0 at the end). */
    GRANARY_IMPORT(state_append)
    int32_t granary_state_append(const char* key,
                                 int32_t key_len,
                                 const void* buf,
                                 int32_t len);
    GRANARY_IMPORT(state_read_appended)
    int32_t granary_state_read_appended(const char* key,
                                        int32_t key_len,
                                        void* buf,
                                        int32_t len,
                                        int32_t offset);

    /* Locks and unlocks (mode GRANARY_LOCK_*). Locks still held when the call
     * ends are released. Return 0. */
    GRANARY_IMPORT(state_lock)
    int32_t granary_state_lock(const char* key, int32_t key_len, int32_t mode);
    GRANARY_IMPORT(state_unlock)
    int32_t granary_state_unlock(const char* key,
                                 int32_t key_len,
                                 int32_t mode);

    /* Deletes the key globally and on this host. Returns 0. */
    GRANARY_IMPORT(state_delete)
    int32_t granary_state_delete(const char* key, int32_t key_len);

    /* Zero-copy pointer to the value of key (NUL-terminated name), at least
     * size bytes (the key is created or grown to size). Allocates a
     * 4096-aligned range so the allocator never hands it out while it is
     * mapped; do not free it. Call once per key per call and keep the pointer:
     * it stays valid (also across memory growth) until the call ends. NULL on
     * error (*err, if not NULL, receives the code). */
    static inline void* granary_state_pointer(const char* key,
                                              int32_t size,
                                              int32_t* err)
    {
        size_t span = ((size_t)(size > 0 ? size : 1) + 4095) & ~(size_t)4095;
        void* p = aligned_alloc(4096, span);
        int32_t rc =
          p ? granary_state_map(
                key, (int32_t)__builtin_strlen(key), p, size > 0 ? size : 1)
            : GRANARY_STATE_ENOMEM;
        if (rc < 0) {
            free(p);
            if (err)
                *err = rc;
            return NULL;
        }
        if (err)
            *err = 0;
        return p;
    }

#ifdef __cplusplus
}
#endif

#endif
