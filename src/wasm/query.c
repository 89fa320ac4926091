/* SPDX-License-Identifier: Apache-2.0 */
/* Queries on a decoded module for its users (the code generator): local
 * types by index, block type signatures. */
#include "wasm/wasm_int.h"

uint8_t
gr_wasm_func_local_type(const gr_wasm_module* m,
                        const gr_wasm_func* f,
                        uint32_t idx)
{
    const gr_wasm_functype* t = &m->types[f->type];
    if (idx < t->nparams)
        return t->params[idx];
    idx -= t->nparams;
    if (f->imported || idx >= f->nlocals)
        return GR_WASM_UNKNOWN;
    uint32_t lo = 0, hi = f->nlocal_groups;
    while (hi - lo > 1) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (f->local_groups[mid].first <= idx)
            lo = mid;
        else
            hi = mid;
    }
    return f->local_groups[lo].type;
}

void
gr_wasm_blocktype_sig(const gr_wasm_module* m,
                      uint8_t kind,
                      uint8_t valtype,
                      uint32_t typeidx,
                      uint32_t* nparams,
                      const uint8_t** params,
                      uint32_t* nresults,
                      const uint8_t** results)
{
    static const uint8_t one[256] = {
        [GR_WASM_I32] = GR_WASM_I32,
        [GR_WASM_I64] = GR_WASM_I64,
        [GR_WASM_F32] = GR_WASM_F32,
        [GR_WASM_F64] = GR_WASM_F64,
        [GR_WASM_V128] = GR_WASM_V128,
        [GR_WASM_FUNCREF] = GR_WASM_FUNCREF,
        [GR_WASM_EXTERNREF] = GR_WASM_EXTERNREF,
    };
    *nparams = 0;
    *params = NULL;
    *nresults = 0;
    *results = NULL;
    if (kind == GR_WASM_BLOCK_VALUE) {
        *nresults = 1;
        *results = &one[valtype];
    } else if (kind == GR_WASM_BLOCK_TYPEIDX && typeidx < m->ntypes) {
        const gr_wasm_functype* t = &m->types[typeidx];
        *nparams = t->nparams;
        *params = t->params;
        *nresults = t->nresults;
        *results = t->results;
    }
}
