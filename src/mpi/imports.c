/* SPDX-License-Identifier: Apache-2.0 */
/* The "granary_mpi" import module (sdk/include/granary/mpi_host.h): checks
 * every guest pointer against the memory size (a bad one is
 * GR_MPI_ERR_FAULT) and calls the rank's matching engine with host
 * pointers. A blocking call that reaches its deadline, or finds the world
 * failed, ends the guest call (after the engine released its locks). */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/engine.h"
#include "engine/rt.h"
#include "host/host.h"
#include "mpi/mpi.h"
#include "util/alloc.h"

/* The guest's ABI, checked against our mirror of it. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wattributes"
#pragma GCC diagnostic ignored "-Wpragmas"
#pragma GCC diagnostic ignored "-Wunknown-attributes"
#define gr_mpi_status gr_mpi_guest_status
#include "../../sdk/include/granary/mpi_host.h"
#undef gr_mpi_status
#pragma GCC diagnostic pop

_Static_assert(sizeof(gr_mpi_guest_status) == 24 &&
                 sizeof(gr_mpi_status) == 24 &&
                 offsetof(gr_mpi_status, bytes) == 16,
               "status layout");

struct Z_granary_mpi_instance_t;
typedef struct Z_granary_mpi_instance_t inst_t;

static gr_mpi_rank*
rank_of(inst_t* ctx, wasm_rt_memory_t** mem)
{
    gr_instance* in = gr_instance_from_import(ctx);
    gr_host_ctx* h = gr_instance_host(in);
    *mem = gr_instance_memory(in);
    return h ? h->mpi : NULL;
}

/* [ptr, ptr+len) inside the memory (len counts bytes). */
static int
in_bounds(const wasm_rt_memory_t* mem, uint32_t ptr, uint64_t len)
{
    return mem && (uint64_t)ptr + len <= mem->size;
}

/* A guest status pointer: 0 is NULL; else it must hold 24 bytes. */
static int
status_ok(const wasm_rt_memory_t* mem, uint32_t st)
{
    return st == 0 || in_bounds(mem, st, sizeof(gr_mpi_status));
}

static void
put_status(wasm_rt_memory_t* mem, uint32_t ptr, const gr_mpi_status* st)
{
    if (ptr)
        memcpy(mem->data + ptr, st, sizeof *st);
}

static void
put_i32(wasm_rt_memory_t* mem, uint32_t ptr, int32_t v)
{
    memcpy(mem->data + ptr, &v, sizeof v);
}

/* Ends the guest call for the host-only results; passes the rest. */
static uint32_t
result(int rc)
{
    if (rc == GR_MPI_EDEADLINE || rc == GR_MPI_EWORLD) {
        gr_rt_check_deadline(); /* cancelled or past the deadline */
        gr_rt_raise(rc == GR_MPI_EDEADLINE ? GR_TRAP_TIMEOUT : GR_TRAP_HOST, 0);
    }
    return (uint32_t)rc;
}

#define NEED_RANK(r)                                                           \
    do {                                                                       \
        if (!(r))                                                              \
            return (uint32_t)GR_MPI_ERR_OTHER;                                 \
    } while (0)

uint32_t Z_granary_mpiZ_world_rank(inst_t* ctx);
uint32_t Z_granary_mpiZ_world_size(inst_t* ctx);
uint32_t Z_granary_mpiZ_rank_host(inst_t* ctx, uint32_t rank);
uint32_t Z_granary_mpiZ_host_count(inst_t* ctx);
uint32_t Z_granary_mpiZ_host_name(inst_t* ctx, uint32_t buf, uint32_t len);
uint32_t Z_granary_mpiZ_send(inst_t* ctx,
                             uint32_t buf,
                             uint32_t len,
                             uint32_t dest,
                             uint32_t tag,
                             uint32_t cx,
                             uint32_t mode);
uint32_t Z_granary_mpiZ_recv(inst_t* ctx,
                             uint32_t buf,
                             uint32_t len,
                             uint32_t src,
                             uint32_t tag,
                             uint32_t cx,
                             uint32_t st);
