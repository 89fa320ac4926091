/* SPDX-License-Identifier: Apache-2.0 */
/* A private redis-server per test (see testutil.h): free loopback port, no
 * persistence, dies with the test process. */
#include "testutil.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int
free_port(void)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET,
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof a;
    int port = -1;
    if (s >= 0 && bind(s, (struct sockaddr*)&a, sizeof a) == 0 &&
        getsockname(s, (struct sockaddr*)&a, &len) == 0)
        port = ntohs(a.sin_port);
    if (s >= 0)
        close(s);
    return port;
}

static int
answers(int port)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET,
                             .sin_port = htons((uint16_t)port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    int ok = 0;
    if (s >= 0 && connect(s, (struct sockaddr*)&a, sizeof a) == 0) {
        char buf[16] = "";
        if (write(s, "PING\r\n", 6) == 6 && read(s, buf, sizeof buf - 1) > 0)
            ok = strncmp(buf, "+PONG", 5) == 0;
    }
    if (s >= 0)
        close(s);
    return ok;
}

int
gr_test_redis_start(gr_test_redis* r)
{
    if (!r->port && (r->port = free_port()) < 0)
        return -EADDRNOTAVAIL;
    snprintf(r->addr, sizeof r->addr, "127.0.0.1:%d", r->port);
    char port[16];
    snprintf(port, sizeof port, "%d", r->port);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0)
        return -errno;
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(1);
        int null = open("/dev/null", 0);
        if (null >= 0) {
            dup2(null, 1);
            dup2(null, 2);
        }
        execlp("redis-server",
               "redis-server",
               "--port",
               port,
               "--bind",
               "127.0.0.1",
               "--save",
               "",
               "--appendonly",
               "no",
               "--protected-mode",
               "no",
               (char*)NULL);
        _exit(127);
    }
    r->pid = pid;
    for (int i = 0; i < 500; i++) {
        if (answers(r->port))
            return 0;
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid) {
            r->pid = 0;
            return -ECHILD;
        }
        usleep(10000);
    }
    gr_test_redis_stop(r);
    return -ETIMEDOUT;
}

void
gr_test_redis_stop(gr_test_redis* r)
{
    if (!r->pid)
        return;
    kill(r->pid, SIGCONT);
    kill(r->pid, SIGKILL);
    waitpid(r->pid, NULL, 0);
    r->pid = 0;
}

void
gr_test_redis_signal(gr_test_redis* r, int sig)
{
    if (r->pid)
        kill(r->pid, sig);
}

int
gr_test_redis_cli(gr_test_redis* r, const char* args, char* out, size_t len)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "redis-cli -p %d %s 2>&1", r->port, args);
    FILE* f = popen(cmd, "r");
    if (!f)
        return -1;
    size_t n = 0;
    char tmp[256];
    if (out && len)
        out[0] = '\0';
    while (fgets(tmp, sizeof tmp, f)) {
        size_t l = strlen(tmp);
        if (out && n + l < len) {
            memcpy(out + n, tmp, l + 1);
            n += l;
        }
    }
    int st = pclose(f);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}
