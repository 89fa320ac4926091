/* SPDX-License-Identifier: Apache-2.0 */
/* Differential fuzzing of Granary's own compiler, our half: runs a module
 * made by `wasm-opt -ttf` through src/wasm + cc, calls every exported
 * function with fixed arguments (hangLimitInitializer before each, as
 * binaryen's own harness does, and hashMemory after each), records results,
 * traps and the values the module logs through its "fuzzing-support" imports,
 * and writes them as a wast2json script that wabt's reference interpreter
 * (spectest-interp) checks: any failed assertion there is a mismatch
 * (fuzz_diff.sh). wasm_diff bytes SEED LEN        random input bytes for
 * wasm-opt -ttf wasm_diff run MODULE.wasm DIR   writes DIR/script.json, which
 * names DIR/log.wasm (fuzz_log.wat) and DIR/ref.wasm (the module as the
 *                                   reference interpreter gets it)
 * Exit: 0 written, 1 our side failed (refused a valid module, generator or
 * cc failure: a mismatch by itself), 3 module not comparable (imports or
 * value types this harness does not provide). */
#include "../spec/wasm_load.h"

#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Logged values kept per run; the logger module of the reference side
 * keeps as many (log.wat). */
#define MAX_LOG 4096

typedef struct log_entry
{
    char tag; /* i l f d v */
    wrt_val v;
} log_entry;

static log_entry logs[MAX_LOG];
static uint32_t nlogs;

static void
add_log(char tag, const void* p, size_t n)
{
    if (nlogs < MAX_LOG) {
        logs[nlogs].tag = tag;
        memset(&logs[nlogs].v, 0, sizeof logs[nlogs].v);
        memcpy(&logs[nlogs].v, p, n);
    }
    nlogs++;
}

static void
log_i32(void* inst, uint32_t x)
{
    (void)inst;
    add_log('i', &x, 4);
}
static void
log_i64(void* inst, uint64_t x)
{
    (void)inst;
    add_log('l', &x, 8);
}
static void
log_f32(void* inst, float x)
{
    (void)inst;
    add_log('f', &x, 4);
}
static void
log_f64(void* inst, double x)
{
    (void)inst;
    add_log('d', &x, 8);
}
static void
log_v128(void* inst, wrt_v128 x)
{
    (void)inst;
    add_log('v', &x, 16);
}

/* Only for hosts calling an import directly (nothing here does). */
static void
log_thunk(const wrt_func* f, wrt_val* v)
{
    switch (f->sig[0]) {
        case 'i':
            log_i32(NULL, v[0].i32);
            break;
        case 'l':
            log_i64(NULL, v[0].i64);
            break;
        case 'f':
            log_f32(NULL, v[0].f32);
            break;
        case 'd':
            log_f64(NULL, v[0].f64);
            break;
        default:
            log_v128(NULL, wrt_getv(&v[0]));
            break;
    }
}

static wrt_func log_funcs[] = {
    { "i:", (void*)log_i32, NULL, log_thunk },
    { "l:", (void*)log_i64, NULL, log_thunk },
    { "f:", (void*)log_f32, NULL, log_thunk },
    { "d:", (void*)log_f64, NULL, log_thunk },
    { "v:", (void*)log_v128, NULL, log_thunk },
};
static const char* const log_names[] = { "log-i32",
                                         "log-i64",
                                         "log-f32",
                                         "log-f64",
                                         "log-v128" };

/* ---- JSON values ---- */

static json_t*
str_u64(uint64_t x)
{
    char b[32];
    snprintf(b, sizeof b, "%" PRIu64, x);
    return json_string(b);
}

static const char*
type_name(char t)
{
    switch (t) {
        case 'i':
            return "i32";
        case 'l':
            return "i64";
        case 'f':
            return "f32";
        case 'd':
            return "f64";
        default:
            return "v128";
    }
}

/* A quiet NaN of ours: the spec allows any arithmetic NaN there (we cannot
 * tell an operation's result from a copied constant), so the expectation
 * is "nan:arithmetic"; signalling NaNs only come from copies and are
 * compared bit for bit. */
static bool
qnan32(uint32_t b)
{
    return (b & 0x7fc00000u) == 0x7fc00000u;
}
static bool
qnan64(uint64_t b)
{
    return (b & 0x7ff8000000000000ull) == 0x7ff8000000000000ull;
}

