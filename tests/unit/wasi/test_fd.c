/* SPDX-License-Identifier: Apache-2.0 */
/* WASI fd_* calls: captured stdio, file I/O, positioning, status, rights,
 * renumber, close, reset, and EFAULT for every kind of bad guest pointer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "host/wasi/wasi.h"
#include "wasi_test_util.h"

#define IOV 512u
#define RES 600u

static void
test_stdout_capture(void** state)
{
    tw* t = *state;
    tw_put(t, 100, "hello ");
    tw_put(t, 200, "world");
    tw_iov(t, IOV, 100, 6);
    tw_iov(t, IOV + 8, 200, 5);
    assert_int_equal(gr_wasi_fd_write(t->w, &t->mem, 1, IOV, 2, RES), 0);
    assert_int_equal(tw_ld32(t, RES), 11);
    assert_int_equal(t->out_len, 11);
    assert_memory_equal(t->out, "hello world", 11);
    assert_int_equal(gr_wasi_fd_write(t->w, &t->mem, 2, IOV, 1, RES), 0);
    assert_int_equal(t->err_len, 6);
    assert_memory_equal(t->err, "hello ", 6);
    /* stdout cannot be read, stdin cannot be written, sinks cannot seek */
    assert_int_equal(gr_wasi_fd_read(t->w, &t->mem, 1, IOV, 1, RES),
                     GR_WASI_ENOTCAPABLE);
    assert_int_equal(gr_wasi_fd_write(t->w, &t->mem, 0, IOV, 1, RES),
                     GR_WASI_ENOTCAPABLE);
    assert_int_equal(gr_wasi_fd_seek(t->w, &t->mem, 1, 0, 0, RES),
                     GR_WASI_ENOTCAPABLE);
    assert_int_equal(gr_wasi_fd_fdstat_get(t->w, &t->mem, 1, 700), 0);
    assert_int_equal(t->mem.data[700], GR_WASI_FT_CHARACTER_DEVICE);
    assert_true(tw_ld64(t, 708) & GR_WASI_R_FD_WRITE);
    /* sinks can be replaced between calls */
    int p[2];
    assert_int_equal(pipe(p), 0);
    gr_wasi_sink s = { .host_fd = p[1] };
    assert_int_equal(gr_wasi_set_sink(t->w, 1, &s), 0);
    assert_int_equal(gr_wasi_fd_write(t->w, &t->mem, 1, IOV, 2, RES), 0);
    char got[16] = { 0 };
    assert_int_equal(read(p[0], got, sizeof(got)), 11);
    assert_string_equal(got, "hello world");
    assert_int_equal(t->out_len, 11);
    close(p[0]);
    close(p[1]);
}

static void
test_stdin(void** state)
{
    tw* t = *state;
    tw_iov(t, IOV, 100, 4);
    tw_iov(t, IOV + 8, 200, 10);
    assert_int_equal(gr_wasi_fd_read(t->w, &t->mem, 0, IOV, 2, RES), 0);
    assert_int_equal(tw_ld32(t, RES), 6);
    assert_memory_equal(t->mem.data + 100, "inpu", 4);
    assert_memory_equal(t->mem.data + 200, "t!", 2);
    assert_int_equal(gr_wasi_fd_read(t->w, &t->mem, 0, IOV, 2, RES), 0);
    assert_int_equal(tw_ld32(t, RES), 0);
    assert_int_equal(gr_wasi_set_stdin(t->w, "xy", 2), 0);
    assert_int_equal(gr_wasi_fd_read(t->w, &t->mem, 0, IOV, 1, RES), 0);
    assert_int_equal(tw_ld32(t, RES), 2);
    assert_int_equal(gr_wasi_reset_fds(t->w), 0);
    assert_int_equal(gr_wasi_fd_read(t->w, &t->mem, 0, IOV, 1, RES), 0);
    assert_int_equal(tw_ld32(t, RES), 2);
}

