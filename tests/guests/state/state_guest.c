/* SPDX-License-Identifier: Apache-2.0 */
/* Test guest (reactor) for shared state: the input is a command
 * ("write key size value", "read key size", "wait key size value",
 * "grow key size", "incr key", "push key", ...) run against the state API,
 * so tests can check zero-copy sharing between Faaslets. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <granary/faas.h>

static char* volatile sink;

static int
out(const char* fmt, long a, long b)
{
    char buf[128];
    int n = snprintf(buf, sizeof buf, fmt, a, b);
    granary_output_write(buf, n);
    return 0;
}

static volatile int*
ptr(const char* key, int size)
{
    int32_t err = 0;
    volatile int* p = granary_state_pointer(key, size, &err);
    if (!p)
        out("map error %ld%ld", err, 0);
    return p;
}

GRANARY_MAIN(run)
{
    char in[512], cmd[32] = "", key[128] = "", text[256] = "";
    int n = granary_input_read(in, sizeof in - 1, 0);
    in[n < 0 ? 0 : n] = '\0';
    long size = 4096, val = 0;
    sscanf(in, "%31s %127s %ld %ld", cmd, key, &size, &val);
    int klen = (int)strlen(key);
    volatile int* p;

    if (strcmp(cmd, "write") == 0) {
        if (!(p = ptr(key, (int)size)))
            return -1;
        p[0] = (int)val;
        p[size / 4 - 1] = (int)val; /* last word too */
        return out("ptr=%ld v=%ld", (long)(size_t)p, p[0]);
    }
    if (strcmp(cmd, "read") == 0) {
        if (!(p = ptr(key, (int)size)))
            return -1;
        return out("v=%ld last=%ld", p[0], p[size / 4 - 1]);
    }
    if (strcmp(cmd, "wait") == 0) {
        /* Spins until another Faaslet's write shows up in our mapping. */
        if (!(p = ptr(key, (int)size)))
            return -1;
        /* The clock call is a host call: the compiler must reload p[0]
         * after it (plain wasm loads are otherwise hoisted out of the
         * loop: there are no atomics in our wasm). Gives up after 5 s. */
        struct timespec t0, t;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        for (long i = 0;; i++) {
            if (p[0] == val)
                return out("seen=%ld after=%ld", p[0], i);
            clock_gettime(CLOCK_MONOTONIC, &t);
            if (t.tv_sec - t0.tv_sec > 5)
                break;
        }
        return out("timeout v=%ld%ld", p[0], 0);
    }
    if (strcmp(cmd, "grow") == 0) {
        if (!(p = ptr(key, (int)size)))
            return -1;
        p[0] = 1234;
        size_t big = 32u << 20; /* forces memory.grow */
        char* b = malloc(big);
        if (!b)
            return -2;
        memset(b, 7, big);
        sink = b;
        p[0] += 1;
        return out("after_grow=%ld pages=%ld",
                   p[0],
                   (long)__builtin_wasm_memory_size(0));
    }
    if (strcmp(cmd, "incr") == 0) {
        if (!(p = ptr(key, 4096)))
            return -1;
        if (granary_state_lock(key, klen, GRANARY_LOCK_WRITE) < 0)
            return -3;
        p[0] += 1;
        int v = p[0];
        granary_state_unlock(key, klen, GRANARY_LOCK_WRITE);
        return out("v=%ld%ld", v, 0);
    }
    if (strcmp(cmd, "setstr") == 0) { /* setstr key _ _ text (copying) */
        sscanf(in, "%*s %*s %*s %*s %255[^\n]", text);
        int rc = granary_state_set(key, klen, text, (int)strlen(text));
        if (rc == 0)
            rc = granary_state_push(key, klen);
        return out("rc=%ld%ld", rc, 0);
    }
    if (strcmp(cmd, "getstr") == 0) { /* pull, then copy out */
        int rc = granary_state_pull(key, klen);
        int sz = granary_state_size(key, klen);
        if (rc < 0 || sz < 0 || sz >= (int)sizeof text)
            return out("err=%ld size=%ld", rc, sz);
        rc = granary_state_read(key, klen, text, sz, 0);
        if (rc < 0)
            return out("read err=%ld%ld", rc, 0);
        granary_output_write(text, sz);
        return 0;
    }
    if (strcmp(cmd, "append") == 0) {
        sscanf(in, "%*s %*s %*s %*s %255[^\n]", text);
        return out("len=%ld%ld",
                   granary_state_append(key, klen, text, (int)strlen(text)),
                   0);
    }
    if (strcmp(cmd, "readapp") == 0) {
        int got = granary_state_read_appended(
          key, klen, text, sizeof text - 1, (int)size);
        if (got < 0)
            return out("err=%ld%ld", got, 0);
        granary_output_write(text, got);
        return 0;
    }
    if (strcmp(cmd, "badptr") == 0) {
        long a = granary_state_read(key, klen, (void*)0x7FFFFFF0, 64, 0);
        long b = granary_state_map(key, klen, (void*)0x12, 4096);
        return out("read=%ld map=%ld", a, b);
    }
    if (strcmp(cmd, "oob") == 0) {
        char buf[16];
        long a = granary_state_read(key, klen, buf, 16, (int)size);
        long b = granary_state_push_range(key, klen, (int)size, 16);
        return out("read=%ld push=%ld", a, b);
    }
    if (strcmp(cmd, "lockleak") == 0) {
        return out("lock=%ld global=%ld",
                   granary_state_lock(key, klen, GRANARY_LOCK_WRITE),
                   granary_state_lock(key, klen, GRANARY_LOCK_GLOBAL));
    }
    return out("unknown%ld%ld", 0, 0);
}
