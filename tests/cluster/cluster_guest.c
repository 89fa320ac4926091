/* SPDX-License-Identifier: Apache-2.0 */
/* Multi-host test and bench guest (reactor). Its input is a command:
 *   "spin:US"         busy-loop about US microseconds, output "spun"
 *   "sleep:MS"        sleep MS milliseconds, output "slept"
 *   "put:KEY=VALUE"   set state KEY to VALUE and push it to the global tier
 *   "get:KEY"         pull KEY from the global tier and output its value
 *   "chain:FN:INPUT"  call FN with INPUT, output "<child output>+"
 *   "fan:N:US"        start N children "spin:US" of itself, await them all
 *   anything else     echoed back. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <granary/faas.h>

static char in[8192];
static char out[8192];

static int
starts(const char* s, const char* p)
{
    return strncmp(s, p, strlen(p)) == 0;
}

static long long
now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int
spin(long us)
{
    /* Real work, so a call costs CPU wherever it runs. */
    volatile unsigned x = 1;
    long long end = now_us() + us;
    while (now_us() < end)
        for (int i = 0; i < 1000; i++)
            x = x * 1664525u + 1013904223u;
    return (int)(x & 1);
}

GRANARY_MAIN(cluster_main)
{
    int n = granary_input_size();
    if (n < 0 || n >= (int)sizeof in)
        return 99;
    granary_input_read(in, n, 0);
    in[n] = '\0';
    if (starts(in, "spin:")) {
        spin(atol(in + 5));
        granary_output_write("spun", 4);
    } else if (starts(in, "sleep:")) {
        long ms = atol(in + 6);
        struct timespec ts = { .tv_sec = ms / 1000,
                               .tv_nsec = (ms % 1000) * 1000000L };
        nanosleep(&ts, NULL);
        granary_output_write("slept", 5);
    } else if (starts(in, "put:")) {
        char* eq = strchr(in + 4, '=');
        if (!eq)
            return 98;
        int kl = (int)(eq - (in + 4));
        int vl = (int)strlen(eq + 1);
        if (granary_state_set(in + 4, kl, eq + 1, vl) < 0 ||
            granary_state_push(in + 4, kl) < 0)
            return 97;
        granary_output_write("ok", 2);
    } else if (starts(in, "get:")) {
        int kl = (int)strlen(in + 4);
        if (granary_state_pull(in + 4, kl) < 0)
            return 96;
        int sz = granary_state_size(in + 4, kl);
        if (sz < 0 || sz > (int)sizeof out)
            return 95;
        granary_state_read(in + 4, kl, out, sz, 0);
        granary_output_write(out, sz);
    } else if (starts(in, "chain:")) {
        char* fn = in + 6;
        char* colon = strchr(fn, ':');
        if (!colon)
            return 94;
        int h = granary_chain(
          fn, (int)(colon - fn), colon + 1, (int)strlen(colon + 1));
        if (h < 0)
            return 100 - h;
        int rc = granary_await(h);
        if (rc != 0)
            return rc < 0 ? 100 - rc : rc;
        int m = granary_chain_output(h, out, (int)sizeof out - 1, 0);
        if (m < 0)
            return 120 - m;
        out[m++] = '+';
        granary_output_write(out, m);
    } else if (starts(in, "fan:")) {
        int k = atoi(in + 4);
        char* us = strchr(in + 4, ':');
        if (k < 1 || k > 64 || !us)
            return 93;
        char arg[32] = "spin:";
        strncat(arg, us + 1, 20);
        int hs[64];
        for (int i = 0; i < k; i++)
            if ((hs[i] = granary_chain("cg", 2, arg, (int)strlen(arg))) < 0)
                return 100 - hs[i];
        if (granary_await_all(hs, k, NULL) != 0)
            return 92;
        granary_output_write("fanned", 6);
    } else {
        granary_output_write(in, n);
    }
    return 0;
}