static void
test_iov_efault(void** state)
{
    tw* t = *state;
    uint32_t end = TW_MEM_SIZE;
    tw_iov(t, IOV, 100, 4);
    /* iovec array out of range, straddling, overflowing */
    assert_int_equal(gr_wasi_fd_write(t->w, &t->mem, 1, end, 1, RES),
                     GR_WASI_EFAULT);
    assert_int_equal(gr_wasi_fd_write(t->w, &t->mem, 1, end - 4, 1, RES),
                     GR_WASI_EFAULT);
    assert_int_equal(gr_wasi_fd_write(t->w, &t->mem, 1, 0xFFFFFFF8u, 2, RES),
                     GR_WASI_EFAULT);
    /* a buffer inside an iovec out of range / straddling / u32 overflow */
    tw_iov(t, IOV + 8, end - 2, 4);
    assert_int_equal(gr_wasi_fd_write(t->w, &t->mem, 1, IOV, 2, RES),
                     GR_WASI_EFAULT);
    tw_iov(t, IOV + 8, 0xFFFFFFF0u, 0x20);
    assert_int_equal(gr_wasi_fd_write(t->w, &t->mem, 1, IOV, 2, RES),
                     GR_WASI_EFAULT);
    assert_int_equal(gr_wasi_fd_read(t->w, &t->mem, 0, IOV, 2, RES),
                     GR_WASI_EFAULT);
    assert_int_equal(t->out_len, 0); /* nothing half-written */
    /* result pointer bad: nothing consumed from stdin */
    assert_int_equal(gr_wasi_fd_read(t->w, &t->mem, 0, IOV, 1, end - 3),
                     GR_WASI_EFAULT);
    assert_int_equal(gr_wasi_fd_read(t->w, &t->mem, 0, IOV, 1, RES), 0);
    assert_int_equal(tw_ld32(t, RES), 4);
    /* too many iovecs is EINVAL, not a huge host allocation */
    assert_int_equal(gr_wasi_fd_write(t->w, &t->mem, 1, 0, 100000, RES),
                     GR_WASI_EINVAL);
    assert_int_equal(gr_wasi_fd_write(t->w, &t->mem, 1, 0, 0xFFFFFFFFu, RES),
                     GR_WASI_EINVAL);
    /* zero iovecs at the very end is fine */
    assert_int_equal(gr_wasi_fd_write(t->w, &t->mem, 1, end, 0, RES), 0);
    assert_int_equal(tw_ld32(t, RES), 0);
    /* empty memory */
    assert_int_equal(gr_wasi_fd_write(t->w, NULL, 1, 0, 0, 0), GR_WASI_EFAULT);
}

