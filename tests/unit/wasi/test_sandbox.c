/* SPDX-License-Identifier: Apache-2.0 */
/* The sandbox: no path_* call can name anything outside the preopened
 * directory, whether through "..", absolute paths or symlinks (absolute,
 * relative, chained), and nothing outside is modified by trying. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "host/wasi/wasi.h"
#include "wasi_test_util.h"

#define P TW_PATH_OFF
#define P2 TW_PATH2_OFF
#define O TW_OUT_OFF

static const char* const escapes[] = {
    "..",
    "../",
    "../outside/secret",
    "../secret",
    "a/../../secret",
    "./../secret",
    "/etc/passwd",
    "/",
    "abs/passwd",
    "up/secret",
    "up2/outside/secret",
    "chain1/secret",
    "chain1",
    "a/up/secret",
    "updir/secret",
    "abs",
    "up",
    "chain1/",
    "a/b/../../../secret",
};

/* Creates the hostile tree inside the sandbox, directly on the host. */
static void
make_tree(tw* t)
{
    char p[700];
    snprintf(p, sizeof(p), "%s/a", t->root);
    assert_int_equal(mkdir(p, 0755), 0);
    snprintf(p, sizeof(p), "%s/a/b", t->root);
    assert_int_equal(mkdir(p, 0755), 0);
    assert_int_equal(symlink("/etc", tw_host(t, "abs", 0)), 0);
    assert_int_equal(symlink("..", tw_host(t, "up", 0)), 0);
    assert_int_equal(symlink("../..", tw_host(t, "up2", 0)), 0);
    assert_int_equal(symlink("../..", tw_host(t, "a/up", 0)), 0);
    assert_int_equal(symlink("chain2", tw_host(t, "chain1", 0)), 0);
    assert_int_equal(symlink("a/chain3", tw_host(t, "chain2", 0)), 0);
    assert_int_equal(symlink("../../outside", tw_host(t, "a/chain3", 0)), 0);
    assert_int_equal(symlink(t->outside, tw_host(t, "updir", 0)), 0);
    tw_write_file(tw_host(t, "inside", 0), "in");
}

/* The outside world is as the fixture left it. */
static void
check_outside(tw* t)
{
    char p[700], buf[64] = { 0 };
    snprintf(p, sizeof(p), "%s/secret", t->outside);
    FILE* f = fopen(p, "r");
    assert_non_null(f);
    assert_non_null(fgets(buf, sizeof(buf), f));
    fclose(f);
    assert_string_equal(buf, "top secret");
    struct stat st;
    assert_int_equal(stat(p, &st), 0);
    assert_true(st.st_mtim.tv_sec > 1000);
    int n = 0;
    DIR* d = opendir(t->outside);
    while (readdir(d))
        n++;
    closedir(d);
    assert_int_equal(n, 3); /* ., .., secret */
    n = 0;
    d = opendir(t->base);
    while (readdir(d))
        n++;
    closedir(d);
    assert_int_equal(n, 5); /* ., .., root, outside, secret */
    snprintf(p, sizeof(p), "%s/secret", t->base);
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(st.st_size, strlen("base secret"));
}

static int
refused(uint32_t r)
{
    /* ENOTCAPABLE is the rule; a few calls legitimately fail earlier
     * (e.g. ENOENT for a parent that cannot exist). Success never. */
    return r == GR_WASI_ENOTCAPABLE || r == GR_WASI_ENOENT ||
           r == GR_WASI_ENOTDIR || r == GR_WASI_ELOOP || r == GR_WASI_EPERM;
}