uint32_t Z_granary_mpiZ_isend(inst_t* ctx,
                              uint32_t buf,
                              uint32_t len,
                              uint32_t dest,
                              uint32_t tag,
                              uint32_t cx,
                              uint32_t mode);
uint32_t Z_granary_mpiZ_irecv(inst_t* ctx,
                              uint32_t buf,
                              uint32_t len,
                              uint32_t src,
                              uint32_t tag,
                              uint32_t cx);
uint32_t Z_granary_mpiZ_wait(inst_t* ctx, uint32_t req, uint32_t st);
uint32_t Z_granary_mpiZ_test(inst_t* ctx, uint32_t req, uint32_t st);
uint32_t Z_granary_mpiZ_waitany(inst_t* ctx,
                                uint32_t reqs,
                                uint32_t n,
                                uint32_t index,
                                uint32_t st);
uint32_t Z_granary_mpiZ_testany(inst_t* ctx,
                                uint32_t reqs,
                                uint32_t n,
                                uint32_t index,
                                uint32_t st);
uint32_t Z_granary_mpiZ_cancel(inst_t* ctx, uint32_t req);
uint32_t Z_granary_mpiZ_probe(inst_t* ctx,
                              uint32_t src,
                              uint32_t tag,
                              uint32_t cx,
                              uint32_t blocking,
                              uint32_t st);
uint32_t Z_granary_mpiZ_mprobe(inst_t* ctx,
                               uint32_t src,
                               uint32_t tag,
                               uint32_t cx,
                               uint32_t blocking,
                               uint32_t msg,
                               uint32_t st);
uint32_t Z_granary_mpiZ_mrecv(inst_t* ctx,
                              uint32_t buf,
                              uint32_t len,
                              uint32_t msg,
                              uint32_t st);
uint32_t Z_granary_mpiZ_imrecv(inst_t* ctx,
                               uint32_t buf,
                               uint32_t len,
                               uint32_t msg);
void Z_granary_mpiZ_abort(inst_t* ctx, uint32_t code);
uint32_t Z_granary_mpiZ_finalize(inst_t* ctx);

uint32_t
Z_granary_mpiZ_world_rank(inst_t* ctx)
{
    wasm_rt_memory_t* mem;
    gr_mpi_rank* r = rank_of(ctx, &mem);
    return r ? (uint32_t)gr_mpi_rank_index(r) : 0;
}

uint32_t
Z_granary_mpiZ_world_size(inst_t* ctx)
{
    wasm_rt_memory_t* mem;
    gr_mpi_rank* r = rank_of(ctx, &mem);
    return r ? (uint32_t)gr_mpi_world_nranks(gr_mpi_rank_world(r)) : 1;
}

uint32_t
Z_granary_mpiZ_rank_host(inst_t* ctx, uint32_t rank)
{
    wasm_rt_memory_t* mem;
    gr_mpi_rank* r = rank_of(ctx, &mem);
    int size = r ? gr_mpi_world_nranks(gr_mpi_rank_world(r)) : 1;
    if ((int32_t)rank < 0 || (int32_t)rank >= size)
        return (uint32_t)GR_MPI_ERR_RANK;
    return r ? (uint32_t)gr_mpi_world_rank_host(gr_mpi_rank_world(r),
                                                (int32_t)rank)
             : 0;
}

uint32_t
Z_granary_mpiZ_host_count(inst_t* ctx)
{
    wasm_rt_memory_t* mem;
    gr_mpi_rank* r = rank_of(ctx, &mem);
    return r ? (uint32_t)gr_mpi_world_host_count(gr_mpi_rank_world(r)) : 1;
}

