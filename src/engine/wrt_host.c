/* SPDX-License-Identifier: Apache-2.0 */
/* The engine's half of the runtime that objects of Granary's own code
 * generator call (src/wasm/wrt.h): traps leave through the engine's trap
 * frames (gr_rt_raise), and linear memories are the engine's pooled 8 GiB
 * reservations (rt_memory.c), seen through the wasm_rt_memory_t layout the
 * first fields of wrt_memory share. Tables and wait/notify are
 * src/wasm/wrt_shared.c. Call depth (wrt_depth) is defined and restored on
 * unwind by rt.c. */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "engine/rt.h"
#include "wasm/wrt.h"

_Static_assert(offsetof(wrt_memory, base) == offsetof(wasm_rt_memory_t, data),
               "wrt_memory.base");
_Static_assert(offsetof(wrt_memory, pages) == offsetof(wasm_rt_memory_t, pages),
               "wrt_memory.pages");
_Static_assert(offsetof(wrt_memory, max) ==
                 offsetof(wasm_rt_memory_t, max_pages),
               "wrt_memory.max");
_Static_assert(offsetof(wrt_memory, size) == offsetof(wasm_rt_memory_t, size),
               "wrt_memory.size");

static enum gr_trap_kind
trap_kind(int kind)
{
    switch (kind) {
        case WRT_TRAP_UNREACHABLE:
            return GR_TRAP_UNREACHABLE;
        case WRT_TRAP_OOB:
        case WRT_TRAP_TABLE_OOB:
        case WRT_TRAP_UNALIGNED:
        case WRT_TRAP_NOT_SHARED:
            return GR_TRAP_OOB;
        case WRT_TRAP_DIV_ZERO:
            return GR_TRAP_DIV_BY_ZERO;
        case WRT_TRAP_INT_OVERFLOW:
            return GR_TRAP_INT_OVERFLOW;
        case WRT_TRAP_INVALID_CONV:
            return GR_TRAP_INVALID_CONVERSION;
        case WRT_TRAP_UNDEF_ELEM:
        case WRT_TRAP_UNINIT_ELEM:
        case WRT_TRAP_SIG_MISMATCH:
            return GR_TRAP_CALL_INDIRECT;
        case WRT_TRAP_EXHAUSTION:
            return GR_TRAP_EXHAUSTION;
        case WRT_TRAP_OOM:
            return GR_TRAP_OOM;
        default:
            return GR_TRAP_HOST;
    }
}

void
wrt_trap(int kind)
{
    gr_rt_raise(trap_kind(kind), 0);
}

/* A wait of a guest thread ends at its call's deadline, or at once when
 * the call is being ended (gr_rt_cancel brings the deadline forward), and
 * then leaves the call as a timeout. */
uint64_t
wrt_wait_deadline(void)
{
    return gr_rt_deadline();
}

void
wrt_wait_expired(void)
{
    gr_rt_check_deadline();
}

void
wrt_mem_check_slow(const wrt_memory* m, uint64_t end)
{
    /* Another thread may have grown a shared memory since the caller read
     * the size into its local. */
    if (end > wrt_msize(m))
        wrt_trap(WRT_TRAP_OOB);
}

int
wrt_memory_init(wrt_memory* m,
                uint32_t min,
                uint32_t max,
                bool has_max,
                bool shared)
{
    memset(m, 0, sizeof *m);
    /* Clamped by the instance's page limit (gr_rt_set_page_limit); traps
     * with GR_TRAP_OOM when the reservation cannot be had. */
    wasm_rt_allocate_memory(
      (wasm_rt_memory_t*)m, min, has_max && max < 65536u ? max : 65536u);
    m->has_max = has_max;
    m->shared = shared;
    return 0;
}

void
wrt_memory_fini(wrt_memory* m)
{
    if (m->base)
        wasm_rt_free_memory((wasm_rt_memory_t*)m);
}

uint32_t
wrt_memory_grow(wrt_memory* m, uint32_t delta)
{
    return wasm_rt_grow_memory((wasm_rt_memory_t*)m, delta);
}
