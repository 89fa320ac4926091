/* SPDX-License-Identifier: Apache-2.0 */
/* The decoder/validator on modules written as .wat and converted by wabt
 * during the build: valid ones validate and decode to the expected
 * structure; each invalid one is rejected with its expected message. */
#include "wasm/wasm.h"

#include "granary/status.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

static uint8_t*
slurp(const char* path, size_t* len)
{
    FILE* f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t* b = malloc(n > 0 ? (size_t)n : 1);
    if (b != NULL && fread(b, 1, (size_t)n, f) != (size_t)n) {
        free(b);
        b = NULL;
    }
    fclose(f);
    *len = (size_t)n;
    return b;
}

static gr_wasm_module*
load_valid(const char* name)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/valid/%s.wasm", WAT_OUT_DIR, name);
    size_t len;
    uint8_t* b = slurp(path, &len);
    assert_non_null(b);
    gr_wasm_module* m = NULL;
    gr_wasm_error err;
    int r = gr_wasm_module_decode(b, len, &m, &err);
    free(b);
    if (r != 0)
        fail_msg("%s: %s", name, err.message);
    return m;
}

/* Every block/loop/if points at its end (and else), the body ends with
 * end, br_table label lists stay in bounds. */
static void
check_structure(const gr_wasm_func* f)
{
    assert_true(f->ninstrs > 0);
    assert_int_equal(f->instrs[f->ninstrs - 1].op, GR_WASM_OP_END);
    for (uint32_t i = 0; i < f->ninstrs; i++) {
        const gr_wasm_instr* in = &f->instrs[i];
        if (in->op == GR_WASM_OP_BLOCK || in->op == GR_WASM_OP_LOOP ||
            in->op == GR_WASM_OP_IF) {
            assert_true(in->imm.block.end_at > i);
            assert_true(in->imm.block.end_at < f->ninstrs);
            assert_int_equal(f->instrs[in->imm.block.end_at].op,
                             GR_WASM_OP_END);
            if (in->imm.block.else_at != UINT32_MAX) {
                assert_int_equal(in->op, GR_WASM_OP_IF);
                const gr_wasm_instr* e = &f->instrs[in->imm.block.else_at];
                assert_int_equal(e->op, GR_WASM_OP_ELSE);
                assert_int_equal(e->imm.block.end_at, in->imm.block.end_at);
            }
        }
        if (in->op == GR_WASM_OP_BR_TABLE)
            assert_true((uint64_t)in->imm.br_table.first +
                          in->imm.br_table.count + 1 <=
                        f->nbr_targets);
        if (i > 0)
            assert_true(in->offset > f->instrs[i - 1].offset);
        assert_true(in->offset >= f->expr_offset);
        assert_true(in->offset < f->expr_offset + f->expr_size);
    }
}

static void
test_valid_all(void** state)
{
    (void)state;
    char dir[1024];
    snprintf(dir, sizeof(dir), "%s/valid", WAT_SRC_DIR);
    DIR* d = opendir(dir);
    assert_non_null(d);
    struct dirent* e;
    int n = 0;
    while ((e = readdir(d)) != NULL) {
        size_t l = strlen(e->d_name);
        if (l < 5 || strcmp(e->d_name + l - 4, ".wat") != 0)
            continue;
        char name[256];
        snprintf(name, sizeof(name), "%.*s", (int)(l - 4), e->d_name);
        gr_wasm_module* m = load_valid(name);
        for (uint32_t i = m->nfunc_imports; i < m->nfuncs; i++)
            check_structure(&m->funcs[i]);
        gr_wasm_module_destroy(m);
        n++;
    }
    closedir(d);
    assert_true(n >= 7);
}

/* The `;; expect: ...` lines of an invalid case. */
static int
expectations(const char* wat, char exp[][160], int max)
{
    FILE* f = fopen(wat, "r");
    assert_non_null(f);
    char line[512];
    int n = 0;
    while (fgets(line, sizeof(line), f) != NULL && n < max) {
        if (strncmp(line, ";; expect: ", 11) != 0)
            continue;
        line[strcspn(line, "\n")] = 0;
        snprintf(exp[n++], 160, "%.159s", line + 11);
    }
    fclose(f);
    return n;
}

