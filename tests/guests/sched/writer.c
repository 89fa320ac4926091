/* SPDX-License-Identifier: Apache-2.0 */
/* Scheduler test guest (command): writes the number of bytes given on
 * stdin to stdout in 1000-byte write(2)s. A short write is accepted and
 * the rest retried; a failed write prints its errno to stderr and exits
 * 3, so a test sees what the guest saw past the output limit. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int
main(void)
{
    char in[32] = "";
    ssize_t n = read(0, in, sizeof in - 1);
    in[n > 0 ? n : 0] = '\0';
    long left = atol(in);
    static char buf[1000];
    memset(buf, 'x', sizeof buf);
    while (left > 0) {
        size_t k = left < (long)sizeof buf ? (size_t)left : sizeof buf;
        ssize_t w = write(1, buf, k);
        if (w < 0) {
            fprintf(stderr, "write: %s\n", errno == EFBIG ? "EFBIG" : "other");
            return 3;
        }
        left -= w;
    }
    return 0;
}
