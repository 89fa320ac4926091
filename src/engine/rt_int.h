/* SPDX-License-Identifier: Apache-2.0 */
/* Private to the runtime (rt.c, rt_memory.c). */
#ifndef GR_ENGINE_RT_INT_H
#define GR_ENGINE_RT_INT_H

#include <stdint.h>

/* Whether addr lies in a live linear-memory reservation. Lock-free and
 * async-signal-safe: the fault handler calls it. */
int gr__rt_address_in_region(uintptr_t addr);

#endif
