/* SPDX-License-Identifier: Apache-2.0 */
/* Byte-level reading of the binary format: LEB128 integers with exactly the
 * spec's limits on length and unused bits, UTF-8 names, value types, memory
 * arguments; the module arena and error messages. */
#include "wasm/wasm_int.h"

#include "granary/status.h"
#include "util/alloc.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

struct gr_wasm_arena
{
    struct gr_wasm_arena* next;
    size_t used, cap;
    max_align_t data[];
};

#define ARENA_CHUNK (64u * 1024u)

void*
gr__wasm_arena_alloc(gr_wasm_arena** a, size_t n)
{
    n = (n + sizeof(max_align_t) - 1) & ~(sizeof(max_align_t) - 1);
    if (n == 0)
        n = sizeof(max_align_t);
    gr_wasm_arena* h = *a;
    if (h == NULL || h->cap - h->used < n) {
        size_t cap = n > ARENA_CHUNK ? n : ARENA_CHUNK;
        gr_wasm_arena* c = gr_malloc(sizeof(*c) + cap);
        if (c == NULL)
            return NULL;
        c->used = 0;
        c->cap = cap;
        /* A big block gets its own chunk behind the current one, so the
         * current chunk's free space stays usable. */
        if (h != NULL && cap > ARENA_CHUNK) {
            c->next = h->next;
            h->next = c;
        } else {
            c->next = h;
            *a = c;
        }
        h = c;
    }
    void* p = (char*)h->data + h->used;
    h->used += n;
    memset(p, 0, n);
    return p;
}

void
gr__wasm_arena_free(gr_wasm_arena* a)
{
    while (a != NULL) {
        gr_wasm_arena* n = a->next;
        gr_free(a);
        a = n;
    }
}