static void
test_file_io(void** state)
{
    tw* t = *state;
    uint32_t fd;
    assert_int_equal(tw_open(t, "f.txt", GR_WASI_O_CREAT, &fd), 0);
    assert_int_equal(fd, 4);
    tw_put(t, 100, "0123456789");
    tw_iov(t, IOV, 100, 10);
    assert_int_equal(gr_wasi_fd_write(t->w, &t->mem, fd, IOV, 1, RES), 0);
    assert_int_equal(tw_ld32(t, RES), 10);
    assert_int_equal(gr_wasi_fd_tell(t->w, &t->mem, fd, RES), 0);
    assert_int_equal(tw_ld64(t, RES), 10);
    assert_int_equal(gr_wasi_fd_seek(t->w, &t->mem, fd, 2, 0, RES), 0);
    assert_int_equal(tw_ld64(t, RES), 2);
    assert_int_equal(gr_wasi_fd_seek(t->w, &t->mem, fd, (uint64_t)-1, 1, RES),
                     0);
    assert_int_equal(tw_ld64(t, RES), 1);
    assert_int_equal(gr_wasi_fd_seek(t->w, &t->mem, fd, (uint64_t)-3, 2, RES),
                     0);
    assert_int_equal(tw_ld64(t, RES), 7);
    assert_int_equal(gr_wasi_fd_seek(t->w, &t->mem, fd, 0, 3, RES),
                     GR_WASI_EINVAL);
    assert_int_equal(gr_wasi_fd_seek(t->w, &t->mem, fd, (uint64_t)-100, 0, RES),
                     GR_WASI_EINVAL);
    assert_int_equal(gr_wasi_fd_seek(t->w, &t->mem, fd, 0, 0, TW_MEM_SIZE - 7),
                     GR_WASI_EFAULT);
    tw_iov(t, IOV, 300, 3);
    assert_int_equal(gr_wasi_fd_seek(t->w, &t->mem, fd, 4, 0, RES), 0);
    assert_int_equal(gr_wasi_fd_read(t->w, &t->mem, fd, IOV, 1, RES), 0);
    assert_memory_equal(t->mem.data + 300, "456", 3);
    /* positioned I/O does not move the offset */
    assert_int_equal(gr_wasi_fd_pread(t->w, &t->mem, fd, IOV, 1, 8, RES), 0);
    assert_int_equal(tw_ld32(t, RES), 2);
    assert_memory_equal(t->mem.data + 300, "89", 2);
    tw_put(t, 100, "AB");
    tw_iov(t, IOV, 100, 2);
    assert_int_equal(gr_wasi_fd_pwrite(t->w, &t->mem, fd, IOV, 1, 0, RES), 0);
    assert_int_equal(gr_wasi_fd_tell(t->w, &t->mem, fd, RES), 0);
    assert_int_equal(tw_ld64(t, RES), 7);
    assert_int_equal(
      gr_wasi_fd_pread(t->w, &t->mem, fd, IOV, 1, (uint64_t)1 << 63, RES),
      GR_WASI_EINVAL);
    /* stat, truncate, times */
    assert_int_equal(gr_wasi_fd_filestat_get(t->w, &t->mem, fd, 700), 0);
    assert_int_equal(t->mem.data[716], GR_WASI_FT_REGULAR_FILE);
    assert_int_equal(tw_ld64(t, 732), 10);
    assert_int_equal(tw_ld64(t, 724), 1);
    assert_int_equal(gr_wasi_fd_filestat_set_size(t->w, &t->mem, fd, 3), 0);
    assert_int_equal(
      gr_wasi_fd_filestat_set_times(t->w,
                                    &t->mem,
                                    fd,
                                    5000000000ull,
                                    7000000000ull,
                                    GR_WASI_FST_ATIM | GR_WASI_FST_MTIM),
      0);
    struct stat st;
    assert_int_equal(stat(tw_host(t, "f.txt", 0), &st), 0);
    assert_int_equal(st.st_size, 3);
    assert_int_equal(st.st_mtim.tv_sec, 7);
    assert_int_equal(st.st_atim.tv_sec, 5);
    assert_int_equal(
      gr_wasi_fd_filestat_set_times(
        t->w, &t->mem, fd, 0, 0, GR_WASI_FST_ATIM | GR_WASI_FST_ATIM_NOW),
      GR_WASI_EINVAL);
    assert_int_equal(
      gr_wasi_fd_filestat_set_times(t->w, &t->mem, fd, 0, 0, 0x10),
      GR_WASI_EINVAL);
    assert_int_equal(
      gr_wasi_fd_filestat_get(t->w, &t->mem, fd, TW_MEM_SIZE - 63),
      GR_WASI_EFAULT);
    assert_int_equal(
      gr_wasi_fd_advise(t->w, &t->mem, fd, 0, 10, GR_WASI_ADVICE_SEQUENTIAL),
      0);
    assert_int_equal(gr_wasi_fd_advise(t->w, &t->mem, fd, 0, 10, 6),
                     GR_WASI_EINVAL);
    assert_int_equal(gr_wasi_fd_allocate(t->w, &t->mem, fd, 0, 100), 0);
    assert_int_equal(stat(tw_host(t, "f.txt", 0), &st), 0);
    assert_int_equal(st.st_size, 100);
    assert_int_equal(gr_wasi_fd_sync(t->w, &t->mem, fd), 0);
    assert_int_equal(gr_wasi_fd_datasync(t->w, &t->mem, fd), 0);
    assert_int_equal(gr_wasi_fd_close(t->w, &t->mem, fd), 0);
    assert_int_equal(gr_wasi_fd_close(t->w, &t->mem, fd), GR_WASI_EBADF);
    assert_int_equal(gr_wasi_fd_tell(t->w, &t->mem, fd, RES), GR_WASI_EBADF);
    assert_int_equal(gr_wasi_fd_write(t->w, &t->mem, 99, IOV, 1, RES),
                     GR_WASI_EBADF);
    assert_int_equal(gr_wasi_fd_write(t->w, &t->mem, 0xFFFFFFFFu, IOV, 1, RES),
                     GR_WASI_EBADF);
}

