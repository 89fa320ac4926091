/* SPDX-License-Identifier: Apache-2.0 */
/* The behavioural suite of shared state, built twice: against the embedded
 * global tier (GR_TEST_REDIS=0, label unit) and against a private
 * redis-server started by the test (GR_TEST_REDIS=1, label integration):
 * whole values, local keys, push/pull (full, ranges), append, locks and
 * their expiry, limits, and for Redis: two hosts, atomic push, a lock
 * holder that dies, a server that stops or hangs and comes back. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "../../support/testutil.h"
#include "state/state.h"
#include "util/alloc.h"

#ifndef GR_TEST_REDIS
#define GR_TEST_REDIS 0
#endif

static gr_test_redis redis;
/* Embedded: the data folder whose state.db every state of the suite
 * shares (the tier as `granary serve` runs it). */
static char data_dir[64];

static gr_state*
make_state_cfg(gr_state_config cfg)
{
    if (GR_TEST_REDIS)
        cfg.redis = redis.addr;
    else if (!cfg.dir)
        cfg.dir = data_dir;
    gr_state* st;
    char err[256] = "";
    int rc = gr_state_create(&cfg, &st, err, sizeof err);
    if (rc)
        fprintf(stderr, "gr_state_create: %s\n", err);
    assert_int_equal(rc, 0);
    assert_string_equal(gr_state_global_kind(st),
                        GR_TEST_REDIS ? "redis" : "embedded");
    return st;
}

static gr_state*
make_state(void)
{
    return make_state_cfg((gr_state_config){ .timeout_ms = 1000 });
}

static double
now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
test_whole_values(void** state)
{
    (void)state;
    gr_state* st = make_state();
    uint8_t* d;
    size_t n;
    assert_int_equal(gr_state_get(st, "alice", "w1", &d, &n), -ENOENT);
    assert_int_equal(gr_state_set(st, "alice", "w1", "hello", 5), 0);
    assert_int_equal(gr_state_get(st, "alice", "w1", &d, &n), 0);
    assert_int_equal(n, 5);
    assert_memory_equal(d, "hello", 5);
    gr_free(d);
    /* users do not see each other's keys */
    assert_int_equal(gr_state_get(st, "bob", "w1", &d, &n), -ENOENT);
    assert_int_equal(gr_state_set(st, "bob", "w1", "B", 1), 0);
    assert_int_equal(gr_state_get(st, "alice", "w1", &d, &n), 0);
    assert_int_equal(n, 5);
    gr_free(d);
    /* empty values exist */
    assert_int_equal(gr_state_set(st, "alice", "empty", "", 0), 0);
    assert_int_equal(gr_state_get(st, "alice", "empty", &d, &n), 0);
    assert_null(d);
    assert_int_equal(n, 0);
    /* names */
    assert_int_equal(gr_state_set(st, "al:ice", "k", "x", 1), -EINVAL);
    assert_int_equal(gr_state_set(st, "", "k", "x", 1), -EINVAL);
    assert_int_equal(gr_state_set(st, "alice", "", "x", 1), -EINVAL);
    /* a key with ':' in it stays inside its user */
    assert_int_equal(gr_state_set(st, "alice", "bob:w1", "x", 1), 0);
    assert_int_equal(gr_state_get(st, "bob", "w1", &d, &n), 0);
    assert_int_equal(n, 1);
    assert_memory_equal(d, "B", 1);
    gr_free(d);
    assert_int_equal(gr_state_delete(st, "alice", "w1"), 0);
    assert_int_equal(gr_state_delete(st, "alice", "w1"), -ENOENT);
    assert_int_equal(gr_state_get(st, "alice", "w1", &d, &n), -ENOENT);
    gr_state_delete(st, "bob", "w1");
    gr_state_delete(st, "alice", "empty");
    gr_state_delete(st, "alice", "bob:w1");
    gr_state_destroy(st);
}

