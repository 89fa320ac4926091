/* SPDX-License-Identifier: Apache-2.0 */
/* Scheduler test guest (reactor), built once per name (GNAME = a, b, c):
 * its input is a command that exercises chaining, traps, timeouts and
 * slow calls, so one source drives every scheduler test. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <granary/faas.h>

#define STR2(x) #x
#define STR(x) STR2(x)
#ifndef GNAME
#define GNAME x
#endif

static char in[4096];
static char out[8192];

static int
emit(const char* s, int n)
{
    granary_output_write(s, n);
    return n;
}

/* "chain:b,c|x": calls the first listed function with the rest; the last
 * one outputs GNAME[x]; each caller wraps its child's output: a(b(c[x])). */
static int
cmd_chain(const char* arg)
{
    const char* bar = strchr(arg, '|');
    if (!bar)
        return -100;
    if (bar == arg) {
        int n = snprintf(out, sizeof out, "%s[%s]", STR(GNAME), bar + 1);
        emit(out, n);
        return 0;
    }
    const char* comma = strchr(arg, ',');
    const char* end = comma && comma < bar ? comma : bar;
    char next[4096];
    int n = snprintf(next, sizeof next, "chain:%s", end == bar ? bar : end + 1);
    int h = granary_chain(arg, (int32_t)(end - arg), next, n);
    if (h < 0)
        return h;
    int rc = granary_await(h);
    if (rc < 0)
        return rc;
    char child[4096];
    int len = granary_chain_output(h, child, sizeof child - 1, 0);
    if (len < 0)
        return len;
    child[len] = '\0';
    n = snprintf(out, sizeof out, "%s(%s)", STR(GNAME), child);
    emit(out, n);
    return rc + 1;
}

/* "fan:<fn>:<n>": n children "num:<i>" awaited together; returns the sum
 * of their return codes, outputs their outputs joined by ','. */
static int
cmd_fan(const char* arg)
{
    const char* colon = strchr(arg, ':');
    if (!colon)
        return -100;
    int n = atoi(colon + 1);
    int32_t hs[256], rcs[256];
    if (n > 256)
        return -101;
    for (int i = 0; i < n; i++) {
        char msg[32];
        int len = snprintf(msg, sizeof msg, "num:%d", i);
        hs[i] = granary_chain(arg, (int32_t)(colon - arg), msg, len);
        if (hs[i] < 0)
            return hs[i];
    }
    int rc = granary_await_all(hs, n, rcs);
    if (rc < 0)
        return rc;
    int sum = 0, pos = 0;
    for (int i = 0; i < n; i++) {
        sum += rcs[i];
        char buf[32];
        int len = granary_chain_output(hs[i], buf, sizeof buf, 0);
        if (len < 0)
            return len;
        if (i)
            out[pos++] = ',';
        memcpy(out + pos, buf, (size_t)len);
        pos += len;
    }
    emit(out, pos);
    return sum;
}

/* "rec:<fn>:<n>": a chain n calls deep; returns n, or a child's error. */
static int
cmd_rec(const char* arg)
{
    const char* colon = strchr(arg, ':');
    if (!colon)
        return -100;
    int n = atoi(colon + 1);
    if (n == 0)
        return 0;
    char msg[128];
    int len =
      snprintf(msg, sizeof msg, "rec:%.*s:%d", (int)(colon - arg), arg, n - 1);
    int h = granary_chain(arg, (int32_t)(colon - arg), msg, len);
    if (h < 0)
        return h;
    int rc = granary_await(h);
    return rc < 0 ? rc : rc + 1;
}

/* "hold:<fn>:<ms>": a child of fn sleeps ms; waits for it. */
static int
cmd_hold(const char* arg)
{
    const char* colon = strchr(arg, ':');
    if (!colon)
        return -100;
    char msg[64];
    int len = snprintf(msg, sizeof msg, "sleep:%s", colon + 1);
    int h = granary_chain(arg, (int32_t)(colon - arg), msg, len);
    if (h < 0)
        return h;
    return granary_await(h);
}

/* "big:<n>": n bytes of output. */
static int
cmd_big(const char* arg)
{
    int n = atoi(arg);
    for (int done = 0; done < n;) {
        int k = n - done < (int)sizeof out ? n - done : (int)sizeof out;
        memset(out, 'a' + done % 26, (size_t)k);
        if (granary_output_write(out, k) < 0)
            return -1;
        done += k;
    }
    return 0;
}

GRANARY_MAIN(run)
{
    int n = granary_input_read(in, sizeof in - 1, 0);
    in[n < 0 ? 0 : n] = '\0';
    if (strncmp(in, "chain:", 6) == 0)
        return cmd_chain(in + 6);
    if (strncmp(in, "fan:", 4) == 0)
        return cmd_fan(in + 4);
    if (strncmp(in, "rec:", 4) == 0)
        return cmd_rec(in + 4);
    if (strncmp(in, "hold:", 5) == 0)
        return cmd_hold(in + 5);
    if (strncmp(in, "big:", 4) == 0)
        return cmd_big(in + 4);
    if (strncmp(in, "num:", 4) == 0) {
        emit(in + 4, (int)strlen(in + 4));
        return atoi(in + 4);
    }
    if (strncmp(in, "sleep:", 6) == 0) {
        int ms = atoi(in + 6);
        struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
        nanosleep(&ts, NULL);
        return 0;
    }
    if (strncmp(in, "echo:", 5) == 0) {
        printf("out:%s\n", in + 5);
        fflush(stdout);
        fprintf(stderr, "err:%s\n", in + 5);
        return emit(in + 5, (int)strlen(in + 5));
    }
    if (strncmp(in, "busy:", 5) == 0) {
        /* computes (in guest code) for ms milliseconds */
        struct timespec t0, t;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        long long ms = atoi(in + 5), el;
        volatile unsigned x = 0;
        do {
            for (int i = 0; i < 10000; i++)
                x += (unsigned)i;
            clock_gettime(CLOCK_MONOTONIC, &t);
            el = (t.tv_sec - t0.tv_sec) * 1000LL +
                 (t.tv_nsec - t0.tv_nsec) / 1000000;
        } while (el < ms);
        return 0;
    }
    if (strcmp(in, "trap") == 0)
        __builtin_trap();
    if (strcmp(in, "spin") == 0)
        for (volatile unsigned i = 0;; i++)
            ;
    if (strcmp(in, "badptr") == 0)
        return granary_chain((const char*)0x7FFFFFF0, 64, "", 0);
    if (strcmp(in, "badhandle") == 0)
        return granary_await(77);
    if (strcmp(in, "nochild") == 0)
        return granary_chain("missing", 7, "", 0);
    return emit(in, n);
}
