/* SPDX-License-Identifier: Apache-2.0 */
/* API tokens (see tokens.h): parsing the token file, constant-time lookup,
 * and the locked, atomic rewrites behind `granary token`. */
#include "http/tokens.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/alloc.h"
#include "util/fs.h"
#include "util/text.h"

#define TOKEN_FILE_MAX (16u << 20)

int
gr_http_name_valid(const char* name, size_t len)
{
    if (len == 0 || len > GR_TOKEN_USER_MAX)
        return 0;
    if ((len == 1 && name[0] == '.') ||
        (len == 2 && name[0] == '.' && name[1] == '.'))
        return 0;
    for (size_t i = 0; i < len; i++) {
        char c = name[i];
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                 (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
        if (!ok)
            return 0;
    }
    return 1;
}

int
gr_token_decode(const char* hex, size_t len, uint8_t key[GR_TOKEN_BYTES])
{
    if (len != GR_TOKEN_HEX_LEN)
        return -EINVAL;
    int bad = 0;
    for (size_t i = 0; i < GR_TOKEN_BYTES; i++) {
        int hi = gr_hex_digit(hex[2 * i]);
        int lo = gr_hex_digit(hex[2 * i + 1]);
        bad |= (hi < 0) | (lo < 0);
        key[i] = (uint8_t)((hi & 0xf) << 4 | (lo & 0xf));
    }
    return bad ? -EINVAL : 0;
}

int
gr_token_equal(const uint8_t* a, const uint8_t* b, size_t len)
{
    /* Accumulate every difference; no early exit. The volatile stops the
     * compiler from turning this back into a short-circuiting memcmp. */
    volatile uint8_t acc = 0;
    for (size_t i = 0; i < len; i++)
        acc |= (uint8_t)(a[i] ^ b[i]);
    return acc == 0;
}

const gr_token_entry*
gr_tokens_find(const gr_tokens* t, const char* token, size_t len)
{
    uint8_t key[GR_TOKEN_BYTES];
    if (!t || gr_token_decode(token, len, key) < 0)
        return NULL;
    const gr_token_entry* hit = NULL;
    for (size_t i = 0; i < t->n; i++) {
        /* Visit every entry, whatever matched, so that timing does not
         * depend on the position of the match. */
        int eq = gr_token_equal(key, t->v[i].key, GR_TOKEN_BYTES);
        if (eq && !hit)
            hit = &t->v[i];
    }
    return hit;
}

static int
push_entry(gr_tokens* t, size_t* cap, const gr_token_entry* e)
{
    if (t->n == *cap) {
        size_t ncap = *cap ? *cap * 2 : 16;
        gr_token_entry* nv = gr_realloc(t->v, ncap * sizeof *nv);
        if (!nv)
            return -ENOMEM;
        t->v = nv;
        *cap = ncap;
    }
    t->v[t->n++] = *e;
    return 0;
}

/* Splits the next whitespace-separated field of [*p, end). */
static int
next_field(const char** p, const char* end, const char** f, size_t* flen)
{
    const char* s = *p;
    while (s < end && (*s == ' ' || *s == '\t' || *s == '\r'))
        s++;
    const char* e = s;
    while (e < end && *e != ' ' && *e != '\t' && *e != '\r')
        e++;
    *f = s;
    *flen = (size_t)(e - s);
    *p = e;
    return e > s;
}

int
gr_tokens_parse(const char* text,
                size_t len,
                gr_tokens* t,
                char* err,
                size_t errlen)
{
    size_t cap = 0;
    int rc = 0;
    int line = 0;
    const char* p = text;
    const char* end = text + len;
    *t = (gr_tokens){ 0 };
    while (p < end) {
        const char* nl = memchr(p, '\n', (size_t)(end - p));
        const char* le = nl ? nl : end;
        line++;
        const char* q = p;
        p = nl ? nl + 1 : end;
        const char* f[4];
        size_t fl[4];
        int nf = 0;
        while (nf < 4 && next_field(&q, le, &f[nf], &fl[nf]))
            nf++;
        if (nf == 0 || f[0][0] == '#')
            continue;
        gr_token_entry e = { 0 };
        if (nf < 2 || nf > 3) {
            snprintf(err, errlen, "line %d: want 'TOKEN USER [admin]'", line);
            rc = -EINVAL;
            goto fail;
        }
        if (gr_token_decode(f[0], fl[0], e.key) < 0) {
            snprintf(err,
                     errlen,
                     "line %d: a token is %d hex digits",
                     line,
                     GR_TOKEN_HEX_LEN);
            rc = -EINVAL;
            goto fail;
        }
        if (!gr_http_name_valid(f[1], fl[1])) {
            snprintf(err, errlen, "line %d: bad user name", line);
            rc = -EINVAL;
            goto fail;
        }
        memcpy(e.user, f[1], fl[1]);
        if (nf == 3) {
            if (fl[2] != 5 || memcmp(f[2], "admin", 5) != 0) {
                snprintf(
                  err, errlen, "line %d: third field must be 'admin'", line);
                rc = -EINVAL;
                goto fail;
            }
            e.admin = 1;
        }
        rc = push_entry(t, &cap, &e);
        if (rc < 0) {
            snprintf(err, errlen, "out of memory");
            goto fail;
        }
    }
    return 0;
fail:
    gr_tokens_fini(t);
    return rc;
}

int
gr_tokens_load(const char* path,
               gr_tokens* t,
               int* insecure,
               char* err,
               size_t errlen)
{
    uint8_t* data = NULL;
    size_t len = 0;
    struct stat st;
    *t = (gr_tokens){ 0 };
    if (insecure)
        *insecure = 0;
    int rc = gr_fs_read_file(path, TOKEN_FILE_MAX, &data, &len);
    if (rc == -ENOENT)
        return 0;
    if (rc < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(-rc));
        return rc;
    }
    if (insecure && stat(path, &st) == 0 && (st.st_mode & 077))
        *insecure = 1;
    rc = gr_tokens_parse((const char*)data, len, t, err, errlen);
    gr_free(data);
    return rc;
}