static void
test_invalid_all(void** state)
{
    (void)state;
    char dir[1024];
    snprintf(dir, sizeof(dir), "%s/invalid", WAT_SRC_DIR);
    DIR* d = opendir(dir);
    assert_non_null(d);
    struct dirent* e;
    int n = 0, bad = 0;
    while ((e = readdir(d)) != NULL) {
        size_t l = strlen(e->d_name);
        if (l < 5 || strcmp(e->d_name + l - 4, ".wat") != 0)
            continue;
        char wat[1300], wasm[1300];
        snprintf(wat, sizeof(wat), "%s/%s", dir, e->d_name);
        snprintf(wasm,
                 sizeof(wasm),
                 "%s/invalid/%.*s.wasm",
                 WAT_OUT_DIR,
                 (int)(l - 4),
                 e->d_name);
        char exp[4][160];
        int ne = expectations(wat, exp, 4);
        assert_true(ne > 0);
        size_t len;
        uint8_t* b = slurp(wasm, &len);
        assert_non_null(b);
        gr_wasm_module* m = NULL;
        gr_wasm_error err;
        int r = gr_wasm_module_decode(b, len, &m, &err);
        free(b);
        n++;
        if (r == 0) {
            print_error("%s: accepted\n", e->d_name);
            gr_wasm_module_destroy(m);
            bad++;
            continue;
        }
        assert_int_equal(r, GR_EINVALID_MODULE);
        assert_null(m);
        for (int i = 0; i < ne; i++) {
            if (strstr(err.message, exp[i]) == NULL) {
                print_error("%s: expected \"%s\", got \"%s\"\n",
                            e->d_name,
                            exp[i],
                            err.message);
                bad++;
            }
        }
    }
    closedir(d);
    assert_int_equal(bad, 0);
    assert_true(n >= 25);
}

static void
test_mvp_structure(void** state)
{
    (void)state;
    gr_wasm_module* m = load_valid("mvp");
    assert_int_equal(m->nimports, 3);
    assert_string_equal(m->imports[0].module.str, "env");
    assert_string_equal(m->imports[0].field.str, "imp");
    assert_int_equal(m->nfunc_imports, 1);
    assert_int_equal(m->nfuncs, 4);
    assert_true(m->funcs[0].imported);
    assert_true(m->has_names);
    assert_string_equal(m->funcs[0].name, "imp");
    assert_string_equal(m->funcs[3].name, "run");
    assert_true(m->has_start);
    assert_int_equal(m->start, 1);
    /* Memory: imported, 1..2 pages. */
    assert_int_equal(m->nmems, 1);
    assert_true(m->mems[0].imported);
    assert_int_equal(m->mems[0].limits.min, 1);
    assert_true(m->mems[0].limits.has_max);
    assert_int_equal(m->mems[0].limits.max, 2);
    assert_false(m->mems[0].limits.shared);
    assert_int_equal(m->ntables, 1);
    assert_int_equal(m->tables[0].elem_type, GR_WASM_FUNCREF);
    assert_int_equal(m->tables[0].limits.min, 4);
    /* Globals: the import, then $sp (mut, 1024) and $k (global.get 0). */
    assert_int_equal(m->nglobals, 3);
    assert_int_equal(m->nglobal_imports, 1);
    assert_true(m->globals[1].mut);
    assert_int_equal(m->globals[1].init.op, GR_WASM_OP_I32_CONST);
    assert_int_equal(m->globals[1].init.imm.i32, 1024);
    assert_int_equal(m->globals[2].init.op, GR_WASM_OP_GLOBAL_GET);
    assert_int_equal(m->globals[2].init.imm.idx, 0);
    assert_int_equal(m->nexports, 2);
    assert_string_equal(m->exports[0].name.str, "run");
    assert_int_equal(m->exports[0].kind, GR_WASM_EXTERN_FUNC);
    assert_int_equal(m->exports[0].index, 3);
    assert_int_equal(m->nelems, 1);
    assert_int_equal(m->elems[0].mode, GR_WASM_SEG_ACTIVE);
    assert_int_equal(m->elems[0].nitems, 2);
    assert_int_equal(m->elems[0].items[0].imm.idx, 3);
    assert_int_equal(m->elems[0].items[1].imm.idx, 2);
    assert_int_equal(m->ndatas, 1);
    assert_int_equal(m->datas[0].offset.imm.i32, 16);
    assert_int_equal(m->datas[0].bytes_size, 5);
    /* $helper: param i32, locals i64 i64 f32. */
    const gr_wasm_func* h = &m->funcs[2];
    assert_int_equal(h->nlocals, 3);
    assert_int_equal(h->nlocal_groups, 2);
    assert_int_equal(gr_wasm_func_local_type(m, h, 0), GR_WASM_I32);
    assert_int_equal(gr_wasm_func_local_type(m, h, 1), GR_WASM_I64);
    assert_int_equal(gr_wasm_func_local_type(m, h, 2), GR_WASM_I64);
    assert_int_equal(gr_wasm_func_local_type(m, h, 3), GR_WASM_F32);
    assert_int_equal(gr_wasm_func_local_type(m, h, 4), GR_WASM_UNKNOWN);
    int tables = 0;
    for (uint32_t i = 0; i < h->ninstrs; i++) {
        const gr_wasm_instr* in = &h->instrs[i];
        if (in->op == GR_WASM_OP_BR_TABLE) {
            tables++;
            assert_int_equal(in->imm.br_table.count, 1);
            assert_int_equal(h->br_targets[in->imm.br_table.first], 1);
            assert_int_equal(h->br_targets[in->imm.br_table.first + 1], 1);
        }
    }
    assert_int_equal(tables, 1);
    /* $run: if/else with a load (align 2, offset 4) and call_indirect. */
    const gr_wasm_func* r = &m->funcs[3];
    bool saw_load = false, saw_ci = false, saw_else = false;
    for (uint32_t i = 0; i < r->ninstrs; i++) {
        const gr_wasm_instr* in = &r->instrs[i];
        if (in->op == 0x28) {
            saw_load = true;
            assert_int_equal(in->imm.mem.align, 2);
            assert_int_equal(in->imm.mem.offset, 4);
        }
        if (in->op == GR_WASM_OP_CALL_INDIRECT) {
            saw_ci = true;
            assert_int_equal(in->imm.idx.a, 0);
            assert_int_equal(in->imm.idx.b, 0);
        }
        if (in->op == GR_WASM_OP_IF) {
            saw_else = in->imm.block.else_at != UINT32_MAX;
            assert_int_equal(in->imm.block.kind, GR_WASM_BLOCK_VALUE);
            assert_int_equal(in->imm.block.valtype, GR_WASM_I32);
        }
    }
    assert_true(saw_load && saw_ci && saw_else);
    gr_wasm_module_destroy(m);
}

