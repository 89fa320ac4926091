/* SPDX-License-Identifier: Apache-2.0 */
/* Small helpers shared by the codegen half of the engine: a growable text
 * buffer, error formatting, the list of a module's imports and the wasm
 * spelling of a signature for error messages. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "engine/codegen.h"
#include "util/alloc.h"

void
gr__codegen_buf_add(struct gr__codegen_buf* b, const char* s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n + 1)
            cap *= 2;
        char* d = gr_realloc(b->data, cap);
        if (!d) {
            b->oom = 1;
            return;
        }
        b->data = d;
        b->cap = cap;
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = 0;
}

void
gr__codegen_buf_puts(struct gr__codegen_buf* b, const char* s)
{
    gr__codegen_buf_add(b, s, strlen(s));
}

void
gr__codegen_buf_printf(struct gr__codegen_buf* b, const char* fmt, ...)
{
    char small[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->oom = 1;
        return;
    }
    if ((size_t)n < sizeof small) {
        gr__codegen_buf_add(b, small, (size_t)n);
        return;
    }
    char* big = gr_malloc((size_t)n + 1);
    if (!big) {
        b->oom = 1;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    gr__codegen_buf_add(b, big, (size_t)n);
    gr_free(big);
}

void
gr__codegen_buf_fini(struct gr__codegen_buf* b)
{
    gr_free(b->data);
    memset(b, 0, sizeof *b);
}

int
gr__codegen_err(int rc, char* err, size_t errlen, const char* fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return rc;
}

void
gr__codegen_info_fini(struct gr__codegen_info* info)
{
    for (size_t i = 0; i < info->n_imports; i++) {
        gr_free(info->imports[i].module);
        gr_free(info->imports[i].name);
    }
    gr_free(info->imports);
    memset(info, 0, sizeof *info);
}

static const char*
type_name(char c)
{
    switch (c) {
        case 'i':
            return "i32";
        case 'I':
            return "i64";
        case 'f':
            return "f32";
        case 'F':
            return "f64";
        default:
            return "?";
    }
}

void
gr__codegen_sig_describe(const char* sig, char* out, size_t cap)
{
    struct gr__codegen_buf b = { 0 };
    const char* arrow = strchr(sig, '>');
    size_t np = arrow ? (size_t)(arrow - sig) : strlen(sig);
    const char* res = arrow ? arrow + 1 : "";
    size_t nr = strlen(res);
    gr__codegen_buf_puts(&b, "(");
    for (size_t i = 0; i < np; i++)
        gr__codegen_buf_printf(&b, "%s%s", i ? ", " : "", type_name(sig[i]));
    gr__codegen_buf_puts(&b, ") -> ");
    if (nr == 1) {
        gr__codegen_buf_puts(&b, type_name(res[0]));
    } else {
        gr__codegen_buf_puts(&b, "(");
        for (size_t i = 0; i < nr; i++)
            gr__codegen_buf_printf(
              &b, "%s%s", i ? ", " : "", type_name(res[i]));
        gr__codegen_buf_puts(&b, ")");
    }
    snprintf(out, cap, "%s", b.oom || !b.data ? sig : b.data);
    gr__codegen_buf_fini(&b);
}
