/* SPDX-License-Identifier: Apache-2.0 */
/* The soak's function (reactor): one guest for the whole request mix of
 * bench/soak/soak.c, chosen by its input:
 *   "echo:TEXT"         output TEXT
 *   "trap"              hit unreachable
 *   "spin"              spin forever (the call's timeout stops it)
 *   "sleep:MS"          sleep MS ms in a host call, then output "slept"
 *   "big:N:SEED"        output N bytes of soak_byte(SEED, i)
 *   "sget:KEY"          pull KEY from the global tier, output its value
 *   "sput:KEY:VALUE"    set KEY to VALUE locally and push it
 *   "chain:D:TEXT"      D > 0: call this function with "chain:D-1:TEXT" and
 *                       output the child's output + 'a' + D; D = 0: TEXT */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <granary/faas.h>

#include "soak_data.h"

#define MAX_IN 8192

static char in[MAX_IN + 1];
static char buf[MAX_IN + 64];
static unsigned char chunk[65536];

static int
starts(const char* s, const char* p)
{
    return strncmp(s, p, strlen(p)) == 0;
}

static int
do_big(const char* arg)
{
    unsigned long n = 0, seed = 0;
    if (sscanf(arg, "%lu:%lu", &n, &seed) != 2)
        return 2;
    for (unsigned long at = 0; at < n;) {
        unsigned long k = n - at < sizeof chunk ? n - at : sizeof chunk;
        for (unsigned long i = 0; i < k; i++)
            chunk[i] = soak_byte(seed, at + i);
        if (granary_output_write(chunk, (int32_t)k) != 0)
            return 3;
        at += k;
    }
    return 0;
}

static int
do_sget(const char* key)
{
    int klen = (int)strlen(key);
    if (granary_state_pull(key, klen) < 0)
        return 4;
    int sz = granary_state_size(key, klen);
    if (sz < 0 || sz > MAX_IN)
        return 5;
    if (granary_state_read(key, klen, buf, sz, 0) != sz)
        return 6;
    granary_output_write(buf, sz);
    return 0;
}

static int
do_sput(const char* arg)
{
    const char* colon = strchr(arg, ':');
    if (!colon)
        return 2;
    int klen = (int)(colon - arg);
    int vlen = (int)strlen(colon + 1);
    if (granary_state_set(arg, klen, colon + 1, vlen) < 0)
        return 7;
    if (granary_state_push(arg, klen) < 0)
        return 8;
    return 0;
}

static int
do_chain(const char* arg)
{
    int depth = atoi(arg);
    const char* text = strchr(arg, ':');
    if (!text || depth < 0 || depth > 9)
        return 2;
    text++;
    if (depth == 0) {
        granary_output_write(text, (int32_t)strlen(text));
        return 0;
    }
    int n = snprintf(buf, sizeof buf, "chain:%d:%s", depth - 1, text);
    int h = granary_chain("soak", 4, buf, n);
    if (h < 0)
        return 10;
    int rc = granary_await(h);
    if (rc != 0)
        return 11;
    n = granary_chain_output(h, buf, MAX_IN, 0);
    if (n < 0)
        return 12;
    buf[n++] = 'a';
    buf[n++] = (char)('0' + depth);
    granary_output_write(buf, n);
    return 0;
}

GRANARY_MAIN(soak_main)
{
    int n = granary_input_size();
    if (n < 0 || n > MAX_IN)
        return 99;
    granary_input_read(in, n, 0);
    in[n] = '\0';
    if (starts(in, "echo:")) {
        granary_output_write(in + 5, n - 5);
    } else if (strcmp(in, "trap") == 0) {
        __builtin_trap();
    } else if (strcmp(in, "spin") == 0) {
        volatile unsigned long i = 0;
        for (;;)
            i++;
    } else if (starts(in, "sleep:")) {
        long ms = atol(in + 6);
        struct timespec ts = { .tv_sec = ms / 1000,
                               .tv_nsec = (ms % 1000) * 1000000L };
        nanosleep(&ts, NULL);
        granary_output_write("slept", 5);
    } else if (starts(in, "big:")) {
        return do_big(in + 4);
    } else if (starts(in, "sget:")) {
        return do_sget(in + 5);
    } else if (starts(in, "sput:")) {
        return do_sput(in + 5);
    } else if (starts(in, "chain:")) {
        return do_chain(in + 6);
    } else {
        return 98;
    }
    return 0;
}
