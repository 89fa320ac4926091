/* SPDX-License-Identifier: Apache-2.0 */
/* Spec-test runner for Granary's wasm -> C compiler: reads the JSON that
 * wabt's wast2json writes, and for each module decodes and validates it
 * (src/wasm), generates C (gr_wasm_emit), compiles it with the system cc
 * into a shared object (cached by the hash of the generated C), dlopens
 * it (all four through wasm_load.c) and instantiates it against the "spectest"
 * host module and registered modules, then checks every assertion. Prints
 * passed/issued per file. run_spec [-v] [-j N] [-c CACHE_DIR] FILE.json... */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wformat-truncation"
#endif
#include "wasm/wasm.h"
#include "wasm/wrt.h"
#include "wasm_load.h"

#include <inttypes.h>
#include <jansson.h>
#include <libgen.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static int verbose;
static int jobs = 2;
static const char* cache_dir = "/tmp/granary-spec-cache";

/* ---- loading modules (wasm_load.c), at -O1 ---- */

#define SPEC_CFLAGS "-O1"

typedef struct loaded
{
    wl_module m;
    char err[512];
} loaded;

static int
load_module(const char* path, loaded* L)
{
    return wl_load(path, cache_dir, SPEC_CFLAGS, &L->m, L->err, sizeof L->err);
}

/* ---- instances and the spectest module ---- */

typedef struct instance
{
    char* name; /* $name in the script, or NULL */
    const wrt_module_desc* desc;
    void* inst;
    void* dl;
    bool spectest;
} instance;

typedef struct registered
{
    char* as;
    instance* in;
} registered;

static void
host_nop(void* i, ...)
{
    (void)i;
}
static void
host_thunk(const wrt_func* f, wrt_val* v)
{
    (void)f;
    (void)v;
}

static wrt_func sp_print = { ":", (void*)host_nop, NULL, host_thunk };
static wrt_func sp_print_i32 = { "i:", (void*)host_nop, NULL, host_thunk };
static wrt_func sp_print_i64 = { "l:", (void*)host_nop, NULL, host_thunk };
static wrt_func sp_print_f32 = { "f:", (void*)host_nop, NULL, host_thunk };
static wrt_func sp_print_f64 = { "d:", (void*)host_nop, NULL, host_thunk };
static wrt_func sp_print_i32_f32 = { "if:", (void*)host_nop, NULL, host_thunk };
static wrt_func sp_print_f64_f64 = { "dd:", (void*)host_nop, NULL, host_thunk };
static uint32_t sp_global_i32 = 666;
static uint64_t sp_global_i64 = 666;
static float sp_global_f32 = 666.6f;
static double sp_global_f64 = 666.6;
static wrt_table sp_table;
static wrt_memory sp_memory;

static void
spectest_reset(void)
{
    wrt_table_fini(&sp_table);
    wrt_memory_fini(&sp_memory);
    wrt_table_init(&sp_table, GR_WASM_FUNCREF, 10, 20, true);
    wrt_memory_init(&sp_memory, 1, 2, true, false);
}

/* Looks up an export of the spectest module: pointer, kind, type. */
static void*
spectest_export(const char* name, uint8_t* kind, uint8_t* type, bool* mut)
{
    static const struct
    {
        const char* name;
        void* p;
        uint8_t kind, type;
    } e[] = {
        { "print", &sp_print, 0, 0 },
        { "print_i32", &sp_print_i32, 0, 0 },
        { "print_i64", &sp_print_i64, 0, 0 },
        { "print_f32", &sp_print_f32, 0, 0 },
        { "print_f64", &sp_print_f64, 0, 0 },
        { "print_i32_f32", &sp_print_i32_f32, 0, 0 },
        { "print_f64_f64", &sp_print_f64_f64, 0, 0 },
        { "global_i32", &sp_global_i32, 3, GR_WASM_I32 },
        { "global_i64", &sp_global_i64, 3, GR_WASM_I64 },
        { "global_f32", &sp_global_f32, 3, GR_WASM_F32 },
        { "global_f64", &sp_global_f64, 3, GR_WASM_F64 },
        { "table", &sp_table, 1, GR_WASM_FUNCREF },
        { "memory", &sp_memory, 2, 0 },
    };
    for (size_t i = 0; i < sizeof(e) / sizeof(e[0]); i++)
        if (strcmp(name, e[i].name) == 0) {
            *kind = e[i].kind;
            *type = e[i].type;
            *mut = false;
            return e[i].p;
        }
    return NULL;
}

