/* SPDX-License-Identifier: Apache-2.0 */
/* Upload-time compilation: decodes, validates and translates a wasm module
 * in process (gcodegen.c: Granary's own generator writes the C already
 * split into parts), vets its imports, compiles the parts with the system
 * compiler in parallel, links module.so and publishes it into the
 * content-addressed object cache. The compiler runs without a shell, with
 * bounded captured output, rlimits and a deadline per step. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "engine/codegen.h"
#include "engine/gobject.h"
#include "granary/status.h"
#include "util/alloc.h"
#include "util/fs.h"
#include "util/hash.h"
#include "util/log.h"
#include "wasm/wrt.h"

extern char** environ;

/* Bump when the layout of an object directory changes meaning. */
#define CODEGEN_VERSION 3 /* 3: the granary backend only */
#define STEP_TIMEOUT_S 600
#define STALE_TMP_AGE_S 3600 /* see gr__cache_clean_stale */
/* Generated C above this size is compiled at -O1: a ~2.8 MB wasm. Below
 * it -O2: a 1.2 MB module (6.6 MB of C) costs about 30 s of CPU on 2
 * idle cores (README, "Upload -> ready"). */
#define O1_ABOVE_BYTES (16L * 1024 * 1024)
#define MAX_ARGS 64
#define OUT_CAP 8192
#define DEFAULT_MEM_MIB 4096
#define DEFAULT_CPU_S 600

static long
env_long(const char* name, long dflt)
{
    const char* v = getenv(name);
    if (!v || !*v)
        return dflt;
    char* end = NULL;
    long x = strtol(v, &end, 10);
    return end && *end == 0 ? x : dflt;
}

static double
now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Joins a directory and a name into out[PATH_MAX]; callers check the
 * cache directory's length once, so this only guards against surprises. */
__attribute__((noinline)) static int
pjoin(char* out, const char* dir, const char* name)
{
    int n = snprintf(out, PATH_MAX, "%s/%s", dir, name);
    return n < 0 || n >= PATH_MAX ? -ENAMETOOLONG : 0;
}

/* ---- running tools ---- */

struct job
{
    char* argv[MAX_ARGS];
    int argc;
    pid_t pid;
    int fd;
    int status;
    int timed_out;
    char out[OUT_CAP]; /* first OUT_CAP-1 bytes of stdout+stderr */
    size_t n;
    long mem_mib, cpu_s; /* rlimits of the tool; <= 0: none */
};

/* Resource limits of every tool a build runs (per process: the compiler
 * driver's own children, cc1 and as, inherit them). */
struct limits
{
    long mem_mib, cpu_s;
};

static int
job_arg(struct job* j, const char* a)
{
    if (j->argc + 1 >= MAX_ARGS)
        return -E2BIG;
    if (!(j->argv[j->argc] = gr_strdup(a)))
        return -ENOMEM;
    j->argv[++j->argc] = NULL;
    return 0;
}

static void
job_fini(struct job* j)
{
    for (int i = 0; i < j->argc; i++)
        gr_free(j->argv[i]);
    j->argc = 0;
}

/* Splits a command string ("gcc -m64") on blanks into the job's argv. */
static int
job_cmd(struct job* j, const char* cmd)
{
    const char* p = cmd;
    while (*p) {
        while (*p == ' ' || *p == '\t')
            p++;
        if (!*p)
            break;
        const char* s = p;
        while (*p && *p != ' ' && *p != '\t')
            p++;
        char* a = gr_strndup(s, (size_t)(p - s));
        if (!a)
            return -ENOMEM;
        int rc = job_arg(j, a);
        gr_free(a);
        if (rc < 0)
            return rc;
    }
    return j->argc ? 0 : -EINVAL;
}

/* Full path of a tool found on PATH (as execvp would), into out. */
static int
resolve_tool(const char* name, char* out)
{
    if (strchr(name, '/')) {
        snprintf(out, PATH_MAX, "%s", name);
        return access(name, X_OK) == 0 ? 0 : -ENOENT;
    }
    const char* path = getenv("PATH");
    if (!path || !*path)
        path = "/usr/local/bin:/usr/bin:/bin";
    for (const char* p = path; *p;) {
        const char* e = strchr(p, ':');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if (n &&
            snprintf(out, PATH_MAX, "%.*s/%s", (int)n, p, name) < PATH_MAX &&
            access(out, X_OK) == 0)
            return 0;
        p += n;
        if (*p == ':')
            p++;
    }
    return -ENOENT;
}

