/* SPDX-License-Identifier: Apache-2.0 */
/* `granary run` end to end: real guests built by granary-cc, compiled by
 * the engine, run with WASI; exit codes, traps, sandbox, bad modules. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "testutil.h"

static char cache_dir[128];

static const char*
granary_bin(void)
{
    return GRANARY_BINARY_DIR "/bin/granary";
}

/* Runs granary with the test cache and up to 12 further arguments. */
static gr_test_proc
run(const char* a0, ...)
{
    const char* argv[20] = { granary_bin(), "run", "--cache", cache_dir };
    int n = 4;
    va_list ap;
    va_start(ap, a0);
    for (const char* a = a0; a && n < 19; a = va_arg(ap, const char*))
        argv[n++] = a;
    va_end(ap);
    argv[n] = NULL;
    gr_test_proc p;
    assert_int_equal(gr_test_run(argv, "", 300, &p), 0);
    return p;
}

static void
test_hello_args_env(void** state)
{
    (void)state;
    gr_test_proc p = run("--env",
                         "GREETING_NAME=granary",
                         gr_test_guest("hello"),
                         "one",
                         "two",
                         NULL);
    assert_int_equal(p.status, 0);
    assert_non_null(strstr(p.out, "hello from wasm, granary!"));
    assert_non_null(strstr(p.out, "arg 1: one\narg 2: two\n"));
    gr_test_proc_free(&p);
}

static void
test_dir_mapping_and_escape(void** state)
{
    (void)state;
    char dir[128], file[256], spec[300];
    gr_test_mkdtemp(dir, sizeof dir);
    snprintf(file, sizeof file, "%s/data.txt", dir);
    gr_test_write_file(file, "sandboxed line\n");
    snprintf(spec, sizeof spec, "%s::/data", dir);

    gr_test_proc p =
      run("--dir", spec, gr_test_guest("hello"), "-f", "/data/data.txt", NULL);
    assert_int_equal(p.status, 0);
    assert_non_null(strstr(p.out, "file: sandboxed line"));
    gr_test_proc_free(&p);

    p = run("--dir",
            spec,
            gr_test_guest("hello"),
            "-f",
            "/data/../../etc/passwd",
            NULL);
    assert_int_equal(p.status, 3);
    assert_null(strstr(p.out, "root:"));
    gr_test_proc_free(&p);

    /* a symlink inside the sandbox pointing outside it */
    char link[256];
    snprintf(link, sizeof link, "%s/escape", dir);
    assert_int_equal(symlink("/etc/passwd", link), 0);
    p = run("--dir", spec, gr_test_guest("hello"), "-f", "/data/escape", NULL);
    assert_int_equal(p.status, 3);
    assert_null(strstr(p.out, "root:"));
    gr_test_proc_free(&p);
    unlink(link);
    unlink(file);
    rmdir(dir);
}

static void
test_exit_code_propagates(void** state)
{
    (void)state;
    gr_test_proc p = run(gr_test_guest("traps"), "exit", "42", NULL);
    assert_int_equal(p.status, 42);
    gr_test_proc_free(&p);
    p = run(gr_test_guest("traps"), "none", NULL);
    assert_int_equal(p.status, 0);
    assert_non_null(strstr(p.out, "no trap: none"));
    gr_test_proc_free(&p);
}

static void
expect_trap(const char* which, const char* name)
{
    gr_test_proc p = run(gr_test_guest("traps"), which, NULL);
    if (p.status != 134 || !strstr(p.err, name))
        fprintf(
          stderr, "case %s: status %d, stderr: %s\n", which, p.status, p.err);
    assert_int_equal(p.status, 134);
    assert_non_null(strstr(p.err, name));
    gr_test_proc_free(&p);
}

static void
test_each_trap_kind(void** state)
{
    (void)state;
    expect_trap("oob", "out of bounds memory access");
    expect_trap("div", "integer divide by zero");
    expect_trap("overflow", "integer overflow");
    expect_trap("conv", "invalid conversion to integer");
    expect_trap("unreachable", "unreachable executed");
    expect_trap("abort", "unreachable executed");
    expect_trap("indirect", "indirect call");
    expect_trap("stack", "call stack exhausted");
    expect_trap("recurse", "call stack exhausted");
}

/* Objects built with explicit bounds checks (GRANARY_BOUNDS_CHECKS=1, the
 * valgrind mode) run the same programs and report the same traps. */
static void
test_bounds_checked_mode(void** state)
{
    (void)state;
    setenv("GRANARY_BOUNDS_CHECKS", "1", 1);
    gr_test_proc p = run(gr_test_guest("hello"), "x", NULL);
    assert_int_equal(p.status, 0);
    assert_non_null(strstr(p.out, "arg 1: x"));
    gr_test_proc_free(&p);
    expect_trap("oob", "out of bounds memory access");
    expect_trap("div", "integer divide by zero");
    expect_trap("recurse", "call stack exhausted");
    expect_trap("stack", "call stack exhausted");
    unsetenv("GRANARY_BOUNDS_CHECKS");
}

static void
test_bad_modules(void** state)
{
    (void)state;
    char dir[128], path[256];
    gr_test_mkdtemp(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/junk.wasm", dir);
    gr_test_write_file(path, "this is not wasm at all");
    gr_test_proc p = run(path, NULL);
    assert_int_equal(p.status, 125);
    assert_non_null(strstr(p.err, "junk.wasm"));
    gr_test_proc_free(&p);

    p = run("/nonexistent/x.wasm", NULL);
    assert_int_equal(p.status, 1);
    assert_non_null(strstr(p.err, "No such file"));
    gr_test_proc_free(&p);
    unlink(path);
    rmdir(dir);
}

static void
test_usage_errors(void** state)
{
    (void)state;
    const char* argv[] = { granary_bin(), "run", NULL };
    gr_test_proc p;
    assert_int_equal(gr_test_run(argv, "", 30, &p), 0);
    assert_int_equal(p.status, 2);
    assert_non_null(strstr(p.err, "usage: granary run"));
    gr_test_proc_free(&p);
    const char* help[] = { granary_bin(), "run", "--help", NULL };
    assert_int_equal(gr_test_run(help, "", 30, &p), 0);
    assert_int_equal(p.status, 0);
    assert_non_null(strstr(p.out, "--dir"));
    gr_test_proc_free(&p);
}

int
main(void)
{
    snprintf(cache_dir, sizeof cache_dir, "%s/test-cache", GRANARY_BINARY_DIR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hello_args_env),
        cmocka_unit_test(test_dir_mapping_and_escape),
        cmocka_unit_test(test_exit_code_propagates),
        cmocka_unit_test(test_each_trap_kind),
        cmocka_unit_test(test_bounds_checked_mode),
        cmocka_unit_test(test_bad_modules),
        cmocka_unit_test(test_usage_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