static void*
instance_export(instance* in,
                const char* name,
                size_t nlen,
                uint8_t* kind,
                uint8_t* type,
                bool* mut)
{
    if (in->spectest)
        return spectest_export(name, kind, type, mut);
    for (uint32_t i = 0; i < in->desc->nexports; i++) {
        const wrt_export_desc* x = &in->desc->exports[i];
        if (x->name_len == nlen && memcmp(x->name, name, nlen) == 0) {
            *kind = x->kind;
            *type = x->type;
            *mut = x->mut;
            return in->desc->export_ptr(in->inst, i);
        }
    }
    return NULL;
}

#define MAX_REG 256
static registered regs[MAX_REG];
static int nregs;
static instance spectest_inst = { .spectest = true };
#define MAX_INST 4096
static instance* insts[MAX_INST];
static int ninsts;

static instance*
find_registered(const char* as)
{
    if (strcmp(as, "spectest") == 0)
        return &spectest_inst;
    for (int i = nregs - 1; i >= 0; i--)
        if (strcmp(regs[i].as, as) == 0)
            return regs[i].in;
    return NULL;
}

static bool
limits_match(uint32_t amin,
             uint32_t amax,
             bool ahas,
             uint32_t imin,
             uint32_t imax,
             bool ihas)
{
    if (amin < imin)
        return false;
    if (ihas && (!ahas || amax > imax))
        return false;
    return true;
}

/* Resolves imports and instantiates. Returns 0, 1 (unlinkable), 2 (trap
 * in start: *trap set), 3 (other failure). */
static int
instantiate(const wrt_module_desc* d,
            void* dl,
            instance** out,
            int* trap,
            char* err,
            size_t errlen)
{
    void** imp = calloc(d->nimports + 1, sizeof(void*));
    for (uint32_t i = 0; i < d->nimports; i++) {
        const wrt_import_desc* im = &d->imports[i];
        instance* from = find_registered(im->module);
        uint8_t kind = 0, type = 0;
        bool mut = false;
        void* p = from
                    ? instance_export(
                        from, im->field, strlen(im->field), &kind, &type, &mut)
                    : NULL;
        bool ok = p != NULL && kind == im->kind;
        if (ok && kind == 0)
            ok = strcmp(((wrt_func*)p)->sig, im->sig) == 0;
        if (ok && kind == 3)
            ok = type == im->type && mut == im->mut;
        if (ok && kind == 1) {
            wrt_table* t = p;
            ok = t->type == im->type &&
                 limits_match(
                   t->size, t->max, t->has_max, im->min, im->max, im->has_max);
        }
        if (ok && kind == 2) {
            wrt_memory* mm = p;
            ok =
              mm->shared == im->shared &&
              limits_match(
                mm->pages, mm->max, mm->has_max, im->min, im->max, im->has_max);
        }
        if (!ok) {
            snprintf(err,
                     errlen,
                     "unknown or incompatible import %s.%s",
                     im->module,
                     im->field);
            free(imp);
            return 1;
        }
        imp[i] = p;
    }
    instance* in = calloc(1, sizeof(*in));
    in->desc = d;
    in->dl = dl;
    in->inst = aligned_alloc(64, (d->inst_size + 63) & ~(size_t)63);
    memset(in->inst, 0, d->inst_size);
    if (d->init(in->inst, imp) != 0) {
        snprintf(err, errlen, "init failed");
        free(imp);
        return 3;
    }
    free(imp);
    if (ninsts < MAX_INST)
        insts[ninsts++] = in;
    *out = in;
    *trap = wrt_invoke_raw(d->start, in->inst);
    if (*trap) {
        snprintf(err, errlen, "start trapped: %s", wrt_trap_name(*trap));
        return 2;
    }
    return 0;
}

/* ---- values ---- */