/* The forked child (async-signal-safe calls only: the parent has threads).
 * It becomes a process group leader and a guard: its own child runs the
 * tool under the rlimits, and the guard waits for it. When the server dies
 * the guard gets SIGTERM (PR_SET_PDEATHSIG) and kills the whole group, the
 * compiler's own children (cc1, as) included. PDEATHSIG fires when the
 * *thread* that forked exits; that thread waits in run_jobs until the job
 * is reaped, so it outlives the guard unless the process dies. */
__attribute__((noreturn)) static void
guard_main(const struct job* j,
           const char* exe,
           int out_fd,
           int null_fd,
           pid_t server)
{
    setpgid(0, 0);
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    for (int sig = 1; sig < NSIG; sig++)
        if (sig != SIGKILL && sig != SIGSTOP)
            sigaction(sig, &dfl, NULL);
    struct rlimit no_core = { 0, 0 };
    setrlimit(RLIMIT_CORE, &no_core);
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != server)
        _exit(127); /* the server died before prctl */
    pid_t tool = fork();
    if (tool < 0)
        _exit(127);
    if (tool == 0) {
        dup2(null_fd, 0);
        dup2(out_fd, 1);
        dup2(out_fd, 2);
        if (j->mem_mib > 0) {
            rlim_t b = (rlim_t)j->mem_mib << 20;
            struct rlimit r = { b, b };
            setrlimit(RLIMIT_AS, &r);
        }
        if (j->cpu_s > 0) {
            /* SIGXCPU at the soft limit, SIGKILL a little later. */
            struct rlimit r = { (rlim_t)j->cpu_s, (rlim_t)j->cpu_s + 5 };
            setrlimit(RLIMIT_CPU, &r);
        }
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        execve(exe, j->argv, environ);
        _exit(127);
    }
    sigset_t wait_for;
    sigemptyset(&wait_for);
    sigaddset(&wait_for, SIGTERM);
    sigaddset(&wait_for, SIGCHLD);
    for (;;) {
        siginfo_t si;
        int sig = sigwaitinfo(&wait_for, &si);
        if (sig == SIGTERM) {
            kill(0, SIGKILL); /* the server is gone: the group goes too */
            _exit(127);
        }
        int st;
        pid_t r = waitpid(tool, &st, WNOHANG);
        if (r != tool)
            continue;
        if (WIFEXITED(st))
            _exit(WEXITSTATUS(st));
        /* Report the tool's death by signal as our own. */
        int ts = WTERMSIG(st);
        sigset_t one;
        sigemptyset(&one);
        sigaddset(&one, ts);
        sigprocmask(SIG_UNBLOCK, &one, NULL);
        kill(getpid(), ts);
        _exit(128 + ts);
    }
}

static int
job_start(struct job* j)
{
    char exe[PATH_MAX];
    if (resolve_tool(j->argv[0], exe) < 0)
        return -ENOENT;
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0)
        return -errno;
    int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (null_fd < 0) {
        int e = errno;
        close(p[0]);
        close(p[1]);
        return -e;
    }
    /* The child starts with every signal blocked: none of the server's
     * handlers may run in it before it resets them. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pid_t server = getpid();
    pid_t pid = fork();
    if (pid == 0)
        guard_main(j, exe, p[1], null_fd, server);
    int e = errno;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    close(p[1]);
    close(null_fd);
    if (pid < 0) {
        close(p[0]);
        return -e;
    }
    /* Also from here, so a kill of the group right after fork finds it. */
    setpgid(pid, pid);
    j->pid = pid;
    j->fd = p[0];
    j->n = 0;
    j->out[0] = 0;
    j->timed_out = 0;
    return 0;
}

static void
job_reap(struct job* j, int kill_it)
{
    if (kill_it) {
        kill(-j->pid, SIGKILL);
        kill(j->pid, SIGKILL);
    }
    if (j->fd >= 0)
        close(j->fd);
    j->fd = -1;
    while (waitpid(j->pid, &j->status, 0) < 0 && errno == EINTR)
        ;
}

