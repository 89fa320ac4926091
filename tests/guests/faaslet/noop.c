/* SPDX-License-Identifier: Apache-2.0 */
/* Benchmark/test guest (reactor): does nothing; the memory size is set at
 * link time so the same code measures small and large Faaslets. */
#include <granary/faas.h>

GRANARY_MAIN(noop)
{
    return 0;
}