uint32_t
Z_granary_mpiZ_host_name(inst_t* ctx, uint32_t buf, uint32_t len)
{
    wasm_rt_memory_t* mem;
    rank_of(ctx, &mem);
    if ((int32_t)len < 0 || !in_bounds(mem, buf, len))
        return (uint32_t)GR_MPI_ERR_FAULT;
    char name[256];
    if (gethostname(name, sizeof name) != 0)
        strcpy(name, "localhost");
    name[sizeof name - 1] = '\0';
    size_t n = strlen(name);
    if (len > 0) {
        size_t k = n < len - 1 ? n : len - 1;
        memcpy(mem->data + buf, name, k);
        mem->data[buf + k] = '\0';
    }
    return (uint32_t)n;
}

uint32_t
Z_granary_mpiZ_send(inst_t* ctx,
                    uint32_t buf,
                    uint32_t len,
                    uint32_t dest,
                    uint32_t tag,
                    uint32_t cx,
                    uint32_t mode)
{
    wasm_rt_memory_t* mem;
    gr_mpi_rank* r = rank_of(ctx, &mem);
    NEED_RANK(r);
    if ((int32_t)len < 0 || !in_bounds(mem, buf, len))
        return (uint32_t)GR_MPI_ERR_FAULT;
    return result(gr_mpi_rank_send(r,
                                   mem->data + buf,
                                   len,
                                   (int32_t)dest,
                                   (int32_t)tag,
                                   (int32_t)cx,
                                   (int32_t)mode));
}

uint32_t
Z_granary_mpiZ_recv(inst_t* ctx,
                    uint32_t buf,
                    uint32_t len,
                    uint32_t src,
                    uint32_t tag,
                    uint32_t cx,
                    uint32_t st)
{
    wasm_rt_memory_t* mem;
    gr_mpi_rank* r = rank_of(ctx, &mem);
    NEED_RANK(r);
    if ((int32_t)len < 0 || !in_bounds(mem, buf, len) || !status_ok(mem, st))
        return (uint32_t)GR_MPI_ERR_FAULT;
    gr_mpi_status s;
    memset(&s, 0, sizeof s);
    int rc = gr_mpi_rank_recv(
      r, mem->data + buf, len, (int32_t)src, (int32_t)tag, (int32_t)cx, &s);
    if (rc == 0 || rc == GR_MPI_ERR_TRUNCATE)
        put_status(mem, st, &s);
    return result(rc);
}

uint32_t
Z_granary_mpiZ_isend(inst_t* ctx,
                     uint32_t buf,
                     uint32_t len,
                     uint32_t dest,
                     uint32_t tag,
                     uint32_t cx,
                     uint32_t mode)
{
    wasm_rt_memory_t* mem;
    gr_mpi_rank* r = rank_of(ctx, &mem);
    NEED_RANK(r);
    if ((int32_t)len < 0 || !in_bounds(mem, buf, len))
        return (uint32_t)GR_MPI_ERR_FAULT;
    int32_t req = -1;
    int rc = gr_mpi_rank_isend(r,
                               mem->data + buf,
                               len,
                               (int32_t)dest,
                               (int32_t)tag,
                               (int32_t)cx,
                               (int32_t)mode,
                               &req);
    return result(rc < 0 ? rc : req);
}

uint32_t
Z_granary_mpiZ_irecv(inst_t* ctx,
                     uint32_t buf,
                     uint32_t len,
                     uint32_t src,
                     uint32_t tag,
                     uint32_t cx)
{
    wasm_rt_memory_t* mem;
    gr_mpi_rank* r = rank_of(ctx, &mem);
    NEED_RANK(r);
    if ((int32_t)len < 0 || !in_bounds(mem, buf, len))
        return (uint32_t)GR_MPI_ERR_FAULT;
    int32_t req = -1;
    int rc = gr_mpi_rank_irecv(
      r, mem->data + buf, len, (int32_t)src, (int32_t)tag, (int32_t)cx, &req);
    return result(rc < 0 ? rc : req);
}

