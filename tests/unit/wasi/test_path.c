/* SPDX-License-Identifier: Apache-2.0 */
/* WASI path_* calls inside the sandbox: success and error cases, symlink
 * follow/nofollow, trailing slashes and directory rights. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "host/wasi/wasi.h"
#include "wasi_test_util.h"

#define P TW_PATH_OFF
#define P2 TW_PATH2_OFF
#define O TW_OUT_OFF

static uint32_t
mkdir_g(tw* t, const char* path)
{
    uint32_t n = tw_put(t, P, path);
    return gr_wasi_path_create_directory(t->w, &t->mem, TW_ROOT_FD, P, n);
}

static void
test_dirs(void** state)
{
    tw* t = *state;
    struct stat st;
    assert_int_equal(mkdir_g(t, "d"), 0);
    assert_int_equal(stat(tw_host(t, "d", 0), &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    assert_int_equal(mkdir_g(t, "d"), GR_WASI_EEXIST);
    assert_int_equal(mkdir_g(t, "d/e/"), 0);
    assert_int_equal(mkdir_g(t, "x/y"), GR_WASI_ENOENT);
    assert_int_equal(mkdir_g(t, "."), GR_WASI_EEXIST);
    uint32_t n = tw_put(t, P, "d");
    assert_int_equal(
      gr_wasi_path_remove_directory(t->w, &t->mem, TW_ROOT_FD, P, n),
      GR_WASI_ENOTEMPTY);
    n = tw_put(t, P, "d/e/");
    assert_int_equal(
      gr_wasi_path_remove_directory(t->w, &t->mem, TW_ROOT_FD, P, n), 0);
    n = tw_put(t, P, ".");
    assert_int_equal(
      gr_wasi_path_remove_directory(t->w, &t->mem, TW_ROOT_FD, P, n),
      GR_WASI_EINVAL);
    tw_write_file(tw_host(t, "f", 0), "x");
    n = tw_put(t, P, "f");
    assert_int_equal(
      gr_wasi_path_remove_directory(t->w, &t->mem, TW_ROOT_FD, P, n),
      GR_WASI_ENOTDIR);
    n = tw_put(t, P, "d");
    assert_int_equal(gr_wasi_path_unlink_file(t->w, &t->mem, TW_ROOT_FD, P, n),
                     GR_WASI_EISDIR);
    n = tw_put(t, P, "f/");
    assert_int_equal(gr_wasi_path_unlink_file(t->w, &t->mem, TW_ROOT_FD, P, n),
                     GR_WASI_ENOTDIR);
    n = tw_put(t, P, "f");
    assert_int_equal(gr_wasi_path_unlink_file(t->w, &t->mem, TW_ROOT_FD, P, n),
                     0);
    assert_int_equal(access(tw_host(t, "f", 0), F_OK), -1);
    assert_int_equal(gr_wasi_path_unlink_file(t->w, &t->mem, TW_ROOT_FD, P, n),
                     GR_WASI_ENOENT);
    /* path calls need a directory descriptor */
    assert_int_equal(gr_wasi_path_create_directory(t->w, &t->mem, 1, P, n),
                     GR_WASI_ENOTDIR);
    assert_int_equal(gr_wasi_path_create_directory(t->w, &t->mem, 50, P, n),
                     GR_WASI_EBADF);
}