static void
test_fdstat_flags_rights(void** state)
{
    tw* t = *state;
    uint32_t fd;
    tw_write_file(tw_host(t, "g", 0), "abc");
    assert_int_equal(tw_open(t, "g", 0, &fd), 0);
    assert_int_equal(gr_wasi_fd_fdstat_get(t->w, &t->mem, fd, 700), 0);
    assert_int_equal(t->mem.data[700], GR_WASI_FT_REGULAR_FILE);
    assert_int_equal(tw_ld16(t, 702), 0);
    uint64_t base = tw_ld64(t, 708);
    assert_true(base & GR_WASI_R_FD_READ);
    assert_true(base & GR_WASI_R_FD_WRITE);
    assert_false(base & GR_WASI_R_PATH_OPEN); /* not a directory right */
    assert_int_equal(tw_ld64(t, 716), 0);
    /* append */
    assert_int_equal(
      gr_wasi_fd_fdstat_set_flags(t->w, &t->mem, fd, GR_WASI_FDFLAG_APPEND), 0);
    assert_int_equal(gr_wasi_fd_fdstat_get(t->w, &t->mem, fd, 700), 0);
    assert_int_equal(tw_ld16(t, 702), GR_WASI_FDFLAG_APPEND);
    tw_put(t, 100, "d");
    tw_iov(t, IOV, 100, 1);
    assert_int_equal(gr_wasi_fd_write(t->w, &t->mem, fd, IOV, 1, RES), 0);
    struct stat st;
    assert_int_equal(stat(tw_host(t, "g", 0), &st), 0);
    assert_int_equal(st.st_size, 4);
    assert_int_equal(gr_wasi_fd_fdstat_set_flags(t->w, &t->mem, fd, 0x20),
                     GR_WASI_EINVAL);
    assert_int_equal(gr_wasi_fd_fdstat_get(t->w, &t->mem, fd, TW_MEM_SIZE),
                     GR_WASI_EFAULT);
    /* rights can be dropped, then are enforced, and never regained */
    assert_int_equal(gr_wasi_fd_fdstat_set_rights(
                       t->w, &t->mem, fd, base & ~GR_WASI_R_FD_WRITE, 0),
                     0);
    assert_int_equal(gr_wasi_fd_write(t->w, &t->mem, fd, IOV, 1, RES),
                     GR_WASI_ENOTCAPABLE);
    assert_int_equal(gr_wasi_fd_pwrite(t->w, &t->mem, fd, IOV, 1, 0, RES),
                     GR_WASI_ENOTCAPABLE);
    assert_int_equal(gr_wasi_fd_fdstat_set_rights(t->w, &t->mem, fd, base, 0),
                     GR_WASI_ENOTCAPABLE);
    assert_int_equal(
      gr_wasi_fd_fdstat_set_rights(t->w, &t->mem, fd, GR_WASI_R_FD_READ, 0), 0);
    assert_int_equal(gr_wasi_fd_tell(t->w, &t->mem, fd, RES),
                     GR_WASI_ENOTCAPABLE);
    assert_int_equal(gr_wasi_fd_seek(t->w, &t->mem, fd, 1, 0, RES),
                     GR_WASI_ENOTCAPABLE);
    assert_int_equal(gr_wasi_fd_filestat_get(t->w, &t->mem, fd, 700),
                     GR_WASI_ENOTCAPABLE);
    assert_int_equal(gr_wasi_fd_filestat_set_size(t->w, &t->mem, fd, 0),
                     GR_WASI_ENOTCAPABLE);
    assert_int_equal(gr_wasi_fd_sync(t->w, &t->mem, fd), GR_WASI_ENOTCAPABLE);
    assert_int_equal(gr_wasi_fd_allocate(t->w, &t->mem, fd, 0, 1),
                     GR_WASI_ENOTCAPABLE);
    tw_iov(t, IOV, 300, 4);
    assert_int_equal(gr_wasi_fd_read(t->w, &t->mem, fd, IOV, 1, RES), 0);
    /* a file opened with read rights only is not writable on the host */
    uint32_t n = tw_put(t, TW_PATH_OFF, "g");
    assert_int_equal(gr_wasi_path_open(t->w,
                                       &t->mem,
                                       TW_ROOT_FD,
                                       0,
                                       TW_PATH_OFF,
                                       n,
                                       0,
                                       GR_WASI_R_FD_READ,
                                       0,
                                       0,
                                       TW_OUT_OFF),
                     0);
    uint32_t ro = tw_ld32(t, TW_OUT_OFF);
    assert_int_equal(gr_wasi_fd_fdstat_get(t->w, &t->mem, ro, 700), 0);
    assert_int_equal(tw_ld64(t, 708), GR_WASI_R_FD_READ);
    assert_int_equal(gr_wasi_fd_write(t->w, &t->mem, ro, IOV, 1, RES),
                     GR_WASI_ENOTCAPABLE);
}

