/* SPDX-License-Identifier: Apache-2.0 */
/* Import vetting: gr_host_import_check knows every WASI preview 1 function
 * with its exact signature and nothing else. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <string.h>

#include "host/host.h"
#include "host/wasi/wasi.h"

#define M "wasi_snapshot_preview1"

static void
test_known(void** state)
{
    (void)state;
    assert_int_equal(gr_host_import_check(M, "fd_write", "iiii>i"), 1);
    assert_int_equal(gr_host_import_check(M, "proc_exit", "i>"), 1);
    assert_int_equal(gr_host_import_check(M, "clock_time_get", "iIi>i"), 1);
    assert_int_equal(gr_host_import_check(M, "path_open", "iiiiiIIii>i"), 1);
    assert_int_equal(gr_host_import_check(M, "sched_yield", ">i"), 1);
    assert_int_equal(gr_host_import_check(M, "fd_seek", "iIii>i"), 1);
}

static void
test_rejected(void** state)
{
    (void)state;
    assert_int_equal(gr_host_import_check(M, "fd_write", "iiii>"), 0);
    assert_int_equal(gr_host_import_check(M, "fd_write", "iiiI>i"), 0);
    assert_int_equal(gr_host_import_check(M, "proc_exit", "i>i"), 0);
    assert_int_equal(gr_host_import_check(M, "no_such_call", "i>i"), 0);
    assert_int_equal(
      gr_host_import_check("wasi_unstable", "fd_write", "iiii>i"), 0);
    assert_int_equal(gr_host_import_check("env", "fd_write", "iiii>i"), 0);
    assert_int_equal(gr_host_import_check(NULL, "fd_write", "iiii>i"), 0);
    assert_int_equal(gr_host_import_check(M, NULL, "iiii>i"), 0);
    assert_int_equal(gr_host_import_check(M, "fd_write", NULL), 0);
}

static void
test_complete(void** state)
{
    (void)state;
    static const char* const all[] = {
        "args_get",
        "args_sizes_get",
        "environ_get",
        "environ_sizes_get",
        "clock_res_get",
        "clock_time_get",
        "fd_advise",
        "fd_allocate",
        "fd_close",
        "fd_datasync",
        "fd_fdstat_get",
        "fd_fdstat_set_flags",
        "fd_fdstat_set_rights",
        "fd_filestat_get",
        "fd_filestat_set_size",
        "fd_filestat_set_times",
        "fd_pread",
        "fd_prestat_get",
        "fd_prestat_dir_name",
        "fd_pwrite",
        "fd_read",
        "fd_readdir",
        "fd_renumber",
        "fd_seek",
        "fd_sync",
        "fd_tell",
        "fd_write",
        "path_create_directory",
        "path_filestat_get",
        "path_filestat_set_times",
        "path_link",
        "path_open",
        "path_readlink",
        "path_remove_directory",
        "path_rename",
        "path_symlink",
        "path_unlink_file",
        "poll_oneoff",
        "proc_exit",
        "proc_raise",
        "sched_yield",
        "random_get",
        "sock_accept",
        "sock_recv",
        "sock_send",
        "sock_shutdown",
    };
    size_t n = 0;
    for (const struct gr_host_import* i = gr_wasi_imports; i->name; i++)
        n++;
    assert_int_equal(n, sizeof(all) / sizeof(all[0]));
    for (size_t i = 0; i < n; i++) {
        int found = 0;
        for (const struct gr_host_import* e = gr_wasi_imports; e->name; e++)
            if (strcmp(e->name, all[i]) == 0)
                found = gr_host_import_check(M, all[i], e->sig);
        assert_int_equal(found, 1);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known),
        cmocka_unit_test(test_rejected),
        cmocka_unit_test(test_complete),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
