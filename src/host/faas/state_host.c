/* SPDX-License-Identifier: Apache-2.0 */
/* The state_* imports of the "granary" module (see state_host.h): guest
 * pointers are checked against the memory size, then the work is done by
 * src/state through the Faaslet's gr_state_ctx. */
#include "host/faas/state_host.h"

#include <errno.h>
#include <stddef.h>

#include "engine/engine.h"
#include "engine/rt.h"
#include "host/host.h"

#define PAGE 4096u

int32_t
gr_state_host_code(int rc)
{
    switch (rc) {
        case 0:
            return 0;
        case -EFAULT:
            return GR_STATE_GUEST_EFAULT;
        case -ENOENT:
            return GR_STATE_GUEST_ENOENT;
        case -ERANGE:
            return GR_STATE_GUEST_ERANGE;
        case -EFBIG:
            return GR_STATE_GUEST_ETOOBIG;
        case -EBUSY:
            return GR_STATE_GUEST_EBUSY;
        case -EINVAL:
            return GR_STATE_GUEST_EINVAL;
        case -ENOMEM:
            return GR_STATE_GUEST_ENOMEM;
        case -EPERM:
            return GR_STATE_GUEST_EPERM;
        default:
            /* ECONNREFUSED, ECONNRESET, ETIMEDOUT, EIO, ... */
            return GR_STATE_GUEST_EUNAVAIL;
    }
}

/* Checks the key name and opens the key (min_size as gr_state_key_open). */
static int
open_key(gr_state_ctx* c,
         wasm_rt_memory_t* mem,
         uint32_t key,
         uint32_t klen,
         size_t min_size,
         gr_state_key** k)
{
    if (!gr_rt_memory_range_ok(mem, key, klen))
        return -EFAULT;
    return gr_state_key_open(gr_state_ctx_state(c),
                             gr_state_ctx_user(c),
                             (const char*)mem->data + key,
                             klen,
                             min_size,
                             k);
}

#define NEED_CTX(c)                                                            \
    do {                                                                       \
        if (!(c))                                                              \
            return GR_STATE_GUEST_ENOSTATE;                                    \
    } while (0)

int32_t
gr_state_host_size(gr_state_ctx* c,
                   wasm_rt_memory_t* mem,
                   uint32_t key,
                   uint32_t klen)
{
    NEED_CTX(c);
    if (!gr_rt_memory_range_ok(mem, key, klen))
        return GR_STATE_GUEST_EFAULT;
    size_t n = 0;
    int rc = gr_state_size(gr_state_ctx_state(c),
                           gr_state_ctx_user(c),
                           (const char*)mem->data + key,
                           klen,
                           &n);
    if (rc)
        return gr_state_host_code(rc);
    return n > INT32_MAX ? GR_STATE_GUEST_ETOOBIG : (int32_t)n;
}

int32_t
gr_state_host_map(gr_state_ctx* c,
                  wasm_rt_memory_t* mem,
                  uint32_t key,
                  uint32_t klen,
                  uint32_t ptr,
                  uint32_t len)
{
    NEED_CTX(c);
    uint64_t span = ((uint64_t)len + PAGE - 1) & ~(uint64_t)(PAGE - 1);
    if (!gr_rt_memory_range_ok(mem, key, klen) ||
        !gr_rt_memory_range_ok(mem, ptr, span))
        return GR_STATE_GUEST_EFAULT;
    if (ptr % PAGE || len == 0 || len > INT32_MAX)
        return GR_STATE_GUEST_EINVAL;
    gr_state_key* k;
    int rc = open_key(c, mem, key, klen, len, &k);
    if (rc)
        return gr_state_host_code(rc);
    /* Record first: if the mmap fails halfway, reset still restores the
     * range from the snapshot. */
    rc = gr_state_ctx_add_range(c, k, ptr, ptr + span);
    if (!rc)
        rc = gr_rt_memory_map_shared(mem, ptr, span, gr_state_key_fd(k), 0);
    size_t size = gr_state_key_size(k);
    gr_state_key_unref(k);
    if (rc)
        return gr_state_host_code(rc == -EINVAL ? -EFAULT : rc);
    return size > INT32_MAX ? INT32_MAX : (int32_t)size;
}

