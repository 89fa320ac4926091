/* SPDX-License-Identifier: Apache-2.0 */
/* Test guest (WASI command): copies stdin to stdout in upper case and
 * exits with the number of bytes read modulo 256. */
#include <ctype.h>
#include <stdio.h>

int
main(void)
{
    int c, n = 0;
    while ((c = getchar()) != EOF) {
        putchar(toupper(c));
        n++;
    }
    return n % 256;
}
