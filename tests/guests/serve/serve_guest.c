/* SPDX-License-Identifier: Apache-2.0 */
/* HTTP API test guest (reactor). Its input is a command:
 *   "echo:TEXT"    output TEXT, return 0
 *   "rc:N"         return N with no output
 *   "log:TEXT"     print TEXT to stdout and "err:TEXT" to stderr
 *   "bin"          output three bytes that are not UTF-8
 *   "trap"         hit unreachable
 *   "loop"         spin forever (until the call's timeout)
 *   "sleep:MS"     sleep MS milliseconds, then output "slept"
 *   anything else  echoed back unchanged. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <granary/faas.h>

static char in[65536];

static int
starts(const char* s, const char* p)
{
    return strncmp(s, p, strlen(p)) == 0;
}

GRANARY_MAIN(serve_main)
{
    int n = granary_input_size();
    if (n < 0 || n >= (int)sizeof in)
        return 99;
    granary_input_read(in, n, 0);
    in[n] = '\0';
    if (starts(in, "echo:")) {
        granary_output_write(in + 5, n - 5);
    } else if (starts(in, "rc:")) {
        return atoi(in + 3);
    } else if (starts(in, "log:")) {
        printf("%s\n", in + 4);
        fprintf(stderr, "err:%s\n", in + 4);
        fflush(stdout);
    } else if (strcmp(in, "bin") == 0) {
        granary_output_write("\xff\xfe\x00", 3);
    } else if (strcmp(in, "trap") == 0) {
        __builtin_trap();
    } else if (strcmp(in, "loop") == 0) {
        volatile unsigned long i = 0;
        for (;;)
            i++;
    } else if (starts(in, "sleep:")) {
        long ms = atol(in + 6);
        struct timespec ts = { .tv_sec = ms / 1000,
                               .tv_nsec = (ms % 1000) * 1000000L };
        nanosleep(&ts, NULL);
        granary_output_write("slept", 5);
    } else {
        granary_output_write(in, n);
    }
    return 0;
}
