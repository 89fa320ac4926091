/* SPDX-License-Identifier: Apache-2.0 */
/* Host side of the guest state API (granary/faas.h, "granary" import
 * module, state_*): every guest pointer and length is checked against the
 * memory size, then the call goes to src/state through the Faaslet's state
 * context. The wasm2c import symbols are in state_host.c. */
#ifndef GR_HOST_FAAS_STATE_HOST_H
#define GR_HOST_FAAS_STATE_HOST_H

#include <stdint.h>

#include "engine/wasm-rt.h"
#include "state/state.h"

/* Guest-visible result codes (mirrors GRANARY_E* in granary/faas.h). */
enum
{
    GR_STATE_GUEST_EFAULT = -1,   /* a pointer/length outside memory */
    GR_STATE_GUEST_ENOENT = -2,   /* no such key */
    GR_STATE_GUEST_ERANGE = -3,   /* offset/length outside the value */
    GR_STATE_GUEST_ETOOBIG = -4,  /* over the configured maximum */
    GR_STATE_GUEST_EUNAVAIL = -5, /* global tier unreachable or failing */
    GR_STATE_GUEST_EBUSY = -6,    /* global lock not obtained in time */
    GR_STATE_GUEST_EINVAL = -7,   /* bad key, alignment or mode */
    GR_STATE_GUEST_ENOMEM = -8,
    GR_STATE_GUEST_EPERM = -9,     /* unlocking a lock not held */
    GR_STATE_GUEST_ENOSTATE = -10, /* no state service for this Faaslet */
};

/* Maps a negative errno from src/state to a guest code. */
int32_t gr_state_host_code(int rc);

/* Core of the imports (tests call them directly). c may be NULL (then
 * everything returns GR_STATE_GUEST_ENOSTATE). */
int32_t gr_state_host_size(gr_state_ctx* c,
                           wasm_rt_memory_t* mem,
                           uint32_t key,
                           uint32_t klen);
int32_t gr_state_host_map(gr_state_ctx* c,
                          wasm_rt_memory_t* mem,
                          uint32_t key,
                          uint32_t klen,
                          uint32_t ptr,
                          uint32_t len);
int32_t gr_state_host_read(gr_state_ctx* c,
                           wasm_rt_memory_t* mem,
                           uint32_t key,
                           uint32_t klen,
                           uint32_t buf,
                           uint32_t len,
                           uint32_t off);
int32_t gr_state_host_write(gr_state_ctx* c,
                            wasm_rt_memory_t* mem,
                            uint32_t key,
                            uint32_t klen,
                            uint32_t buf,
                            uint32_t len,
                            uint32_t off);
int32_t gr_state_host_set(gr_state_ctx* c,
                          wasm_rt_memory_t* mem,
                          uint32_t key,
                          uint32_t klen,
                          uint32_t buf,
                          uint32_t len);
/* push/pull: whole = 1 ignores off/len. */
int32_t gr_state_host_push(gr_state_ctx* c,
                           wasm_rt_memory_t* mem,
                           uint32_t key,
                           uint32_t klen,
                           int whole,
                           uint32_t off,
                           uint32_t len);
int32_t gr_state_host_pull(gr_state_ctx* c,
                           wasm_rt_memory_t* mem,
                           uint32_t key,
                           uint32_t klen,
                           int whole,
                           uint32_t off,
                           uint32_t len);
int32_t gr_state_host_append(gr_state_ctx* c,
                             wasm_rt_memory_t* mem,
                             uint32_t key,
                             uint32_t klen,
                             uint32_t buf,
                             uint32_t len);
int32_t gr_state_host_read_appended(gr_state_ctx* c,
                                    wasm_rt_memory_t* mem,
                                    uint32_t key,
                                    uint32_t klen,
                                    uint32_t buf,
                                    uint32_t len,
                                    uint32_t off);
/* Locks (unlock = 0) or unlocks a key. A lock waits at most until
 * deadline_ns (CLOCK_MONOTONIC ns, 0 = none) and then returns
 * GR_STATE_GUEST_EBUSY; the import wrapper passes the guest call's
 * deadline and, once it has passed, ends the call as a timeout instead
 * (the locks the call holds are released when it ends). */
int32_t gr_state_host_lock(gr_state_ctx* c,
                           wasm_rt_memory_t* mem,
                           uint32_t key,
                           uint32_t klen,
                           uint32_t mode,
                           int unlock,
                           uint64_t deadline_ns);
int32_t gr_state_host_delete(gr_state_ctx* c,
                             wasm_rt_memory_t* mem,
                             uint32_t key,
                             uint32_t klen);

#endif