static void
test_local_push_pull(void** state)
{
    (void)state;
    gr_state* st = make_state();
    gr_state_key* k;
    assert_int_equal(gr_state_key_open(st, "alice", "lp", 2, 0, &k), -ENOENT);
    assert_int_equal(gr_state_key_open(st, "alice", "lp", 2, 100, &k), 0);
    assert_int_equal(gr_state_key_size(k), 100);
    char buf[128] = { 1 };
    assert_int_equal(gr_state_key_read(k, 0, buf, 100), 0);
    for (int i = 0; i < 100; i++)
        assert_int_equal(buf[i], 0);
    assert_int_equal(gr_state_key_set(k, "hello", 5), 0);
    assert_int_equal(gr_state_key_size(k), 5);
    /* not global until pushed */
    uint8_t* d;
    size_t n;
    assert_int_equal(gr_state_get(st, "alice", "lp", &d, &n), -ENOENT);
    assert_int_equal(gr_state_key_push(k), 0);
    assert_int_equal(gr_state_get(st, "alice", "lp", &d, &n), 0);
    assert_int_equal(n, 5);
    gr_free(d);
    /* append changes the global value only; pull brings it in */
    size_t total = 0;
    assert_int_equal(gr_state_append(st, "alice", "lp", 2, " world", 6, &total),
                     0);
    assert_int_equal(total, 11);
    assert_int_equal(gr_state_key_size(k), 5);
    assert_int_equal(gr_state_key_pull(k), 0);
    assert_int_equal(gr_state_key_size(k), 11);
    assert_int_equal(gr_state_key_read(k, 0, buf, 11), 0);
    assert_memory_equal(buf, "hello world", 11);
    /* gr_state_set updates this host's copy too */
    assert_int_equal(gr_state_set(st, "alice", "lp", "xy", 2), 0);
    assert_int_equal(gr_state_key_size(k), 2);
    size_t sz;
    assert_int_equal(gr_state_size(st, "alice", "lp", 2, &sz), 0);
    assert_int_equal(sz, 2);
    gr_state_key_unref(k);
    assert_int_equal(gr_state_delete(st, "alice", "lp"), 0);
    assert_int_equal(gr_state_size(st, "alice", "lp", 2, &sz), -ENOENT);
    gr_state_destroy(st);
}

static void
test_ranges(void** state)
{
    (void)state;
    gr_state* st = make_state();
    gr_state_key* k;
    assert_int_equal(gr_state_key_open(st, "alice", "rg", 2, 8192, &k), 0);
    uint8_t v[8192];
    for (size_t i = 0; i < sizeof v; i++)
        v[i] = (uint8_t)i;
    assert_int_equal(gr_state_key_write(k, 0, v, sizeof v), 0);
    assert_int_equal(gr_state_key_push(k), 0);
    assert_int_equal(gr_state_key_write(k, 4096, "ABCD", 4), 0);
    assert_int_equal(gr_state_key_push_range(k, 4096, 4), 0);
    uint8_t got[16];
    size_t g = 0, total = 0;
    assert_int_equal(
      gr_state_read_global(st, "alice", "rg", 2, 4094, got, 8, &g, &total), 0);
    assert_int_equal(g, 8);
    assert_int_equal(total, 8192);
    uint8_t want[8] = { 254, 255, 'A', 'B', 'C', 'D', 4, 5 };
    assert_memory_equal(got, want, 8);
    /* clamped at the end */
    assert_int_equal(
      gr_state_read_global(st, "alice", "rg", 2, 8190, got, 8, &g, &total), 0);
    assert_int_equal(g, 2);
    /* pull a range: change it globally, local range follows */
    assert_int_equal(gr_state_key_write(k, 100, "zzzz", 4), 0);
    assert_int_equal(gr_state_key_pull_range(k, 100, 4), 0);
    assert_int_equal(gr_state_key_read(k, 100, got, 4), 0);
    assert_memory_equal(got, v + 100, 4);
    /* out of bounds */
    assert_int_equal(gr_state_key_read(k, 8190, got, 4), -ERANGE);
    assert_int_equal(gr_state_key_write(k, 8192, got, 1), -ERANGE);
    assert_int_equal(gr_state_key_write(k, SIZE_MAX, got, 2), -ERANGE);
    assert_int_equal(gr_state_key_push_range(k, 8000, 500), -ERANGE);
    assert_int_equal(gr_state_key_pull_range(k, 9000, 1), -ERANGE);
    /* the global value is shorter than the local one */
    assert_int_equal(gr_state_set(st, "alice", "rg", "tiny", 4), 0);
    assert_int_equal(gr_state_key_set(k, v, sizeof v), 0);
    assert_int_equal(gr_state_key_pull_range(k, 0, 100), -ERANGE);
    gr_state_key_unref(k);
    gr_state_delete(st, "alice", "rg");
    gr_state_destroy(st);
}

static void
test_append_log(void** state)
{
    (void)state;
    gr_state* st = make_state();
    size_t total = 0;
    const char* parts[] = { "one;", "two;", "three;" };
    size_t want[] = { 4, 8, 14 };
    for (int i = 0; i < 3; i++) {
        assert_int_equal(
          gr_state_append(
            st, "alice", "log", 3, parts[i], strlen(parts[i]), &total),
          0);
        assert_int_equal(total, want[i]);
    }
    char buf[32];
    size_t g = 0;
    assert_int_equal(
      gr_state_read_global(st, "alice", "log", 3, 4, buf, 32, &g, &total), 0);
    assert_int_equal(g, 10);
    assert_memory_equal(buf, "two;three;", 10);
    assert_int_equal(
      gr_state_read_global(st, "alice", "log", 3, 14, buf, 32, &g, &total), 0);
    assert_int_equal(g, 0);
    assert_int_equal(
      gr_state_read_global(st, "bob", "log", 3, 0, buf, 32, &g, &total),
      -ENOENT);
    gr_state_delete(st, "alice", "log");
    gr_state_destroy(st);
}