static json_t*
value_json(char t, const wrt_val* v)
{
    json_t* o = json_object();
    json_object_set_new(o, "type", json_string(type_name(t)));
    if (t == 'i') {
        json_object_set_new(o, "value", str_u64(v->i32));
    } else if (t == 'l') {
        json_object_set_new(o, "value", str_u64(v->i64));
    } else if (t == 'f') {
        json_object_set_new(o,
                            "value",
                            qnan32(v->i32) ? json_string("nan:arithmetic")
                                           : str_u64(v->i32));
    } else if (t == 'd') {
        json_object_set_new(o,
                            "value",
                            qnan64(v->i64) ? json_string("nan:arithmetic")
                                           : str_u64(v->i64));
    } else {
        uint64_t d[2];
        uint32_t w[4];
        memcpy(d, v->v128, 16);
        memcpy(w, v->v128, 16);
        bool f64 = qnan64(d[0]) || qnan64(d[1]);
        bool f32 = !f64 && (qnan32(w[0]) || qnan32(w[1]) || qnan32(w[2]) ||
                            qnan32(w[3]));
        json_t* a = json_array();
        if (f64) {
            for (int i = 0; i < 2; i++)
                json_array_append_new(
                  a,
                  qnan64(d[i]) ? json_string("nan:arithmetic") : str_u64(d[i]));
        } else {
            for (int i = 0; i < 4; i++)
                json_array_append_new(a,
                                      f32 && qnan32(w[i])
                                        ? json_string("nan:arithmetic")
                                        : str_u64(w[i]));
        }
        json_object_set_new(o,
                            "lane_type",
                            json_string(f64   ? "f64"
                                        : f32 ? "f32"
                                              : "i32"));
        json_object_set_new(o, "value", a);
    }
    return o;
}

/* The fixed argument of parameter p of type t. */
static void
fixed_arg(char t, uint32_t p, wrt_val* v)
{
    static const uint64_t ints[] = {
        0, 1, 0xffffffffffffffffull, 0x80000000ull, 7, 0x7fffffffull, 65535
    };
    static const double flts[] = { 0.0, 1.0, -1.5, 1e10, -0.0, 3.25, 65536.0 };
    uint64_t x = ints[p % 7];
    double d = flts[p % 7];
    memset(v, 0, sizeof *v);
    switch (t) {
        case 'i':
            v->i32 = (uint32_t)x;
            break;
        case 'l':
            v->i64 = x;
            break;
        case 'f':
            v->f32 = (float)d;
            break;
        case 'd':
            v->f64 = d;
            break;
        default:
            for (int i = 0; i < 16; i++)
                v->v128[i] = (uint8_t)(x * 37 + p + (uint64_t)i * 11);
            break;
    }
}

/* ---- the run ---- */

typedef struct run
{
    json_t* cmds;
    int line;
    wl_module mod;
    void* inst;
    int unsupported;
} run;

static json_t*
cmd_new(run* r, const char* type)
{
    json_t* c = json_object();
    json_object_set_new(c, "type", json_string(type));
    json_object_set_new(c, "line", json_integer(++r->line));
    json_array_append_new(r->cmds, c);
    return c;
}

static json_t*
invoke_json(const char* module, const char* field, json_t* args)
{
    json_t* a = json_object();
    json_object_set_new(a, "type", json_string("invoke"));
    if (module)
        json_object_set_new(a, "module", json_string(module));
    json_object_set_new(a, "field", json_string(field));
    json_object_set_new(a, "args", args ? args : json_array());
    return a;
}

static void
assert_return(run* r,
              const char* module,
              const char* field,
              json_t* args,
              json_t* expected)
{
    json_t* c = cmd_new(r, "assert_return");
    json_object_set_new(c, "action", invoke_json(module, field, args));
    json_object_set_new(c, "expected", expected);
}

