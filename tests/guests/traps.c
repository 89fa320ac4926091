/* SPDX-License-Identifier: Apache-2.0 */
/* Test guest: a WASI command that raises the trap named by argv[1]. Each
 * case is written so the optimiser cannot remove the faulting operation. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static volatile int zero = 0;
static volatile int minus_one = -1;
static volatile double not_a_number = 0.0;
static volatile int sink;

typedef int (*unary_fn)(int);
typedef int (*binary_fn)(int, int);

static int
twice(int x)
{
    return 2 * x;
}

static volatile unary_fn table_entry = twice;

static int
deep(int n)
{
    volatile char frame[256];
    frame[n & 255] = (char)n;
    return deep(n + 1) + frame[(n + 1) & 255];
}

/* No shadow-stack frame: recursion exhausts the native stack instead. */
static int
native_deep(int n)
{
    if (n == zero - 1)
        return 0;
    int r = native_deep(n + 1);
    sink = r;
    return r ^ n;
}

int
main(int argc, char** argv)
{
    const char* what = argc > 1 ? argv[1] : "none";
    if (strcmp(what, "oob") == 0) {
        volatile int* p = (volatile int*)0xFFFFFFF0u;
        return *p;
    }
    if (strcmp(what, "div") == 0)
        return 10 / zero;
    if (strcmp(what, "overflow") == 0) {
        volatile int m = -2147483647 - 1;
        return m / minus_one;
    }
    if (strcmp(what, "conv") == 0) {
        /* C's (int) cast of NaN is made non-trapping by clang; the
         * builtin emits the trapping i32.trunc_f64_s. */
        not_a_number = 0.0 / 0.0;
        return __builtin_wasm_trunc_s_i32_f64(not_a_number);
    }
    if (strcmp(what, "unreachable") == 0)
        __builtin_trap();
    if (strcmp(what, "indirect") == 0) {
        /* call through a pointer with the wrong signature */
        binary_fn wrong = (binary_fn)(void*)table_entry;
        return wrong(1, 2);
    }
    if (strcmp(what, "stack") == 0)
        return deep(0);
    if (strcmp(what, "recurse") == 0)
        return native_deep(0);
    if (strcmp(what, "abort") == 0)
        abort();
    if (strcmp(what, "exit") == 0)
        exit(argc > 2 ? atoi(argv[2]) : 0);
    printf("no trap: %s\n", what);
    return 0;
}