int32_t
gr_state_host_read(gr_state_ctx* c,
                   wasm_rt_memory_t* mem,
                   uint32_t key,
                   uint32_t klen,
                   uint32_t buf,
                   uint32_t len,
                   uint32_t off)
{
    NEED_CTX(c);
    if (!gr_rt_memory_range_ok(mem, buf, len) || len > INT32_MAX)
        return GR_STATE_GUEST_EFAULT;
    gr_state_key* k;
    int rc = open_key(c, mem, key, klen, 0, &k);
    if (rc)
        return gr_state_host_code(rc);
    rc = gr_state_key_read(k, off, mem->data + buf, len);
    gr_state_key_unref(k);
    return rc ? gr_state_host_code(rc) : (int32_t)len;
}

int32_t
gr_state_host_write(gr_state_ctx* c,
                    wasm_rt_memory_t* mem,
                    uint32_t key,
                    uint32_t klen,
                    uint32_t buf,
                    uint32_t len,
                    uint32_t off)
{
    NEED_CTX(c);
    if (!gr_rt_memory_range_ok(mem, buf, len) || len > INT32_MAX)
        return GR_STATE_GUEST_EFAULT;
    gr_state_key* k;
    /* A new key is created just large enough; an existing one must hold
     * the range (use state_set to resize). */
    int rc = open_key(c, mem, key, klen, 0, &k);
    if (rc == -ENOENT)
        rc = open_key(c, mem, key, klen, (size_t)off + len, &k);
    if (rc)
        return gr_state_host_code(rc);
    rc = gr_state_key_write(k, off, mem->data + buf, len);
    gr_state_key_unref(k);
    return rc ? gr_state_host_code(rc) : (int32_t)len;
}

int32_t
gr_state_host_set(gr_state_ctx* c,
                  wasm_rt_memory_t* mem,
                  uint32_t key,
                  uint32_t klen,
                  uint32_t buf,
                  uint32_t len)
{
    NEED_CTX(c);
    if (!gr_rt_memory_range_ok(mem, buf, len) || len > INT32_MAX)
        return GR_STATE_GUEST_EFAULT;
    gr_state_key* k;
    int rc = open_key(c, mem, key, klen, 0, &k);
    if (rc == -ENOENT)
        rc = open_key(c, mem, key, klen, len ? len : 1, &k);
    if (rc)
        return gr_state_host_code(rc);
    rc = gr_state_key_set(k, mem->data + buf, len);
    gr_state_key_unref(k);
    return gr_state_host_code(rc);
}

/* Push and pull differ only in direction: whole value or a byte range. */
static int32_t
transfer(gr_state_ctx* c,
         wasm_rt_memory_t* mem,
         uint32_t key,
         uint32_t klen,
         int whole,
         uint32_t off,
         uint32_t len,
         int (*all)(gr_state_key*),
         int (*range)(gr_state_key*, size_t, size_t))
{
    NEED_CTX(c);
    gr_state_key* k;
    int rc = open_key(c, mem, key, klen, 0, &k);
    if (rc)
        return gr_state_host_code(rc);
    rc = whole ? all(k) : range(k, off, len);
    gr_state_key_unref(k);
    return gr_state_host_code(rc);
}

int32_t
gr_state_host_push(gr_state_ctx* c,
                   wasm_rt_memory_t* mem,
                   uint32_t key,
                   uint32_t klen,
                   int whole,
                   uint32_t off,
                   uint32_t len)
{
    return transfer(c,
                    mem,
                    key,
                    klen,
                    whole,
                    off,
                    len,
                    gr_state_key_push,
                    gr_state_key_push_range);
}

int32_t
gr_state_host_pull(gr_state_ctx* c,
                   wasm_rt_memory_t* mem,
                   uint32_t key,
                   uint32_t klen,
                   int whole,
                   uint32_t off,
                   uint32_t len)
{
    return transfer(c,
                    mem,
                    key,
                    klen,
                    whole,
                    off,
                    len,
                    gr_state_key_pull,
                    gr_state_key_pull_range);
}