/* Runs the jobs, at most par at a time, each with the same deadline
 * counted from its start. Stops starting new jobs after the first failure.
 * Returns 0 when all ran (check each status), or -errno when one could not
 * be started (*failed is its index). */
static int
run_jobs(struct job* jobs,
         size_t n,
         int par,
         long timeout_s,
         const struct limits* lim,
         size_t* failed)
{
    struct pollfd* pf = gr_calloc(n ? n : 1, sizeof *pf);
    double* start = gr_calloc(n ? n : 1, sizeof *start);
    size_t* act = gr_calloc(n ? n : 1, sizeof *act);
    size_t next = 0, n_act = 0;
    int rc = 0, stop = 0;
    if (!pf || !start || !act) {
        rc = -ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        jobs[i].pid = -1;
        jobs[i].fd = -1;
        jobs[i].status = -1;
        jobs[i].mem_mib = lim ? lim->mem_mib : 0;
        jobs[i].cpu_s = lim ? lim->cpu_s : 0;
    }
    while (next < n || n_act) {
        while (!stop && next < n && n_act < (size_t)par) {
            if ((rc = job_start(&jobs[next])) < 0) {
                *failed = next;
                stop = 1;
                break;
            }
            start[next] = now_s();
            act[n_act++] = next++;
        }
        if (stop && !n_act)
            break;
        if (stop)
            next = n;
        double t = now_s();
        int wait_ms = 1000;
        for (size_t k = 0; k < n_act; k++) {
            pf[k].fd = jobs[act[k]].fd;
            pf[k].events = POLLIN;
            pf[k].revents = 0;
            double left = start[act[k]] + (double)timeout_s - t;
            if (left * 1000 < wait_ms)
                wait_ms = left > 0 ? (int)(left * 1000) + 1 : 0;
        }
        if (poll(pf, n_act, wait_ms) < 0 && errno != EINTR) {
            rc = -errno;
            stop = 1;
        }
        t = now_s();
        for (size_t k = 0; k < n_act;) {
            struct job* j = &jobs[act[k]];
            int done = 0;
            if (pf[k].revents) {
                char tmp[4096];
                ssize_t r = read(j->fd, tmp, sizeof tmp);
                if (r > 0) {
                    size_t room = OUT_CAP - 1 - j->n;
                    size_t c = (size_t)r < room ? (size_t)r : room;
                    memcpy(j->out + j->n, tmp, c);
                    j->n += c;
                    j->out[j->n] = 0;
                } else if (r == 0 || errno != EINTR) {
                    done = 1;
                }
            }
            if (!done && t - start[act[k]] > (double)timeout_s) {
                j->timed_out = 1;
                job_reap(j, 1);
            } else if (done) {
                job_reap(j, 0);
            } else {
                k++;
                continue;
            }
            if (j->timed_out || !WIFEXITED(j->status) ||
                WEXITSTATUS(j->status) != 0)
                stop = 1;
            act[k] = act[--n_act];
            pf[k] = pf[n_act];
        }
    }
out:
    for (size_t k = 0; k < n_act; k++)
        job_reap(&jobs[act[k]], 1);
    gr_free(pf);
    gr_free(start);
    gr_free(act);
    return rc;
}

static int
job_ok(const struct job* j)
{
    return j->pid > 0 && !j->timed_out && WIFEXITED(j->status) &&
           WEXITSTATUS(j->status) == 0;
}

/* The first `lines` lines of a job's output, flattened into err; or, when
 * the job hit one of its rlimits, which one. Returns 1 in that case. */