static void
test_global_lock(void** state)
{
    (void)state;
    gr_state* st = make_state();
    char t1[33], t2[33];
    assert_int_equal(gr_state_lock_global_try(st, "alice", "L", 1, 10000, t1),
                     0);
    assert_int_equal(gr_state_lock_global_try(st, "alice", "L", 1, 10000, t2),
                     -EBUSY);
    /* another user's lock of the same name is independent */
    assert_int_equal(gr_state_lock_global_try(st, "bob", "L", 1, 10000, t2), 0);
    assert_int_equal(gr_state_unlock_global(st, "bob", "L", 1, t2), 0);
    assert_int_equal(gr_state_unlock_global(st, "alice", "L", 1, t2), -EPERM);
    assert_int_equal(gr_state_unlock_global(st, "alice", "L", 1, t1), 0);
    assert_int_equal(gr_state_unlock_global(st, "alice", "L", 1, t1), -EPERM);
    assert_int_equal(gr_state_lock_global_try(st, "alice", "L", 1, 10000, t2),
                     0);
    assert_int_equal(gr_state_unlock_global(st, "alice", "L", 1, t2), 0);
    gr_state_destroy(st);
}

static void
test_lock_expiry(void** state)
{
    (void)state;
    gr_state* st = make_state_cfg(
      (gr_state_config){ .timeout_ms = 1000, .lock_wait_ms = 3000 });
    char dead[33], t[33];
    /* a holder that never unlocks (it "died") */
    assert_int_equal(gr_state_lock_global_try(st, "alice", "E", 1, 300, dead),
                     0);
    assert_int_equal(gr_state_lock_global_try(st, "alice", "E", 1, 300, t),
                     -EBUSY);
    /* the blocking lock gets it once the holder's lock expires */
    gr_state_key* k;
    assert_int_equal(gr_state_key_open(st, "alice", "E", 1, 16, &k), 0);
    double t0 = now_s();
    assert_int_equal(gr_state_key_lock_global(k, t), 0);
    double waited = now_s() - t0;
    assert_true(waited > 0.1 && waited < 2.0);
    /* the dead holder's late unlock must not release ours */
    assert_int_equal(gr_state_unlock_global(st, "alice", "E", 1, dead), -EPERM);
    char t3[33];
    assert_int_equal(gr_state_lock_global_try(st, "alice", "E", 1, 300, t3),
                     -EBUSY);
    assert_int_equal(gr_state_key_unlock_global(k, t), 0);
    gr_state_key_unref(k);
    /* waiting has a limit */
    gr_state* st2 = make_state_cfg(
      (gr_state_config){ .timeout_ms = 1000, .lock_wait_ms = 100 });
    assert_int_equal(gr_state_lock_global_try(st, "alice", "E", 1, 5000, t), 0);
    assert_int_equal(gr_state_key_open(st2, "alice", "E", 1, 16, &k), 0);
    char t4[33];
    if (GR_TEST_REDIS) /* embedded: st2 is another host's private tier */
        assert_int_equal(gr_state_key_lock_global(k, t4), -EBUSY);
    gr_state_key_unref(k);
    assert_int_equal(gr_state_unlock_global(st, "alice", "E", 1, t), 0);
    gr_state_delete(st, "alice", "E");
    gr_state_destroy(st2);
    gr_state_destroy(st);
}

struct incr_arg
{
    gr_state_key* k;
    int n;
};

static void*
incr_thread(void* p)
{
    struct incr_arg* a = p;
    int fd = gr_state_key_fd(a->k);
    volatile int* v =
      mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (v == MAP_FAILED)
        return (void*)1;
    for (int i = 0; i < a->n; i++) {
        gr_state_key_lock(a->k, 1);
        int x = v[0];
        v[0] = x + 1; /* a lost update without the lock */
        gr_state_key_unlock(a->k, 1);
    }
    munmap((void*)v, 4096);
    return NULL;
}