static void
test_open_flags(void** state)
{
    tw* t = *state;
    uint32_t fd;
    tw_write_file(tw_host(t, "f", 0), "hello");
    assert_int_equal(tw_open(t, "f", GR_WASI_O_CREAT | GR_WASI_O_EXCL, &fd),
                     GR_WASI_EEXIST);
    assert_int_equal(tw_open(t, "f", GR_WASI_O_DIRECTORY, &fd),
                     GR_WASI_ENOTDIR);
    assert_int_equal(tw_open(t, "f/", 0, &fd), GR_WASI_ENOTDIR);
    assert_int_equal(tw_open(t, "missing", 0, &fd), GR_WASI_ENOENT);
    assert_int_equal(tw_open(t, "f", 0x10, &fd), GR_WASI_EINVAL);
    assert_int_equal(tw_open(t, "f", GR_WASI_O_TRUNC, &fd), 0);
    struct stat st;
    assert_int_equal(stat(tw_host(t, "f", 0), &st), 0);
    assert_int_equal(st.st_size, 0);
    /* a directory opened for writing is EISDIR */
    assert_int_equal(mkdir(tw_host(t, "d", 0), 0755), 0);
    uint32_t n = tw_put(t, P, "d");
    assert_int_equal(
      gr_wasi_path_open(
        t->w, &t->mem, TW_ROOT_FD, 0, P, n, 0, GR_WASI_R_FD_WRITE, 0, 0, O),
      GR_WASI_EISDIR);
    /* ... also when O_DIRECTORY says so up front (wasi-testsuite's
     * path_open_preopen) */
    assert_int_equal(gr_wasi_path_open(t->w,
                                       &t->mem,
                                       TW_ROOT_FD,
                                       0,
                                       P,
                                       n,
                                       GR_WASI_O_DIRECTORY,
                                       GR_WASI_R_FD_READ | GR_WASI_R_FD_WRITE,
                                       0,
                                       0,
                                       O),
                     GR_WASI_EISDIR);
    assert_int_equal(tw_open(t, "d", GR_WASI_O_DIRECTORY, &fd), 0);
    assert_int_equal(gr_wasi_fd_fdstat_get(t->w, &t->mem, fd, 700), 0);
    assert_int_equal(t->mem.data[700], GR_WASI_FT_DIRECTORY);
    assert_false(tw_ld64(t, 708) & GR_WASI_R_FD_WRITE);
    assert_true(tw_ld64(t, 708) & GR_WASI_R_PATH_OPEN);
    /* symlinks: nofollow refuses, follow opens the target */
    assert_int_equal(symlink("f", tw_host(t, "lnk", 0)), 0);
    n = tw_put(t, P, "lnk");
    assert_int_equal(
      gr_wasi_path_open(
        t->w, &t->mem, TW_ROOT_FD, 0, P, n, 0, GR_WASI_R_FD_READ, 0, 0, O),
      GR_WASI_ELOOP);
    assert_int_equal(
      gr_wasi_path_open(
        t->w, &t->mem, TW_ROOT_FD, 1, P, n, 0, GR_WASI_R_FD_READ, 0, 0, O),
      0);
    /* rights: no PATH_CREATE_FILE on the dir -> cannot create */
    assert_int_equal(
      gr_wasi_fd_fdstat_set_rights(t->w,
                                   &t->mem,
                                   TW_ROOT_FD,
                                   GR_WASI_R_PATH_OPEN | GR_WASI_R_FD_READDIR,
                                   GR_WASI_R_FD_READ),
      0);
    assert_int_equal(tw_open(t, "new", GR_WASI_O_CREAT, &fd),
                     GR_WASI_ENOTCAPABLE);
    assert_int_equal(tw_open(t, "f", GR_WASI_O_TRUNC, &fd),
                     GR_WASI_ENOTCAPABLE);
    assert_int_equal(mkdir_g(t, "nd"), GR_WASI_ENOTCAPABLE);
    /* inherited rights are capped by the directory's inheriting set */
    assert_int_equal(tw_open(t, "f", 0, &fd), 0);
    assert_int_equal(gr_wasi_fd_fdstat_get(t->w, &t->mem, fd, 700), 0);
    assert_int_equal(tw_ld64(t, 708), GR_WASI_R_FD_READ);
}