void
gr_tokens_fini(gr_tokens* t)
{
    if (!t)
        return;
    gr_free(t->v);
    *t = (gr_tokens){ 0 };
}

int
gr_token_generate(char hex[GR_TOKEN_HEX_LEN + 1])
{
    uint8_t raw[GR_TOKEN_BYTES];
    size_t got = 0;
    while (got < sizeof raw) {
        ssize_t n = getrandom(raw + got, sizeof raw - got, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        got += (size_t)n;
    }
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < sizeof raw; i++) {
        hex[2 * i] = digits[raw[i] >> 4];
        hex[2 * i + 1] = digits[raw[i] & 0xf];
    }
    hex[GR_TOKEN_HEX_LEN] = '\0';
    return 0;
}

/* Takes the lock that serialises rewrites of path. Returns an fd or
 * -errno. */
static int
lock_file(const char* path)
{
    char lp[4096];
    if (snprintf(lp, sizeof lp, "%s.lock", path) >= (int)sizeof lp)
        return -ENAMETOOLONG;
    int fd = open(lp, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return -errno;
    if (flock(fd, LOCK_EX) < 0) {
        int e = -errno;
        close(fd);
        return e;
    }
    return fd;
}

/* Replaces path with data: temp file (0600), fsync, rename. */
static int
write_private(const char* path, const char* data, size_t len)
{
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.XXXXXX", path) >= (int)sizeof tmp)
        return -ENAMETOOLONG;
    int fd = mkstemp(tmp);
    if (fd < 0)
        return -errno;
    int rc = 0;
    size_t off = 0;
    if (fchmod(fd, 0600) < 0) {
        rc = -errno;
        goto fail;
    }
    while (off < len) {
        ssize_t n = write(fd, data + off, len - off);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            rc = -errno;
            goto fail;
        }
        off += (size_t)n;
    }
    if (fsync(fd) < 0 || rename(tmp, path) < 0) {
        rc = -errno;
        goto fail;
    }
    close(fd);
    return 0;
fail:
    close(fd);
    unlink(tmp);
    return rc;
}

/* Makes the directory holding path (0700 for a fresh data dir is left to
 * the caller; tokens themselves are 0600). */
static int
ensure_parent(const char* path)
{
    char dir[4096];
    if (snprintf(dir, sizeof dir, "%s", path) >= (int)sizeof dir)
        return -ENAMETOOLONG;
    char* slash = strrchr(dir, '/');
    if (!slash || slash == dir)
        return 0;
    *slash = '\0';
    return gr_fs_mkdir_p(dir);
}