static void
test_local_rwlock_and_sharing(void** state)
{
    (void)state;
    gr_state* st = make_state();
    gr_state_key* k;
    assert_int_equal(gr_state_key_open(st, "alice", "cnt", 3, 4, &k), 0);
    /* two mappings of the segment share bytes: what guests see */
    int fd = gr_state_key_fd(k);
    uint8_t* a = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    uint8_t* b = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    assert_true(a != MAP_FAILED && b != MAP_FAILED && a != b);
    a[3] = 42;
    assert_int_equal(b[3], 42);
    char c;
    assert_int_equal(gr_state_key_read(k, 3, &c, 1), 0);
    assert_int_equal(c, 42);
    /* growing keeps earlier mappings valid */
    assert_int_equal(gr_state_key_open(st, "alice", "cnt", 3, 1 << 20, &k), 0);
    gr_state_key_unref(k);
    assert_int_equal(b[3], 42);
    a[3] = 0;
    munmap(a, 4096);
    munmap(b, 4096);
    pthread_t th[4];
    struct incr_arg arg = { .k = k, .n = 20000 };
    for (int i = 0; i < 4; i++)
        pthread_create(&th[i], NULL, incr_thread, &arg);
    for (int i = 0; i < 4; i++) {
        void* r;
        pthread_join(th[i], &r);
        assert_null(r);
    }
    int v;
    assert_int_equal(gr_state_key_read(k, 0, &v, 4), 0);
    assert_int_equal(v, 80000);
    /* readers share */
    assert_int_equal(gr_state_key_lock(k, 0), 0);
    assert_int_equal(gr_state_key_lock(k, 0), 0);
    gr_state_key_unlock(k, 0);
    gr_state_key_unlock(k, 0);
    gr_state_key_unref(k);
    gr_state_delete(st, "alice", "cnt");
    gr_state_destroy(st);
}

static void
test_limits(void** state)
{
    (void)state;
    gr_state* st = make_state_cfg(
      (gr_state_config){ .timeout_ms = 1000, .max_value = 1 << 20 });
    size_t big = (1 << 20) + 1;
    uint8_t* v = calloc(1, big);
    gr_state_key* k;
    assert_int_equal(gr_state_set(st, "alice", "big", v, big), -EFBIG);
    assert_int_equal(gr_state_key_open(st, "alice", "big", 3, big, &k), -EFBIG);
    assert_int_equal(gr_state_key_open(st, "alice", "big", 3, 100, &k), 0);
    assert_int_equal(gr_state_key_set(k, v, big), -EFBIG);
    gr_state_key_unref(k);
    assert_int_equal(gr_state_append(st, "alice", "big", 3, v, big, NULL),
                     -EFBIG);
    assert_int_equal(gr_state_append(st, "alice", "big", 3, v, big - 10, NULL),
                     0);
    assert_int_equal(gr_state_append(st, "alice", "big", 3, v, 11, NULL),
                     -EFBIG);
    char key[GR_STATE_MAX_KEY + 2];
    memset(key, 'k', sizeof key - 1);
    key[sizeof key - 1] = '\0';
    assert_int_equal(gr_state_set(st, "alice", key, "x", 1), -EINVAL);
    free(v);
    gr_state_delete(st, "alice", "big");
    gr_state_destroy(st);
}

static void
test_big_value(void** state)
{
    (void)state;
    gr_state* st = make_state();
    size_t n = 20u << 20; /* bigger than one Redis chunk (8 MiB) */
    uint8_t* v = malloc(n);
    for (size_t i = 0; i < n; i++)
        v[i] = (uint8_t)(i * 7 + (i >> 12));
    gr_state_key* k;
    assert_int_equal(gr_state_key_open(st, "alice", "huge", 4, n, &k), 0);
    assert_int_equal(gr_state_key_write(k, 0, v, n), 0);
    assert_int_equal(gr_state_key_push(k), 0);
    uint8_t* d;
    size_t dn;
    assert_int_equal(gr_state_get(st, "alice", "huge", &d, &dn), 0);
    assert_int_equal(dn, n);
    assert_memory_equal(d, v, n);
    gr_free(d);
    gr_state_key_unref(k);
    free(v);
    gr_state_delete(st, "alice", "huge");
    gr_state_destroy(st);
}

#if GR_TEST_REDIS
static void
test_two_hosts(void** state)
{
    (void)state;
    gr_state* h1 = make_state();
    gr_state* h2 = make_state();
    gr_state_key *a, *b;
    assert_int_equal(gr_state_key_open(h1, "alice", "shared", 6, 64, &a), 0);
    assert_int_equal(gr_state_key_write(a, 0, "from host 1", 11), 0);
    assert_int_equal(gr_state_key_push(a), 0);
    /* new to host 2: pulled on first use */
    assert_int_equal(gr_state_key_open(h2, "alice", "shared", 6, 0, &b), 0);
    assert_int_equal(gr_state_key_size(b), 64);
    char buf[16];
    assert_int_equal(gr_state_key_read(b, 0, buf, 11), 0);
    assert_memory_equal(buf, "from host 1", 11);
    assert_int_equal(gr_state_key_write(b, 0, "FROM", 4), 0);
    assert_int_equal(gr_state_key_push_range(b, 0, 4), 0);
    assert_int_equal(gr_state_key_pull(a), 0);
    assert_int_equal(gr_state_key_read(a, 0, buf, 11), 0);
    assert_memory_equal(buf, "FROM host 1", 11);
    gr_state_key_unref(a);
    gr_state_key_unref(b);
    gr_state_delete(h1, "alice", "shared");
    gr_state_destroy(h1);
    gr_state_destroy(h2);
}

