/* SPDX-License-Identifier: Apache-2.0 */
/* Threads (0xfe) instructions: atomic loads, stores, read-modify-write and
 * cmpxchg as sequentially consistent __atomic builtins on the linear
 * memory (bounds, then alignment checked: a misaligned access traps),
 * wait/notify through the runtime's wait queue, and the fence. */
#include "wasm/emit_int.h"

#include <inttypes.h>

static const char* const width_ctype[7] = { "uint32_t", "uint64_t", "uint8_t",
                                            "uint16_t", "uint8_t",  "uint16_t",
                                            "uint32_t" };
static const unsigned width_bytes[7] = { 4, 8, 1, 2, 1, 2, 4 };

int
gr__emit_atomic(gr_emit_fn* e, const gr_wasm_instr* in)
{
    unsigned sub = in->op & 0xff;
    FILE* o = e->out;
    uint32_t off = in->imm.mem.offset;
    uint8_t t = in->type;
    const char* rt = gr__emit_ctype(t);
    if (sub == 0x03) {
        fprintf(o, "__atomic_thread_fence(__ATOMIC_SEQ_CST);\n");
        return 0;
    }
    if (sub <= 0x02) {
        /* notify: addr count; wait: addr expected timeout */
        unsigned n = sub == 0 ? 2 : 3;
        char a[24], b[24], c[24] = "";
        snprintf(a, sizeof(a), "%s", gr__emit_top(e, n - 1));
        snprintf(b, sizeof(b), "%s", gr__emit_top(e, n - 2));
        if (n == 3)
            snprintf(c, sizeof(c), "%s", gr__emit_top(e, 0));
        gr__emit_drop(e, n);
        const char* r = gr__emit_push(e, GR_WASM_I32);
        if (sub == 0)
            fprintf(o,
                    "%s = wrt_notify(m0, (uint64_t)%s + %" PRIu32 "u, %s);\n",
                    r,
                    a,
                    off,
                    b);
        else
            fprintf(o,
                    "%s = wrt_wait%s(m0, (uint64_t)%s + %" PRIu32
                    "u, %s, (int64_t)%s);\n",
                    r,
                    sub == 1 ? "32" : "64",
                    a,
                    off,
                    b,
                    c);
        return 0;
    }
    if (sub < 0x10 || sub > 0x4e)
        return gr__emit_unsupported(e, in);
    unsigned w = (sub - 0x10) % 7;
    unsigned group =
      (sub - 0x10) / 7; /* load store add sub and or xor xchg cmpxchg */
    const char* wt = width_ctype[w];
    unsigned nb = width_bytes[w];
    unsigned nargs = group == 0 ? 1 : group == 8 ? 3 : 2;
    char a[24], v1[24] = "", v2[24] = "";
    snprintf(a, sizeof(a), "%s", gr__emit_top(e, nargs - 1));
    if (nargs >= 2)
        snprintf(v1, sizeof(v1), "%s", gr__emit_top(e, nargs - 2));
    if (nargs == 3)
        snprintf(v2, sizeof(v2), "%s", gr__emit_top(e, 0));
    gr__emit_drop(e, nargs);
    fprintf(o,
            "{ %s* p_ = wrt_atomic_at(m0, M, MS, (uint64_t)%s + %" PRIu32
            "u, %u); ",
            wt,
            a,
            off,
            nb);
    static const char* const rmw[] = {
        "__atomic_fetch_add", "__atomic_fetch_sub", "__atomic_fetch_and",
        "__atomic_fetch_or",  "__atomic_fetch_xor", "__atomic_exchange_n"
    };
    if (group == 0) {
        fprintf(o,
                "%s = (%s)__atomic_load_n(p_, __ATOMIC_SEQ_CST); }\n",
                gr__emit_push(e, t),
                rt);
    } else if (group == 1) {
        fprintf(
          o, "__atomic_store_n(p_, (%s)%s, __ATOMIC_SEQ_CST); }\n", wt, v1);
    } else if (group < 8) {
        fprintf(o,
                "%s = (%s)%s(p_, (%s)%s, __ATOMIC_SEQ_CST); }\n",
                gr__emit_push(e, t),
                rt,
                rmw[group - 2],
                wt,
                v1);
    } else {
        fprintf(
          o,
          "%s x_ = (%s)%s; __atomic_compare_exchange_n(p_, &x_, (%s)%s, 0, "
          "__ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST); ",
          wt,
          wt,
          v1,
          wt,
          v2);
        fprintf(o, "%s = (%s)x_; }\n", gr__emit_push(e, t), rt);
    }
    return 0;
}