int
gr__wasm_fail(gr_wasm_ctx* c, int kind, size_t at, const char* fmt, ...)
{
    if (c->failed)
        return -1;
    c->failed = true;
    c->status = GR_EINVALID_MODULE;
    if (c->err == NULL)
        return -1;
    gr_wasm_error* e = c->err;
    e->kind = kind;
    e->offset = (uint32_t)at;
    e->func = c->func;
    char msg[192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (c->section != NULL && c->func != UINT32_MAX)
        snprintf(e->message,
                 sizeof(e->message),
                 "%s, function %u, offset 0x%zx: %s",
                 c->section,
                 c->func,
                 at,
                 msg);
    else if (c->section != NULL)
        snprintf(e->message,
                 sizeof(e->message),
                 "%s, offset 0x%zx: %s",
                 c->section,
                 at,
                 msg);
    else
        snprintf(e->message, sizeof(e->message), "offset 0x%zx: %s", at, msg);
    return -1;
}

int
gr__wasm_nomem(gr_wasm_ctx* c)
{
    if (!c->failed) {
        c->failed = true;
        c->status = -ENOMEM;
        if (c->err != NULL) {
            c->err->kind = GR_WASM_ERR_LIMIT;
            c->err->offset = (uint32_t)c->pos;
            c->err->func = c->func;
            snprintf(c->err->message, sizeof(c->err->message), "out of memory");
        }
    }
    return -1;
}

static int
unexpected_end(gr_wasm_ctx* c, size_t at)
{
    if (c->end < c->len)
        return GR__MALFORMED(c, at, "unexpected end of section or function");
    return GR__MALFORMED(c, at, "unexpected end");
}

int
gr__wasm_u8(gr_wasm_ctx* c, uint8_t* v)
{
    if (c->pos >= c->end)
        return unexpected_end(c, c->pos);
    *v = c->base[c->pos++];
    return 0;
}

/* LEB128 of at most `bits` bits, as the spec's uN/sN: each byte may carry
 * only as many payload bits as remain (the unused ones zero, or for signed
 * numbers copies of the sign), and there are at most ceil(bits / 7)
 * bytes. */
static int
leb(gr_wasm_ctx* c, int bits, bool sign, uint64_t* v)
{
    size_t start = c->pos;
    uint64_t r = 0;
    unsigned shift = 0;
    int n = bits;
    for (;;) {
        if (n <= 0)
            return GR__MALFORMED(c, start, "integer representation too long");
        if (c->pos >= c->end)
            return unexpected_end(c, c->pos);
        uint8_t b = c->base[c->pos++];
        if (n < 7) {
            if (sign) {
                uint8_t mask = (uint8_t)((0xffu << (n - 1)) & 0x7fu);
                if ((b & mask) != 0 && (b & mask) != mask)
                    return GR__MALFORMED(c, start, "integer too large");
            } else if ((b & 0x7fu) >= (1u << n)) {
                return GR__MALFORMED(c, start, "integer too large");
            }
        }
        r |= (uint64_t)(b & 0x7fu) << shift;
        shift += 7;
        n -= 7;
        if ((b & 0x80u) == 0) {
            if (sign && shift < 64 && (b & 0x40u))
                r |= ~UINT64_C(0) << shift;
            break;
        }
    }
    *v = r;
    return 0;
}

int
gr__wasm_u32(gr_wasm_ctx* c, uint32_t* v)
{
    uint64_t r;
    if (leb(c, 32, false, &r) < 0)
        return -1;
    *v = (uint32_t)r;
    return 0;
}

int
gr__wasm_s32(gr_wasm_ctx* c, int32_t* v)
{
    uint64_t r;
    if (leb(c, 32, true, &r) < 0)
        return -1;
    *v = (int32_t)(uint32_t)r;
    return 0;
}

int
gr__wasm_s33(gr_wasm_ctx* c, int64_t* v)
{
    uint64_t r;
    if (leb(c, 33, true, &r) < 0)
        return -1;
    *v = (int64_t)r;
    return 0;
}

int
gr__wasm_s64(gr_wasm_ctx* c, int64_t* v)
{
    uint64_t r;
    if (leb(c, 64, true, &r) < 0)
        return -1;
    *v = (int64_t)r;
    return 0;
}

int
gr__wasm_bytes(gr_wasm_ctx* c, size_t n, const uint8_t** p)
{
    if (c->end - c->pos < n)
        return GR__MALFORMED(c, c->pos, "unexpected end: %zu bytes needed", n);
    *p = c->base + c->pos;
    c->pos += n;
    return 0;
}

int
gr__wasm_count(gr_wasm_ctx* c, uint32_t min_elem_size, uint32_t* n)
{
    size_t at = c->pos;
    if (gr__wasm_u32(c, n) < 0)
        return -1;
    if ((uint64_t)*n * min_elem_size > c->end - c->pos)
        return GR__MALFORMED(c,
                             at,
                             "length out of bounds: %u items in %zu bytes",
                             *n,
                             c->end - c->pos);
    return 0;
}

bool
gr__wasm_is_reftype(uint8_t t)
{
    return t == GR_WASM_FUNCREF || t == GR_WASM_EXTERNREF;
}

bool
gr__wasm_is_valtype(uint8_t t)
{
    return (t >= GR_WASM_V128 && t <= GR_WASM_I32) || gr__wasm_is_reftype(t);
}

int
gr__wasm_valtype(gr_wasm_ctx* c, uint8_t* t)
{
    size_t at = c->pos;
    if (gr__wasm_u8(c, t) < 0)
        return -1;
    if (!gr__wasm_is_valtype(*t))
        return GR__MALFORMED(c, at, "malformed value type 0x%02x", *t);
    return 0;
}

int
gr__wasm_memarg(gr_wasm_ctx* c, uint32_t natural, bool exact, gr_wasm_instr* in)
{
    size_t at = c->pos;
    uint32_t align, offset;
    if (gr__wasm_u32(c, &align) < 0 || gr__wasm_u32(c, &offset) < 0)
        return -1;
    if (align >= 32)
        return GR__MALFORMED(
          c, at, "malformed memop flags: alignment 2^%u", align);
    if (exact && align != natural)
        return GR__INVALID(c,
                           at,
                           "atomic alignment must be natural (2^%u), got "
                           "2^%u",
                           natural,
                           align);
    if (align > natural)
        return GR__INVALID(c,
                           at,
                           "alignment must not be larger than natural (2^%u), "
                           "got 2^%u",
                           natural,
                           align);
    in->imm.mem.align = align;
    in->imm.mem.offset = offset;
    in->imm.mem.mem = 0;
    return 0;
}

const char*
gr_wasm_valtype_name(uint8_t t)
{
    switch (t) {
        case GR_WASM_I32:
            return "i32";
        case GR_WASM_I64:
            return "i64";
        case GR_WASM_F32:
            return "f32";
        case GR_WASM_F64:
            return "f64";
        case GR_WASM_V128:
            return "v128";
        case GR_WASM_FUNCREF:
            return "funcref";
        case GR_WASM_EXTERNREF:
            return "externref";
        default:
            return "unknown";
    }
}