static void
test_failed_push_is_invisible(void** state)
{
    (void)state;
    gr_state* st = make_state();
    assert_int_equal(gr_state_set(st, "alice", "atomic", "old", 3), 0);
    /* Let Redis refuse writes partway through a chunked push. */
    char out[256];
    gr_test_redis_cli(
      &redis, "INFO memory | grep '^used_memory:'", out, sizeof out);
    long used = atol(strchr(out, ':') ? strchr(out, ':') + 1 : "0");
    char cmd[128];
    snprintf(cmd, sizeof cmd, "CONFIG SET maxmemory %ld", used + (12l << 20));
    assert_int_equal(gr_test_redis_cli(&redis, cmd, NULL, 0), 0);
    size_t n = 40u << 20;
    uint8_t* v = malloc(n);
    memset(v, 'N', n);
    gr_state_key* k;
    assert_int_equal(gr_state_key_open(st, "alice", "atomic", 6, n, &k), 0);
    assert_int_equal(gr_state_key_write(k, 0, v, n), 0);
    int rc = gr_state_key_push(k);
    assert_int_equal(
      gr_test_redis_cli(&redis, "CONFIG SET maxmemory 0", NULL, 0), 0);
    assert_true(rc < 0);
    uint8_t* d;
    size_t dn;
    assert_int_equal(gr_state_get(st, "alice", "atomic", &d, &dn), 0);
    assert_int_equal(dn, 3);
    assert_memory_equal(d, "old", 3);
    gr_free(d);
    /* no temporary key left behind */
    gr_test_redis_cli(
      &redis, "--scan --pattern 'granary-tmp:*'", out, sizeof out);
    assert_string_equal(out, "");
    /* and with room, the same push succeeds */
    assert_int_equal(gr_state_key_push(k), 0);
    assert_int_equal(gr_state_get(st, "alice", "atomic", &d, &dn), 0);
    assert_int_equal(dn, n);
    assert_memory_equal(d, v, n);
    gr_free(d);
    gr_state_key_unref(k);
    free(v);
    gr_state_delete(st, "alice", "atomic");
    gr_state_destroy(st);
}

static void
test_lock_holder_dies(void** state)
{
    (void)state;
    int p[2];
    assert_int_equal(pipe(p), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        gr_state_config cfg = { .redis = redis.addr, .lock_ttl_ms = 700 };
        gr_state* st;
        gr_state_key* k;
        char t[33];
        int ok = gr_state_create(&cfg, &st, NULL, 0) == 0 &&
                 gr_state_key_open(st, "alice", "D", 1, 8, &k) == 0 &&
                 gr_state_key_lock_global(k, t) == 0;
        if (write(p[1], ok ? "y" : "n", 1) != 1)
            _exit(2);
        pause(); /* holds the lock until killed */
        _exit(0);
    }
    char c = 0;
    assert_int_equal(read(p[0], &c, 1), 1);
    assert_int_equal(c, 'y');
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    close(p[0]);
    close(p[1]);
    gr_state* st = make_state_cfg(
      (gr_state_config){ .timeout_ms = 1000, .lock_wait_ms = 5000 });
    char t[33];
    assert_int_equal(gr_state_lock_global_try(st, "alice", "D", 1, 1000, t),
                     -EBUSY);
    gr_state_key* k;
    assert_int_equal(gr_state_key_open(st, "alice", "D", 1, 8, &k), 0);
    double t0 = now_s();
    assert_int_equal(gr_state_key_lock_global(k, t), 0);
    assert_true(now_s() - t0 < 2.0);
    assert_int_equal(gr_state_key_unlock_global(k, t), 0);
    gr_state_key_unref(k);
    gr_state_delete(st, "alice", "D");
    gr_state_destroy(st);
}