static bool
parse_val(json_t* v, wrt_val* out)
{
    const char* t = json_string_value(json_object_get(v, "type"));
    json_t* jv = json_object_get(v, "value");
    memset(out, 0, sizeof(*out));
    if (t == NULL)
        return false;
    if (strcmp(t, "v128") == 0) {
        const char* lt = json_string_value(json_object_get(v, "lane_type"));
        size_t n = json_array_size(jv);
        size_t w = 16 / (n ? n : 1);
        (void)lt;
        for (size_t i = 0; i < n; i++) {
            const char* s = json_string_value(json_array_get(jv, i));
            uint64_t x = s ? strtoull(s, NULL, 10) : 0;
            memcpy(out->v128 + i * w, &x, w);
        }
        return true;
    }
    const char* s = json_string_value(jv);
    if (strcmp(t, "externref") == 0) {
        out->ext = (s == NULL || strcmp(s, "null") == 0)
                     ? NULL
                     : (void*)(uintptr_t)(strtoull(s, NULL, 10) + 1);
        return true;
    }
    if (strcmp(t, "funcref") == 0) {
        out->ref = NULL;
        return true;
    }
    if (s == NULL)
        return false;
    uint64_t x = strtoull(s, NULL, 10);
    if (strcmp(t, "i32") == 0 || strcmp(t, "f32") == 0)
        out->i32 = (uint32_t)x;
    else
        out->i64 = x;
    return true;
}

static bool
match_f32(const char* s, uint32_t b)
{
    if (strcmp(s, "nan:canonical") == 0)
        return (b & 0x7fffffffu) == 0x7fc00000u;
    if (strcmp(s, "nan:arithmetic") == 0)
        return (b & 0x7fc00000u) == 0x7fc00000u;
    return (uint32_t)strtoull(s, NULL, 10) == b;
}

static bool
match_f64(const char* s, uint64_t b)
{
    if (strcmp(s, "nan:canonical") == 0)
        return (b & 0x7fffffffffffffffull) == 0x7ff8000000000000ull;
    if (strcmp(s, "nan:arithmetic") == 0)
        return (b & 0x7ff8000000000000ull) == 0x7ff8000000000000ull;
    return strtoull(s, NULL, 10) == b;
}

static bool
match_val(json_t* e, const wrt_val* got)
{
    const char* t = json_string_value(json_object_get(e, "type"));
    json_t* jv = json_object_get(e, "value");
    const char* s = json_string_value(jv);
    if (t == NULL)
        return false;
    if (strcmp(t, "v128") == 0) {
        const char* lt = json_string_value(json_object_get(e, "lane_type"));
        size_t n = json_array_size(jv);
        size_t w = 16 / (n ? n : 1);
        for (size_t i = 0; i < n; i++) {
            const char* ls = json_string_value(json_array_get(jv, i));
            uint64_t x = 0;
            memcpy(&x, got->v128 + i * w, w);
            bool ok;
            if (lt && strcmp(lt, "f32") == 0)
                ok = match_f32(ls, (uint32_t)x);
            else if (lt && strcmp(lt, "f64") == 0)
                ok = match_f64(ls, x);
            else {
                uint64_t want = strtoull(ls, NULL, 10);
                uint64_t mask = w == 8 ? ~0ull : ((1ull << (w * 8)) - 1);
                ok = (want & mask) == (x & mask);
            }
            if (!ok)
                return false;
        }
        return true;
    }
    if (strcmp(t, "externref") == 0) {
        if (s == NULL || strcmp(s, "null") == 0)
            return got->ext == NULL;
        return got->ext == (void*)(uintptr_t)(strtoull(s, NULL, 10) + 1);
    }
    if (strcmp(t, "funcref") == 0) {
        if (s != NULL && strcmp(s, "null") == 0)
            return got->ref == NULL;
        return got->ref != NULL;
    }
    if (s == NULL)
        return false;
    if (strcmp(t, "i32") == 0)
        return (uint32_t)strtoull(s, NULL, 10) == got->i32;
    if (strcmp(t, "i64") == 0)
        return strtoull(s, NULL, 10) == got->i64;
    if (strcmp(t, "f32") == 0)
        return match_f32(s, got->i32);
    if (strcmp(t, "f64") == 0)
        return match_f64(s, got->i64);
    return false;
}

/* ---- the script ---- */

