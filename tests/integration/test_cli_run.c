/* SPDX-License-Identifier: Apache-2.0 */
/* `granary run` end to end: real guests built by granary-cc, compiled by
 * the engine, run with WASI; exit codes, traps, sandbox, bad modules,
 * --timeout and --tcplisten. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
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

/* wasmtime's convention: --dir . preopens the current folder as ".", so
 * a guest opening ./file (or file) finds the file in the current folder;
 * a relative HOST is visible under the same relative name. */
static void
test_dir_dot_and_relative(void** state)
{
    (void)state;
    char dir[128], path[256], sub[256], old[4096];
    gr_test_mkdtemp(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/data.txt", dir);
    gr_test_write_file(path, "from the current folder\n");
    snprintf(sub, sizeof sub, "%s/sub", dir);
    assert_int_equal(mkdir(sub, 0700), 0);
    snprintf(path, sizeof path, "%s/sub/in.txt", dir);
    gr_test_write_file(path, "from sub\n");
    assert_non_null(getcwd(old, sizeof old));
    assert_int_equal(chdir(dir), 0);

    gr_test_proc p =
      run("--dir", ".", gr_test_guest("hello"), "-f", "./data.txt", NULL);
    if (p.status != 0)
        fprintf(stderr, "--dir .: status %d, stderr: %s\n", p.status, p.err);
    assert_int_equal(p.status, 0);
    assert_non_null(strstr(p.out, "file: from the current folder"));
    gr_test_proc_free(&p);

    p = run("--dir", ".", gr_test_guest("hello"), "-f", "data.txt", NULL);
    assert_int_equal(p.status, 0);
    assert_non_null(strstr(p.out, "file: from the current folder"));
    gr_test_proc_free(&p);

    p = run("--dir", "sub", gr_test_guest("hello"), "-f", "sub/in.txt", NULL);
    assert_int_equal(p.status, 0);
    assert_non_null(strstr(p.out, "file: from sub"));
    gr_test_proc_free(&p);

    /* ".." still cannot leave the preopened folder */
    p = run(
      "--dir", "sub", gr_test_guest("hello"), "-f", "sub/../data.txt", NULL);
    assert_int_not_equal(p.status, 0);
    assert_null(strstr(p.out, "file: from the current folder"));
    gr_test_proc_free(&p);

    assert_int_equal(chdir(old), 0);
    unlink(path);
    rmdir(sub);
    snprintf(path, sizeof path, "%s/data.txt", dir);
    unlink(path);
    rmdir(dir);
}

/* Every --dir error names the option and the path. */
static void
test_dir_errors_name_flag_and_path(void** state)
{
    (void)state;
    gr_test_proc p =
      run("--dir", "/nonexistent/granary-dir", gr_test_guest("hello"), NULL);
    assert_int_equal(p.status, 1);
    assert_non_null(strstr(p.err, "--dir"));
    assert_non_null(strstr(p.err, "/nonexistent/granary-dir"));
    assert_non_null(strstr(p.err, "No such file"));
    gr_test_proc_free(&p);

    p = run(
      "--dir", "/nonexistent/granary-dir::/data", gr_test_guest("hello"), NULL);
    assert_int_equal(p.status, 1);
    assert_non_null(strstr(p.err, "--dir /nonexistent/granary-dir"));
    gr_test_proc_free(&p);

    /* a file is not a folder */
    p = run("--dir", "/etc/passwd", gr_test_guest("hello"), NULL);
    assert_int_equal(p.status, 1);
    assert_non_null(strstr(p.err, "--dir /etc/passwd"));
    gr_test_proc_free(&p);

    p = run("--dir", "/tmp::", gr_test_guest("hello"), NULL);
    assert_int_equal(p.status, 2);
    assert_non_null(strstr(p.err, "--dir '/tmp::'"));
    gr_test_proc_free(&p);
}

static void
expect_timeout(const char* limit, const char* what, const char* arg)
{
    gr_test_proc p =
      run("--timeout", limit, gr_test_guest("run_guest"), what, arg, NULL);
    if (p.status != 134 || !strstr(p.err, "wasm trap: timeout"))
        fprintf(stderr,
                "--timeout %s %s: status %d, stdout: %s, stderr: %s\n",
                limit,
                what,
                p.status,
                p.out,
                p.err);
    assert_int_equal(p.status, 134);
    assert_non_null(strstr(p.err, "wasm trap: timeout"));
    gr_test_proc_free(&p);
}

static void
test_timeout_spinning_guest(void** state)
{
    (void)state;
    expect_timeout("300ms", "spin", NULL);
    expect_timeout("0.3", "spin", NULL);
    /* a limit the guest stays under changes nothing */
    gr_test_proc p =
      run("--timeout", "10m", gr_test_guest("run_guest"), "sleep", "0", NULL);
    assert_int_equal(p.status, 0);
    assert_non_null(strstr(p.out, "slept 0 s"));
    gr_test_proc_free(&p);
    const char* bad[] = { "abc", "0", "-1s", "5x", "" };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        p = run("--timeout", bad[i], gr_test_guest("run_guest"), "spin", NULL);
        assert_int_equal(p.status, 2);
        assert_non_null(strstr(p.err, "--timeout"));
        gr_test_proc_free(&p);
    }
}

