/* SPDX-License-Identifier: Apache-2.0 */
/* Example function (reactor): counts the lines, words and bytes of its
 * input, like wc, and returns the word count as its output. Shows the
 * guest API: GRANARY_INIT runs once before the snapshot, GRANARY_MAIN per
 * call. */
#include <ctype.h>
#include <stdio.h>

#include <granary/faas.h>

static unsigned char is_space[256];

GRANARY_INIT(setup)
{
    /* Done once; every call starts from a snapshot that already has it. */
    for (int c = 0; c < 256; c++)
        is_space[c] = isspace(c) ? 1 : 0;
}

GRANARY_MAIN(wordcount)
{
    unsigned char buf[4096];
    long lines = 0, words = 0, bytes = 0;
    int in_word = 0;
    int32_t n;
    while ((n = granary_input_read(buf, sizeof buf, (int32_t)bytes)) > 0) {
        for (int32_t i = 0; i < n; i++) {
            lines += buf[i] == '\n';
            if (is_space[buf[i]]) {
                in_word = 0;
            } else if (!in_word) {
                in_word = 1;
                words++;
            }
        }
        bytes += n;
    }
    char out[96];
    int len = snprintf(out, sizeof out, "%ld %ld %ld\n", lines, words, bytes);
    granary_output_write(out, len);
    return 0;
}