static const gr_wasm_instr*
find_op(const gr_wasm_func* f, unsigned op, int nth)
{
    for (uint32_t i = 0; i < f->ninstrs; i++)
        if (f->instrs[i].op == op && nth-- == 0)
            return &f->instrs[i];
    return NULL;
}

static void
test_features_structure(void** state)
{
    (void)state;
    gr_wasm_module* m = load_valid("threads");
    assert_true(m->mems[0].limits.shared);
    assert_int_equal(m->mems[0].limits.max, 16);
    const gr_wasm_instr* in = find_op(&m->funcs[0], GR_WASM_OP_FE(0x02), 0);
    assert_non_null(in); /* memory.atomic.wait64 */
    assert_int_equal(in->imm.mem.align, 3);
    assert_non_null(find_op(&m->funcs[0], GR_WASM_OP_ATOMIC_FENCE, 0));
    gr_wasm_module_destroy(m);

    m = load_valid("simd");
    const gr_wasm_func* f = &m->funcs[0];
    in = find_op(f, GR_WASM_OP_I8X16_SHUFFLE, 0);
    assert_non_null(in);
    assert_int_equal(in->imm.v128[8], 16);
    assert_int_equal(in->imm.v128[15], 31);
    in = find_op(f, GR_WASM_OP_FD(0x16), 0); /* i8x16.extract_lane_u */
    assert_non_null(in);
    assert_int_equal(in->lane, 15);
    in = find_op(f, GR_WASM_OP_FD(0x55), 0); /* v128.load16_lane */
    assert_non_null(in);
    assert_int_equal(in->lane, 7);
    assert_int_equal(in->imm.mem.align, 1);
    in = find_op(f, GR_WASM_OP_V128_CONST, 0);
    assert_non_null(in);
    assert_int_equal(in->imm.v128[4], 2);
    assert_int_equal(gr_wasm_func_local_type(m, f, 2), GR_WASM_V128);
    gr_wasm_module_destroy(m);

    m = load_valid("multivalue");
    f = &m->funcs[1];
    in = find_op(f, GR_WASM_OP_BLOCK, 0);
    assert_non_null(in);
    assert_int_equal(in->imm.block.kind, GR_WASM_BLOCK_TYPEIDX);
    uint32_t np, nr;
    const uint8_t *p, *r;
    gr_wasm_blocktype_sig(m,
                          in->imm.block.kind,
                          in->imm.block.valtype,
                          in->imm.block.typeidx,
                          &np,
                          &p,
                          &nr,
                          &r);
    assert_int_equal(np, 2);
    assert_int_equal(nr, 2);
    assert_int_equal(p[0], GR_WASM_I32);
    gr_wasm_module_destroy(m);

    /* Types recorded where the opcode does not say: typed and untyped
     * select, drop of a known and of an unreachable operand. */
    m = load_valid("bulk_ref");
    f = &m->funcs[m->nfuncs - 1];
    in = find_op(f, GR_WASM_OP_SELECT_T, 0);
    assert_non_null(in);
    assert_int_equal(in->type, GR_WASM_EXTERNREF);
    in = find_op(f, GR_WASM_OP_SELECT, 0);
    assert_non_null(in);
    assert_int_equal(in->type, GR_WASM_I32);
    in = find_op(f, GR_WASM_OP_DROP, 0);
    assert_non_null(in);
    assert_int_equal(in->type, GR_WASM_I32); /* table.grow's result */
    assert_int_equal(m->ndatas, 1);
    assert_int_equal(m->datas[0].mode, GR_WASM_SEG_PASSIVE);
    assert_true(m->has_data_count);
    assert_int_equal(m->elems[1].mode, GR_WASM_SEG_DECLARATIVE);
    gr_wasm_module_destroy(m);

    m = load_valid("unreachable");
    in = find_op(&m->funcs[2], GR_WASM_OP_SELECT, 0);
    assert_non_null(in);
    assert_int_equal(in->type, GR_WASM_UNKNOWN);
    gr_wasm_module_destroy(m);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_all),
        cmocka_unit_test(test_invalid_all),
        cmocka_unit_test(test_mvp_structure),
        cmocka_unit_test(test_features_structure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