static void
test_filestat_times(void** state)
{
    tw* t = *state;
    tw_write_file(tw_host(t, "f", 0), "12345");
    assert_int_equal(symlink("f", tw_host(t, "lnk", 0)), 0);
    uint32_t n = tw_put(t, P, "lnk");
    assert_int_equal(
      gr_wasi_path_filestat_get(t->w, &t->mem, TW_ROOT_FD, 1, P, n, O), 0);
    assert_int_equal(t->mem.data[O + 16], GR_WASI_FT_REGULAR_FILE);
    assert_int_equal(tw_ld64(t, O + 32), 5);
    assert_int_equal(
      gr_wasi_path_filestat_get(t->w, &t->mem, TW_ROOT_FD, 0, P, n, O), 0);
    assert_int_equal(t->mem.data[O + 16], GR_WASI_FT_SYMBOLIC_LINK);
    assert_int_equal(gr_wasi_path_filestat_get(
                       t->w, &t->mem, TW_ROOT_FD, 0, P, n, TW_MEM_SIZE - 8),
                     GR_WASI_EFAULT);
    n = tw_put(t, P, "nope");
    assert_int_equal(
      gr_wasi_path_filestat_get(t->w, &t->mem, TW_ROOT_FD, 0, P, n, O),
      GR_WASI_ENOENT);
    /* set times through the link (follow) changes the file */
    n = tw_put(t, P, "lnk");
    assert_int_equal(
      gr_wasi_path_filestat_set_times(t->w,
                                      &t->mem,
                                      TW_ROOT_FD,
                                      1,
                                      P,
                                      n,
                                      11000000000ull,
                                      22000000000ull,
                                      GR_WASI_FST_ATIM | GR_WASI_FST_MTIM),
      0);
    struct stat st;
    assert_int_equal(stat(tw_host(t, "f", 0), &st), 0);
    assert_int_equal(st.st_mtim.tv_sec, 22);
    assert_int_equal(st.st_atim.tv_sec, 11);
    /* nofollow changes the link only */
    assert_int_equal(gr_wasi_path_filestat_set_times(t->w,
                                                     &t->mem,
                                                     TW_ROOT_FD,
                                                     0,
                                                     P,
                                                     n,
                                                     0,
                                                     33000000000ull,
                                                     GR_WASI_FST_MTIM),
                     0);
    assert_int_equal(lstat(tw_host(t, "lnk", 0), &st), 0);
    assert_int_equal(st.st_mtim.tv_sec, 33);
    assert_int_equal(stat(tw_host(t, "f", 0), &st), 0);
    assert_int_equal(st.st_mtim.tv_sec, 22);
    assert_int_equal(
      gr_wasi_path_filestat_set_times(t->w,
                                      &t->mem,
                                      TW_ROOT_FD,
                                      0,
                                      P,
                                      n,
                                      0,
                                      0,
                                      GR_WASI_FST_MTIM | GR_WASI_FST_MTIM_NOW),
      GR_WASI_EINVAL);
}

