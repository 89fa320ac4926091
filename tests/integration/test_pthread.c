/* SPDX-License-Identifier: Apache-2.0 */
/* POSIX threads in guests end to end: tests/guests/pthread/pthread_suite.c,
 * built with granary-cc -pthread against sdk/lib/pthread, run by
 * `granary run` on the granary backend (wasi-threads): every construct
 * with 1, 2 and 4 threads, malloc and printf from many threads; and the
 * module granary-cc -pthread makes (its thread ABI). */
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "testutil.h"

static char cache_dir[128];

/* Runs the suite with argv args (NULL-terminated); asserts exit 0 unless
 * want_fail, and returns the process (caller frees). */
static gr_test_proc
suite(const char* a0, ...)
{
    const char* argv[40] = { GRANARY_BINARY_DIR "/bin/granary",
                             "run",
                             "--cache",
                             cache_dir,
                             gr_test_guest("pthread_suite") };
    int n = 5;
    va_list ap;
    va_start(ap, a0);
    for (const char* a = a0; a && n < 39; a = va_arg(ap, const char*))
        argv[n++] = a;
    va_end(ap);
    argv[n] = NULL;
    gr_test_proc p;
    assert_int_equal(gr_test_run(argv, "", 600, &p), 0);
    return p;
}

/* One construct with 1, 2 and 4 threads in one run. */
static void
run_construct(const char* name)
{
    gr_test_proc p = suite(name, "1", name, "2", name, "4", NULL);
    if (p.status != 0)
        fprintf(
          stderr, "status %d\nout: %s\nerr: %s\n", p.status, p.out, p.err);
    assert_int_equal(p.status, 0);
    for (int n = 1; n <= 4; n *= 2) {
        char want[64];
        snprintf(want, sizeof want, "ok %s %d\n", name, n);
        assert_non_null(strstr(p.out, want));
    }
    assert_null(strstr(p.out, "FAIL"));
    gr_test_proc_free(&p);
}