static void
test_open_escapes(void** state)
{
    tw* t = *state;
    make_tree(t);
    for (size_t i = 0; i < sizeof(escapes) / sizeof(escapes[0]); i++) {
        uint32_t n = tw_put(t, P, escapes[i]);
        for (uint32_t follow = 0; follow < 2; follow++) {
            uint32_t r = gr_wasi_path_open(t->w,
                                           &t->mem,
                                           TW_ROOT_FD,
                                           follow,
                                           P,
                                           n,
                                           0,
                                           GR_WASI_R_ALL,
                                           GR_WASI_R_ALL,
                                           0,
                                           O);
            if (r == 0) {
                /* Only opening a symlink's own name without following may
                 * succeed... and Linux refuses that too (ELOOP). */
                fail_msg("opened %s (follow=%u)", escapes[i], follow);
            }
            if (follow || strchr(escapes[i], '/') ||
                strcmp(escapes[i], "..") == 0)
                assert_true(refused(r));
        }
        /* the most common escapes give exactly ENOTCAPABLE */
    }
    uint32_t n = tw_put(t, P, "../outside/secret");
    assert_int_equal(
      gr_wasi_path_open(
        t->w, &t->mem, TW_ROOT_FD, 1, P, n, 0, GR_WASI_R_ALL, 0, 0, O),
      GR_WASI_ENOTCAPABLE);
    n = tw_put(t, P, "/etc/passwd");
    assert_int_equal(
      gr_wasi_path_open(
        t->w, &t->mem, TW_ROOT_FD, 1, P, n, 0, GR_WASI_R_ALL, 0, 0, O),
      GR_WASI_ENOTCAPABLE);
    n = tw_put(t, P, "abs/passwd");
    assert_int_equal(
      gr_wasi_path_open(
        t->w, &t->mem, TW_ROOT_FD, 1, P, n, 0, GR_WASI_R_ALL, 0, 0, O),
      GR_WASI_ENOTCAPABLE);
    n = tw_put(t, P, "chain1/secret");
    assert_int_equal(
      gr_wasi_path_open(
        t->w, &t->mem, TW_ROOT_FD, 1, P, n, 0, GR_WASI_R_ALL, 0, 0, O),
      GR_WASI_ENOTCAPABLE);
    /* creating through an escape creates nothing */
    n = tw_put(t, P, "up/created");
    assert_int_equal(gr_wasi_path_open(t->w,
                                       &t->mem,
                                       TW_ROOT_FD,
                                       1,
                                       P,
                                       n,
                                       GR_WASI_O_CREAT,
                                       GR_WASI_R_ALL,
                                       0,
                                       0,
                                       O),
                     GR_WASI_ENOTCAPABLE);
    n = tw_put(t, P, "updir/created");
    assert_int_equal(gr_wasi_path_open(t->w,
                                       &t->mem,
                                       TW_ROOT_FD,
                                       1,
                                       P,
                                       n,
                                       GR_WASI_O_CREAT | GR_WASI_O_TRUNC,
                                       GR_WASI_R_ALL,
                                       0,
                                       0,
                                       O),
                     GR_WASI_ENOTCAPABLE);
    /* legitimate paths with ".." inside the tree still work */
    n = tw_put(t, P, "a/b/../../inside");
    assert_int_equal(
      gr_wasi_path_open(
        t->w, &t->mem, TW_ROOT_FD, 0, P, n, 0, GR_WASI_R_FD_READ, 0, 0, O),
      0);
    n = tw_put(t, P, "a/../a/b/..");
    assert_int_equal(gr_wasi_path_open(t->w,
                                       &t->mem,
                                       TW_ROOT_FD,
                                       0,
                                       P,
                                       n,
                                       GR_WASI_O_DIRECTORY,
                                       GR_WASI_R_FD_READDIR,
                                       GR_WASI_R_ALL,
                                       0,
                                       O),
                     0);
    /* a directory opened inside is itself a boundary */
    uint32_t sub = tw_ld32(t, O);
    n = tw_put(t, P, "../inside");
    assert_int_equal(
      gr_wasi_path_open(
        t->w, &t->mem, sub, 0, P, n, 0, GR_WASI_R_FD_READ, 0, 0, O),
      GR_WASI_ENOTCAPABLE);
    check_outside(t);
}