static void
test_link_rename_symlink(void** state)
{
    tw* t = *state;
    struct stat st;
    tw_write_file(tw_host(t, "f", 0), "data");
    uint32_t n = tw_put(t, P, "f");
    uint32_t m = tw_put(t, P2, "hard");
    assert_int_equal(
      gr_wasi_path_link(t->w, &t->mem, TW_ROOT_FD, 0, P, n, TW_ROOT_FD, P2, m),
      0);
    assert_int_equal(stat(tw_host(t, "hard", 0), &st), 0);
    assert_int_equal(st.st_nlink, 2);
    assert_int_equal(
      gr_wasi_path_link(t->w, &t->mem, TW_ROOT_FD, 0, P, n, TW_ROOT_FD, P2, m),
      GR_WASI_EEXIST);
    /* symlink + readlink */
    n = tw_put(t, P, "f");
    m = tw_put(t, P2, "sl");
    assert_int_equal(
      gr_wasi_path_symlink(t->w, &t->mem, P, n, TW_ROOT_FD, P2, m), 0);
    assert_int_equal(
      gr_wasi_path_symlink(t->w, &t->mem, P, n, TW_ROOT_FD, P2, m),
      GR_WASI_EEXIST);
    n = tw_put(t, P, "sl");
    assert_int_equal(
      gr_wasi_path_readlink(t->w, &t->mem, TW_ROOT_FD, P, n, O, 64, O + 100),
      0);
    assert_int_equal(tw_ld32(t, O + 100), 1);
    assert_int_equal(t->mem.data[O], 'f');
    assert_int_equal(
      gr_wasi_path_readlink(t->w, &t->mem, TW_ROOT_FD, P, n, O, 0, O + 100), 0);
    assert_int_equal(tw_ld32(t, O + 100), 0);
    assert_int_equal(
      gr_wasi_path_readlink(
        t->w, &t->mem, TW_ROOT_FD, P, n, TW_MEM_SIZE - 2, 64, O + 100),
      GR_WASI_EFAULT);
    n = tw_put(t, P, "f");
    assert_int_equal(
      gr_wasi_path_readlink(t->w, &t->mem, TW_ROOT_FD, P, n, O, 64, O + 100),
      GR_WASI_EINVAL);
    /* follow-link hard link links the target */
    n = tw_put(t, P, "sl");
    m = tw_put(t, P2, "hard2");
    assert_int_equal(
      gr_wasi_path_link(t->w, &t->mem, TW_ROOT_FD, 1, P, n, TW_ROOT_FD, P2, m),
      0);
    assert_int_equal(lstat(tw_host(t, "hard2", 0), &st), 0);
    assert_true(S_ISREG(st.st_mode));
    /* rename file, then dir */
    n = tw_put(t, P, "hard");
    m = tw_put(t, P2, "renamed");
    assert_int_equal(
      gr_wasi_path_rename(t->w, &t->mem, TW_ROOT_FD, P, n, TW_ROOT_FD, P2, m),
      0);
    assert_int_equal(access(tw_host(t, "hard", 0), F_OK), -1);
    assert_int_equal(access(tw_host(t, "renamed", 0), F_OK), 0);
    assert_int_equal(
      gr_wasi_path_rename(t->w, &t->mem, TW_ROOT_FD, P, n, TW_ROOT_FD, P2, m),
      GR_WASI_ENOENT);
    assert_int_equal(mkdir(tw_host(t, "d", 0), 0755), 0);
    n = tw_put(t, P, "d/");
    m = tw_put(t, P2, "d2/");
    assert_int_equal(
      gr_wasi_path_rename(t->w, &t->mem, TW_ROOT_FD, P, n, TW_ROOT_FD, P2, m),
      0);
    n = tw_put(t, P, "renamed");
    m = tw_put(t, P2, "x/");
    assert_int_equal(
      gr_wasi_path_rename(t->w, &t->mem, TW_ROOT_FD, P, n, TW_ROOT_FD, P2, m),
      GR_WASI_ENOTDIR);
    m = tw_put(t, P2, "d2");
    assert_int_equal(
      gr_wasi_path_rename(t->w, &t->mem, TW_ROOT_FD, P, n, TW_ROOT_FD, P2, m),
      GR_WASI_EISDIR);
    /* rights on the target directory */
    assert_int_equal(gr_wasi_fd_fdstat_get(t->w, &t->mem, TW_ROOT_FD, 700), 0);
    assert_int_equal(gr_wasi_fd_fdstat_set_rights(
                       t->w,
                       &t->mem,
                       TW_ROOT_FD,
                       tw_ld64(t, 708) & ~GR_WASI_R_PATH_RENAME_TARGET,
                       0),
                     0);
    m = tw_put(t, P2, "again");
    assert_int_equal(
      gr_wasi_path_rename(t->w, &t->mem, TW_ROOT_FD, P, n, TW_ROOT_FD, P2, m),
      GR_WASI_ENOTCAPABLE);
}

static void
test_open_creat_full_table(void** state)
{
    tw* t = *state;
    uint32_t fd = 0, r = 0;
    tw_write_file(tw_host(t, "a", 0), "A");
    for (int i = 0; i < 2000 && r == 0; i++)
        r = tw_open(t, "a", 0, &fd);
    assert_int_equal(r, GR_WASI_EMFILE);
    /* EMFILE from an O_CREAT open leaves no file behind (nor truncates) */
    struct stat st;
    assert_int_equal(tw_open(t, "new", GR_WASI_O_CREAT, &fd), GR_WASI_EMFILE);
    assert_int_equal(stat(tw_host(t, "new", 0), &st), -1);
    assert_int_equal(errno, ENOENT);
    assert_int_equal(tw_open(t, "a", GR_WASI_O_TRUNC, &fd), GR_WASI_EMFILE);
    assert_int_equal(stat(tw_host(t, "a", 0), &st), 0);
    assert_int_equal(st.st_size, 1);
    /* with a descriptor free again it is created */
    assert_int_equal(gr_wasi_fd_close(t->w, &t->mem, 5), 0);
    assert_int_equal(tw_open(t, "new", GR_WASI_O_CREAT, &fd), 0);
    assert_int_equal(fd, 5);
    assert_int_equal(stat(tw_host(t, "new", 0), &st), 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_dirs, tw_setup, tw_teardown),
        cmocka_unit_test_setup_teardown(test_open_flags, tw_setup, tw_teardown),
        cmocka_unit_test_setup_teardown(
          test_open_creat_full_table, tw_setup, tw_teardown),
        cmocka_unit_test_setup_teardown(
          test_filestat_times, tw_setup, tw_teardown),
        cmocka_unit_test_setup_teardown(
          test_link_rename_symlink, tw_setup, tw_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
