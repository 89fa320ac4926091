/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: the wasm decoder/validator on arbitrary bytes. It must
 * never crash, hang, leak or allocate without bound; a module it accepts
 * must be internally consistent (checked here). */
#include "wasm/wasm.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

static void
check(const gr_wasm_module* m, size_t size)
{
    for (uint32_t i = m->nfunc_imports; i < m->nfuncs; i++) {
        const gr_wasm_func* f = &m->funcs[i];
        if (f->type >= m->ntypes || f->ninstrs == 0 ||
            f->instrs[f->ninstrs - 1].op != GR_WASM_OP_END ||
            (size_t)f->expr_offset + f->expr_size > size)
            abort();
        for (uint32_t k = 0; k < f->ninstrs; k++) {
            const gr_wasm_instr* in = &f->instrs[k];
            if ((in->op == GR_WASM_OP_BLOCK || in->op == GR_WASM_OP_LOOP ||
                 in->op == GR_WASM_OP_IF) &&
                (in->imm.block.end_at >= f->ninstrs ||
                 f->instrs[in->imm.block.end_at].op != GR_WASM_OP_END))
                abort();
            if (in->op == GR_WASM_OP_BR_TABLE &&
                (uint64_t)in->imm.br_table.first + in->imm.br_table.count >=
                  f->nbr_targets)
                abort();
        }
    }
    for (uint32_t i = 0; i < m->ndatas; i++)
        if ((size_t)m->datas[i].bytes_offset + m->datas[i].bytes_size > size)
            abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    gr_wasm_module* m = NULL;
    gr_wasm_error err;
    if (gr_wasm_module_decode(data, size, &m, &err) == 0) {
        check(m, size);
        gr_wasm_module_destroy(m);
    } else if (m != NULL || strlen(err.message) == 0) {
        abort();
    }
    return 0;
}
