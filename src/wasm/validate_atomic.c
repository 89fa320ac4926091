/* SPDX-License-Identifier: Apache-2.0 */
/* Threads (the 0xfe prefix): wait/notify, fence, atomic loads, stores,
 * read-modify-write and cmpxchg. An atomic access's alignment must equal
 * its size exactly. */
#include "wasm/wasm_int.h"

enum
{
    I = GR_WASM_I32,
    L = GR_WASM_I64,
};

static int
apply(gr_wasm_fn* v, int n, uint8_t a, uint8_t b, uint8_t c, uint8_t out)
{
    gr_wasm_sig s = { (uint8_t)n, { a, b, c }, out };
    return gr__wasm_apply(v, &s);
}

int
gr__wasm_atomic(gr_wasm_fn* v, uint32_t sub, gr_wasm_instr* in)
{
    /* The seven widths of each load/store/RMW group, in opcode order:
     * i32, i64, i32 8-bit, i32 16-bit, i64 8-bit, i64 16-bit, i64 32-bit. */
    static const uint8_t width_type[7] = { I, L, I, I, L, L, L };
    static const uint8_t width_align[7] = { 2, 3, 0, 1, 0, 1, 2 };
    gr_wasm_ctx* c = v->c;
    if (sub > 0x4e || (sub > 0x03 && sub < 0x10))
        return GR__MALFORMED(c, v->at, "illegal opcode 0xfe 0x%x", sub);
    in->op = (uint16_t)GR_WASM_OP_FE(sub);
    if (sub == 0x03) {
        size_t at = c->pos;
        uint8_t b;
        if (gr__wasm_u8(c, &b) < 0)
            return -1;
        if (b != 0)
            return GR__MALFORMED(c, at, "zero byte expected");
        return 0;
    }
    uint32_t natural;
    uint8_t t;
    if (sub <= 0x02) {
        natural = sub == 0x02 ? 3 : 2;
        t = sub == 0x02 ? L : I;
    } else {
        unsigned w = (sub - 0x10) % 7;
        natural = width_align[w];
        t = width_type[w];
    }
    if (gr__wasm_memarg(c, natural, true, in) < 0 ||
        gr__wasm_need_memory(v) < 0)
        return -1;
    in->type = t;
    switch (sub) {
        case 0x00: /* memory.atomic.notify: addr, count -> woken */
            return apply(v, 2, I, I, 0, I);
        case 0x01: /* memory.atomic.wait32: addr, expected, timeout */
            return apply(v, 3, I, I, L, I);
        case 0x02: /* memory.atomic.wait64 */
            return apply(v, 3, I, L, L, I);
        default:
            break;
    }
    if (sub <= 0x16) /* loads */
        return apply(v, 1, I, 0, 0, t);
    if (sub <= 0x1d) /* stores */
        return apply(v, 2, I, t, 0, 0);
    if (sub <= 0x47) /* add, sub, and, or, xor, xchg */
        return apply(v, 2, I, t, 0, t);
    return apply(v, 3, I, t, t, t); /* cmpxchg */
}