#define CONSTRUCT(name)                                                        \
    static void construct_##name(void** state)                                 \
    {                                                                          \
        (void)state;                                                           \
        run_construct(#name);                                                  \
    }

CONSTRUCT(create)
CONSTRUCT(detach)
CONSTRUCT(exit)
CONSTRUCT(attr)
CONSTRUCT(mutex)
CONSTRUCT(cond)
CONSTRUCT(rwlock)
CONSTRUCT(barrier)
CONSTRUCT(spin)
CONSTRUCT(once)
CONSTRUCT(keys)
CONSTRUCT(sem)
CONSTRUCT(malloc)
CONSTRUCT(limit)

/* printf, fprintf, puts and fwrite from 1, 2 and 4 threads: every line
 * whole, none lost, none mixed with another. */
static void
test_printf_many_threads(void** state)
{
    (void)state;
    regex_t re;
    assert_int_equal(regcomp(&re,
                             "^P ([0-9]+) ([0-9]+) payload-([0-9]+)-([0-9]+)$",
                             REG_EXTENDED),
                     0);
    for (int n = 1; n <= 4; n *= 2) {
        char ns[12];
        snprintf(ns, sizeof ns, "%d", n);
        gr_test_proc p = suite("printf", ns, NULL);
        assert_int_equal(p.status, 0);
        static char seen[4][200];
        memset(seen, 0, sizeof seen);
        int lines = 0;
        for (char* line = strtok(p.out, "\n"); line;
             line = strtok(NULL, "\n")) {
            if (strncmp(line, "ok ", 3) == 0)
                continue;
            regmatch_t m[5];
            if (regexec(&re, line, 5, m, 0) != 0)
                fail_msg("torn or mixed line: '%s'", line);
            int t = atoi(line + m[1].rm_so), i = atoi(line + m[2].rm_so);
            assert_int_equal(atoi(line + m[3].rm_so), t);
            assert_int_equal(atoi(line + m[4].rm_so), i);
            assert_true(t >= 0 && t < n && i >= 0 && i < 200);
            assert_false(seen[t][i]);
            seen[t][i] = 1;
            lines++;
        }
        assert_int_equal(lines, n * 200);
        gr_test_proc_free(&p);
    }
    regfree(&re);
}

/* Process exit with threads: a worker's end runs no atexit handler (libc's
 * __wasm_call_dtors would, wasm-ld calls it after every export of a
 * command); pthread_exit in main waits for the others; exit() in a worker
 * runs the handlers and ends the call with its status. */
static void
test_process_exit(void** state)
{
    (void)state;
    gr_test_proc p = suite("dtors", NULL);
    assert_int_equal(p.status, 0);
    char* a = strstr(p.out, "after join\n");
    assert_non_null(a);
    assert_non_null(strstr(a, "atexit ran\n"));
    assert_null(strstr(strstr(p.out, "atexit ran\n") + 1, "atexit ran\n"));
    gr_test_proc_free(&p);

    p = suite("mainexit", NULL);
    assert_int_equal(p.status, 0);
    assert_non_null(strstr(p.out, "worker 0 done\n"));
    assert_non_null(strstr(p.out, "worker 1 done\n"));
    assert_non_null(strstr(p.out, "atexit ran\n"));
    gr_test_proc_free(&p);

    p = suite("wexit", NULL);
    assert_int_equal(p.status, 3);
    assert_non_null(strstr(p.out, "atexit ran\n"));
    assert_null(strstr(p.out, "not reached"));
    gr_test_proc_free(&p);
}

/* What granary-cc -pthread produces: a shared memory, the wasi-threads
 * import and export, and no libc exit.o (our __wasm_call_dtors). */
static void
test_module_abi(void** state)
{
    (void)state;
    char cmd[600];
    snprintf(
      cmd, sizeof cmd, "wasm-objdump -x '%s'", gr_test_guest("pthread_suite"));
    const char* argv[] = { "/bin/sh", "-c", cmd, NULL };
    gr_test_proc p;
    assert_int_equal(gr_test_run(argv, "", 60, &p), 0);
    assert_int_equal(p.status, 0);
    assert_non_null(strstr(p.out, "max=16384 shared"));
    assert_non_null(strstr(p.out, "<- wasi.thread-spawn"));
    assert_non_null(strstr(p.out, "<- granary.thread_limit"));
    assert_non_null(strstr(p.out, "-> \"wasi_thread_start\""));
    assert_non_null(strstr(p.out, "-> \"__stack_pointer\""));
    assert_non_null(strstr(p.out, "-> \"memory\""));
    assert_non_null(strstr(p.out, "<__tls_base>"));
    gr_test_proc_free(&p);
    snprintf(cmd,
             sizeof cmd,
             "wasm-validate --enable-threads '%s'",
             gr_test_guest("pthread_suite"));
    const char* v[] = { "/bin/sh", "-c", cmd, NULL };
    assert_int_equal(gr_test_run(v, "", 60, &p), 0);
    assert_int_equal(p.status, 0);
    gr_test_proc_free(&p);
}

/* Runs a shell command in a fresh directory (cd'ed into); returns the
 * process. */
static gr_test_proc
sh(const char* dir, const char* fmt, ...)
{
    char cmd[3000], full[3200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    snprintf(full, sizeof full, "cd '%s' && %s", dir, cmd);
    const char* argv[] = { "/bin/sh", "-c", full, NULL };
    gr_test_proc p;
    assert_int_equal(gr_test_run(argv, "", 300, &p), 0);
    return p;
}

#define CC GRANARY_SOURCE_DIR "/sdk/bin/granary-cc"
#define PTLIB                                                                  \
    "GRANARY_PTHREAD_LIB=" GRANARY_BINARY_DIR "/sdk/lib/libgranary_pthread.a"

/* The thread options of granary-cc one by one: -pthread -c then
 * -lpthread to link; -mthread-model posix and -matomics compile atomics;
 * -Wl,--shared-memory alone gives a shared memory without the library. */
static void
test_cc_thread_options(void** state)
{
    (void)state;
    char dir[128];
    gr_test_mkdtemp(dir, sizeof dir);
    char path[256];
    snprintf(path, sizeof path, "%s/t.c", dir);
    gr_test_write_file(path,
                       "#include <pthread.h>\n"
                       "#include <stdatomic.h>\n"
                       "#include <stdio.h>\n"
                       "static _Atomic int n;\n"
                       "static void* f(void* a) { n += 1; return a; }\n"
                       "int main(void) {\n"
                       "  pthread_t t; pthread_create(&t, 0, f, 0);\n"
                       "  pthread_join(t, 0); printf(\"n=%d\\n\", n);\n"
                       "  return n == 1 ? 0 : 1; }\n");
    snprintf(path, sizeof path, "%s/plain.c", dir);
    gr_test_write_file(path,
                       "#include <stdatomic.h>\n"
                       "_Atomic int x;\n"
                       "int main(void) { return atomic_fetch_add(&x, 1); }\n");
    gr_test_proc p = sh(dir,
                        "%s %s -pthread -O2 -c t.c -o t.o && "
                        "%s %s t.o -lpthread -o t.wasm && "
                        "wasm-objdump -x t.wasm",
                        PTLIB,
                        CC,
                        PTLIB,
                        CC);
    if (p.status)
        fprintf(stderr, "%s%s", p.out, p.err);
    assert_int_equal(p.status, 0);
    assert_non_null(strstr(p.out, "shared"));
    assert_non_null(strstr(p.out, "-> \"wasi_thread_start\""));
    gr_test_proc_free(&p);
    p = sh(dir,
           "%s/bin/granary run --cache '%s' t.wasm",
           GRANARY_BINARY_DIR,
           cache_dir);
    assert_int_equal(p.status, 0);
    assert_non_null(strstr(p.out, "n=1"));
    gr_test_proc_free(&p);
    /* -mthread-model posix: real atomic instructions, and
     * -Wl,--shared-memory without the thread library. */
    p = sh(dir,
           "%s -mthread-model posix -O2 plain.c -Wl,--shared-memory "
           "-o plain.wasm && wasm-objdump -x -d plain.wasm",
           CC);
    if (p.status)
        fprintf(stderr, "%s%s", p.out, p.err);
    assert_int_equal(p.status, 0);
    assert_non_null(strstr(p.out, "i32.atomic.rmw.add"));
    assert_non_null(strstr(p.out, "shared"));
    assert_null(strstr(p.out, "wasi_thread_start"));
    gr_test_proc_free(&p);
    p = sh(dir,
           "%s -matomics -O2 -c plain.c -o a.o && "
           "wasm-objdump -d a.o",
           CC);
    assert_int_equal(p.status, 0);
    assert_non_null(strstr(p.out, "i32.atomic.rmw.add"));
    gr_test_proc_free(&p);
    /* Without -pthread, pthread.h says what to do. */
    p = sh(dir, "%s -c t.c -o bad.o", CC);
    assert_int_not_equal(p.status, 0);
    assert_non_null(strstr(p.err, "granary-cc -pthread"));
    gr_test_proc_free(&p);
}

int
main(void)
{
    /* Threads need the granary backend (wasm2c refuses shared memory). */
    setenv("GRANARY_ENGINE", "granary", 1);
    snprintf(
      cache_dir, sizeof cache_dir, "%s/test-cache-pthread", GRANARY_BINARY_DIR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_module_abi),
        cmocka_unit_test(construct_create),
        cmocka_unit_test(construct_detach),
        cmocka_unit_test(construct_exit),
        cmocka_unit_test(construct_attr),
        cmocka_unit_test(construct_mutex),
        cmocka_unit_test(construct_cond),
        cmocka_unit_test(construct_rwlock),
        cmocka_unit_test(construct_barrier),
        cmocka_unit_test(construct_spin),
        cmocka_unit_test(construct_once),
        cmocka_unit_test(construct_keys),
        cmocka_unit_test(construct_sem),
        cmocka_unit_test(construct_malloc),
        cmocka_unit_test(construct_limit),
        cmocka_unit_test(test_printf_many_threads),
        cmocka_unit_test(test_cc_thread_options),
        cmocka_unit_test(test_process_exit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