/* Asserts the logs recorded since `from` against the logger module. */
static void
check_logs(run* r, uint32_t from)
{
    json_t* e = json_array();
    json_array_append_new(e, value_json('i', &(wrt_val){ .i32 = nlogs }));
    assert_return(r, "$log", "count", NULL, e);
    for (uint32_t i = from; i < nlogs && i < MAX_LOG; i++) {
        char field[16];
        snprintf(field, sizeof field, "get-%s", type_name(logs[i].tag));
        json_t* args = json_array();
        json_array_append_new(args, value_json('i', &(wrt_val){ .i32 = i }));
        json_t* ex = json_array();
        json_array_append_new(ex, value_json(logs[i].tag, &logs[i].v));
        assert_return(r, "$log", field, args, ex);
    }
}

static const wrt_func*
export_func(run* r, uint32_t i)
{
    const wrt_module_desc* d = r->mod.desc;
    if (d->exports[i].kind != 0)
        return NULL;
    return d->export_ptr(r->inst, i);
}

static bool
supported_sig(const char* sig)
{
    for (const char* s = sig; *s; s++)
        if (strchr("ildfv:", *s) == NULL)
            return false;
    return true;
}

/* Calls export i with fixed arguments and scripts the same call. */
static void
call_export(run* r, uint32_t i, const wrt_func* f)
{
    const wrt_export_desc* x = &r->mod.desc->exports[i];
    const char* sig = f->sig;
    const char* colon = strchr(sig, ':');
    wrt_val vals[64];
    json_t* args = json_array();
    uint32_t np = (uint32_t)(colon - sig);
    for (uint32_t p = 0; p < np && p < 64; p++) {
        fixed_arg(sig[p], p, &vals[p]);
        json_array_append_new(args, value_json(sig[p], &vals[p]));
    }
    char field[256];
    snprintf(field, sizeof field, "%.*s", (int)x->name_len, x->name);
    uint32_t from = nlogs;
    int trap = wrt_invoke(f, vals);
    if (trap == WRT_TRAP_EXHAUSTION) {
        json_t* c = cmd_new(r, "assert_exhaustion");
        json_object_set_new(c, "action", invoke_json(NULL, field, args));
        json_object_set_new(c, "text", json_string(wrt_trap_name(trap)));
        json_object_set_new(c, "expected", json_array());
    } else if (trap != 0) {
        json_t* c = cmd_new(r, "assert_trap");
        json_object_set_new(c, "action", invoke_json(NULL, field, args));
        json_object_set_new(c, "text", json_string(wrt_trap_name(trap)));
        json_object_set_new(c, "expected", json_array());
    } else {
        json_t* ex = json_array();
        for (const char* s = colon + 1; *s; s++)
            json_array_append_new(ex, value_json(*s, &vals[s - colon - 1]));
        assert_return(r, NULL, field, args, ex);
    }
    fprintf(stderr,
            "%s: %s, %u logs\n",
            field,
            trap ? wrt_trap_name(trap) : "returned",
            nlogs - from);
    check_logs(r, from);
}

