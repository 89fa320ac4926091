/* SPDX-License-Identifier: Apache-2.0 */
/* HTTP API chaining guest (reactor), built under three names. With NEXT
 * defined it calls function NEXT with its input and outputs the child's
 * output followed by its own letter; without, it outputs input + letter.
 * So chain_a -> chain_b -> chain_c on "x" gives "xcba". */
#include <string.h>

#include <granary/faas.h>

#define STR2(x) #x
#define STR(x) STR2(x)

static char buf[8192];

GRANARY_MAIN(chain_main)
{
    int n = granary_input_size();
    if (n < 0 || n > 4096)
        return 99;
    granary_input_read(buf, n, 0);
#ifdef NEXT
    int h = granary_chain(STR(NEXT), (int32_t)strlen(STR(NEXT)), buf, n);
    if (h < 0)
        return 100 - h;
    int rc = granary_await(h);
    if (rc != 0)
        return rc < 0 ? 100 - rc : rc;
    n = granary_chain_output(h, buf, 4096, 0);
    if (n < 0)
        return 120 - n;
#endif
    buf[n++] = STR(LETTER)[0];
    granary_output_write(buf, n);
    return 0;
}