static void
test_other_call_escapes(void** state)
{
    tw* t = *state;
    make_tree(t);
    for (size_t i = 0; i < sizeof(escapes) / sizeof(escapes[0]); i++) {
        const char* e = escapes[i];
        uint32_t n = tw_put(t, P, e);
        uint32_t m = tw_put(t, P2, "inside");
        /* a name in the root itself ("abs", "chain1/"): may exist */
        const char* sl = strchr(e, '/');
        int own_name = (sl == NULL || sl[1] == '\0') && e[0] != '/' &&
                       strncmp(e, "..", 2) != 0;
        uint32_t r;
        /* follow: never succeeds through an escape */
        r = gr_wasi_path_filestat_get(t->w, &t->mem, TW_ROOT_FD, 1, P, n, O);
        assert_true(refused(r));
        r = gr_wasi_path_filestat_set_times(
          t->w, &t->mem, TW_ROOT_FD, 1, P, n, 0, 0, GR_WASI_FST_MTIM_NOW);
        assert_true(refused(r));
        r = gr_wasi_path_create_directory(t->w, &t->mem, TW_ROOT_FD, P, n);
        if (!(refused(r) || (own_name && r == GR_WASI_EEXIST)))
            print_message("mkdir %s -> %u\n", e, r);
        assert_true(refused(r) || (own_name && r == GR_WASI_EEXIST));
        r = gr_wasi_path_remove_directory(t->w, &t->mem, TW_ROOT_FD, P, n);
        assert_true(refused(r) || r == GR_WASI_EINVAL);
        if (!own_name) {
            r = gr_wasi_path_unlink_file(t->w, &t->mem, TW_ROOT_FD, P, n);
            assert_true(refused(r) || r == GR_WASI_EISDIR);
            /* rename inside -> outside and outside -> inside */
            r = gr_wasi_path_rename(
              t->w, &t->mem, TW_ROOT_FD, P2, m, TW_ROOT_FD, P, n);
            assert_true(refused(r) || r == GR_WASI_EBUSY);
            r = gr_wasi_path_rename(
              t->w, &t->mem, TW_ROOT_FD, P, n, TW_ROOT_FD, P2, m);
            assert_true(refused(r) || r == GR_WASI_EBUSY);
            r = gr_wasi_path_link(
              t->w, &t->mem, TW_ROOT_FD, 0, P, n, TW_ROOT_FD, P2, m);
            assert_true(refused(r) || r == GR_WASI_EEXIST);
            r = gr_wasi_path_link(
              t->w, &t->mem, TW_ROOT_FD, 1, P, n, TW_ROOT_FD, P2, m);
            assert_true(refused(r) || r == GR_WASI_EEXIST);
            r = gr_wasi_path_readlink(
              t->w, &t->mem, TW_ROOT_FD, P, n, O, 64, O + 100);
            assert_true(refused(r) || r == GR_WASI_EINVAL);
            r = gr_wasi_path_symlink(t->w, &t->mem, P2, m, TW_ROOT_FD, P, n);
            assert_true(refused(r) || r == GR_WASI_EEXIST);
        }
        check_outside(t);
    }
    /* link the outside secret in: the source cannot be named */
    uint32_t n = tw_put(t, P, "../outside/secret");
    uint32_t m = tw_put(t, P2, "stolen");
    assert_int_equal(
      gr_wasi_path_link(t->w, &t->mem, TW_ROOT_FD, 0, P, n, TW_ROOT_FD, P2, m),
      GR_WASI_ENOTCAPABLE);
    n = tw_put(t, P, "updir/secret");
    assert_int_equal(
      gr_wasi_path_link(t->w, &t->mem, TW_ROOT_FD, 1, P, n, TW_ROOT_FD, P2, m),
      GR_WASI_ENOTCAPABLE);
    n = tw_put(t, P, "updir");
    assert_int_equal(
      gr_wasi_path_link(t->w, &t->mem, TW_ROOT_FD, 1, P, n, TW_ROOT_FD, P2, m),
      GR_WASI_ENOTCAPABLE);
    assert_int_equal(access(tw_host(t, "stolen", 0), F_OK), -1);
    /* the symlinks themselves may be inspected without following */
    n = tw_put(t, P, "abs");
    assert_int_equal(
      gr_wasi_path_filestat_get(t->w, &t->mem, TW_ROOT_FD, 0, P, n, O), 0);
    assert_int_equal(t->mem.data[O + 16], GR_WASI_FT_SYMBOLIC_LINK);
    assert_int_equal(
      gr_wasi_path_readlink(t->w, &t->mem, TW_ROOT_FD, P, n, O, 64, O + 100),
      0);
    assert_int_equal(tw_ld32(t, O + 100), 4);
    assert_memory_equal(t->mem.data + O, "/etc", 4);
    /* and removed (unlinking the link, not its target) */
    n = tw_put(t, P, "updir");
    assert_int_equal(gr_wasi_path_unlink_file(t->w, &t->mem, TW_ROOT_FD, P, n),
                     0);
    check_outside(t);
}