typedef struct script
{
    const char* dir;
    instance* current;
    int passed, issued;
    int compile_failures;
    int text; /* text-format assertions (not run; passed and issued) */
    const char* file;
} script;

static instance*
find_instance(script* S, json_t* action)
{
    const char* name = json_string_value(json_object_get(action, "module"));
    if (name == NULL)
        return S->current;
    for (int i = ninsts - 1; i >= 0; i--)
        if (insts[i]->name && strcmp(insts[i]->name, name) == 0)
            return insts[i];
    return NULL;
}

/* Runs an action: 0 done (results in vals, count in *nres), -1 cannot
 * (no instance/export), or the trap kind. */
static int
run_action(script* S, json_t* action, wrt_val* vals, size_t* nres)
{
    instance* in = find_instance(S, action);
    if (in == NULL)
        return -1;
    const char* type = json_string_value(json_object_get(action, "type"));
    json_t* jf = json_object_get(action, "field");
    const char* field = json_string_value(jf);
    size_t flen = json_string_length(jf);
    uint8_t kind, vt;
    bool mut;
    void* p = field ? instance_export(in, field, flen, &kind, &vt, &mut) : NULL;
    if (p == NULL)
        return -1;
    if (strcmp(type, "get") == 0) {
        if (kind != 3)
            return -1;
        memset(vals, 0, sizeof(*vals));
        switch (vt) {
            case GR_WASM_I32:
            case GR_WASM_F32:
                memcpy(&vals[0].i32, p, 4);
                break;
            case GR_WASM_V128:
                memcpy(vals[0].v128, p, 16);
                break;
            default:
                memcpy(&vals[0].i64, p, 8);
                break;
        }
        *nres = 1;
        return 0;
    }
    if (kind != 0)
        return -1;
    json_t* args = json_object_get(action, "args");
    size_t na = json_array_size(args);
    for (size_t i = 0; i < na && i < 64; i++)
        parse_val(json_array_get(args, i), &vals[i]);
    const wrt_func* f = p;
    *nres = strlen(strchr(f->sig, ':') + 1);
    return wrt_invoke(f, vals);
}

static void fail_msg(script* S, json_t* cmd, const char* fmt, ...)
  __attribute__((format(printf, 3, 4)));
static void
fail_msg(script* S, json_t* cmd, const char* fmt, ...)
{
    if (!verbose)
        return;
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr,
            "%s:%d: FAIL ",
            S->file,
            (int)json_integer_value(json_object_get(cmd, "line")));
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
}

static void
module_path(script* S, json_t* cmd, char* buf, size_t n)
{
    snprintf(buf,
             n,
             "%s/%s",
             S->dir,
             json_string_value(json_object_get(cmd, "filename")));
}

static void
cmd_module(script* S, json_t* cmd)
{
    char path[4096];
    module_path(S, cmd, path, sizeof(path));
    loaded L;
    S->current = NULL;
    S->issued++;
    if (load_module(path, &L) != 0) {
        S->compile_failures++;
        fail_msg(S, cmd, "module %s: %s", path, L.err);
        return;
    }
    instance* in = NULL;
    int trap = 0;
    char err[256];
    if (instantiate(L.m.desc, L.m.dl, &in, &trap, err, sizeof(err)) != 0) {
        fail_msg(S, cmd, "module %s: %s", path, err);
        S->compile_failures++;
        return;
    }
    const char* name = json_string_value(json_object_get(cmd, "name"));
    if (name)
        in->name = strdup(name);
    S->current = in;
    S->passed++;
}