static int
run_module(run* r, const char* wasm, const char* dir)
{
    char err[1024];
    const char* cache = getenv("GRANARY_DIFF_CACHE");
    int rc = wl_load(wasm,
                     cache ? cache : "/tmp/granary-diff-cache",
                     getenv("GRANARY_DIFF_CFLAGS"),
                     &r->mod,
                     err,
                     sizeof err);
    if (rc != 0) {
        printf("ours: %s: %s\n", rc == 1 ? "refused" : "build failed", err);
        return 1;
    }
    const wrt_module_desc* d = r->mod.desc;
    void** imp = calloc(d->nimports + 1, sizeof(void*));
    for (uint32_t i = 0; i < d->nimports; i++) {
        const wrt_import_desc* im = &d->imports[i];
        for (size_t k = 0; k < 5; k++)
            if (im->kind == 0 && strcmp(im->module, "fuzzing-support") == 0 &&
                strcmp(im->field, log_names[k]) == 0 &&
                strcmp(im->sig, log_funcs[k].sig) == 0)
                imp[i] = &log_funcs[k];
        if (imp[i] == NULL) {
            printf("not comparable: import %s.%s\n", im->module, im->field);
            free(imp);
            return 3;
        }
    }
    r->inst = aligned_alloc(64, (d->inst_size + 63) & ~(size_t)63);
    memset(r->inst, 0, d->inst_size);
    if (d->init(r->inst, imp) != 0) {
        printf("ours: init failed\n");
        free(imp);
        return 1;
    }
    free(imp);

    r->cmds = json_array();
    json_t* c = cmd_new(r, "module");
    json_object_set_new(c, "name", json_string("$log"));
    json_object_set_new(c, "filename", json_string("log.wasm"));
    c = cmd_new(r, "register");
    json_object_set_new(c, "name", json_string("$log"));
    json_object_set_new(c, "as", json_string("fuzzing-support"));
    int trap = wrt_invoke_raw(d->start, r->inst);
    if (trap != 0) {
        c = cmd_new(r, "assert_uninstantiable");
        json_object_set_new(c, "filename", json_string("ref.wasm"));
        json_object_set_new(c, "text", json_string(wrt_trap_name(trap)));
        json_object_set_new(c, "module_type", json_string("binary"));
        check_logs(r, 0);
    } else {
        c = cmd_new(r, "module");
        json_object_set_new(c, "filename", json_string("ref.wasm"));
        check_logs(r, 0);
        int hang = -1, hash = -1;
        for (uint32_t i = 0; i < d->nexports; i++) {
            const wrt_export_desc* x = &d->exports[i];
            if (x->kind == 0 && x->name_len == 20 &&
                memcmp(x->name, "hangLimitInitializer", 20) == 0)
                hang = (int)i;
            if (x->kind == 0 && x->name_len == 10 &&
                memcmp(x->name, "hashMemory", 10) == 0)
                hash = (int)i;
        }
        for (uint32_t i = 0; i < d->nexports; i++) {
            const wrt_func* f = export_func(r, i);
            if (f == NULL || (int)i == hang)
                continue;
            if (!supported_sig(f->sig)) {
                r->unsupported++;
                continue;
            }
            if (hang >= 0)
                call_export(r, (uint32_t)hang, export_func(r, (uint32_t)hang));
            call_export(r, i, f);
            /* The memory after every call: a difference is seen where it
             * is made. */
            if (hash >= 0 && (int)i != hash)
                call_export(r, (uint32_t)hash, export_func(r, (uint32_t)hash));
        }
    }
    json_t* root = json_object();
    json_object_set_new(root, "source_filename", json_string(wasm));
    json_object_set_new(root, "commands", r->cmds);
    char out[4096];
    snprintf(out, sizeof out, "%s/script.json", dir);
    rc = json_dump_file(root, out, JSON_INDENT(1)) == 0 ? 0 : 1;
    json_decref(root);
    d->fini(r->inst);
    free(r->inst);
    printf("ours: %d commands, %u logs%s\n",
           r->line,
           nlogs,
           r->unsupported ? " (some exports skipped)" : "");
    return rc;
}

typedef struct job
{
    const char* wasm;
    const char* dir;
    int rc;
} job;

static void*
job_main(void* p)
{
    job* j = p;
    run r = { 0 };
    j->rc = run_module(&r, j->wasm, j->dir);
    return NULL;
}

/* splitmix64: the same bytes for the same seed on every machine. */
static int
write_bytes(uint64_t seed, size_t len)
{
    uint64_t s = seed * 0x9e3779b97f4a7c15ull + 1;
    for (size_t i = 0; i < len; i++) {
        uint64_t z = (s += 0x9e3779b97f4a7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        z ^= z >> 31;
        putchar((int)(z & 0xff));
    }
    return fflush(stdout) == 0 ? 0 : 1;
}

int
main(int argc, char** argv)
{
    if (argc == 4 && strcmp(argv[1], "bytes") == 0)
        return write_bytes(strtoull(argv[2], NULL, 10),
                           strtoull(argv[3], NULL, 10));
    if (argc != 4 || strcmp(argv[1], "run") != 0) {
        fprintf(stderr,
                "usage: wasm_diff bytes SEED LEN | wasm_diff run M.wasm DIR\n");
        return 2;
    }
    job j = { argv[2], argv[3], 2 };
    /* A big stack: WRT_MAX_DEPTH nested wasm frames. */
    pthread_attr_t at;
    pthread_attr_init(&at);
    pthread_attr_setstacksize(&at, 1024u << 20);
    pthread_t th;
    if (pthread_create(&th, &at, job_main, &j) != 0)
        return 2;
    pthread_join(th, NULL);
    return j.rc;
}