int32_t
gr_state_host_append(gr_state_ctx* c,
                     wasm_rt_memory_t* mem,
                     uint32_t key,
                     uint32_t klen,
                     uint32_t buf,
                     uint32_t len)
{
    NEED_CTX(c);
    if (!gr_rt_memory_range_ok(mem, key, klen) ||
        !gr_rt_memory_range_ok(mem, buf, len))
        return GR_STATE_GUEST_EFAULT;
    size_t total = 0;
    int rc = gr_state_append(gr_state_ctx_state(c),
                             gr_state_ctx_user(c),
                             (const char*)mem->data + key,
                             klen,
                             mem->data + buf,
                             len,
                             &total);
    if (rc)
        return gr_state_host_code(rc);
    return total > INT32_MAX ? INT32_MAX : (int32_t)total;
}

int32_t
gr_state_host_read_appended(gr_state_ctx* c,
                            wasm_rt_memory_t* mem,
                            uint32_t key,
                            uint32_t klen,
                            uint32_t buf,
                            uint32_t len,
                            uint32_t off)
{
    NEED_CTX(c);
    if (!gr_rt_memory_range_ok(mem, key, klen) ||
        !gr_rt_memory_range_ok(mem, buf, len) || len > INT32_MAX)
        return GR_STATE_GUEST_EFAULT;
    size_t got = 0, total = 0;
    int rc = gr_state_read_global(gr_state_ctx_state(c),
                                  gr_state_ctx_user(c),
                                  (const char*)mem->data + key,
                                  klen,
                                  off,
                                  mem->data + buf,
                                  len,
                                  &got,
                                  &total);
    return rc ? gr_state_host_code(rc) : (int32_t)got;
}

int32_t
gr_state_host_lock(gr_state_ctx* c,
                   wasm_rt_memory_t* mem,
                   uint32_t key,
                   uint32_t klen,
                   uint32_t mode,
                   int unlock,
                   uint64_t deadline_ns)
{
    NEED_CTX(c);
    if (mode > 2)
        return GR_STATE_GUEST_EINVAL;
    gr_state_key* k;
    int rc = open_key(c, mem, key, klen, 0, &k);
    if (rc)
        return gr_state_host_code(rc);
    rc = unlock ? gr_state_ctx_unlock(c, k, (int)mode)
                : gr_state_ctx_lock(c, k, (int)mode, deadline_ns);
    gr_state_key_unref(k);
    if (rc == -ETIMEDOUT && !unlock)
        rc = -EBUSY; /* not obtained in time */
    return gr_state_host_code(rc);
}

int32_t
gr_state_host_delete(gr_state_ctx* c,
                     wasm_rt_memory_t* mem,
                     uint32_t key,
                     uint32_t klen)
{
    NEED_CTX(c);
    if (!gr_rt_memory_range_ok(mem, key, klen))
        return GR_STATE_GUEST_EFAULT;
    return gr_state_host_code(gr_state_delete_key(gr_state_ctx_state(c),
                                                  gr_state_ctx_user(c),
                                                  (const char*)mem->data + key,
                                                  klen));
}

/* ---- wasm2c import symbols ---------------------------------------------- */

struct Z_granary_instance_t;
typedef struct Z_granary_instance_t zctx;

static gr_state_ctx*
state_of(zctx* ctx, wasm_rt_memory_t** mem)
{
    gr_instance* in = gr_instance_from_import(ctx);
    gr_host_ctx* h = gr_instance_host(in);
    *mem = gr_instance_memory(in);
    return h ? h->state : NULL;
}