static void
test_redis_down_and_back(void** state)
{
    (void)state;
    gr_state* st = make_state_cfg((gr_state_config){ .timeout_ms = 500 });
    gr_state_key* k;
    assert_int_equal(gr_state_key_open(st, "alice", "dn", 2, 16, &k), 0);
    assert_int_equal(gr_state_key_write(k, 0, "before", 6), 0);
    assert_int_equal(gr_state_key_push(k), 0);

    /* a hung server: every call times out instead of hanging */
    gr_test_redis_signal(&redis, SIGSTOP);
    double t0 = now_s();
    int rc = gr_state_key_push(k);
    double dt = now_s() - t0;
    assert_int_equal(rc, -ETIMEDOUT);
    assert_true(dt < 2.0);
    gr_test_redis_signal(&redis, SIGCONT);
    assert_int_equal(gr_state_key_push(k), 0); /* reconnects */

    /* a dead server: clear errors, quickly; local data still usable */
    gr_test_redis_stop(&redis);
    t0 = now_s();
    rc = gr_state_key_push(k);
    assert_true(rc == -ECONNRESET || rc == -ECONNREFUSED);
    assert_int_equal(gr_state_key_pull(k), -ECONNREFUSED);
    uint8_t* d;
    size_t dn;
    assert_int_equal(gr_state_get(st, "alice", "dn", &d, &dn), -ECONNREFUSED);
    char t[33];
    assert_int_equal(gr_state_lock_global_try(st, "alice", "dn", 2, 100, t),
                     -ECONNREFUSED);
    assert_true(now_s() - t0 < 3.0);
    char buf[8];
    assert_int_equal(gr_state_key_read(k, 0, buf, 6), 0);
    assert_memory_equal(buf, "before", 6);

    /* back (empty: no persistence); the next operation reconnects */
    assert_int_equal(gr_test_redis_start(&redis), 0);
    assert_int_equal(gr_state_get(st, "alice", "dn", &d, &dn), -ENOENT);
    assert_int_equal(gr_state_key_push(k), 0);
    assert_int_equal(gr_state_get(st, "alice", "dn", &d, &dn), 0);
    assert_int_equal(dn, 16);
    assert_memory_equal(d, "before", 6);
    gr_free(d);
    gr_state_key_unref(k);
    gr_state_destroy(st);

    /* connecting to nothing fails clearly at create time */
    gr_state_config bad = { .redis = "127.0.0.1:1", .timeout_ms = 300 };
    char err[256];
    gr_state* none;
    assert_int_equal(gr_state_create(&bad, &none, err, sizeof err),
                     -ECONNREFUSED);
    assert_non_null(strstr(err, "cannot connect"));
}
#endif

#if GR_TEST_REDIS
/* A lock request sent while Redis is stalled times out; Redis applies it
 * when it resumes. That lock must not stay held for its whole TTL: it is
 * released as soon as Redis answers again. */
static void
test_lock_stall_no_ghost(void** state)
{
    (void)state;
    gr_state* st = make_state_cfg((gr_state_config){ .timeout_ms = 300 });
    gr_state* other = make_state_cfg((gr_state_config){ .timeout_ms = 2000 });
    char t[33], t2[33];
    gr_test_redis_signal(&redis, SIGSTOP);
    int rc = gr_state_lock_global_try(st, "alice", "ghost", 5, 60000, t);
    gr_test_redis_signal(&redis, SIGCONT);
    assert_int_equal(rc, -ETIMEDOUT);
    /* The request was applied on resume: the key exists for a while... */
    double t0 = now_s();
    int got = 0;
    while (now_s() - t0 < 10.0) {
        rc = gr_state_lock_global_try(other, "alice", "ghost", 5, 1000, t2);
        if (rc == 0) {
            got = 1;
            break;
        }
        assert_int_equal(rc, -EBUSY);
        usleep(50000);
    }
    /* ...but far less than its 60 s TTL. */
    assert_true(got);
    assert_int_equal(gr_state_unlock_global(other, "alice", "ghost", 5, t2), 0);
    gr_state_destroy(other);
    gr_state_destroy(st);
}

/* What an error of a push means: a whole push (SET) and a range push
 * (SETRANGE) that timed out may have been applied; retrying gives the
 * same value (they are idempotent). An append that timed out may have
 * been applied once: never twice, never partly. */
static void
test_push_stall_semantics(void** state)
{
    (void)state;
    gr_state* st = make_state_cfg((gr_state_config){ .timeout_ms = 300 });
    gr_state_key* k;
    assert_int_equal(gr_state_key_open(st, "alice", "ps", 2, 8, &k), 0);
    assert_int_equal(gr_state_key_write(k, 0, "AAAAAAAA", 8), 0);
    assert_int_equal(gr_state_key_push(k), 0);
    assert_int_equal(gr_state_append(st, "alice", "pl", 2, "a;", 2, NULL), 0);

    assert_int_equal(gr_state_key_write(k, 2, "BB", 2), 0);
    gr_test_redis_signal(&redis, SIGSTOP);
    int r1 = gr_state_key_push_range(k, 2, 2);
    int r2 = gr_state_append(st, "alice", "pl", 2, "b;", 2, NULL);
    gr_test_redis_signal(&redis, SIGCONT);
    assert_int_equal(r1, -ETIMEDOUT);
    assert_true(r2 == -ETIMEDOUT || r2 == -ECONNRESET);
    uint8_t* d;
    size_t dn;
    /* the range is either old or new, whole */
    assert_int_equal(gr_state_get(st, "alice", "ps", &d, &dn), 0);
    assert_int_equal(dn, 8);
    assert_true(memcmp(d, "AABBAAAA", 8) == 0 || memcmp(d, "AAAAAAAA", 8) == 0);
    gr_free(d);
    /* retrying the range push is safe */
    assert_int_equal(gr_state_key_push_range(k, 2, 2), 0);
    assert_int_equal(gr_state_get(st, "alice", "ps", &d, &dn), 0);
    assert_memory_equal(d, "AABBAAAA", 8);
    gr_free(d);
    /* the append happened once or not at all */
    assert_int_equal(gr_state_get(st, "alice", "pl", &d, &dn), 0);
    assert_true((dn == 2 && memcmp(d, "a;", 2) == 0) ||
                (dn == 4 && memcmp(d, "a;b;", 4) == 0));
    gr_free(d);
    gr_state_key_unref(k);
    gr_state_delete(st, "alice", "ps");
    gr_state_delete(st, "alice", "pl");
    gr_state_destroy(st);
}
#endif

