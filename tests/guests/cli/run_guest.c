/* SPDX-License-Identifier: Apache-2.0 */
/* Test guest for `granary run`: spins or sleeps (for --timeout), or
 * accepts one connection on the socket passed with --tcplisten and echoes
 * what it receives until the peer shuts its side down. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

static volatile unsigned long spins;

/* The first descriptor after stdio that is a socket, or -1. */
static int
find_socket(void)
{
    for (int fd = 3; fd < 64; fd++) {
        struct stat st;
        if (fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode))
            return fd;
    }
    return -1;
}

static int
echo(void)
{
    int l = find_socket();
    if (l < 0) {
        fprintf(stderr, "no listening socket\n");
        return 3;
    }
    printf("listening fd %d\n", l);
    fflush(stdout);
    struct sockaddr_storage addr;
    socklen_t alen = sizeof addr;
    int c = accept(l, (struct sockaddr*)&addr, &alen);
    if (c < 0) {
        perror("accept");
        return 4;
    }
    char buf[512];
    size_t total = 0;
    for (;;) {
        ssize_t n = recv(c, buf, sizeof buf, 0);
        if (n < 0) {
            perror("recv");
            return 5;
        }
        if (n == 0)
            break;
        for (ssize_t off = 0; off < n;) {
            ssize_t w = send(c, buf + off, (size_t)(n - off), 0);
            if (w <= 0) {
                perror("send");
                return 6;
            }
            off += w;
        }
        total += (size_t)n;
    }
    if (shutdown(c, SHUT_RDWR) < 0) {
        perror("shutdown");
        return 7;
    }
    close(c);
    printf("echoed %zu bytes\n", total);
    return 0;
}

int
main(int argc, char** argv)
{
    const char* what = argc > 1 ? argv[1] : "";
    if (!strcmp(what, "spin")) {
        for (;;)
            spins++;
    }
    if (!strcmp(what, "sleep")) {
        unsigned secs = argc > 2 ? (unsigned)atoi(argv[2]) : 10;
        sleep(secs);
        printf("slept %u s\n", secs);
        return 0;
    }
    if (!strcmp(what, "echo"))
        return echo();
    fprintf(stderr, "usage: run_guest spin | sleep SECS | echo\n");
    return 2;
}
