/* SPDX-License-Identifier: Apache-2.0 */
/* Benchmark guest (reactor): each call writes one page of its memory, so
 * an idle Faaslet keeps the page tables of that page after its reset (the
 * kernel memory bench_faaslet reports per Faaslet and strategy). */
#include <granary/faas.h>

static volatile unsigned char page[4096] __attribute__((aligned(4096)));

GRANARY_MAIN(touch)
{
    page[0]++;
    return 0;
}