#if !GR_TEST_REDIS
/* Values that grow by ranges and appends (capacity to spare, copied when
 * it runs out) read back exactly, zero padded, also after a reopen. */
static void
test_embedded_growth(void** state)
{
    (void)state;
    gr_state* st = make_state();
    size_t total = 0;
    char piece[1000];
    for (int i = 0; i < 300; i++) {
        memset(piece, 'a' + i % 26, sizeof piece);
        assert_int_equal(
          gr_state_append(st, "alice", "glog", 4, piece, sizeof piece, &total),
          0);
        assert_int_equal(total, (size_t)(i + 1) * sizeof piece);
    }
    gr_state_key* k;
    assert_int_equal(gr_state_key_open(st, "alice", "gr", 2, 10, &k), 0);
    assert_int_equal(gr_state_key_write(k, 0, "0123456789", 10), 0);
    assert_int_equal(gr_state_key_push(k), 0);
    /* a range far past the end zero-pads the gap */
    gr_state_key_unref(k);
    assert_int_equal(gr_state_key_open(st, "alice", "gr", 2, 200000, &k), 0);
    assert_int_equal(gr_state_key_write(k, 199990, "ABCDEFGHIJ", 10), 0);
    assert_int_equal(gr_state_key_push_range(k, 199990, 10), 0);
    gr_state_key_unref(k);
    gr_state_destroy(st);

    st = make_state(); /* reopened: everything was kept */
    char buf[2000];
    size_t g = 0;
    for (int i = 0; i < 300; i += 37) {
        assert_int_equal(gr_state_read_global(st,
                                              "alice",
                                              "glog",
                                              4,
                                              (size_t)i * 1000 + 500,
                                              buf,
                                              1000,
                                              &g,
                                              &total),
                         0);
        assert_int_equal(g, 1000);
        assert_int_equal(total, 300000);
        assert_int_equal(buf[0], 'a' + i % 26);
        assert_int_equal(buf[999], 'a' + (i + 1) % 26);
    }
    uint8_t* d;
    size_t dn;
    assert_int_equal(gr_state_get(st, "alice", "gr", &d, &dn), 0);
    assert_int_equal(dn, 200000);
    assert_memory_equal(d, "0123456789", 10);
    for (size_t i = 10; i < 199990; i++)
        if (d[i] != 0)
            fail_msg("byte %zu is %d, not 0", i, d[i]);
    assert_memory_equal(d + 199990, "ABCDEFGHIJ", 10);
    gr_free(d);
    /* a whole set shrinks the value; growing it again pads with zeros */
    assert_int_equal(gr_state_set(st, "alice", "glog", "xy", 2), 0);
    assert_int_equal(gr_state_append(st, "alice", "glog", 4, "z", 1, &total),
                     0);
    assert_int_equal(gr_state_get(st, "alice", "glog", &d, &dn), 0);
    assert_int_equal(dn, 3);
    assert_memory_equal(d, "xyz", 3);
    gr_free(d);
    gr_state_delete(st, "alice", "glog");
    gr_state_delete(st, "alice", "gr");
    gr_state_destroy(st);
}

static void
pattern(uint8_t* b, size_t n, int seed)
{
    for (size_t i = 0; i < n; i++)
        b[i] = (uint8_t)(seed * 31 + i * 7);
}

/* The child of test_embedded_kill9: writes round after round (a whole
 * value, a range that grows a value, an append) and reports each round on
 * the pipe once all three returned 0, until it is killed. */
static void
kill9_child(const char* dir, int fd)
{
    gr_state_config cfg = { .dir = dir };
    gr_state* st;
    if (gr_state_create(&cfg, &st, NULL, 0))
        _exit(2);
    uint8_t b[3000];
    for (int i = 0;; i++) {
        char key[32], entry[32];
        snprintf(key, sizeof key, "v%d", i);
        pattern(b, 100 + (size_t)i % 2000, i);
        if (gr_state_set(st, "alice", key, b, 100 + (size_t)i % 2000))
            _exit(3);
        pattern(b, 1000, i);
        gr_state_key* k;
        if (gr_state_key_open(
              st, "alice", "grow", 4, (size_t)(i + 1) * 1000, &k) ||
            gr_state_key_write(k, (size_t)i * 1000, b, 1000) ||
            gr_state_key_push_range(k, (size_t)i * 1000, 1000))
            _exit(4);
        gr_state_key_unref(k);
        int el = snprintf(entry, sizeof entry, "e%d;", i);
        if (gr_state_append(st, "alice", "log", 3, entry, (size_t)el, NULL))
            _exit(5);
        if (write(fd, "+", 1) != 1)
            _exit(6);
    }
}

