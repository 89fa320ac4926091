/* SPDX-License-Identifier: Apache-2.0 */
/* WASI args/environ, clocks, random, sched_yield, proc_exit/raise, errno
 * mapping and context creation, including out-of-range guest pointers. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <string.h>
#include <time.h>

#include "host/wasi/wasi.h"
#include "wasi_test_util.h"

static void
test_args(void** state)
{
    tw* t = *state;
    assert_int_equal(gr_wasi_args_sizes_get(t->w, &t->mem, 0, 4), 0);
    assert_int_equal(tw_ld32(t, 0), 3);
    assert_int_equal(tw_ld32(t, 4), strlen("prog") + strlen("a b") + 3);
    assert_int_equal(gr_wasi_args_get(t->w, &t->mem, 100, 200), 0);
    assert_int_equal(tw_ld32(t, 100), 200);
    assert_string_equal((char*)t->mem.data + tw_ld32(t, 100), "prog");
    assert_string_equal((char*)t->mem.data + tw_ld32(t, 104), "a b");
    assert_string_equal((char*)t->mem.data + tw_ld32(t, 108), "");
    assert_int_equal(tw_ld32(t, 108), 200 + 9);
}

static void
test_environ(void** state)
{
    tw* t = *state;
    assert_int_equal(gr_wasi_environ_sizes_get(t->w, &t->mem, 0, 4), 0);
    assert_int_equal(tw_ld32(t, 0), 2);
    assert_int_equal(tw_ld32(t, 4), 4 + 7);
    assert_int_equal(gr_wasi_environ_get(t->w, &t->mem, 100, 200), 0);
    assert_string_equal((char*)t->mem.data + tw_ld32(t, 100), "K=V");
    assert_string_equal((char*)t->mem.data + tw_ld32(t, 104), "EMPTY=");
}

static void
test_args_efault(void** state)
{
    tw* t = *state;
    uint32_t end = TW_MEM_SIZE;
    /* the size pointers */
    assert_int_equal(gr_wasi_args_sizes_get(t->w, &t->mem, end, 0),
                     GR_WASI_EFAULT);
    assert_int_equal(gr_wasi_args_sizes_get(t->w, &t->mem, 0, end - 2),
                     GR_WASI_EFAULT);
    assert_int_equal(gr_wasi_environ_sizes_get(t->w, &t->mem, 0xFFFFFFFFu, 0),
                     GR_WASI_EFAULT);
    /* the pointer array straddles the end; the string block overflows u32 */
    assert_int_equal(gr_wasi_args_get(t->w, &t->mem, end - 8, 0),
                     GR_WASI_EFAULT);
    assert_int_equal(gr_wasi_args_get(t->w, &t->mem, 0, 0xFFFFFFF0u),
                     GR_WASI_EFAULT);
    assert_int_equal(gr_wasi_args_get(t->w, &t->mem, 0, end - 5),
                     GR_WASI_EFAULT);
    assert_int_equal(gr_wasi_environ_get(t->w, &t->mem, end, 0),
                     GR_WASI_EFAULT);
    /* nothing was written on failure */
    uint8_t zero[16] = { 0 };
    assert_memory_equal(t->mem.data + end - 16, zero, 16);
    /* exactly at the end is fine */
    assert_int_equal(gr_wasi_args_get(t->w, &t->mem, end - 12, end - 24), 0);
    /* a NULL memory behaves as an empty one */
    assert_int_equal(gr_wasi_args_sizes_get(t->w, NULL, 0, 4), GR_WASI_EFAULT);
}

static void
test_clocks(void** state)
{
    tw* t = *state;
    for (uint32_t id = 0; id < 4; id++) {
        assert_int_equal(gr_wasi_clock_res_get(t->w, &t->mem, id, 8), 0);
        assert_true(tw_ld64(t, 8) > 0);
        assert_int_equal(gr_wasi_clock_time_get(t->w, &t->mem, id, 1, 16), 0);
    }
    assert_int_equal(gr_wasi_clock_time_get(t->w, &t->mem, 0, 0, 16), 0);
    uint64_t real = tw_ld64(t, 16);
    assert_true(real / 1000000000ull > 1600000000ull); /* after 2020 */
    assert_true(real / 1000000000ull - (uint64_t)time(NULL) + 1 <= 2);
    assert_int_equal(gr_wasi_clock_time_get(t->w, &t->mem, 1, 0, 16), 0);
    uint64_t a = tw_ld64(t, 16);
    assert_int_equal(gr_wasi_clock_time_get(t->w, &t->mem, 1, 0, 16), 0);
    assert_true(tw_ld64(t, 16) >= a);
    assert_int_equal(gr_wasi_clock_time_get(t->w, &t->mem, 4, 0, 16),
                     GR_WASI_EINVAL);
    assert_int_equal(gr_wasi_clock_res_get(t->w, &t->mem, 99, 16),
                     GR_WASI_EINVAL);
    assert_int_equal(
      gr_wasi_clock_time_get(t->w, &t->mem, 1, 0, TW_MEM_SIZE - 4),
      GR_WASI_EFAULT);
    assert_int_equal(gr_wasi_clock_res_get(t->w, &t->mem, 1, 0xFFFFFFFCu),
                     GR_WASI_EFAULT);
}