uint32_t
Z_granary_mpiZ_wait(inst_t* ctx, uint32_t req, uint32_t st)
{
    wasm_rt_memory_t* mem;
    gr_mpi_rank* r = rank_of(ctx, &mem);
    NEED_RANK(r);
    if (!status_ok(mem, st))
        return (uint32_t)GR_MPI_ERR_FAULT;
    gr_mpi_status s;
    memset(&s, 0, sizeof s);
    int rc = gr_mpi_rank_wait(r, (int32_t)req, &s);
    if (rc >= 0 || rc == GR_MPI_ERR_TRUNCATE || rc == GR_MPI_ERR_RANK)
        put_status(mem, st, &s);
    return result(rc);
}

uint32_t
Z_granary_mpiZ_test(inst_t* ctx, uint32_t req, uint32_t st)
{
    wasm_rt_memory_t* mem;
    gr_mpi_rank* r = rank_of(ctx, &mem);
    NEED_RANK(r);
    if (!status_ok(mem, st))
        return (uint32_t)GR_MPI_ERR_FAULT;
    gr_mpi_status s;
    memset(&s, 0, sizeof s);
    int rc = gr_mpi_rank_test(r, (int32_t)req, &s);
    if (rc == 1 || rc == GR_MPI_ERR_TRUNCATE || rc == GR_MPI_ERR_RANK)
        put_status(mem, st, &s);
    return result(rc);
}

/* waitany/testany: the guest's handle array is copied (it may be
 * unaligned, and the guest may change it meanwhile). */
typedef int (
  *any_fn)(gr_mpi_rank*, const int32_t*, int, int32_t*, gr_mpi_status*);

static uint32_t
any_call(inst_t* ctx,
         uint32_t reqs,
         uint32_t n,
         uint32_t index,
         uint32_t st,
         any_fn fn)
{
    wasm_rt_memory_t* mem;
    gr_mpi_rank* r = rank_of(ctx, &mem);
    NEED_RANK(r);
    if ((int32_t)n < 0 || n > (1u << 20))
        return (uint32_t)GR_MPI_ERR_ARG;
    if (!in_bounds(mem, reqs, (uint64_t)n * 4) || !in_bounds(mem, index, 4) ||
        !status_ok(mem, st))
        return (uint32_t)GR_MPI_ERR_FAULT;
    int32_t small[64];
    int32_t* h = n <= 64 ? small : gr_malloc((size_t)n * 4);
    if (!h)
        return (uint32_t)GR_MPI_ERR_NOMEM;
    memcpy(h, mem->data + reqs, (size_t)n * 4);
    gr_mpi_status s;
    memset(&s, 0, sizeof s);
    int32_t idx = -1;
    int rc = fn(r, h, (int)n, &idx, &s);
    if (h != small)
        gr_free(h);
    if (rc != GR_MPI_EWORLD && rc != GR_MPI_EDEADLINE &&
        rc != GR_MPI_ERR_REQUEST && rc != GR_MPI_ERR_ARG &&
        (rc != 0 || fn == gr_mpi_rank_waitany)) {
        put_i32(mem, index, idx);
        put_status(mem, st, &s);
    }
    return result(rc);
}

uint32_t
Z_granary_mpiZ_waitany(inst_t* ctx,
                       uint32_t reqs,
                       uint32_t n,
                       uint32_t index,
                       uint32_t st)
{
    return any_call(ctx, reqs, n, index, st, gr_mpi_rank_waitany);
}

uint32_t
Z_granary_mpiZ_testany(inst_t* ctx,
                       uint32_t reqs,
                       uint32_t n,
                       uint32_t index,
                       uint32_t st)
{
    return any_call(ctx, reqs, n, index, st, gr_mpi_rank_testany);
}

uint32_t
Z_granary_mpiZ_cancel(inst_t* ctx, uint32_t req)
{
    wasm_rt_memory_t* mem;
    gr_mpi_rank* r = rank_of(ctx, &mem);
    NEED_RANK(r);
    return (uint32_t)gr_mpi_rank_cancel(r, (int32_t)req);
}