/* A guest blocked in a host call (sleep = poll_oneoff) is stopped at the
 * deadline too, not when its sleep ends. */
static void
test_timeout_sleeping_guest(void** state)
{
    (void)state;
    expect_timeout("300ms", "sleep", "20");
}

/* A free loopback TCP port (free when this returns; the caller retries if
 * someone takes it meanwhile). */
static int
free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = { .sin_family = AF_INET,
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    assert_int_equal(bind(fd, (struct sockaddr*)&a, sizeof a), 0);
    socklen_t al = sizeof a;
    assert_int_equal(getsockname(fd, (struct sockaddr*)&a, &al), 0);
    close(fd);
    return ntohs(a.sin_port);
}

static double
now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Starts argv with stdout and stderr to files; returns the pid. */
static pid_t
spawn(const char* const* argv, const char* out, const char* err)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int o = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int e = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int n = open("/dev/null", O_RDONLY);
        if (o < 0 || e < 0 || n < 0)
            _exit(127);
        dup2(n, 0);
        dup2(o, 1);
        dup2(e, 2);
        execv(argv[0], (char* const*)argv);
        _exit(127);
    }
    return pid;
}

static void
read_text(const char* path, char* buf, size_t len)
{
    buf[0] = '\0';
    FILE* f = fopen(path, "r");
    if (!f)
        return;
    size_t n = fread(buf, 1, len - 1, f);
    buf[n] = '\0';
    fclose(f);
}

/* Connects to 127.0.0.1:port while pid runs, for up to 120 s (the first
 * run compiles the guest). Returns the socket or -1. */