static int
job_describe(const struct job* j,
             const char* what,
             int lines,
             char* err,
             size_t errlen)
{
    char why[64];
    /* What a tool prints when an allocation fails (gcc, gas, the loader);
     * under a memory limit that is the limit.
     * A crash there is too: stack or heap growth failed (gcc's cc1 then
     * dies of SIGSEGV). */
    static const char* const oom_words[] = {
        "out of memory",          "memory exhausted", "bad_alloc",
        "Cannot allocate memory", "cannot map",       "failed to map",
        "Segmentation fault"
    };
    int oom = 0;
    for (size_t i = 0; i < sizeof oom_words / sizeof oom_words[0]; i++)
        oom |= memmem(j->out, j->n, oom_words[i], strlen(oom_words[i])) != NULL;
    if (WIFSIGNALED(j->status) &&
        (WTERMSIG(j->status) == SIGSEGV || WTERMSIG(j->status) == SIGBUS))
        oom = 1;
    int xcpu =
      (WIFSIGNALED(j->status) && WTERMSIG(j->status) == SIGXCPU) ||
      memmem(j->out, j->n, "CPU time limit", strlen("CPU time limit")) != NULL;
    if (!j->timed_out && j->cpu_s > 0 && xcpu) {
        gr__codegen_err(0,
                        err,
                        errlen,
                        "%s exceeded its CPU time limit (%ld s)",
                        what,
                        j->cpu_s);
        return 1;
    }
    if (!j->timed_out && j->mem_mib > 0 && oom) {
        gr__codegen_err(0,
                        err,
                        errlen,
                        "%s exceeded its memory limit (%ld MiB)",
                        what,
                        j->mem_mib);
        return 1;
    }
    if (j->timed_out)
        snprintf(why, sizeof why, "timed out");
    else if (WIFSIGNALED(j->status))
        snprintf(why, sizeof why, "killed by signal %d", WTERMSIG(j->status));
    else
        snprintf(why, sizeof why, "exit status %d", WEXITSTATUS(j->status));
    char msg[1024];
    size_t k = 0;
    int seen = 0;
    for (size_t i = 0; i < j->n && k + 2 < sizeof msg; i++) {
        char c = j->out[i];
        if (c == '\n') {
            if (++seen >= lines)
                break;
            if (k && msg[k - 1] != ' ') {
                msg[k++] = ';';
                msg[k++] = ' ';
            }
            continue;
        }
        msg[k++] = (c == '\t' || c == '\r') ? ' ' : c;
    }
    msg[k] = 0;
    gr__codegen_err(
      0, err, errlen, "%s failed (%s)%s%s", what, why, k ? ": " : "", msg);
    return 0;
}

static int
find_tool(const char* name)
{
    char full[PATH_MAX];
    return resolve_tool(name, full) == 0;
}

/* ---- the pipeline ---- */

struct build
{
    const struct gr__codegen_opts* o;
    const char* cc;
    char tmp[PATH_MAX];  /* <cache>/tmp/<unique> */
    char out[PATH_MAX];  /* tmp/out: becomes the object directory */
    const char* opt;     /* GRANARY_CODEGEN_OPT, or NULL: size policy */
    const char* opt_eff; /* the level used for this module */
    int jobs;
    int bounds; /* this module gets explicit bounds checks */
    struct limits lim;
};

static int
write_in(const char* dir, const char* name, const void* data, size_t len)
{
    char p[PATH_MAX];
    if (snprintf(p, sizeof p, "%s/%s", dir, name) >= (int)sizeof p)
        return -ENAMETOOLONG;
    return gr_fs_write_atomic(p, data, len);
}

static int
run_one(const struct build* b,
        struct job* j,
        const char* what,
        int rc_fail,
        char* err,
        size_t errlen)
{
    size_t failed = 0;
    int rc = run_jobs(j,
                      1,
                      1,
                      env_long("GRANARY_CODEGEN_TIMEOUT", STEP_TIMEOUT_S),
                      &b->lim,
                      &failed);
    if (rc < 0)
        return gr__codegen_err(
          rc, err, errlen, "%s: could not start: %s", what, strerror(-rc));
    if (!job_ok(j)) {
        /* A tool stopped by its limits says nothing about the module. */
        if (job_describe(j, what, 3, err, errlen))
            return GR_ECOMPILE;
        return rc_fail; /* a timeout is described as such in err */
    }
    return 0;
}

/* Whether this host is built with ThreadSanitizer (gcc, then clang). */
#if defined(__SANITIZE_THREAD__)
#define GR_CODEGEN_HOST_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define GR_CODEGEN_HOST_TSAN 1
#endif
#endif
#ifndef GR_CODEGEN_HOST_TSAN
#define GR_CODEGEN_HOST_TSAN 0
#endif

