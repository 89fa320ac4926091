/* SPDX-License-Identifier: Apache-2.0 */
/* SIMD (0xfd) instructions: not generated yet (TODO issue 10). */
#include "wasm/emit_int.h"

int
gr__emit_simd(gr_emit_fn* e, const gr_wasm_instr* in)
{
    return gr__emit_unsupported(e, in);
}