int
gr_tokens_file_add(const char* path,
                   const char* user,
                   int admin,
                   char hex[GR_TOKEN_HEX_LEN + 1])
{
    uint8_t* old = NULL;
    size_t old_len = 0;
    char* text = NULL;
    int lock = -1;
    if (!gr_http_name_valid(user, strlen(user)))
        return -EINVAL;
    int rc = ensure_parent(path);
    if (rc < 0)
        return rc;
    rc = lock = lock_file(path);
    if (rc < 0)
        return rc;
    rc = gr_fs_read_file(path, TOKEN_FILE_MAX, &old, &old_len);
    if (rc == -ENOENT) {
        rc = 0;
        old_len = 0;
    }
    if (rc < 0)
        goto fail;
    rc = gr_token_generate(hex);
    if (rc < 0)
        goto fail;
    size_t cap = old_len + GR_TOKEN_HEX_LEN + strlen(user) + 16;
    text = gr_malloc(cap);
    if (!text) {
        rc = -ENOMEM;
        goto fail;
    }
    size_t n = 0;
    if (old_len) {
        memcpy(text, old, old_len);
        n = old_len;
        if (text[n - 1] != '\n')
            text[n++] = '\n';
    }
    n += (size_t)snprintf(
      text + n, cap - n, "%s %s%s\n", hex, user, admin ? " admin" : "");
    rc = write_private(path, text, n);
fail:
    gr_free(old);
    gr_free(text);
    if (lock >= 0)
        close(lock);
    return rc;
}

int
gr_tokens_file_revoke(const char* path, const char* tok)
{
    uint8_t* old = NULL;
    size_t old_len = 0;
    char* text = NULL;
    size_t tlen = strlen(tok);
    int lock = lock_file(path);
    if (lock < 0)
        return lock;
    int rc = gr_fs_read_file(path, TOKEN_FILE_MAX, &old, &old_len);
    if (rc < 0)
        goto fail;
    text = gr_malloc(old_len + 1);
    if (!text) {
        rc = -ENOMEM;
        goto fail;
    }
    /* Two passes: count matches first so that an ambiguous prefix changes
     * nothing. */
    size_t matches = 0;
    int exact = 0;
    for (int pass = 0; pass < 2; pass++) {
        const char* p = (const char*)old;
        const char* end = p + old_len;
        size_t n = 0;
        while (p < end) {
            const char* nl = memchr(p, '\n', (size_t)(end - p));
            const char* le = nl ? nl + 1 : end;
            const char* s = p;
            while (s < le && (*s == ' ' || *s == '\t'))
                s++;
            size_t flen = 0;
            while (s + flen < le && s[flen] != ' ' && s[flen] != '\t' &&
                   s[flen] != '\n' && s[flen] != '\r')
                flen++;
            int hit = 0;
            if (*s != '#' && flen == GR_TOKEN_HEX_LEN) {
                if (tlen == flen && strncasecmp(s, tok, flen) == 0)
                    hit = 2;
                else if (tlen >= 8 && tlen < flen &&
                         strncasecmp(s, tok, tlen) == 0)
                    hit = 1;
            }
            if (pass == 0) {
                matches += hit != 0;
                exact |= hit == 2;
            } else if (!(exact ? hit == 2 : hit)) {
                memcpy(text + n, p, (size_t)(le - p));
                n += (size_t)(le - p);
            }
            p = le;
        }
        if (pass == 0) {
            if (matches == 0) {
                rc = -ENOENT;
                goto fail;
            }
            if (!exact && matches > 1) {
                rc = -EEXIST;
                goto fail;
            }
        } else {
            rc = write_private(path, text, n);
        }
    }
fail:
    gr_free(old);
    gr_free(text);
    close(lock);
    return rc;
}

int
gr_http_data_dir(const char* dir, char* buf, size_t len)
{
    int n;
    const char* e;
    if (dir && *dir)
        n = snprintf(buf, len, "%s", dir);
    else if ((e = getenv("GRANARY_DATA")) && *e)
        n = snprintf(buf, len, "%s", e);
    else if ((e = getenv("XDG_DATA_HOME")) && *e)
        n = snprintf(buf, len, "%s/granary", e);
    else if ((e = getenv("HOME")) && *e)
        n = snprintf(buf, len, "%s/.local/share/granary", e);
    else
        return -ENOENT;
    return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}
