/* SPDX-License-Identifier: Apache-2.0 */
/* The start-up benchmark's program (startup.c): built as a Granary guest
 * and natively with gcc -O2. */
#include <stdio.h>

int
main(void)
{
    puts("hello");
    return 0;
}
