/* SPDX-License-Identifier: Apache-2.0 */
/* Test guest (reactor): counts its init and its calls, echoes its input and
 * does what the input asks (trap, grow memory, print), so tests can check
 * that init runs once and that no call sees another's writes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <granary/faas.h>

static int init_calls;
static int calls;
static char* from_init;
/* Keeps allocations observable so the compiler cannot elide them. */
static char* volatile last_alloc;

GRANARY_INIT(setup)
{
    init_calls++;
    from_init = malloc(32);
    strcpy(from_init, "initialised");
}

GRANARY_MAIN(run)
{
    char in[256];
    int n = granary_input_read(in, sizeof in - 1, 0);
    in[n < 0 ? 0 : n] = '\0';
    calls++;
    if (strcmp(in, "trap") == 0)
        __builtin_trap();
    if (strcmp(in, "grow") == 0) {
        size_t big = 8u << 20;
        char* p = malloc(big);
        if (!p)
            return -1;
        memset(p, 7, big);
        last_alloc = p;
    }
    if (strcmp(in, "spin") == 0)
        for (volatile unsigned i = 0;; i++)
            ;
    if (strcmp(in, "spinprint") == 0)
        for (;;)
            fprintf(stderr, "busy\n");
    if (strcmp(in, "print") == 0) {
        printf("to stdout\n");
        fprintf(stderr, "to stderr\n");
    }
    if (strcmp(in, "flood") == 0) {
        char chunk[1024];
        memset(chunk, 'x', sizeof chunk);
        for (int i = 0; i < 1024; i++)
            if (granary_output_write(chunk, sizeof chunk) < 0)
                return 99;
        return 0;
    }
    if (strcmp(in, "badptr") == 0)
        return granary_output_write((void*)0x7FFFFFF0, 64);
    char out[512];
    int len = snprintf(out,
                       sizeof out,
                       "init=%d calls=%d heap=%s in=%s",
                       init_calls,
                       calls,
                       from_init,
                       in);
    granary_output_write(out, len);
    return calls;
}