/* Common compiler flags; the flavor hash covers exactly these. wasm's
 * float semantics (sNaN bits kept, no fused multiply-add) and the memory
 * strategy; the code is alias-clean by memcpy but was verified against the
 * spec tests with -fno-strict-aliasing. Some passes of -O2 are left out
 * because they cost compile time and gain nothing on generated code:
 * points-to analysis (every pointer it holds, to the instance and to
 * linear memory, comes from a load or a parameter, so it cannot tell them
 * apart; 5% of gcc's time on a large module), the second scheduling pass
 * (3%), and the vectorizer with three IPA passes (together 5%: the
 * guest's compiler has vectorised already, and the code of each wasm
 * function was optimised as a whole before it became wasm).
 * bench-compute's geomean did not move without them (SIMD and scalar
 * guests, same runs). */
static int
add_cflags(struct job* j, const struct build* b, const char* inc)
{
    int rc = 0;
    const char* flags[] = { b->opt_eff ? b->opt_eff : "",
                            "-fPIC",
                            "-fvisibility=hidden",
                            "-ftls-model=initial-exec",
                            "-w",
                            "-fsignaling-nans",
                            "-ffp-contract=off",
                            "-fno-strict-aliasing",
                            "-fno-tree-pta",
                            "-fno-schedule-insns2",
                            "-fno-tree-vectorize",
                            "-fno-ipa-modref",
                            "-fno-ipa-icf",
                            "-fno-ipa-cp",
                            b->bounds ? "-DWRT_GUARD_PAGES=0"
                                      : "-DWRT_GUARD_PAGES=1" };
    for (size_t i = 0; i < sizeof flags / sizeof flags[0] && !rc; i++)
        rc = job_arg(j, flags[i]);
#if GR_CODEGEN_HOST_TSAN
    /* see WRT_BULK_LOOPS in wrt.h */
    if (!rc)
        rc = job_arg(j, "-DWRT_BULK_LOOPS=1");
#endif
    if (!rc && inc) {
        char I[PATH_MAX + 8];
        snprintf(I, sizeof I, "-I%s", inc);
        rc = job_arg(j, I);
        /* winit.c's .incbin "wdata.bin" */
        snprintf(I, sizeof I, "-Wa,-I%s", b->tmp);
        if (!rc)
            rc = job_arg(j, I);
    }
    return rc;
}

/* Compiles the C files (names, relative to b->tmp; the last one is
 * winit.c) in parallel and links module.so into b->out. */