static void
test_symlink_creation_policy(void** state)
{
    tw* t = *state;
    make_tree(t);
    static const char* const bad[] = {
        "/etc", "/", "..", "../outside", "a/../../x", "../../..", "./../x",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        uint32_t n = tw_put(t, P, bad[i]);
        uint32_t m = tw_put(t, P2, "newlink");
        assert_int_equal(
          gr_wasi_path_symlink(t->w, &t->mem, P, n, TW_ROOT_FD, P2, m),
          GR_WASI_ENOTCAPABLE);
        m = tw_put(t, P2, "a/b/newlink");
        if (strcmp(bad[i], "..") == 0)
            continue; /* a/b/.. is inside */
    }
    assert_int_equal(access(tw_host(t, "newlink", 0), F_OK), -1);
    /* relative targets that stay inside are fine, even via ".." */
    uint32_t n = tw_put(t, P, "../../inside");
    uint32_t m = tw_put(t, P2, "a/b/ok");
    assert_int_equal(
      gr_wasi_path_symlink(t->w, &t->mem, P, n, TW_ROOT_FD, P2, m), 0);
    n = tw_put(t, P, "../../../inside");
    m = tw_put(t, P2, "a/b/bad");
    assert_int_equal(
      gr_wasi_path_symlink(t->w, &t->mem, P, n, TW_ROOT_FD, P2, m),
      GR_WASI_ENOTCAPABLE);
    n = tw_put(t, P, "a/b/ok");
    assert_int_equal(
      gr_wasi_path_open(
        t->w, &t->mem, TW_ROOT_FD, 1, P, n, 0, GR_WASI_R_FD_READ, 0, 0, O),
      0);
    check_outside(t);
}

static void
test_bad_path_strings(void** state)
{
    tw* t = *state;
    /* embedded NUL: "inside\0../x" must not be truncated to "inside" */
    tw_write_file(tw_host(t, "inside", 0), "in");
    memcpy(t->mem.data + P, "inside\0../x", 11);
    assert_int_equal(
      gr_wasi_path_open(
        t->w, &t->mem, TW_ROOT_FD, 0, P, 11, 0, GR_WASI_R_FD_READ, 0, 0, O),
      GR_WASI_EINVAL);
    assert_int_equal(
      gr_wasi_path_filestat_get(t->w, &t->mem, TW_ROOT_FD, 0, P, 11, O),
      GR_WASI_EINVAL);
    /* path ranges */
    assert_int_equal(gr_wasi_path_open(t->w,
                                       &t->mem,
                                       TW_ROOT_FD,
                                       0,
                                       TW_MEM_SIZE - 3,
                                       4,
                                       0,
                                       GR_WASI_R_FD_READ,
                                       0,
                                       0,
                                       O),
                     GR_WASI_EFAULT);
    assert_int_equal(gr_wasi_path_open(t->w,
                                       &t->mem,
                                       TW_ROOT_FD,
                                       0,
                                       0xFFFFFFF0u,
                                       0x20,
                                       0,
                                       GR_WASI_R_FD_READ,
                                       0,
                                       0,
                                       O),
                     GR_WASI_EFAULT);
    assert_int_equal(
      gr_wasi_path_unlink_file(t->w, &t->mem, TW_ROOT_FD, 10, 0xFFFFFFFFu),
      GR_WASI_EFAULT);
    assert_int_equal(
      gr_wasi_path_symlink(t->w, &t->mem, 0xFFFFFFFFu, 2, TW_ROOT_FD, P, 2),
      GR_WASI_EFAULT);
    /* too long (host buffers are bounded) */
    assert_int_equal(
      gr_wasi_path_create_directory(t->w, &t->mem, TW_ROOT_FD, 0, 8192),
      GR_WASI_ENAMETOOLONG);
    /* empty path */
    assert_int_equal(
      gr_wasi_path_open(
        t->w, &t->mem, TW_ROOT_FD, 0, P, 0, 0, GR_WASI_R_FD_READ, 0, 0, O),
      GR_WASI_ENOENT);
    /* bad opened-fd pointer: nothing is created */
    uint32_t n = tw_put(t, P, "newfile");
    assert_int_equal(gr_wasi_path_open(t->w,
                                       &t->mem,
                                       TW_ROOT_FD,
                                       0,
                                       P,
                                       n,
                                       GR_WASI_O_CREAT,
                                       GR_WASI_R_ALL,
                                       0,
                                       0,
                                       TW_MEM_SIZE - 2),
                     GR_WASI_EFAULT);
    assert_int_equal(access(tw_host(t, "newfile", 0), F_OK), -1);
    check_outside(t);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
          test_open_escapes, tw_setup, tw_teardown),
        cmocka_unit_test_setup_teardown(
          test_other_call_escapes, tw_setup, tw_teardown),
        cmocka_unit_test_setup_teardown(
          test_symlink_creation_policy, tw_setup, tw_teardown),
        cmocka_unit_test_setup_teardown(
          test_bad_path_strings, tw_setup, tw_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