uint32_t
Z_granary_mpiZ_probe(inst_t* ctx,
                     uint32_t src,
                     uint32_t tag,
                     uint32_t cx,
                     uint32_t blocking,
                     uint32_t st)
{
    wasm_rt_memory_t* mem;
    gr_mpi_rank* r = rank_of(ctx, &mem);
    NEED_RANK(r);
    if (!status_ok(mem, st))
        return (uint32_t)GR_MPI_ERR_FAULT;
    gr_mpi_status s;
    memset(&s, 0, sizeof s);
    int rc = gr_mpi_rank_probe(
      r, (int32_t)src, (int32_t)tag, (int32_t)cx, blocking != 0, &s);
    if (rc == 1)
        put_status(mem, st, &s);
    return result(rc);
}

uint32_t
Z_granary_mpiZ_mprobe(inst_t* ctx,
                      uint32_t src,
                      uint32_t tag,
                      uint32_t cx,
                      uint32_t blocking,
                      uint32_t msg,
                      uint32_t st)
{
    wasm_rt_memory_t* mem;
    gr_mpi_rank* r = rank_of(ctx, &mem);
    NEED_RANK(r);
    if (!in_bounds(mem, msg, 4) || !status_ok(mem, st))
        return (uint32_t)GR_MPI_ERR_FAULT;
    gr_mpi_status s;
    memset(&s, 0, sizeof s);
    int32_t h = -1;
    int rc = gr_mpi_rank_mprobe(
      r, (int32_t)src, (int32_t)tag, (int32_t)cx, blocking != 0, &h, &s);
    if (rc == 1) {
        put_i32(mem, msg, h);
        put_status(mem, st, &s);
    }
    return result(rc);
}

uint32_t
Z_granary_mpiZ_mrecv(inst_t* ctx,
                     uint32_t buf,
                     uint32_t len,
                     uint32_t msg,
                     uint32_t st)
{
    wasm_rt_memory_t* mem;
    gr_mpi_rank* r = rank_of(ctx, &mem);
    NEED_RANK(r);
    if ((int32_t)len < 0 || !in_bounds(mem, buf, len) || !status_ok(mem, st))
        return (uint32_t)GR_MPI_ERR_FAULT;
    gr_mpi_status s;
    memset(&s, 0, sizeof s);
    int rc = gr_mpi_rank_mrecv(r, mem->data + buf, len, (int32_t)msg, &s);
    if (rc == 0 || rc == GR_MPI_ERR_TRUNCATE)
        put_status(mem, st, &s);
    return result(rc);
}

uint32_t
Z_granary_mpiZ_imrecv(inst_t* ctx, uint32_t buf, uint32_t len, uint32_t msg)
{
    wasm_rt_memory_t* mem;
    gr_mpi_rank* r = rank_of(ctx, &mem);
    NEED_RANK(r);
    if ((int32_t)len < 0 || !in_bounds(mem, buf, len))
        return (uint32_t)GR_MPI_ERR_FAULT;
    int32_t req = -1;
    int rc = gr_mpi_rank_imrecv(r, mem->data + buf, len, (int32_t)msg, &req);
    return result(rc < 0 ? rc : req);
}

void
Z_granary_mpiZ_abort(inst_t* ctx, uint32_t code)
{
    wasm_rt_memory_t* mem;
    gr_mpi_rank* r = rank_of(ctx, &mem);
    int c = (int32_t)code;
    if (r)
        gr_mpi_world_fail(gr_mpi_rank_world(r),
                          gr_mpi_rank_index(r),
                          GR_MPI_FAIL_ABORT,
                          c,
                          NULL);
    /* the rank's call ends as an exit; the world records it as an abort */
    gr_rt_raise(GR_TRAP_EXIT, c ? c : 1);
}

uint32_t
Z_granary_mpiZ_finalize(inst_t* ctx)
{
    wasm_rt_memory_t* mem;
    gr_mpi_rank* r = rank_of(ctx, &mem);
    NEED_RANK(r);
    return (uint32_t)gr_mpi_rank_finalize(r);
}