static int
connect_while_alive(int port, pid_t pid, int* status, int* exited)
{
    struct sockaddr_in a = { .sin_family = AF_INET,
                             .sin_port = htons((uint16_t)port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    double end = now_s() + 120;
    *exited = 0;
    while (now_s() < end) {
        if (waitpid(pid, status, WNOHANG) == pid) {
            *exited = 1;
            return -1;
        }
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        assert_true(fd >= 0);
        if (connect(fd, (struct sockaddr*)&a, sizeof a) == 0)
            return fd;
        close(fd);
        usleep(20000);
    }
    return -1;
}

static int
wait_exit(pid_t pid, int timeout_s)
{
    int st = 0;
    double end = now_s() + timeout_s;
    while (waitpid(pid, &st, WNOHANG) == 0) {
        if (now_s() > end) {
            kill(pid, SIGKILL);
            waitpid(pid, &st, 0);
            return 137;
        }
        usleep(20000);
    }
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* --tcplisten: granary run listens before the guest starts and passes the
 * socket as the descriptor after the --dir ones; the guest accept()s one
 * connection and echoes with recv/send (wasi-libc), then shuts it down. */
static void
test_tcplisten_echo(void** state)
{
    (void)state;
    char dir[128], out[256], err[256], spec[64], text[4096];
    gr_test_mkdtemp(dir, sizeof dir);
    snprintf(out, sizeof out, "%s/out", dir);
    snprintf(err, sizeof err, "%s/err", dir);
    char guest[4096];
    snprintf(guest, sizeof guest, "%s", gr_test_guest("run_guest"));
    int fd = -1, status = 0, exited = 0;
    pid_t pid = -1;
    for (int attempt = 0; attempt < 5 && fd < 0; attempt++) {
        snprintf(spec, sizeof spec, "127.0.0.1:%d", free_port());
        const char* argv[] = { granary_bin(), "run",  "--cache",     cache_dir,
                               "--dir",       dir,    "--tcplisten", spec,
                               guest,         "echo", NULL };
        pid = spawn(argv, out, err);
        fd = connect_while_alive(
          atoi(strchr(spec, ':') + 1), pid, &status, &exited);
        if (fd < 0) {
            read_text(err, text, sizeof text);
            if (!exited) {
                kill(pid, SIGKILL);
                waitpid(pid, NULL, 0);
            }
            fprintf(stderr, "attempt %d: stderr: %s\n", attempt, text);
            /* only a port someone else took is worth another try */
            assert_non_null(strstr(text, "in use"));
        }
    }
    assert_true(fd >= 0);
    struct timeval tv = { .tv_sec = 60 };
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    const char msg[] = "hello through a preopened socket";
    assert_int_equal(send(fd, msg, sizeof msg - 1, MSG_NOSIGNAL),
                     (ssize_t)(sizeof msg - 1));
    assert_int_equal(shutdown(fd, SHUT_WR), 0);
    char got[256];
    size_t n = 0;
    for (;;) {
        ssize_t r = recv(fd, got + n, sizeof got - 1 - n, 0);
        if (r <= 0)
            break;
        n += (size_t)r;
    }
    got[n] = '\0';
    close(fd);
    assert_string_equal(got, msg);
    int rc = wait_exit(pid, 60);
    read_text(out, text, sizeof text);
    if (rc != 0) {
        char e[4096];
        read_text(err, e, sizeof e);
        fprintf(stderr, "status %d, stdout: %s, stderr: %s\n", rc, text, e);
    }
    assert_int_equal(rc, 0);
    /* fds 0-2 stdio, 3 the --dir folder, 4 the socket */
    assert_non_null(strstr(text, "listening fd 4\n"));
    assert_non_null(strstr(text, "echoed 32 bytes"));
    unlink(out);
    unlink(err);
    rmdir(dir);
}

/* A guest blocked in accept() with nobody connecting is stopped at the
 * deadline as a timeout (sock_accept must end at it, not report EINTR). */
static void
test_timeout_blocked_accept(void** state)
{
    (void)state;
    gr_test_proc p;
    for (int attempt = 0;; attempt++) {
        char spec[64];
        snprintf(spec, sizeof spec, "127.0.0.1:%d", free_port());
        p = run("--timeout",
                "300ms",
                "--tcplisten",
                spec,
                gr_test_guest("run_guest"),
                "echo",
                NULL);
        if (attempt < 5 && strstr(p.err, "in use")) {
            gr_test_proc_free(&p);
            continue;
        }
        break;
    }
    if (p.status != 134 || !strstr(p.err, "wasm trap: timeout"))
        fprintf(stderr,
                "blocked accept: status %d, stdout: %s, stderr: %s\n",
                p.status,
                p.out,
                p.err);
    assert_int_equal(p.status, 134);
    assert_non_null(strstr(p.err, "wasm trap: timeout"));
    gr_test_proc_free(&p);
}

/* --tcplisten errors name the option and the address. */
static void
test_tcplisten_errors(void** state)
{
    (void)state;
    gr_test_proc p =
      run("--tcplisten", "no-port", gr_test_guest("run_guest"), "echo", NULL);
    assert_int_equal(p.status, 2);
    assert_non_null(strstr(p.err, "--tcplisten 'no-port'"));
    gr_test_proc_free(&p);

    /* a port in use (held by this test) */
    int l = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET,
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    assert_int_equal(bind(l, (struct sockaddr*)&a, sizeof a), 0);
    assert_int_equal(listen(l, 1), 0);
    socklen_t al = sizeof a;
    assert_int_equal(getsockname(l, (struct sockaddr*)&a, &al), 0);
    char spec[64];
    snprintf(spec, sizeof spec, "127.0.0.1:%d", ntohs(a.sin_port));
    p = run("--tcplisten", spec, gr_test_guest("run_guest"), "echo", NULL);
    assert_int_equal(p.status, 1);
    char want[96];
    snprintf(want, sizeof want, "--tcplisten %s", spec);
    assert_non_null(strstr(p.err, want));
    assert_non_null(strstr(p.err, "in use"));
    gr_test_proc_free(&p);
    close(l);

    p = run("--tcplisten",
            "host.invalid:80",
            gr_test_guest("run_guest"),
            "echo",
            NULL);
    assert_int_equal(p.status, 1);
    assert_non_null(strstr(p.err, "--tcplisten host.invalid:80"));
    gr_test_proc_free(&p);
}

/* `granary` runs `run` itself without the server's libraries (libcurl,
 * libmicrohttpd, libcrypto: each start paid ~4 ms of CPU to load them) and
 * hands every other command to granary-full, same argv. */
static void
test_lean_binary(void** state)
{
    (void)state;
#ifdef GRANARY_HTTP_SERVER
    char cmd[512];
    snprintf(cmd,
             sizeof cmd,
             "LD_DEBUG=libs %s version 2>&1 | grep -q -e libcurl -e "
             "libmicrohttpd -e libcrypto",
             granary_bin());
    assert_int_not_equal(system(cmd), 0);
    const char* argv[] = { granary_bin(), "serve", "--help", NULL };
    gr_test_proc p;
    assert_int_equal(gr_test_run(argv, "", 60, &p), 0);
    assert_int_equal(p.status, 0);
    assert_non_null(strstr(p.out, "usage: granary serve"));
    gr_test_proc_free(&p);
    const char* bad[] = { granary_bin(), "no-such-command", NULL };
    assert_int_equal(gr_test_run(bad, "", 60, &p), 0);
    assert_int_equal(p.status, 2);
    assert_non_null(strstr(p.err, "unknown command 'no-such-command'"));
    gr_test_proc_free(&p);
#endif
    gr_test_proc v;
    const char* ver[] = { granary_bin(), "version", NULL };
    assert_int_equal(gr_test_run(ver, "", 60, &v), 0);
    assert_int_equal(v.status, 0);
    assert_non_null(strstr(v.out, "granary "));
    gr_test_proc_free(&v);
}

int
main(void)
{
    snprintf(cache_dir, sizeof cache_dir, "%s/test-cache", GRANARY_BINARY_DIR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hello_args_env),
        cmocka_unit_test(test_lean_binary),
        cmocka_unit_test(test_dir_mapping_and_escape),
        cmocka_unit_test(test_exit_code_propagates),
        cmocka_unit_test(test_each_trap_kind),
        cmocka_unit_test(test_bounds_checked_mode),
        cmocka_unit_test(test_bad_modules),
        cmocka_unit_test(test_usage_errors),
        cmocka_unit_test(test_dir_dot_and_relative),
        cmocka_unit_test(test_dir_errors_name_flag_and_path),
        cmocka_unit_test(test_timeout_spinning_guest),
        cmocka_unit_test(test_timeout_sleeping_guest),
        cmocka_unit_test(test_tcplisten_echo),
        cmocka_unit_test(test_tcplisten_errors),
        cmocka_unit_test(test_timeout_blocked_accept),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
