/* SPDX-License-Identifier: Apache-2.0 */
/* The bytes of the soak's large outputs, shared by the guest that writes
 * them and the load generator that checks them. */
#ifndef GRANARY_BENCH_SOAK_DATA_H
#define GRANARY_BENCH_SOAK_DATA_H

#include <stdint.h>

/* Byte i of the large output with this seed: cheap, and a shifted,
 * truncated or mixed-up output does not match. */
static inline unsigned char
soak_byte(uint64_t seed, uint64_t i)
{
    uint64_t x = (seed + i / 8) * 0x9E3779B97F4A7C15ull;
    return (unsigned char)(x >> (56 - 8 * (i % 8)));
}

#endif
