/* SPDX-License-Identifier: Apache-2.0 */
/* fd_readdir: full listings, resuming with cookies through small buffers
 * (including entries cut at the end of the buffer), types, errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "host/wasi/wasi.h"
#include "wasi_test_util.h"

#define NFILES 40
#define BUF 8192u
#define USED 600u

struct seen
{
    int count[NFILES + 3]; /* files, then ".", "..", "sub" */
    int dir_type_ok;
};

static void
make_files(tw* t)
{
    char name[64];
    for (int i = 0; i < NFILES; i++) {
        snprintf(name, sizeof(name), "file-with-a-longish-name-%02d", i);
        tw_write_file(tw_host(t, name, 0), "x");
    }
    assert_int_equal(mkdir(tw_host(t, "sub", 0), 0755), 0);
}

static void
note(struct seen* s, const char* name, size_t len, uint8_t type)
{
    char buf[128];
    assert_true(len < sizeof(buf));
    memcpy(buf, name, len);
    buf[len] = '\0';
    int i;
    if (strcmp(buf, ".") == 0)
        i = NFILES;
    else if (strcmp(buf, "..") == 0)
        i = NFILES + 1;
    else if (strcmp(buf, "sub") == 0) {
        i = NFILES + 2;
        s->dir_type_ok = type == GR_WASI_FT_DIRECTORY;
    } else {
        assert_int_equal(sscanf(buf, "file-with-a-longish-name-%d", &i), 1);
        assert_int_equal(type, GR_WASI_FT_REGULAR_FILE);
    }
    s->count[i]++;
}

/* Lists the whole directory with buffers of buf_len bytes, the way
 * wasi-libc does: parse whole entries, resume from the last one's d_next. */
static void
list_all(tw* t, uint32_t buf_len, struct seen* s)
{
    uint64_t cookie = 0;
    int guard = 0;
    memset(s, 0, sizeof(*s));
    for (;;) {
        assert_true(guard++ < 10000);
        assert_int_equal(
          gr_wasi_fd_readdir(
            t->w, &t->mem, TW_ROOT_FD, BUF, buf_len, cookie, USED),
          0);
        uint32_t used = tw_ld32(t, USED);
        assert_true(used <= buf_len);
        uint32_t pos = 0;
        int whole = 0;
        while (pos + 24 <= used) {
            uint32_t namlen = tw_ld32(t, BUF + pos + 16);
            if (pos + 24 + namlen > used)
                break; /* cut short: resume from here */
            note(s,
                 (char*)t->mem.data + BUF + pos + 24,
                 namlen,
                 t->mem.data[BUF + pos + 20]);
            cookie = tw_ld64(t, BUF + pos);
            pos += 24 + namlen;
            whole++;
        }
        if (used < buf_len)
            break;              /* end of directory */
        assert_true(whole > 0); /* buffers here always hold one entry */
    }
}

static void
test_readdir_full(void** state)
{
    tw* t = *state;
    struct seen s;
    make_files(t);
    list_all(t, 8000, &s);
    for (int i = 0; i < NFILES + 3; i++)
        assert_int_equal(s.count[i], 1);
    assert_true(s.dir_type_ok);
}

static void
test_readdir_small_buffers(void** state)
{
    tw* t = *state;
    struct seen s;
    make_files(t);
    /* 60 bytes holds one long entry (24 + 27) plus part of the next */
    static const uint32_t sizes[] = { 52, 60, 77, 128, 200 };
    for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
        list_all(t, sizes[k], &s);
        for (int i = 0; i < NFILES + 3; i++)
            assert_int_equal(s.count[i], 1);
    }
    /* a buffer too small for a header still reports it is full */
    assert_int_equal(
      gr_wasi_fd_readdir(t->w, &t->mem, TW_ROOT_FD, BUF, 10, 0, USED), 0);
    assert_int_equal(tw_ld32(t, USED), 10);
    assert_int_equal(
      gr_wasi_fd_readdir(t->w, &t->mem, TW_ROOT_FD, BUF, 0, 0, USED), 0);
    assert_int_equal(tw_ld32(t, USED), 0);
}

static void
test_readdir_errors(void** state)
{
    tw* t = *state;
    uint32_t fd;
    assert_int_equal(
      gr_wasi_fd_readdir(
        t->w, &t->mem, TW_ROOT_FD, TW_MEM_SIZE - 10, 20, 0, USED),
      GR_WASI_EFAULT);
    assert_int_equal(
      gr_wasi_fd_readdir(t->w, &t->mem, TW_ROOT_FD, 0xFFFFFFF0u, 0x20, 0, USED),
      GR_WASI_EFAULT);
    assert_int_equal(
      gr_wasi_fd_readdir(t->w, &t->mem, TW_ROOT_FD, BUF, 100, 0, TW_MEM_SIZE),
      GR_WASI_EFAULT);
    /* a huge guest buffer costs the host nothing extra */
    assert_int_equal(gr_wasi_fd_readdir(
                       t->w, &t->mem, TW_ROOT_FD, 0, TW_MEM_SIZE + 1, 0, USED),
                     GR_WASI_EFAULT);
    assert_int_equal(
      gr_wasi_fd_readdir(
        t->w, &t->mem, TW_ROOT_FD, 0, TW_MEM_SIZE - 4096, 0, TW_MEM_SIZE - 4),
      0);
    assert_int_equal(gr_wasi_fd_readdir(t->w, &t->mem, 1, BUF, 100, 0, USED),
                     GR_WASI_ENOTCAPABLE);
    tw_write_file(tw_host(t, "f", 0), "x");
    assert_int_equal(tw_open(t, "f", 0, &fd), 0);
    assert_int_equal(gr_wasi_fd_readdir(t->w, &t->mem, fd, BUF, 100, 0, USED),
                     GR_WASI_ENOTCAPABLE);
    assert_int_equal(gr_wasi_fd_readdir(t->w, &t->mem, 99, BUF, 100, 0, USED),
                     GR_WASI_EBADF);
    /* an opened directory lists too; without the right it cannot */
    assert_int_equal(mkdir(tw_host(t, "d", 0), 0755), 0);
    assert_int_equal(tw_open(t, "d", GR_WASI_O_DIRECTORY, &fd), 0);
    assert_int_equal(gr_wasi_fd_readdir(t->w, &t->mem, fd, BUF, 1000, 0, USED),
                     0);
    assert_int_equal(tw_ld32(t, USED), 2 * 24 + 1 + 2);
    assert_int_equal(
      gr_wasi_fd_fdstat_set_rights(t->w, &t->mem, fd, GR_WASI_R_PATH_OPEN, 0),
      0);
    assert_int_equal(gr_wasi_fd_readdir(t->w, &t->mem, fd, BUF, 1000, 0, USED),
                     GR_WASI_ENOTCAPABLE);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
          test_readdir_full, tw_setup, tw_teardown),
        cmocka_unit_test_setup_teardown(
          test_readdir_small_buffers, tw_setup, tw_teardown),
        cmocka_unit_test_setup_teardown(
          test_readdir_errors, tw_setup, tw_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