static void
test_random(void** state)
{
    tw* t = *state;
    assert_int_equal(gr_wasi_random_get(t->w, &t->mem, 1000, 4096), 0);
    int nonzero = 0;
    for (int i = 0; i < 4096; i++)
        nonzero += t->mem.data[1000 + i] != 0;
    assert_true(nonzero > 3000);
    assert_int_equal(gr_wasi_random_get(t->w, &t->mem, TW_MEM_SIZE, 0), 0);
    assert_int_equal(gr_wasi_random_get(t->w, &t->mem, TW_MEM_SIZE - 8, 9),
                     GR_WASI_EFAULT);
    assert_int_equal(gr_wasi_random_get(t->w, &t->mem, 0xFFFFFFF0u, 0x20),
                     GR_WASI_EFAULT);
    assert_int_equal(gr_wasi_random_get(t->w, &t->mem, 0, 0xFFFFFFFFu),
                     GR_WASI_EFAULT);
}

static void
test_proc(void** state)
{
    tw* t = *state;
    uint32_t code = 7;
    assert_int_equal(gr_wasi_sched_yield(t->w, &t->mem), 0);
    assert_int_equal(gr_wasi_exited(t->w, &code), 0);
    assert_int_equal(gr_wasi_proc_raise(t->w, &t->mem, 9), GR_WASI_ENOSYS);
    assert_int_equal(gr_wasi_proc_exit(t->w, &t->mem, 42), 0);
    assert_int_equal(gr_wasi_exited(t->w, &code), 1);
    assert_int_equal(code, 42);
    assert_int_equal(gr_wasi_reset_fds(t->w), 0);
    assert_int_equal(gr_wasi_exited(t->w, &code), 0);
}

static void
test_errno_map(void** state)
{
    (void)state;
    assert_int_equal(gr_wasi_errno_from_host(0), 0);
    assert_int_equal(gr_wasi_errno_from_host(ENOENT), GR_WASI_ENOENT);
    assert_int_equal(gr_wasi_errno_from_host(EACCES), GR_WASI_EACCES);
    assert_int_equal(gr_wasi_errno_from_host(EXDEV), GR_WASI_EXDEV);
    assert_int_equal(gr_wasi_errno_from_host(ENOTEMPTY), GR_WASI_ENOTEMPTY);
    assert_int_equal(gr_wasi_errno_from_host(EWOULDBLOCK), GR_WASI_EAGAIN);
    assert_int_equal(gr_wasi_errno_from_host(EOPNOTSUPP), GR_WASI_ENOTSUP);
    assert_int_equal(gr_wasi_errno_from_host(ELOOP), GR_WASI_ELOOP);
    assert_int_equal(gr_wasi_errno_from_host(ETXTBSY), GR_WASI_ETXTBSY);
    assert_int_equal(gr_wasi_errno_from_host(100000), GR_WASI_EIO);
}

static void
test_create_errors(void** state)
{
    (void)state;
    gr_wasi* w = (gr_wasi*)1;
    gr_wasi_preopen bad = { "/tmp", "" };
    gr_wasi_config cfg = { .stdin_fd = -1, .n_preopens = 1, .preopens = &bad };
    cfg.out.host_fd = cfg.err.host_fd = -1;
    assert_int_equal(gr_wasi_create(&cfg, &w), -EINVAL);
    assert_null(w);
    gr_wasi_preopen missing = { "/nonexistent/granary", "/" };
    cfg.preopens = &missing;
    assert_int_equal(gr_wasi_create(&cfg, &w), -ENOENT);
    const char* argv[] = { "x", NULL };
    gr_wasi_config c2 = { .stdin_fd = -1, .argc = 2, .argv = argv };
    assert_int_equal(gr_wasi_create(&c2, &w), -EINVAL);
    /* a NULL config is an empty guest: stdio only */
    assert_int_equal(gr_wasi_create(NULL, &w), 0);
    assert_int_equal(gr_wasi_fd_count(w), 3);
    gr_wasi_destroy(w);
    gr_wasi_destroy(NULL);
}

/* Relative guest names ("." as `granary run --dir .` gives, "data") are
 * preopens like any other; wasi-libc matches relative paths against them. */
static void
test_relative_preopen(void** state)
{
    (void)state;
    gr_wasi_preopen pre[2] = { { "/tmp", "." }, { "/tmp", "data" } };
    gr_wasi_config cfg = { .stdin_fd = -1, .n_preopens = 2, .preopens = pre };
    cfg.out.host_fd = cfg.err.host_fd = -1;
    gr_wasi* w = NULL;
    assert_int_equal(gr_wasi_create(&cfg, &w), 0);
    uint8_t buf[64] = { 0 };
    wasm_rt_memory_t mem = { .data = buf, .size = sizeof buf };
    assert_int_equal(gr_wasi_fd_prestat_get(w, &mem, 3, 0), 0);
    assert_int_equal(buf[4], 1);
    assert_int_equal(gr_wasi_fd_prestat_dir_name(w, &mem, 3, 16, 1), 0);
    assert_int_equal(buf[16], '.');
    assert_int_equal(gr_wasi_fd_prestat_get(w, &mem, 4, 0), 0);
    assert_int_equal(buf[4], 4);
    assert_int_equal(gr_wasi_fd_prestat_dir_name(w, &mem, 4, 16, 4), 0);
    assert_memory_equal(buf + 16, "data", 4);
    gr_wasi_destroy(w);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_args, tw_setup, tw_teardown),
        cmocka_unit_test_setup_teardown(test_environ, tw_setup, tw_teardown),
        cmocka_unit_test_setup_teardown(
          test_args_efault, tw_setup, tw_teardown),
        cmocka_unit_test_setup_teardown(test_clocks, tw_setup, tw_teardown),
        cmocka_unit_test_setup_teardown(test_random, tw_setup, tw_teardown),
        cmocka_unit_test_setup_teardown(test_proc, tw_setup, tw_teardown),
        cmocka_unit_test(test_errno_map),
        cmocka_unit_test(test_create_errors),
        cmocka_unit_test(test_relative_preopen),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