static void
test_prestat(void** state)
{
    tw* t = *state;
    assert_int_equal(gr_wasi_fd_prestat_get(t->w, &t->mem, 3, 100), 0);
    assert_int_equal(t->mem.data[100], 0);
    assert_int_equal(tw_ld32(t, 104), 1);
    assert_int_equal(gr_wasi_fd_prestat_dir_name(t->w, &t->mem, 3, 200, 1), 0);
    assert_int_equal(t->mem.data[200], '/');
    assert_int_equal(gr_wasi_fd_prestat_dir_name(t->w, &t->mem, 3, 200, 0),
                     GR_WASI_ENAMETOOLONG);
    assert_int_equal(
      gr_wasi_fd_prestat_dir_name(t->w, &t->mem, 3, TW_MEM_SIZE, 1),
      GR_WASI_EFAULT);
    assert_int_equal(gr_wasi_fd_prestat_get(t->w, &t->mem, 3, TW_MEM_SIZE - 4),
                     GR_WASI_EFAULT);
    /* the end of the preopens: wasi-libc stops at the first EBADF */
    assert_int_equal(gr_wasi_fd_prestat_get(t->w, &t->mem, 4, 100),
                     GR_WASI_EBADF);
    assert_int_equal(gr_wasi_fd_prestat_get(t->w, &t->mem, 1, 100),
                     GR_WASI_EBADF);
    assert_int_equal(gr_wasi_fd_fdstat_get(t->w, &t->mem, 3, 700), 0);
    assert_int_equal(t->mem.data[700], GR_WASI_FT_DIRECTORY);
    assert_true(tw_ld64(t, 708) & GR_WASI_R_PATH_OPEN);
    assert_false(tw_ld64(t, 708) & GR_WASI_R_FD_READ);
    assert_int_equal(gr_wasi_fd_seek(t->w, &t->mem, 3, 0, 0, RES),
                     GR_WASI_ENOTCAPABLE);
    tw_iov(t, IOV, 300, 4);
    assert_int_equal(gr_wasi_fd_read(t->w, &t->mem, 3, IOV, 1, RES),
                     GR_WASI_ENOTCAPABLE);
}