static void
cmd_assert_module(script* S, json_t* cmd, const char* type)
{
    char path[4096];
    module_path(S, cmd, path, sizeof(path));
    const char* mt = json_string_value(json_object_get(cmd, "module_type"));
    if (mt && strcmp(mt, "text") == 0) {
        /* Text-format modules are the text parser's business: counted as
         * passed like wabt's spectest-interp does, and reported apart. */
        S->text++;
        S->passed++;
        S->issued++;
        return;
    }
    S->issued++;
    bool refuse = strcmp(type, "assert_invalid") == 0 ||
                  strcmp(type, "assert_malformed") == 0;
    if (refuse) {
        size_t len;
        uint8_t* b = wl_read_all(path, &len);
        gr_wasm_module* m = NULL;
        gr_wasm_error e;
        int rc = b ? gr_wasm_module_decode(b, len, &m, &e) : -1;
        free(b);
        gr_wasm_module_destroy(m);
        if (rc != 0)
            S->passed++;
        else
            fail_msg(S, cmd, "%s: module accepted", type);
        return;
    }
    loaded L;
    if (load_module(path, &L) != 0) {
        fail_msg(S, cmd, "%s: %s", type, L.err);
        return;
    }
    instance* in = NULL;
    int trap = 0;
    char err[256];
    int rc = instantiate(L.m.desc, L.m.dl, &in, &trap, err, sizeof(err));
    bool want_link = strcmp(type, "assert_unlinkable") == 0;
    if ((want_link && rc == 1) || (!want_link && rc == 2))
        S->passed++;
    else
        fail_msg(S, cmd, "%s: instantiate gave %d (%s)", type, rc, err);
}

static void
cmd_action(script* S, json_t* cmd, const char* type)
{
    json_t* action = json_object_get(cmd, "action");
    wrt_val vals[64];
    size_t nres = 0;
    S->issued++;
    int rc = run_action(S, action, vals, &nres);
    const char* field = json_string_value(json_object_get(action, "field"));
    if (strcmp(type, "assert_return") == 0) {
        json_t* exp = json_object_get(cmd, "expected");
        if (rc != 0) {
            fail_msg(S,
                     cmd,
                     "%s: %s",
                     field,
                     rc < 0 ? "no such export" : wrt_trap_name(rc));
            return;
        }
        size_t ne = json_array_size(exp);
        for (size_t i = 0; i < ne; i++)
            if (i >= nres || !match_val(json_array_get(exp, i), &vals[i])) {
                char* js = json_dumps(json_array_get(exp, i), JSON_COMPACT);
                fail_msg(S,
                         cmd,
                         "%s: result %zu: want %s, got 0x%" PRIx64
                         " %016" PRIx64,
                         field,
                         i,
                         js,
                         vals[i].i64,
                         *(uint64_t*)(vals[i].v128 + 8));
                free(js);
                return;
            }
        S->passed++;
        return;
    }
    if (strcmp(type, "assert_trap") == 0 ||
        strcmp(type, "assert_exhaustion") == 0) {
        const char* text = json_string_value(json_object_get(cmd, "text"));
        if (rc <= 0) {
            fail_msg(S, cmd, "%s: no trap (want %s)", field, text);
            return;
        }
        const char* got = wrt_trap_name(rc);
        if (text && strncmp(got, text, strlen(got)) != 0 &&
            strncmp(got, text, strlen(text)) != 0) {
            fail_msg(S, cmd, "%s: trap '%s', want '%s'", field, got, text);
            return;
        }
        S->passed++;
        return;
    }
    if (rc != 0)
        fail_msg(S, cmd, "action %s: %d", field, rc);
    else
        S->passed++;
}

static void
cmd_register(script* S, json_t* cmd)
{
    const char* as = json_string_value(json_object_get(cmd, "as"));
    const char* name = json_string_value(json_object_get(cmd, "name"));
    instance* in = S->current;
    if (name) {
        json_t* a = json_object();
        json_object_set_new(a, "module", json_string(name));
        in = find_instance(S, a);
        json_decref(a);
    }
    if (in == NULL || nregs >= MAX_REG)
        return;
    regs[nregs].as = strdup(as);
    regs[nregs].in = in;
    nregs++;
}

/* Builds every module of the script with up to `jobs` processes, so the
 * sequential pass finds them in the cache. */
static void
prebuild(script* S, json_t* cmds)
{
    size_t n = json_array_size(cmds);
    int running = 0;
    for (size_t i = 0; i < n; i++) {
        json_t* c = json_array_get(cmds, i);
        const char* t = json_string_value(json_object_get(c, "type"));
        if (strcmp(t, "module") != 0 && strcmp(t, "assert_uninstantiable") &&
            strcmp(t, "assert_unlinkable") && strcmp(t, "assert_trap"))
            continue;
        if (json_object_get(c, "filename") == NULL)
            continue;
        char path[4096];
        module_path(S, c, path, sizeof(path));
        if (running >= jobs) {
            wait(NULL);
            running--;
        }
        pid_t pid = fork();
        if (pid == 0) {
            char so[4096], err[512];
            wl_build(
              path, cache_dir, SPEC_CFLAGS, so, sizeof(so), err, sizeof(err));
            _exit(0);
        }
        if (pid > 0)
            running++;
    }
    while (running-- > 0)
        wait(NULL);
}