/* kill -9 in the middle of writing: after a restart on the same folder,
 * every write that had returned 0 is there, and the log is a clean prefix
 * of whole appends. */
static void
test_embedded_kill9(void** state)
{
    (void)state;
    char dir[64];
    snprintf(dir, sizeof dir, "/tmp/gr-state-k9-XXXXXX");
    assert_non_null(mkdtemp(dir));
    int p[2];
    assert_int_equal(pipe(p), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(p[0]);
        kill9_child(dir, p[1]);
        _exit(0);
    }
    close(p[1]);
    int acked = 0;
    char c;
    while (acked < 150 && read(p[0], &c, 1) == 1)
        acked++;
    kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
    assert_true(WIFSIGNALED(status));
    /* Rounds reported before the kill landed are acknowledged too. */
    while (read(p[0], &c, 1) == 1)
        acked++;
    close(p[0]);
    assert_true(acked >= 150);

    gr_state* st = make_state_cfg((gr_state_config){ .dir = dir });
    uint8_t want[3000];
    uint8_t* d;
    size_t dn;
    for (int i = 0; i < acked; i++) {
        char key[32];
        snprintf(key, sizeof key, "v%d", i);
        size_t n = 100 + (size_t)i % 2000;
        pattern(want, n, i);
        assert_int_equal(gr_state_get(st, "alice", key, &d, &dn), 0);
        assert_int_equal(dn, n);
        assert_memory_equal(d, want, n);
        gr_free(d);
    }
    assert_int_equal(gr_state_get(st, "alice", "grow", &d, &dn), 0);
    assert_true(dn >= (size_t)acked * 1000);
    for (int i = 0; i < acked; i++) {
        pattern(want, 1000, i);
        if (memcmp(d + (size_t)i * 1000, want, 1000) != 0)
            fail_msg("range %d of %d is not as written", i, acked);
    }
    gr_free(d);
    assert_int_equal(gr_state_get(st, "alice", "log", &d, &dn), 0);
    char* log = gr_malloc(dn + 1);
    memcpy(log, d, dn);
    log[dn] = '\0';
    gr_free(d);
    size_t off = 0;
    for (int i = 0; off < dn; i++) {
        char entry[32];
        int el = snprintf(entry, sizeof entry, "e%d;", i);
        assert_true(off + (size_t)el <= dn);
        assert_memory_equal(log + off, entry, (size_t)el);
        off += (size_t)el;
        if (off == dn)
            assert_true(i + 1 >= acked);
    }
    gr_free(log);
    gr_state_destroy(st);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}
#endif

static int
group_setup(void** state)
{
    (void)state;
    signal(SIGPIPE, SIG_IGN);
    if (!GR_TEST_REDIS) {
        snprintf(data_dir, sizeof data_dir, "/tmp/gr-state-test-XXXXXX");
        if (!mkdtemp(data_dir))
            return -1;
    }
    if (GR_TEST_REDIS && gr_test_redis_start(&redis) != 0) {
        fprintf(stderr, "cannot start redis-server\n");
        return -1;
    }
    return 0;
}

static int
group_teardown(void** state)
{
    (void)state;
    gr_test_redis_stop(&redis);
    if (data_dir[0]) {
        char cmd[128];
        snprintf(cmd, sizeof cmd, "rm -rf %s", data_dir);
        if (system(cmd) != 0)
            return -1;
    }
    return 0;
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_whole_values),
        cmocka_unit_test(test_local_push_pull),
        cmocka_unit_test(test_ranges),
        cmocka_unit_test(test_append_log),
        cmocka_unit_test(test_global_lock),
        cmocka_unit_test(test_lock_expiry),
        cmocka_unit_test(test_local_rwlock_and_sharing),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_big_value),
#if GR_TEST_REDIS
        cmocka_unit_test(test_two_hosts),
        cmocka_unit_test(test_failed_push_is_invisible),
        cmocka_unit_test(test_lock_holder_dies),
        cmocka_unit_test(test_redis_down_and_back),
        cmocka_unit_test(test_lock_stall_no_ghost),
        cmocka_unit_test(test_push_stall_semantics),
#else
        cmocka_unit_test(test_embedded_growth),
        cmocka_unit_test(test_embedded_kill9),
#endif
    };
    return cmocka_run_group_tests_name(GR_TEST_REDIS ? "state (redis)"
                                                     : "state (embedded)",
                                       tests,
                                       group_setup,
                                       group_teardown);
}
