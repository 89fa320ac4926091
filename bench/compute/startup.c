/* SPDX-License-Identifier: Apache-2.0 */
/* Start-up cost of `granary run` on a cached hello-world against the same
 * program built natively (gcc -O2), in the same run: CPU time (user +
 * system, from wait4's rusage) of each child process, median of N runs,
 * after one untimed `granary run` that fills a private object cache.
 *   usage: bench_startup GRANARY HELLO.wasm HELLO_NATIVE [RUNS]
 * Prints RESULT run_startup_ms and RESULT native_startup_ms; exits non-zero
 * with no RESULT when a run fails. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double
tv_ms(struct timeval t)
{
    return (double)t.tv_sec * 1e3 + (double)t.tv_usec / 1e3;
}

static double
now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Runs argv with stdout to /dev/null; its CPU and wall time in ms.
 * Returns 0 when it exited with status 0. */
static int
run_once(char* const* argv, double* cpu, double* wall)
{
    double t0 = now_ms();
    pid_t pid = fork();
    if (pid < 0)
        return -errno;
    if (pid == 0) {
        if (!freopen("/dev/null", "w", stdout))
            _exit(126);
        execv(argv[0], argv);
        _exit(127);
    }
    int st;
    struct rusage ru;
    if (wait4(pid, &st, 0, &ru) != pid)
        return -errno;
    *wall = now_ms() - t0;
    *cpu = tv_ms(ru.ru_utime) + tv_ms(ru.ru_stime);
    return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

static int
cmp_double(const void* a, const void* b)
{
    double x = *(const double*)a, y = *(const double*)b;
    return x < y ? -1 : x > y;
}

/* Median CPU and wall ms over n runs of argv. */
static int
measure(char* const* argv, int n, double* cpu, double* wall)
{
    double* c = calloc((size_t)n, sizeof *c);
    double* w = calloc((size_t)n, sizeof *w);
    int rc = c && w ? 0 : -ENOMEM;
    for (int i = 0; i < n && rc == 0; i++)
        rc = run_once(argv, &c[i], &w[i]);
    if (rc == 0) {
        qsort(c, (size_t)n, sizeof *c, cmp_double);
        qsort(w, (size_t)n, sizeof *w, cmp_double);
        *cpu = c[n / 2];
        *wall = w[n / 2];
    }
    free(c);
    free(w);
    return rc;
}

int
main(int argc, char** argv)
{
    if (argc < 4) {
        fprintf(stderr,
                "usage: %s GRANARY HELLO.wasm HELLO_NATIVE [RUNS]\n",
                argv[0]);
        return 2;
    }
    int runs = argc > 4 ? atoi(argv[4]) : 60;
    if (runs < 1)
        runs = 1;
    char cache[] = "/tmp/granary-bench-startup.XXXXXX";
    if (!mkdtemp(cache)) {
        perror("mkdtemp");
        return 1;
    }
    char* granary[] = { argv[1], "run", "--cache", cache, argv[2], NULL };
    char* native[] = { argv[3], NULL };
    double c, w, gc, gw, nc, nw;
    int rc = run_once(granary, &c, &w); /* compile and cache */
    if (rc == 0)
        rc = measure(granary, runs, &gc, &gw);
    if (rc == 0)
        rc = measure(native, runs, &nc, &nw);
    char rm[sizeof cache + 16];
    snprintf(rm, sizeof rm, "rm -rf %s", cache);
    if (system(rm) != 0)
        fprintf(stderr, "startup: could not remove %s\n", cache);
    if (rc) {
        fprintf(stderr, "startup: a run failed (%d)\n", rc);
        return 1;
    }
    double load[1] = { 0 };
    if (getloadavg(load, 1) < 1)
        load[0] = -1;
    printf("\nstart-up of a hello-world (puts, exit 0), median of %d runs, "
           "load average %.2f:\n",
           runs,
           load[0]);
    printf(
      "  granary run (object cached)  %6.2f ms CPU  %6.2f ms wall\n", gc, gw);
    printf(
      "  native (gcc -O2)             %6.2f ms CPU  %6.2f ms wall\n", nc, nw);
    printf("  CPU = user + system time of the process (wait4 rusage), "
           "fork and exec included\n");
    printf("RESULT run_startup_ms %.2f ms\n", gc);
    printf("RESULT native_startup_ms %.2f ms\n", nc);
    return 0;
}
