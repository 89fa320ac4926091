/* SPDX-License-Identifier: Apache-2.0 */
/* Routing of the HTTP API (see route.h). The API is small and fixed, so a
 * hand-written split of the path beats a routing table. */
#include "http/route.h"

#include <errno.h>
#include <string.h>

#include "util/text.h"

#define MAX_SEGMENTS 4
/* Longest decoded segment kept: a name's limit plus one, so that anything
 * longer still fails the name check. */
#define SEG_MAX (GR_TOKEN_USER_MAX + 1)

typedef struct seg
{
    const char* p; /* decoded: points at buf */
    size_t len;
    char buf[SEG_MAX];
} seg;

/* Percent-decodes one raw segment into s. Every decoded byte is kept,
 * NUL and '/' included, so that the name check rejects them rather than
 * the path being cut or re-split. A segment longer than SEG_MAX decoded
 * bytes is kept at SEG_MAX (it fails every check). Returns 0, or -1 on a
 * malformed escape. */
static int
decode(const char* p, size_t len, seg* s)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        char c = p[i];
        if (c == '%') {
            if (len - i < 3)
                return -1;
            int hi = gr_hex_digit(p[i + 1]), lo = gr_hex_digit(p[i + 2]);
            if (hi < 0 || lo < 0)
                return -1;
            c = (char)(hi << 4 | lo);
            i += 2;
        }
        if (n < SEG_MAX)
            s->buf[n++] = c;
    }
    s->p = s->buf;
    s->len = n;
    return 0;
}

/* Splits "/a/b/c" (raw, percent-encoded) into decoded segments; returns
 * how many, 0 for "/", -1 if there are too many or the path is malformed
 * (no leading slash, empty segment), or -2 on a bad escape. */
static int
split(const char* path, seg* s)
{
    if (path[0] != '/')
        return -1;
    size_t len = strlen(path);
    if (len > 1 && path[len - 1] == '/')
        len--;
    const char* p = path + 1;
    const char* end = path + len;
    int n = 0;
    if (p >= end)
        return 0;
    for (;;) {
        const char* q = memchr(p, '/', (size_t)(end - p));
        const char* e = q ? q : end;
        if (e == p || n == MAX_SEGMENTS)
            return -1;
        if (decode(p, (size_t)(e - p), &s[n]) < 0)
            return -2;
        n++;
        if (!q)
            return n;
        p = q + 1;
    }
}

static int
seg_is(const seg* s, const char* lit)
{
    size_t n = strlen(lit);
    return s->len == n && memcmp(s->p, lit, n) == 0;
}

static int
copy_name(const seg* s, char* out)
{
    if (!gr_http_name_valid(s->p, s->len))
        return -EINVAL;
    memcpy(out, s->p, s->len);
    out[s->len] = '\0';
    return 0;
}

static int
parse_id(const seg* s, uint64_t* id)
{
    uint64_t v = 0;
    if (s->len == 0 || s->len > 20)
        return -EINVAL;
    for (size_t i = 0; i < s->len; i++) {
        char c = s->p[i];
        if (c < '0' || c > '9')
            return -EINVAL;
        uint64_t d = (uint64_t)(c - '0');
        if (v > (UINT64_MAX - d) / 10)
            return -EINVAL;
        v = v * 10 + d;
    }
    if (v == 0)
        return -EINVAL;
    *id = v;
    return 0;
}

static int
method_is(const char* m, const char* lit)
{
    return strcmp(m, lit) == 0;
}

static int
is_get(const char* m)
{
    return method_is(m, "GET") || method_is(m, "HEAD");
}

int
gr_http_route_match(const char* method, const char* path, gr_http_route* r)
{
    seg s[MAX_SEGMENTS];
    *r = (gr_http_route){ 0 };
    int n = split(path, s);
    if (n == -2)
        return -EINVAL;
    if (n <= 0)
        return -ENOENT;
    if (n == 1 && (seg_is(&s[0], "healthz") || seg_is(&s[0], "metrics") ||
                   seg_is(&s[0], "whoami") || seg_is(&s[0], "hosts"))) {
        r->action = seg_is(&s[0], "healthz")   ? GR_HTTP_HEALTHZ
                    : seg_is(&s[0], "metrics") ? GR_HTTP_METRICS
                    : seg_is(&s[0], "hosts")   ? GR_HTTP_HOSTS
                                               : GR_HTTP_WHOAMI;
        r->allow = "GET, HEAD";
        return is_get(method) ? 0 : -ENOTSUP;
    }
    if (seg_is(&s[0], "f") && n <= 3) {
        if (n >= 2 && copy_name(&s[1], r->user) < 0)
            return -EINVAL;
        if (n <= 2) {
            r->action = GR_HTTP_FN_LIST;
            r->allow = "GET, HEAD";
            return is_get(method) ? 0 : -ENOTSUP;
        }
        if (copy_name(&s[2], r->fn) < 0)
            return -EINVAL;
        r->allow = "GET, HEAD, PUT, POST, DELETE";
        if (is_get(method))
            r->action = GR_HTTP_FN_GET;
        else if (method_is(method, "PUT"))
            r->action = GR_HTTP_FN_UPLOAD;
        else if (method_is(method, "POST"))
            r->action = GR_HTTP_FN_INVOKE;
        else if (method_is(method, "DELETE"))
            r->action = GR_HTTP_FN_DELETE;
        else
            return -ENOTSUP;
        return 0;
    }
    if (seg_is(&s[0], "s") && n == 3) {
        if (copy_name(&s[1], r->user) < 0 || copy_name(&s[2], r->fn) < 0)
            return -EINVAL;
        r->allow = "GET, HEAD, PUT, DELETE";
        if (is_get(method))
            r->action = GR_HTTP_STATE_GET;
        else if (method_is(method, "PUT"))
            r->action = GR_HTTP_STATE_PUT;
        else if (method_is(method, "DELETE"))
            r->action = GR_HTTP_STATE_DELETE;
        else
            return -ENOTSUP;
        return 0;
    }
    if (seg_is(&s[0], "calls") && n == 1) {
        r->action = GR_HTTP_CALL_POST;
        r->allow = "POST";
        return method_is(method, "POST") ? 0 : -ENOTSUP;
    }
    if (seg_is(&s[0], "calls") && n == 2) {
        if (parse_id(&s[1], &r->call_id) < 0)
            return -EINVAL;
        r->action = GR_HTTP_CALL_GET;
        r->allow = "GET, HEAD";
        return is_get(method) ? 0 : -ENOTSUP;
    }
    return -ENOENT;
}

int
gr_http_action_needs_auth(gr_http_action a)
{
    return a != GR_HTTP_HEALTHZ && a != GR_HTTP_METRICS;
}