static void
test_renumber_reset(void** state)
{
    tw* t = *state;
    uint32_t a, b;
    tw_write_file(tw_host(t, "a", 0), "AAAA");
    tw_write_file(tw_host(t, "b", 0), "BBBB");
    assert_int_equal(tw_open(t, "a", 0, &a), 0);
    assert_int_equal(tw_open(t, "b", 0, &b), 0);
    assert_int_equal(gr_wasi_fd_count(t->w), 6);
    assert_int_equal(gr_wasi_fd_renumber(t->w, &t->mem, a, 77), GR_WASI_EBADF);
    assert_int_equal(gr_wasi_fd_renumber(t->w, &t->mem, 77, a), GR_WASI_EBADF);
    assert_int_equal(gr_wasi_fd_renumber(t->w, &t->mem, a, a), 0);
    assert_int_equal(gr_wasi_fd_renumber(t->w, &t->mem, a, b), 0);
    assert_int_equal(gr_wasi_fd_count(t->w), 5);
    tw_iov(t, IOV, 300, 4);
    assert_int_equal(gr_wasi_fd_read(t->w, &t->mem, b, IOV, 1, RES), 0);
    assert_memory_equal(t->mem.data + 300, "AAAA", 4);
    assert_int_equal(gr_wasi_fd_close(t->w, &t->mem, a), GR_WASI_EBADF);
    /* the freed number is reused first */
    uint32_t c;
    assert_int_equal(tw_open(t, "a", 0, &c), 0);
    assert_int_equal(c, a);
    /* stdout renumbered over a file, then reset restores everything */
    assert_int_equal(gr_wasi_fd_renumber(t->w, &t->mem, 1, c), 0);
    assert_int_equal(gr_wasi_fd_close(t->w, &t->mem, 3), 0);
    assert_int_equal(gr_wasi_reset_fds(t->w), 0);
    assert_int_equal(gr_wasi_fd_count(t->w), 4);
    assert_int_equal(gr_wasi_fd_prestat_get(t->w, &t->mem, 3, 100), 0);
    assert_int_equal(gr_wasi_fd_tell(t->w, &t->mem, b, RES), GR_WASI_EBADF);
    tw_put(t, 100, "x");
    tw_iov(t, IOV, 100, 1);
    assert_int_equal(gr_wasi_fd_write(t->w, &t->mem, 1, IOV, 1, RES), 0);
    assert_int_equal(t->out_len, 1);
}

static void
test_fd_limit(void** state)
{
    tw* t = *state;
    uint32_t fd = 0, r = 0;
    tw_write_file(tw_host(t, "a", 0), "A");
    for (int i = 0; i < 2000 && r == 0; i++)
        r = tw_open(t, "a", 0, &fd);
    assert_int_equal(r, GR_WASI_EMFILE);
    assert_int_equal(gr_wasi_fd_count(t->w), 1024);
    assert_int_equal(gr_wasi_reset_fds(t->w), 0);
    assert_int_equal(gr_wasi_fd_count(t->w), 4);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
          test_stdout_capture, tw_setup, tw_teardown),
        cmocka_unit_test_setup_teardown(test_stdin, tw_setup, tw_teardown),
        cmocka_unit_test_setup_teardown(test_iov_efault, tw_setup, tw_teardown),
        cmocka_unit_test_setup_teardown(test_file_io, tw_setup, tw_teardown),
        cmocka_unit_test_setup_teardown(
          test_fdstat_flags_rights, tw_setup, tw_teardown),
        cmocka_unit_test_setup_teardown(test_prestat, tw_setup, tw_teardown),
        cmocka_unit_test_setup_teardown(
          test_renumber_reset, tw_setup, tw_teardown),
        cmocka_unit_test_setup_teardown(test_fd_limit, tw_setup, tw_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