/* Declared here: only generated code calls them. */
#define U uint32_t
U Z_granaryZ_state_size(zctx* x, U key, U klen);
U Z_granaryZ_state_map(zctx* x, U key, U klen, U ptr, U len);
U Z_granaryZ_state_read(zctx* x, U key, U klen, U buf, U len, U off);
U Z_granaryZ_state_write(zctx* x, U key, U klen, U buf, U len, U off);
U Z_granaryZ_state_set(zctx* x, U key, U klen, U buf, U len);
U Z_granaryZ_state_push(zctx* x, U key, U klen);
U Z_granaryZ_state_push_range(zctx* x, U key, U klen, U off, U len);
U Z_granaryZ_state_pull(zctx* x, U key, U klen);
U Z_granaryZ_state_pull_range(zctx* x, U key, U klen, U off, U len);
U Z_granaryZ_state_append(zctx* x, U key, U klen, U buf, U len);
U Z_granaryZ_state_read_appended(zctx* x, U key, U klen, U buf, U len, U off);
U Z_granaryZ_state_lock(zctx* x, U key, U klen, U mode);
U Z_granaryZ_state_unlock(zctx* x, U key, U klen, U mode);
U Z_granaryZ_state_delete(zctx* x, U key, U klen);

#define WRAP(expr)                                                             \
    wasm_rt_memory_t* mem;                                                     \
    gr_state_ctx* c = state_of(x, &mem);                                       \
    return (U)(expr)

U
Z_granaryZ_state_size(zctx* x, U key, U klen)
{
    WRAP(gr_state_host_size(c, mem, key, klen));
}

U
Z_granaryZ_state_map(zctx* x, U key, U klen, U ptr, U len)
{
    WRAP(gr_state_host_map(c, mem, key, klen, ptr, len));
}

U
Z_granaryZ_state_read(zctx* x, U key, U klen, U buf, U len, U off)
{
    WRAP(gr_state_host_read(c, mem, key, klen, buf, len, off));
}

U
Z_granaryZ_state_write(zctx* x, U key, U klen, U buf, U len, U off)
{
    WRAP(gr_state_host_write(c, mem, key, klen, buf, len, off));
}

U
Z_granaryZ_state_set(zctx* x, U key, U klen, U buf, U len)
{
    WRAP(gr_state_host_set(c, mem, key, klen, buf, len));
}

U
Z_granaryZ_state_push(zctx* x, U key, U klen)
{
    WRAP(gr_state_host_push(c, mem, key, klen, 1, 0, 0));
}

U
Z_granaryZ_state_push_range(zctx* x, U key, U klen, U off, U len)
{
    WRAP(gr_state_host_push(c, mem, key, klen, 0, off, len));
}

U
Z_granaryZ_state_pull(zctx* x, U key, U klen)
{
    WRAP(gr_state_host_pull(c, mem, key, klen, 1, 0, 0));
}

U
Z_granaryZ_state_pull_range(zctx* x, U key, U klen, U off, U len)
{
    WRAP(gr_state_host_pull(c, mem, key, klen, 0, off, len));
}

U
Z_granaryZ_state_append(zctx* x, U key, U klen, U buf, U len)
{
    WRAP(gr_state_host_append(c, mem, key, klen, buf, len));
}

U
Z_granaryZ_state_read_appended(zctx* x, U key, U klen, U buf, U len, U off)
{
    WRAP(gr_state_host_read_appended(c, mem, key, klen, buf, len, off));
}

U
Z_granaryZ_state_lock(zctx* x, U key, U klen, U mode)
{
    wasm_rt_memory_t* mem;
    gr_state_ctx* c = state_of(x, &mem);
    int32_t rc =
      gr_state_host_lock(c, mem, key, klen, mode, 0, gr_rt_deadline());
    /* A wait that ended at the call's deadline ends the call. The locks it
     * holds are in its state context, released when the Faaslet resets,
     * and nothing else is held here. */
    if (rc)
        gr_rt_check_deadline();
    return (U)rc;
}

U
Z_granaryZ_state_unlock(zctx* x, U key, U klen, U mode)
{
    WRAP(gr_state_host_lock(c, mem, key, klen, mode, 1, 0));
}

U
Z_granaryZ_state_delete(zctx* x, U key, U klen)
{
    WRAP(gr_state_host_delete(c, mem, key, klen));
}
