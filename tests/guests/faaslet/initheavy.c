/* SPDX-License-Identifier: Apache-2.0 */
/* Benchmark guest (reactor): its one-time init builds an 8 MiB lookup table
 * (the kind of set-up a real function does: parse a model, build tables);
 * each call then reads one entry. Shows what Proto-Faaslet snapshots save. */
#include <stdint.h>

#include <granary/faas.h>

#define ENTRIES (2u << 20)
static uint32_t table[ENTRIES];

GRANARY_INIT(build_table)
{
    uint32_t x = 2463534242u;
    for (uint32_t i = 0; i < ENTRIES; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        table[i] = x;
    }
}

GRANARY_MAIN(lookup)
{
    return (int)(table[12345] & 0x7fff);
}