static void
free_instances(void)
{
    for (int i = 0; i < ninsts; i++) {
        insts[i]->desc->fini(insts[i]->inst);
        free(insts[i]->inst);
        free(insts[i]->name);
        free(insts[i]);
    }
    ninsts = 0;
    for (int i = 0; i < nregs; i++)
        free(regs[i].as);
    nregs = 0;
}

static void
run_file(const char* file, int* tp, int* ti)
{
    json_error_t je;
    json_t* root = json_load_file(file, JSON_ALLOW_NUL, &je);
    if (root == NULL) {
        printf("%s: cannot parse: %s\n", file, je.text);
        (*ti)++; /* counted as a failed assertion: the run fails */
        return;
    }
    char* fdup = strdup(file);
    script S = { .dir = dirname(fdup), .file = file };
    json_t* cmds = json_object_get(root, "commands");
    spectest_reset();
    if (jobs > 1)
        prebuild(&S, cmds);
    for (size_t i = 0; i < json_array_size(cmds); i++) {
        json_t* c = json_array_get(cmds, i);
        const char* t = json_string_value(json_object_get(c, "type"));
        if (strcmp(t, "module") == 0)
            cmd_module(&S, c);
        else if (strcmp(t, "register") == 0)
            cmd_register(&S, c);
        else if (strcmp(t, "assert_invalid") == 0 ||
                 strcmp(t, "assert_malformed") == 0 ||
                 strcmp(t, "assert_unlinkable") == 0 ||
                 strcmp(t, "assert_uninstantiable") == 0)
            cmd_assert_module(&S, c, t);
        else if (strcmp(t, "assert_trap") == 0 &&
                 json_object_get(c, "filename") != NULL)
            cmd_assert_module(&S, c, "assert_uninstantiable");
        else if (strcmp(t, "assert_return") == 0 ||
                 strcmp(t, "assert_trap") == 0 ||
                 strcmp(t, "assert_exhaustion") == 0 ||
                 strcmp(t, "action") == 0)
            cmd_action(&S, c, t);
    }
    char* base = strdup(file);
    printf("%-28s %6d / %6d  (text-format, not run: %d)%s\n",
           basename(base),
           S.passed,
           S.issued,
           S.text,
           S.compile_failures ? "  modules not loaded: see -v" : "");
    fflush(stdout);
    free(base);
    free_instances();
    *tp += S.passed;
    *ti += S.issued;
    free(fdup);
    json_decref(root);
}

typedef struct run_args
{
    int argc;
    char** argv;
    int first;
} run_args;

static void*
run_all(void* p)
{
    run_args* a = p;
    int tp = 0, ti = 0;
    for (int i = a->first; i < a->argc; i++)
        run_file(a->argv[i], &tp, &ti);
    printf("%-32s %6d / %6d\n", "TOTAL", tp, ti);
    return (void*)(intptr_t)(tp == ti ? 0 : 1);
}

int
main(int argc, char** argv)
{
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (strcmp(argv[i], "-v") == 0)
            verbose++;
        else if (strcmp(argv[i], "-j") == 0 && i + 1 < argc)
            jobs = atoi(argv[++i]);
        else if (strcmp(argv[i], "-c") == 0 && i + 1 < argc)
            cache_dir = argv[++i];
        else {
            fprintf(stderr,
                    "usage: run_spec [-v] [-j N] [-c DIR] FILE.json...\n");
            return 2;
        }
    }
    wl_keep_failed = verbose >= 2;
    run_args a = { argc, argv, i };
    /* A big stack: WRT_MAX_DEPTH nested wasm frames. */
    pthread_attr_t at;
    pthread_attr_init(&at);
    pthread_attr_setstacksize(&at, 1024u << 20);
    pthread_t th;
    void* rv;
    if (pthread_create(&th, &at, run_all, &a) != 0)
        return 2;
    pthread_join(th, &rv);
    return (int)(intptr_t)rv;
}
