/* SPDX-License-Identifier: Apache-2.0 */
/* Serve bench guest (reactor): returns at once with no output, so the
 * benchmark measures the HTTP path and the scheduler, not the guest. */
#include <granary/faas.h>

GRANARY_MAIN(serve_noop)
{
    return 0;
}
