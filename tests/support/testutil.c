/* SPDX-License-Identifier: Apache-2.0 */
/* Test helpers (see testutil.h). */
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char*
slurp(int fd)
{
    size_t cap = 4096, len = 0;
    char* buf = malloc(cap);
    lseek(fd, 0, SEEK_SET);
    for (;;) {
        if (len + 1 == cap) {
            cap *= 2;
            buf = realloc(buf, cap);
        }
        ssize_t r = read(fd, buf + len, cap - len - 1);
        if (r <= 0)
            break;
        len += (size_t)r;
    }
    buf[len] = 0;
    return buf;
}

static int
temp_fd(void)
{
    char path[] = "/tmp/granary-test-XXXXXX";
    int fd = mkstemp(path);
    if (fd >= 0)
        unlink(path);
    return fd;
}

int
gr_test_run(const char* const* argv,
            const char* in,
            int timeout_s,
            gr_test_proc* p)
{
    int ofd = temp_fd(), efd = temp_fd(), ifd = temp_fd();
    if (ofd < 0 || efd < 0 || ifd < 0)
        return -errno;
    if (in && write(ifd, in, strlen(in)) < 0)
        return -errno;
    lseek(ifd, 0, SEEK_SET);
    pid_t pid = fork();
    if (pid < 0)
        return -errno;
    if (pid == 0) {
        dup2(ifd, 0);
        dup2(ofd, 1);
        dup2(efd, 2);
        execv(argv[0], (char* const*)argv);
        _exit(127);
    }
    int st = 0;
    time_t deadline = time(NULL) + timeout_s;
    for (;;) {
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid)
            break;
        if (time(NULL) > deadline) {
            kill(pid, SIGKILL);
            waitpid(pid, &st, 0);
            break;
        }
        usleep(2000);
    }
    p->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    p->out = slurp(ofd);
    p->err = slurp(efd);
    close(ofd);
    close(efd);
    close(ifd);
    return 0;
}

void
gr_test_proc_free(gr_test_proc* p)
{
    free(p->out);
    free(p->err);
    p->out = p->err = NULL;
}

const char*
gr_test_guest(const char* name)
{
    static char buf[4096];
    snprintf(buf, sizeof buf, "%s/%s.wasm", GRANARY_GUEST_DIR, name);
    return buf;
}

void
gr_test_mkdtemp(char* buf, size_t len)
{
    snprintf(buf, len, "/tmp/granary-test-XXXXXX");
    if (!mkdtemp(buf)) {
        perror("mkdtemp");
        abort();
    }
}

void
gr_test_write_file(const char* path, const char* text)
{
    FILE* f = fopen(path, "w");
    if (!f) {
        perror(path);
        abort();
    }
    fputs(text, f);
    fclose(f);
}
