/* SPDX-License-Identifier: Apache-2.0 */
/* The token file: parsing (good and bad lines), constant-time lookup,
 * generation, and the add/revoke rewrites `granary token` makes. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "http/tokens.h"
#include "testutil.h"
#include "util/alloc.h"
#include "util/fs.h"

#define T1 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define T2 "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"

static void
test_parse_good(void** state)
{
    (void)state;
    const char* text = "# comment\n"
                       "\n" T1 " alice\n"
                       "  " T2 "\tbob admin  \r\n";
    gr_tokens t;
    char err[128] = "";
    assert_int_equal(gr_tokens_parse(text, strlen(text), &t, err, sizeof err),
                     0);
    assert_int_equal(t.n, 2);
    assert_string_equal(t.v[0].user, "alice");
    assert_int_equal(t.v[0].admin, 0);
    assert_string_equal(t.v[1].user, "bob");
    assert_int_equal(t.v[1].admin, 1);

    const gr_token_entry* e = gr_tokens_find(&t, T2, strlen(T2));
    assert_non_null(e);
    assert_string_equal(e->user, "bob");
    /* upper-case hex is the same token */
    char up[65];
    for (int i = 0; i < 64; i++)
        up[i] = (char)(T1[i] >= 'a' ? T1[i] - 32 : T1[i]);
    up[64] = '\0';
    e = gr_tokens_find(&t, up, 64);
    assert_non_null(e);
    assert_string_equal(e->user, "alice");
    /* wrong, short, long, non-hex */
    char bad[65];
    memcpy(bad, T1, 65);
    bad[63] = '0';
    assert_null(gr_tokens_find(&t, bad, 64));
    assert_null(gr_tokens_find(&t, T1, 63));
    assert_null(gr_tokens_find(&t, T1 "0", 65));
    bad[10] = 'g';
    assert_null(gr_tokens_find(&t, bad, 64));
    assert_null(gr_tokens_find(&t, "", 0));
    gr_tokens_fini(&t);
}

static void
expect_bad(const char* text, const char* line)
{
    gr_tokens t;
    char err[128] = "";
    assert_int_equal(gr_tokens_parse(text, strlen(text), &t, err, sizeof err),
                     -EINVAL);
    assert_non_null(strstr(err, line));
    assert_int_equal(t.n, 0);
    assert_null(t.v);
}

static void
test_parse_bad(void** state)
{
    (void)state;
    expect_bad(T1 "\n", "line 1");
    expect_bad("# x\n" T1 " alice root\n", "line 2");
    expect_bad(T1 " alice admin extra\n", "line 1");
    expect_bad("abc alice\n", "line 1");
    expect_bad(T1 " al/ice\n", "line 1");
    expect_bad(T1 " ..\n", "line 1");
    expect_bad(T1 " alice\n" T2 " " T1 "x\n", "line 2");
}

static void
test_equal(void** state)
{
    (void)state;
    uint8_t a[32] = { 1, 2, 3 }, b[32] = { 1, 2, 3 };
    assert_int_equal(gr_token_equal(a, b, 32), 1);
    b[31] = 1;
    assert_int_equal(gr_token_equal(a, b, 32), 0);
    b[31] = 0;
    b[0] = 0;
    assert_int_equal(gr_token_equal(a, b, 32), 0);
    assert_int_equal(gr_token_equal(a, b, 0), 1);
}

static void
test_generate(void** state)
{
    (void)state;
    char a[65], b[65];
    uint8_t k[32];
    assert_int_equal(gr_token_generate(a), 0);
    assert_int_equal(gr_token_generate(b), 0);
    assert_int_equal(strlen(a), 64);
    assert_string_not_equal(a, b);
    assert_int_equal(gr_token_decode(a, 64, k), 0);
}