static int
compile_and_link(struct build* b,
                 char** names,
                 size_t n_names,
                 char* err,
                 size_t errlen)
{
    size_t n = n_names;
    struct job* jobs = gr_calloc(n + 1, sizeof *jobs);
    int rc = 0;
    char inc[PATH_MAX], path[PATH_MAX];
    if (!jobs)
        return -ENOMEM;
    pjoin(inc, b->tmp, "inc");
    for (size_t i = 0; i < n && !rc; i++) {
        const char* src = names[i];
        rc = job_cmd(&jobs[i], b->cc);
        if (!rc)
            rc = add_cflags(&jobs[i], b, inc);
        pjoin(path, b->tmp, src);
        if (!rc)
            rc = job_arg(&jobs[i], "-c");
        if (!rc)
            rc = job_arg(&jobs[i], path);
        if (!rc && snprintf(path, sizeof path, "%s/%s.o", b->tmp, src) >=
                     (int)sizeof path)
            rc = -ENAMETOOLONG;
        if (!rc)
            rc = job_arg(&jobs[i], "-o");
        if (!rc)
            rc = job_arg(&jobs[i], path);
    }
    if (rc < 0)
        goto out;
    /* winit.c is small: run it first so it never waits on a big part. */
    if (n > 1) {
        struct job first = jobs[n - 1];
        memmove(&jobs[1], &jobs[0], (n - 1) * sizeof *jobs);
        jobs[0] = first;
    }
    size_t failed = 0;
    long to = env_long("GRANARY_CODEGEN_TIMEOUT", STEP_TIMEOUT_S);
    rc = run_jobs(jobs, n, b->jobs, to, &b->lim, &failed);
    if (rc < 0) {
        rc = gr__codegen_err(rc,
                             err,
                             errlen,
                             "cc: could not start %s: %s",
                             jobs[failed].argv[0],
                             strerror(-rc));
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        if (jobs[i].pid > 0 && !job_ok(&jobs[i])) {
            job_describe(&jobs[i], "compiler (cc)", 4, err, errlen);
            rc = GR_ECOMPILE;
            goto out;
        }
    for (size_t i = 0; i < n; i++)
        if (jobs[i].pid <= 0) {
            rc = gr__codegen_err(GR_ECOMPILE, err, errlen, "cc: not run");
            goto out;
        }
    /* Link. */
    struct job* l = &jobs[n];
    rc = job_cmd(l, b->cc);
    if (!rc)
        rc = job_arg(l, "-shared");
    pjoin(path, b->out, "module.so");
    if (!rc)
        rc = job_arg(l, "-o");
    if (!rc)
        rc = job_arg(l, path);
    for (size_t i = 0; i < n && !rc; i++) {
        if (snprintf(path, sizeof path, "%s/%s.o", b->tmp, names[i]) >=
            (int)sizeof path)
            rc = -ENAMETOOLONG;
        else
            rc = job_arg(l, path);
    }
    if (!rc)
        rc = job_arg(l, "-lm");
    if (!rc)
        rc = run_one(b, l, "compiler (cc, link)", GR_ECOMPILE, err, errlen);
out:
    for (size_t i = 0; i <= n; i++)
        job_fini(&jobs[i]);
    gr_free(jobs);
    return rc;
}

/* Flavor: ABI version, bounds mode, and a hash of everything that shapes
 * the object (compiler command, flags, the generator's sources and runtime
 * headers, the strategy policy). The same wasm therefore always gets the
 * same key on the same toolchain. */
static int
make_flavor(const struct build* b, char* out, size_t cap)
{
    struct gr__codegen_buf s = { 0 };
    gr__codegen_buf_printf(&s,
                           "v%d|%s|%s|granary%d|%s|small%u|",
                           CODEGEN_VERSION,
                           b->cc,
                           b->opt ? b->opt : "auto",
                           GR_GCODEGEN_VERSION,
                           gr__gcodegen_fingerprint(),
                           GR_GCODEGEN_SMALL_MAX_PAGES);
    struct job j;
    memset(&j, 0, sizeof j);
    int rc = add_cflags(&j, b, NULL);
    for (int i = 0; i < j.argc && !rc; i++)
        gr__codegen_buf_printf(&s, "%s|", j.argv[i]);
    job_fini(&j);
    char hex[GR_SHA256_HEX_LEN + 1];
    if (!rc && s.oom)
        rc = -ENOMEM;
    if (!rc)
        rc = gr_sha256_hex(s.data, s.len, hex);
    /* w<abi>: objects of Granary's generator; g: guard pages, b: bounds
     * checks (the strategy chosen for this module). */
    if (!rc)
        snprintf(out,
                 cap,
                 "w%u%c-%.16s",
                 (unsigned)WRT_ABI_VERSION,
                 b->bounds ? 'b' : 'g',
                 hex);
    gr__codegen_buf_fini(&s);
    return rc;
}

/* Vets every import against the host's policy and reports all problems in
 * one message: the unknown imports, then each one whose signature differs
 * from the host's (both written as wasm types). */
static int
check_imports(const struct gr__codegen_opts* o,
              const struct gr__codegen_info* info,
              char* err,
              size_t errlen)
{
    struct gr__codegen_buf unknown = { 0 }, wrong = { 0 };
    size_t n_unknown = 0;
    char have[128], want[128];
    for (size_t i = 0; i < info->n_imports; i++) {
        const struct gr__codegen_fn* f = &info->imports[i];
        const char* host =
          o->import_sig ? o->import_sig(f->module, f->name) : NULL;
        int ok;
        if (o->import_sig)
            ok =
              host && strcmp(host, f->sig) == 0 &&
              (!o->import_check || o->import_check(f->module, f->name, f->sig));
        else
            ok =
              !o->import_check || o->import_check(f->module, f->name, f->sig);
        if (ok)
            continue;
        gr__codegen_sig_describe(f->sig, have, sizeof have);
        if (host && strcmp(host, f->sig) != 0) {
            gr__codegen_sig_describe(host, want, sizeof want);
            gr__codegen_buf_printf(&wrong,
                                   "%simport %s.%s has the wrong signature: "
                                   "the module declares %s, the host "
                                   "provides %s",
                                   wrong.len ? "; " : "",
                                   f->module,
                                   f->name,
                                   have,
                                   want);
        } else {
            gr__codegen_buf_printf(&unknown,
                                   "%s%s.%s %s",
                                   n_unknown ? ", " : "",
                                   f->module,
                                   f->name,
                                   have);
            n_unknown++;
        }
    }
    int rc = 0;
    if (unknown.oom || wrong.oom)
        rc = gr__codegen_err(-ENOMEM, err, errlen, "out of memory");
    else if (n_unknown || wrong.len)
        rc = gr__codegen_err(GR_EIMPORT,
                             err,
                             errlen,
                             "%s%s%s%s",
                             n_unknown > 1 ? "unknown imports: "
                             : n_unknown   ? "unknown import: "
                                           : "",
                             n_unknown ? unknown.data : "",
                             n_unknown && wrong.len ? "; " : "",
                             wrong.len ? wrong.data : "");
    gr__codegen_buf_fini(&unknown);
    gr__codegen_buf_fini(&wrong);
    return rc;
}

/* Translates in process (gcodegen.c), then cc. */
static int
build(struct build* b,
      const uint8_t* wasm,
      size_t len,
      const char* hash,
      const char* flavor,
      char* err,
      size_t errlen)
{
    struct gr__codegen_info info;
    struct gr__gcodegen_out g;
    char dir[PATH_MAX];
    double t0 = now_s();
    int rc;
    memset(&info, 0, sizeof info);
    memset(&g, 0, sizeof g);
    if ((rc = gr_fs_mkdir_p(b->out)) < 0 ||
        (rc = write_in(b->out, "module.wasm", wasm, len)) < 0)
        goto fail;
    if ((rc = gr__gcodegen_translate(
           wasm, len, b->tmp, b->bounds, b->jobs, &info, &g, err, errlen)) < 0)
        goto fail;
    if ((rc = check_imports(b->o, &info, err, errlen)) < 0)
        goto fail;
    b->opt_eff =
      b->opt ? b->opt
      : (long)g.c_bytes > env_long("GRANARY_CODEGEN_O1_ABOVE", O1_ABOVE_BYTES)
        ? "-O1"
        : "-O2";
    pjoin(dir, b->tmp, "inc");
    if ((rc = gr_fs_mkdir_p(dir)) < 0 ||
        (rc = write_in(
           dir, "wrt.h", gr__codegen_wrt_h, gr__codegen_wrt_h_len)) < 0 ||
        (rc = write_in(dir,
                       "wrt_simd.h",
                       gr__codegen_wrt_simd_h,
                       gr__codegen_wrt_simd_h_len)) < 0)
        goto fail;
    double t1 = now_s();
    if ((rc = compile_and_link(b, g.names, g.n_names, err, errlen)) < 0)
        goto fail;
    double t2 = now_s();
    struct gr__codegen_buf meta = { 0 };
    gr__codegen_buf_printf(
      &meta,
      "hash %s\nflavor %s\nbackend granary\nwrt_abi %u\nwasm_bytes %zu\n"
      "c_bytes %zu\nparts %zu\ncc %s\nopt %s\nmemory %s\nimports %zu\n"
      "exports %zu\ntranslate_s %.3f\ncompile_s %.3f\n",
      hash,
      flavor,
      (unsigned)WRT_ABI_VERSION,
      len,
      g.c_bytes,
      g.n_names,
      b->cc,
      b->opt_eff,
      g.bounds ? "bounds-checks" : "guard-pages",
      info.n_imports,
      g.n_exports,
      t1 - t0,
      t2 - t1);
    rc = meta.oom ? -ENOMEM : write_in(b->out, "meta", meta.data, meta.len);
    gr__codegen_buf_fini(&meta);
    GR_INFO("codegen: %s compiled in %.2f s (granary, %zu parts, %zu bytes "
            "of C, %s)",
            hash,
            t2 - t0,
            g.n_names,
            g.c_bytes,
            g.bounds ? "bounds checks" : "guard pages");
fail:
    gr__codegen_info_fini(&info);
    gr__gcodegen_out_fini(&g);
    return rc;
}

int
gr__codegen_ensure(const struct gr__codegen_opts* o,
                   const uint8_t* wasm,
                   size_t len,
                   const char* hash_hex,
                   char* so_path,
                   char* err,
                   size_t errlen)
{
    if (err && errlen)
        err[0] = 0;
    if (!o || !o->cache_dir || !hash_hex || !so_path || (!wasm && len))
        return gr__codegen_err(-EINVAL, err, errlen, "bad arguments");
    for (const char* h = hash_hex; *h; h++)
        if (!((*h >= '0' && *h <= '9') || (*h >= 'a' && *h <= 'f')))
            return gr__codegen_err(-EINVAL, err, errlen, "bad hash");
    if (strlen(hash_hex) < 16 || strlen(hash_hex) > 64)
        return gr__codegen_err(-EINVAL, err, errlen, "bad hash");
    if (strlen(o->cache_dir) > PATH_MAX - 256)
        return gr__codegen_err(
          -ENAMETOOLONG, err, errlen, "cache path too long");

    struct build b;
    memset(&b, 0, sizeof b);
    b.o = o;
    b.cc = o->cc && *o->cc ? o->cc : "cc";
    b.bounds = gr__gcodegen_strategy(wasm, len, o->explicit_bounds);
    b.jobs = o->jobs > 0 ? o->jobs : (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (b.jobs < 1)
        b.jobs = 1;
    if (b.jobs > 64)
        b.jobs = 64;
    b.lim.mem_mib = o->mem_mib
                      ? o->mem_mib
                      : env_long("GRANARY_CC_MEMORY_MIB", DEFAULT_MEM_MIB);
    b.lim.cpu_s =
      o->cpu_s ? o->cpu_s : env_long("GRANARY_CC_CPU_S", DEFAULT_CPU_S);
    const char* opt = getenv("GRANARY_CODEGEN_OPT");
    b.opt = opt && opt[0] == '-' && opt[1] == 'O' ? opt : NULL;

    char flavor[64], final[PATH_MAX];
    int rc = make_flavor(&b, flavor, sizeof flavor);
    if (rc < 0)
        return gr__codegen_err(rc, err, errlen, "out of memory");
    if (snprintf(final,
                 sizeof final,
                 "%s/objects/%s-%s",
                 o->cache_dir,
                 hash_hex,
                 flavor) >= (int)sizeof final - 16)
        return gr__codegen_err(
          -ENAMETOOLONG, err, errlen, "cache path too long");
    pjoin(so_path, final, "module.so");
    if (access(so_path, R_OK) == 0)
        return 0;

    char tool[PATH_MAX];
    snprintf(tool, sizeof tool, "%s", b.cc);
    tool[strcspn(tool, " \t")] = 0;
    if (!find_tool(tool))
        return gr__codegen_err(
          GR_ETOOLCHAIN, err, errlen, "%s not found on PATH", tool);

    char objects[PATH_MAX];
    pjoin(objects, o->cache_dir, "objects");
    if ((rc = gr_fs_mkdir_p(objects)) < 0)
        return gr__codegen_err(
          rc, err, errlen, "cannot create %s: %s", objects, strerror(-rc));
    gr__cache_clean_stale(o->cache_dir, STALE_TMP_AGE_S);
    int lock_fd = -1;
    if ((rc = gr__cache_mktemp(o->cache_dir, b.tmp, &lock_fd)) < 0)
        return gr__codegen_err(
          rc, err, errlen, "cannot create build directory: %s", strerror(-rc));
    pjoin(b.out, b.tmp, "out");

    rc = build(&b, wasm, len, hash_hex, flavor, err, errlen);
    if (rc == 0) {
        rc = gr__cache_publish(b.out, final);
        if (rc < 0)
            gr__codegen_err(
              rc, err, errlen, "cannot publish %s: %s", final, strerror(-rc));
    } else if (err && !err[0]) {
        gr__codegen_err(rc,
                        err,
                        errlen,
                        "codegen failed: %s",
                        rc > -4000 ? strerror(-rc) : "error");
    }
    if (getenv("GRANARY_CODEGEN_KEEP") && rc == 0)
        GR_WARN("codegen: keeping build directory %s", b.tmp);
    else
        gr_fs_remove_tree(b.tmp);
    close(lock_fd);
    if (rc < 0)
        so_path[0] = 0;
    return rc;
}
