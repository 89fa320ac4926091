/* SPDX-License-Identifier: Apache-2.0 */
/* Test guest (reactor) that blocks in host calls, for the deadline tests
 * (tests/unit/host): its input is one command, "sleep MS", "poll MS",
 * "lock KEY MODE", "hold KEY MS", "cross A B ME OTHER", "traplock KEY" or
 * "await FN MS"; the output says how it ended when it did. */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <granary/faas.h>

static int
say(const char* fmt, long a)
{
    char buf[128];
    int n = snprintf(buf, sizeof buf, fmt, a);
    granary_output_write(buf, n);
    return 0;
}

static void
sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

/* Locks key, creating it first if needed (locks need an existing key). */
static int
lock(const char* key, int mode)
{
    int32_t n = (int32_t)strlen(key);
    if (granary_state_size(key, n) < 0)
        granary_state_set(key, n, "\0\0\0\0", 4);
    return granary_state_lock(key, n, mode);
}

/* Publishes a flag key (global tier) that the test or another call polls. */
static void
flag(const char* key)
{
    int32_t n = (int32_t)strlen(key);
    granary_state_set(key, n, "1", 1);
    granary_state_push(key, n);
}

GRANARY_MAIN(run)
{
    char in[512], cmd[32] = "", a[128] = "", b[128] = "", me[128] = "",
                  other[128] = "";
    int n = granary_input_read(in, sizeof in - 1, 0);
    in[n < 0 ? 0 : n] = '\0';
    long v = 0;
    sscanf(in, "%31s %127s %ld", cmd, a, &v);

    if (strcmp(cmd, "sleep") == 0) { /* nanosleep: poll_oneoff, one clock */
        sleep_ms(strtol(a, NULL, 10));
        return say("slept%ld", 0);
    }
    if (strcmp(cmd, "poll") == 0) { /* poll(2) with no fds: a clock */
        int r = poll(NULL, 0, (int)strtol(a, NULL, 10));
        return say("polled %ld", r);
    }
    if (strcmp(cmd, "lock") == 0) {
        int rc = lock(a, (int)v);
        return say("lock=%ld", rc);
    }
    if (strcmp(cmd, "hold") == 0) { /* lock, tell the test, sleep */
        if (lock(a, GRANARY_LOCK_WRITE))
            return -1;
        flag("held");
        sleep_ms(v);
        return say("held%ld", 0);
    }
    if (strcmp(cmd, "cross") == 0) {
        /* Lock A, then wait until OTHER says it holds its first key, then
         * lock B: two calls crossing A and B deadlock. */
        sscanf(in, "%*s %127s %127s %127s %127s", a, b, me, other);
        if (lock(a, GRANARY_LOCK_WRITE))
            return -1;
        flag(me);
        for (int i = 0; i < 2000; i++) {
            if (granary_state_pull(other, (int32_t)strlen(other)) == 0)
                break;
            sleep_ms(5);
        }
        int rc = lock(b, GRANARY_LOCK_WRITE);
        return say("crossed=%ld", rc);
    }
    if (strcmp(cmd, "traplock") == 0) {
        if (lock(a, GRANARY_LOCK_WRITE))
            return -1;
        __builtin_trap();
    }
    if (strcmp(cmd, "await") == 0) { /* a child of FN that sleeps MS */
        char msg[64];
        int len = snprintf(msg, sizeof msg, "sleep %ld", v);
        int h = granary_chain(a, (int32_t)strlen(a), msg, len);
        if (h < 0)
            return say("chain=%ld", h);
        return say("await=%ld", granary_await(h));
    }
    return say("unknown%ld", 0);
}