static void
test_names(void** state)
{
    (void)state;
    assert_true(gr_http_name_valid("alice", 5));
    assert_true(gr_http_name_valid("a.b-c_D9", 8));
    assert_false(gr_http_name_valid("", 0));
    assert_false(gr_http_name_valid(".", 1));
    assert_false(gr_http_name_valid("..", 2));
    assert_false(gr_http_name_valid("a b", 3));
    assert_false(gr_http_name_valid("a%2f", 4));
    char big[80];
    memset(big, 'x', sizeof big);
    assert_true(gr_http_name_valid(big, 64));
    assert_false(gr_http_name_valid(big, 65));
}

static void
test_file_edit(void** state)
{
    (void)state;
    char dir[128], path[256];
    gr_test_mkdtemp(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/sub/tokens", dir);
    char t1[65], t2[65], t3[65];
    assert_int_equal(gr_tokens_file_add(path, "alice", 0, t1), 0);
    assert_int_equal(gr_tokens_file_add(path, "bob", 1, t2), 0);
    assert_int_equal(gr_tokens_file_add(path, "carol", 0, t3), 0);
    assert_int_equal(gr_tokens_file_add(path, "bad/name", 0, t3), -EINVAL);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);

    gr_tokens t;
    int insecure = 1;
    char err[128];
    assert_int_equal(gr_tokens_load(path, &t, &insecure, err, sizeof err), 0);
    assert_int_equal(insecure, 0);
    assert_int_equal(t.n, 3);
    assert_string_equal(gr_tokens_find(&t, t2, 64)->user, "bob");
    assert_int_equal(gr_tokens_find(&t, t2, 64)->admin, 1);
    gr_tokens_fini(&t);

    /* revoke by full token, then by a unique prefix */
    assert_int_equal(gr_tokens_file_revoke(path, t1), 0);
    assert_int_equal(gr_tokens_file_revoke(path, t1), -ENOENT);
    char prefix[9];
    memcpy(prefix, t3, 8);
    prefix[8] = '\0';
    assert_int_equal(gr_tokens_file_revoke(path, prefix), 0);
    assert_int_equal(gr_tokens_file_revoke(path, "abc"), -ENOENT);
    assert_int_equal(gr_tokens_load(path, &t, NULL, err, sizeof err), 0);
    assert_int_equal(t.n, 1);
    assert_string_equal(t.v[0].user, "bob");
    gr_tokens_fini(&t);

    /* a missing file is an empty table; a world-readable one is flagged */
    char other[300];
    snprintf(other, sizeof other, "%s/none", dir);
    assert_int_equal(gr_tokens_load(other, &t, NULL, err, sizeof err), 0);
    assert_int_equal(t.n, 0);
    assert_int_equal(chmod(path, 0644), 0);
    assert_int_equal(gr_tokens_load(path, &t, &insecure, err, sizeof err), 0);
    assert_int_equal(insecure, 1);
    gr_tokens_fini(&t);
    gr_fs_remove_tree(dir);
}

static void
test_data_dir(void** state)
{
    (void)state;
    char buf[256];
    assert_int_equal(gr_http_data_dir("/x/y", buf, sizeof buf), 0);
    assert_string_equal(buf, "/x/y");
    setenv("GRANARY_DATA", "/d", 1);
    assert_int_equal(gr_http_data_dir(NULL, buf, sizeof buf), 0);
    assert_string_equal(buf, "/d");
    unsetenv("GRANARY_DATA");
    setenv("XDG_DATA_HOME", "/xdg", 1);
    assert_int_equal(gr_http_data_dir(NULL, buf, sizeof buf), 0);
    assert_string_equal(buf, "/xdg/granary");
    assert_int_equal(gr_http_data_dir(NULL, buf, 4), -ENAMETOOLONG);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_good), cmocka_unit_test(test_parse_bad),
        cmocka_unit_test(test_equal),      cmocka_unit_test(test_generate),
        cmocka_unit_test(test_names),      cmocka_unit_test(test_file_edit),
        cmocka_unit_test(test_data_dir),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
