/* SPDX-License-Identifier: Apache-2.0 */
/* Fixture helpers for the WASI unit tests (see wasi_test_util.h). */
#include "wasi_test_util.h"

#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static size_t
cap_out(void* ud, const void* buf, size_t n)
{
    tw* t = ud;
    if (t->out_len + n <= sizeof(t->out)) {
        memcpy(t->out + t->out_len, buf, n);
        t->out_len += n;
    }
    return n;
}

static size_t
cap_err(void* ud, const void* buf, size_t n)
{
    tw* t = ud;
    if (t->err_len + n <= sizeof(t->err)) {
        memcpy(t->err + t->err_len, buf, n);
        t->err_len += n;
    }
    return n;
}

void
tw_write_file(const char* path, const char* content)
{
    FILE* f = fopen(path, "w");
    if (!f)
        abort();
    fputs(content, f);
    fclose(f);
}

int
tw_setup_with(void** state, int stdin_fd, int listen_fd)
{
    tw* t = calloc(1, sizeof(*t));
    if (!t)
        return -1;
    strcpy(t->base, "/tmp/grwasi.XXXXXX");
    if (!mkdtemp(t->base))
        return -1;
    snprintf(t->root, sizeof(t->root), "%s/root", t->base);
    snprintf(t->outside, sizeof(t->outside), "%s/outside", t->base);
    if (mkdir(t->root, 0755) || mkdir(t->outside, 0755))
        return -1;
    char p[512];
    snprintf(p, sizeof(p), "%s/secret", t->outside);
    tw_write_file(p, "top secret");
    snprintf(p, sizeof(p), "%s/secret", t->base);
    tw_write_file(p, "base secret");

    t->mem.data = calloc(1, TW_MEM_SIZE);
    t->mem.pages = TW_MEM_SIZE / 65536;
    t->mem.max_pages = t->mem.pages;
    t->mem.size = TW_MEM_SIZE;
    static const char* const argv[] = { "prog", "a b", "" };
    static const char* const envp[] = { "K=V", "EMPTY=" };
    gr_wasi_preopen pre = { t->root, "/" };
    gr_wasi_config cfg = {
        .argc = 3,
        .argv = argv,
        .envc = 2,
        .envp = envp,
        .n_preopens = 1,
        .preopens = &pre,
        .stdin_fd = stdin_fd,
        .stdin_buf = stdin_fd < 0 ? "input!" : NULL,
        .stdin_len = 6,
        .out = { .host_fd = -1, .write = cap_out, .ud = t },
        .err = { .host_fd = -1, .write = cap_err, .ud = t },
        .n_listen_fds = listen_fd >= 0 ? 1 : 0,
        .listen_fds = &listen_fd,
    };
    if (gr_wasi_create(&cfg, &t->w) != 0)
        return -1;
    *state = t;
    return 0;
}

int
tw_setup(void** state)
{
    return tw_setup_with(state, -1, -1);
}

static int
rm_one(const char* path, const struct stat* st, int flag, struct FTW* ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

int
tw_teardown(void** state)
{
    tw* t = *state;
    gr_wasi_destroy(t->w);
    nftw(t->base, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    free(t->mem.data);
    free(t);
    return 0;
}

uint32_t
tw_put(tw* t, uint32_t off, const char* s)
{
    size_t n = strlen(s);
    memcpy(t->mem.data + off, s, n);
    return (uint32_t)n;
}

void
tw_iov(tw* t, uint32_t off, uint32_t buf, uint32_t len)
{
    memcpy(t->mem.data + off, &buf, 4);
    memcpy(t->mem.data + off + 4, &len, 4);
}

uint32_t
tw_ld32(tw* t, uint32_t off)
{
    uint32_t v;
    memcpy(&v, t->mem.data + off, 4);
    return v;
}

uint64_t
tw_ld64(tw* t, uint32_t off)
{
    uint64_t v;
    memcpy(&v, t->mem.data + off, 8);
    return v;
}

uint16_t
tw_ld16(tw* t, uint32_t off)
{
    uint16_t v;
    memcpy(&v, t->mem.data + off, 2);
    return v;
}

const char*
tw_host(tw* t, const char* rel, int slot)
{
    static char buf[2][600];
    snprintf(buf[slot], sizeof(buf[slot]), "%s/%s", t->root, rel);
    return buf[slot];
}

uint32_t
tw_open(tw* t, const char* path, uint32_t oflags, uint32_t* fd)
{
    uint32_t n = tw_put(t, TW_PATH_OFF, path);
    /* Like wasi-libc: a directory open never asks for the write right. */
    uint64_t rights = oflags & GR_WASI_O_DIRECTORY
                        ? GR_WASI_R_ALL & ~(uint64_t)GR_WASI_R_FD_WRITE
                        : GR_WASI_R_ALL;
    uint32_t r = gr_wasi_path_open(t->w,
                                   &t->mem,
                                   TW_ROOT_FD,
                                   1,
                                   TW_PATH_OFF,
                                   n,
                                   oflags,
                                   rights,
                                   GR_WASI_R_ALL,
                                   0,
                                   TW_OUT_OFF);
    if (r == 0)
        *fd = tw_ld32(t, TW_OUT_OFF);
    return r;
}
