/* SPDX-License-Identifier: Apache-2.0 */
/* Codegen and object cache: compile, cache hits, rejected modules, races,
 * determinism (same wasm, same C, same cache key), split compilation, and
 * that no wabt tool is needed to upload a module. Objects are loaded
 * through the engine (their one entry point, granary_wasm_module). */
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "engine/codegen.h"
#include "engine/engine.h"
#include "engine/gobject.h"
#include "granary/status.h"
#include "util/alloc.h"
#include "util/fs.h"
#include "util/hash.h"

extern char** environ;

/* Host functions imported by cg_basic (bound by name, Z_<module>Z_<name>,
 * with the gr_instance as their context). */
uint32_t Z_envZ_host_add(void* ctx, uint32_t a, uint64_t b);
double Z_envZ_hf(void* ctx, float a, double b);
void Z_wasi_snapshot_preview1Z_proc_exit(void* ctx, uint32_t code);

uint32_t
Z_envZ_host_add(void* ctx, uint32_t a, uint64_t b)
{
    return a + (uint32_t)b + (ctx ? 1000u : 0u);
}

double
Z_envZ_hf(void* ctx, float a, double b)
{
    (void)ctx;
    return (double)a * b;
}

void
Z_wasi_snapshot_preview1Z_proc_exit(void* ctx, uint32_t code)
{
    (void)ctx;
    (void)code;
    abort();
}

/* ---- helpers ---- */

/* snprintf into a PATH_MAX buffer (paths here are short). */
static void
pathf(char* out, const char* fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(out, PATH_MAX, fmt, ap);
    va_end(ap);
    assert_true(n > 0 && n < PATH_MAX);
}

static char cache_root[PATH_MAX];

static void
fresh_cache(char* dir)
{
    static int n;
    pathf(dir, "%s/c%d", cache_root, n++);
    gr_fs_remove_tree(dir);
    assert_int_equal(gr_fs_mkdir_p(dir), 0);
}

static size_t
count_entries(const char* cache, const char* sub)
{
    char p[PATH_MAX];
    pathf(p, "%s/%s", cache, sub);
    DIR* d = opendir(p);
    size_t n = 0;
    if (!d)
        return 0;
    struct dirent* de;
    while ((de = readdir(d)) != NULL)
        if (de->d_name[0] != '.')
            n++;
    closedir(d);
    return n;
}

static uint8_t*
load_guest(const char* name, size_t* len)
{
    char p[PATH_MAX];
    pathf(p, "%s/%s.wasm", GRANARY_GUEST_DIR, name);
    uint8_t* w = NULL;
    assert_int_equal(gr_fs_read_file(p, 1 << 28, &w, len), 0);
    return w;
}

static int
compile(const char* cache,
        const uint8_t* w,
        size_t len,
        int jobs,
        int bounds,
        gr_import_check_fn chk,
        char* so,
        char* err)
{
    char hash[GR_SHA256_HEX_LEN + 1];
    assert_int_equal(gr_sha256_hex(w, len, hash), 0);
    struct gr__codegen_opts o = { .cache_dir = cache,
                                  .cc = NULL,
                                  .jobs = jobs,
                                  .explicit_bounds = bounds,
                                  .import_check = chk };
    return gr__codegen_ensure(&o, w, len, hash, so, err, 512);
}

static double
now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The directory of an object (so_path without "/module.so"). */
static void
object_dir(const char* so, char* dir)
{
    pathf(dir, "%.*s", (int)(strlen(so) - strlen("/module.so")), so);
}

struct loaded
{
    gr_engine* e;
    gr_object* o;
    gr_instance* in;
    const struct gr_shim* s;
    void* inst; /* the module struct, first argument of every export */
};

/* Loads wasm through an engine on cache (a cache hit when compile() built
 * it there with the same options) and instantiates it. */
static void
load(const char* cache,
     const uint8_t* w,
     size_t len,
     int bounds,
     struct loaded* l)
{
    gr_engine_config cfg = { .cache_dir = cache, .explicit_bounds = bounds };
    char err[512] = "";
    assert_int_equal(gr_engine_create(&cfg, &l->e), 0);
    if (gr_engine_load(l->e, w, len, &l->o, err, sizeof err))
        fail_msg("load: %s", err);
    gr_trap t;
    assert_int_equal(gr_instance_create(l->o, NULL, &l->in, &t), 0);
    l->s = gr_object_shim(l->o);
    l->inst = gr_instance_module(l->in);
}

static void
unload(struct loaded* l)
{
    gr_instance_destroy(l->in);
    gr_object_unref(l->o);
    gr_engine_destroy(l->e);
}

static wasm_rt_function_ptr_t
export_fn(const struct gr_shim* s, const char* name, const char* sig)
{
    for (size_t i = 0; i < s->n_exports; i++)
        if (strcmp(s->exports[i].name, name) == 0) {
            assert_string_equal(s->exports[i].sig, sig);
            return s->exports[i].fn;
        }
    fail_msg("no export %s", name);
    return NULL;
}

static int
file_says(const char* path, const char* want)
{
    uint8_t* m = NULL;
    size_t ml;
    if (gr_fs_read_file(path, 1 << 20, &m, &ml))
        return 0;
    int ok = memmem(m, ml, want, strlen(want)) != NULL;
    gr_free(m);
    return ok;
}

/* The number after "parts " in an object's meta file, or -1. */
static int
meta_parts(const char* path)
{
    uint8_t* m = NULL;
    size_t ml;
    int n = -1;
    if (gr_fs_read_file(path, 1 << 20, &m, &ml))
        return -1;
    const char* at = memmem(m, ml, "\nparts ", 7);
    if (at && (size_t)(at - (const char*)m) + 8 < ml)
        n = atoi(at + 7);
    gr_free(m);
    return n;
}

/* ---- tests ---- */

static void
test_compile_basic(void** state)
{
    (void)state;
    char cache[PATH_MAX], so[PATH_MAX], err[512], dir[PATH_MAX], p[PATH_MAX];
    fresh_cache(cache);
    size_t len;
    uint8_t* w = load_guest("cg_basic", &len);
    int rc = compile(cache, w, len, 2, 0, NULL, so, err);
    if (rc)
        fail_msg("compile: %d %s", rc, err);
    assert_int_equal(access(so, R_OK), 0);
    assert_int_equal(count_entries(cache, "objects"), 1);
    assert_int_equal(count_entries(cache, "tmp"), 0);
    object_dir(so, dir);
    pathf(p, "%s/module.wasm", dir);
    assert_int_equal(access(p, R_OK), 0);
    pathf(p, "%s/meta", dir);
    assert_true(file_says(p, "backend granary\n"));
    /* cg_basic declares a maximum of 16 pages: the bounds-checked
     * strategy (a small reservation) rather than guard pages. */
    assert_true(file_says(p, "memory bounds-checks\n"));

    /* One entry point: nothing else of the generated code is visible. */
    void* dl = dlopen(so, RTLD_NOW | RTLD_LOCAL);
    assert_non_null(dl);
    assert_non_null(dlsym(dl, "granary_wasm_module"));
    assert_null(dlsym(dl, "granary_shim"));
    assert_null(dlsym(dl, "wf3"));
    dlclose(dl);

    struct loaded l;
    load(cache, w, len, 0, &l);
    assert_int_equal(count_entries(cache, "objects"), 1); /* a cache hit */
    const struct gr_shim* s = l.s;
    assert_int_not_equal(s->memory_offset, GR_SHIM_NO_OFFSET);
    assert_int_not_equal(s->stack_pointer_offset, GR_SHIM_NO_OFFSET);
    assert_int_equal(s->n_imports, 3);
    int seen = 0;
    for (size_t i = 0; i < s->n_imports; i++) {
        const struct gr_shim_import* im = &s->imports[i];
        if (!strcmp(im->name, "host_add"))
            seen |= 1, assert_string_equal(im->sig, "iI>i");
        if (!strcmp(im->name, "hf"))
            seen |= 2, assert_string_equal(im->sig, "fF>F");
        if (!strcmp(im->name, "proc_exit"))
            seen |= 4,
              assert_string_equal(im->module, "wasi_snapshot_preview1"),
              assert_string_equal(im->sig, "i>");
    }
    assert_int_equal(seen, 7);

    wasm_rt_memory_t* mem = gr_instance_memory(l.in);
    assert_non_null(mem);
    assert_int_equal(mem->pages, 2);
    assert_memory_equal(mem->data + 16, "granary", 7);
    assert_int_equal(*gr_instance_stack_pointer(l.in), 65536);

    uint32_t (*add)(void*, uint32_t, uint32_t) =
      (uint32_t(*)(void*, uint32_t, uint32_t))export_fn(s, "add", "ii>i");
    assert_int_equal(add(l.inst, 2, 3), 5);
    uint32_t (*ct)(void*, uint32_t, uint32_t, uint32_t) = (uint32_t(*)(
      void*, uint32_t, uint32_t, uint32_t))export_fn(s, "call_table", "iii>i");
    assert_int_equal(ct(l.inst, 1, 2, 3), 10);
    /* The host function gets the gr_instance as its context. */
    uint32_t (*ch)(void*, uint32_t, uint64_t) =
      (uint32_t(*)(void*, uint32_t, uint64_t))export_fn(s, "call_host", "iI>i");
    assert_int_equal(ch(l.inst, 4, 5), 1009);
    double (*hf)(void*, float, double) =
      (double (*)(void*, float, double))export_fn(s, "call_hf", "fF>F");
    assert_true(hf(l.inst, 2.0f, 1.5) == 3.0);
    uint32_t (*peek)(void*, uint32_t) =
      (uint32_t(*)(void*, uint32_t))export_fn(s, "peek8", "i>i");
    assert_int_equal(peek(l.inst, 16), 'g');
    uint32_t (*grow)(void*, uint32_t) =
      (uint32_t(*)(void*, uint32_t))export_fn(s, "grow_and_touch", "i>i");
    assert_int_equal(grow(l.inst, 3), 1234 + 0x05060708);
    assert_int_equal(mem->pages, 5);
    export_fn(s, "i64mix", "If>I");
    export_fn(s, "nothing", ">");
    export_fn(s, "Weird-Name.x", ">f");
    export_fn(s, "sizes", ">i");
    for (size_t i = 0; i < s->n_exports; i++) /* functions only */
        assert_true(strcmp(s->exports[i].name, "memory") &&
                    strcmp(s->exports[i].name, "__stack_pointer"));
    unload(&l);
    gr_free(w);
}

static void
test_cache_hit(void** state)
{
    (void)state;
    char cache[PATH_MAX], so[PATH_MAX], so2[PATH_MAX], err[512];
    fresh_cache(cache);
    size_t len;
    uint8_t* w = load_guest("cg_basic", &len);
    assert_int_equal(compile(cache, w, len, 1, 0, NULL, so, err), 0);
    struct stat a, b;
    assert_int_equal(stat(so, &a), 0);
    double t = now_s();
    assert_int_equal(compile(cache, w, len, 1, 0, NULL, so2, err), 0);
    double dt = now_s() - t;
    assert_string_equal(so, so2);
    assert_int_equal(stat(so2, &b), 0);
    assert_int_equal(a.st_ino, b.st_ino);
    assert_true(dt < 0.05);
    /* cg_basic declares a small maximum, so it gets bounds checks either
     * way: asking for them reuses its object (the key names the strategy,
     * not how it was chosen; test_bounds covers a module whose strategy
     * changes with the request). */
    assert_int_equal(compile(cache, w, len, 1, 1, NULL, so2, err), 0);
    assert_string_equal(so, so2);
    assert_int_equal(count_entries(cache, "objects"), 1);
    char dir[PATH_MAX], p[PATH_MAX];
    object_dir(so2, dir);
    pathf(p, "%s/meta", dir);
    assert_true(file_says(p, "memory bounds-checks\n"));
    struct loaded l;
    load(cache, w, len, 1, &l);
    assert_int_equal(count_entries(cache, "objects"), 1);
    uint32_t (*ch)(void*, uint32_t, uint64_t) = (uint32_t(*)(
      void*, uint32_t, uint64_t))export_fn(l.s, "call_host", "iI>i");
    assert_int_equal(ch(l.inst, 4, 5), 1009);
    unload(&l);
    gr_free(w);
}

static void
expect_reject(const uint8_t* w, size_t len, int want, const char* needle)
{
    char cache[PATH_MAX], so[PATH_MAX], err[512];
    fresh_cache(cache);
    int rc = compile(cache, w, len, 2, 0, NULL, so, err);
    if (rc != want || !strstr(err, needle))
        fail_msg("got %d '%s', want %d with '%s'", rc, err, want, needle);
    assert_int_equal(count_entries(cache, "objects"), 0);
    assert_int_equal(count_entries(cache, "tmp"), 0);
}

static void
test_rejects(void** state)
{
    (void)state;
    uint8_t junk[300];
    srand(7);
    for (size_t i = 0; i < sizeof junk; i++)
        junk[i] = (uint8_t)rand();
    expect_reject(junk, sizeof junk, GR_EINVALID_MODULE, "magic");
    size_t len;
    uint8_t* w = load_guest("cg_basic", &len);
    /* Granary's own validator names the section and the offset. */
    expect_reject(w, len / 2, GR_EINVALID_MODULE, "offset 0x");
    expect_reject(w, 0, GR_EINVALID_MODULE, "unexpected end");
    gr_free(w);
    w = load_guest("cg_import_mem", &len);
    expect_reject(w, len, GR_EIMPORT, "import js.memory: a memory can only");
    gr_free(w);
}

/* Uploading needs the C compiler only: with a PATH that holds cc and the
 * binutils it runs but no wabt tool (wasm-validate, wasm2c), a module
 * compiles, and SIMD (which wasm2c 1.0.32 could not translate) too. */
static void
test_no_wabt_needed(void** state)
{
    (void)state;
    char cache[PATH_MAX], so[PATH_MAX], err[512], bin[PATH_MAX];
    char cmd[4 * PATH_MAX];
    pathf(bin, "%s/bin", cache_root);
    assert_int_equal(gr_fs_mkdir_p(bin), 0);
    snprintf(cmd,
             sizeof cmd,
             "for t in cc as ld; do ln -sf \"$(command -v $t)\" %s/$t || "
             "exit 1; done",
             bin);
    assert_int_equal(system(cmd), 0);
    const char* old = getenv("PATH");
    char* saved = gr_strdup(old ? old : "");
    assert_non_null(saved);
    setenv("PATH", bin, 1);
    size_t len;
    uint8_t* w = load_guest("cg_simd", &len);
    fresh_cache(cache);
    int rc = compile(cache, w, len, 2, 0, NULL, so, err);
    setenv("PATH", saved, 1);
    gr_free(saved);
    if (rc)
        fail_msg("compile without wabt on PATH: %d %s", rc, err);
    assert_int_equal(access(so, R_OK), 0);
    gr_free(w);
}

static int
no_hf(const char* module, const char* name, const char* sig)
{
    (void)sig;
    return !(strcmp(module, "env") == 0 && strcmp(name, "hf") == 0);
}

static void
test_missing_import(void** state)
{
    (void)state;
    char cache[PATH_MAX], so[PATH_MAX], err[512];
    fresh_cache(cache);
    size_t len;
    uint8_t* w = load_guest("cg_basic", &len);
    assert_int_equal(compile(cache, w, len, 2, 0, no_hf, so, err), GR_EIMPORT);
    assert_non_null(strstr(err, "env.hf"));
    assert_non_null(strstr(err, "unknown import: env.hf (f32, f64) -> f64"));
    assert_int_equal(count_entries(cache, "objects"), 0);
    assert_int_equal(count_entries(cache, "tmp"), 0);
    gr_free(w);
}

struct race
{
    const char* cache;
    const uint8_t* w;
    size_t len;
    int rc;
    char so[PATH_MAX];
};

static void*
race_thread(void* arg)
{
    struct race* r = arg;
    char err[512];
    r->rc = compile(r->cache, r->w, r->len, 1, 0, NULL, r->so, err);
    return NULL;
}

static void
test_concurrent(void** state)
{
    (void)state;
    char cache[PATH_MAX], so[PATH_MAX], err[512];
    size_t len;
    uint8_t* w = load_guest("cg_basic", &len);
    /* Two processes. */
    fresh_cache(cache);
    pid_t kids[2];
    for (int i = 0; i < 2; i++) {
        kids[i] = fork();
        assert_true(kids[i] >= 0);
        if (kids[i] == 0)
            _exit(compile(cache, w, len, 1, 0, NULL, so, err) == 0 &&
                      access(so, R_OK) == 0
                    ? 0
                    : 1);
    }
    for (int i = 0; i < 2; i++) {
        int st;
        assert_int_equal(waitpid(kids[i], &st, 0), kids[i]);
        assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    }
    assert_int_equal(count_entries(cache, "objects"), 1);
    assert_int_equal(count_entries(cache, "tmp"), 0);
    /* Two threads. */
    fresh_cache(cache);
    struct race r[2];
    pthread_t t[2];
    for (int i = 0; i < 2; i++) {
        r[i] = (struct race){ .cache = cache, .w = w, .len = len };
        assert_int_equal(pthread_create(&t[i], NULL, race_thread, &r[i]), 0);
    }
    for (int i = 0; i < 2; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(r[i].rc, 0);
        assert_int_equal(access(r[i].so, R_OK), 0);
    }
    assert_string_equal(r[0].so, r[1].so);
    assert_int_equal(count_entries(cache, "objects"), 1);
    assert_int_equal(count_entries(cache, "tmp"), 0);
    gr_free(w);
}

static void
test_stale_tmp(void** state)
{
    (void)state;
    char cache[PATH_MAX], p[PATH_MAX];
    fresh_cache(cache);
    /* pid 2^22+1 is above pid_max's default and never alive. */
    pathf(p, "%s/tmp/4194305-deadbeef/out", cache);
    assert_int_equal(gr_fs_mkdir_p(p), 0);
    pathf(p, "%s/tmp/4194305-deadbeef", cache);
    struct timespec old[2] = { { time(NULL) - 7200, 0 },
                               { time(NULL) - 7200, 0 } };
    assert_int_equal(utimensat(AT_FDCWD, p, old, 0), 0);
    pathf(p, "%s/tmp/%ld-fresh", cache, (long)getpid());
    assert_int_equal(gr_fs_mkdir_p(p), 0);
    gr__cache_clean_stale(cache, 3600);
    assert_int_equal(count_entries(cache, "tmp"), 1);
}

/* Same wasm, same C, same cache key: two translations of one module are
 * byte-identical file by file, and two engines in fresh caches publish it
 * under the same object name. */
static void
test_deterministic(void** state)
{
    (void)state;
    size_t len;
    uint8_t* w = load_guest("cg_matmul", &len);
    char dirs[2][PATH_MAX];
    struct gr__gcodegen_out out[2];
    for (int k = 0; k < 2; k++) {
        struct gr__codegen_info info;
        char err[512];
        memset(&info, 0, sizeof info);
        pathf(dirs[k], "%s/det%d", cache_root, k);
        gr_fs_remove_tree(dirs[k]);
        assert_int_equal(gr_fs_mkdir_p(dirs[k]), 0);
        if (gr__gcodegen_translate(
              w, len, dirs[k], 0, 2, &info, &out[k], err, sizeof err))
            fail_msg("translate: %s", err);
        gr__codegen_info_fini(&info);
    }
    assert_int_equal(out[0].n_names, out[1].n_names);
    const char* extra[] = { "wmod.h", "wdata.bin" };
    for (size_t i = 0; i < out[0].n_names + 2; i++) {
        const char* name =
          i < out[0].n_names ? out[0].names[i] : extra[i - out[0].n_names];
        uint8_t *a = NULL, *b = NULL;
        size_t la = 0, lb = 0;
        char pa[PATH_MAX], pb[PATH_MAX];
        pathf(pa, "%s/%s", dirs[0], name);
        pathf(pb, "%s/%s", dirs[1], name);
        int ra = gr_fs_read_file(pa, 1 << 28, &a, &la);
        int rb = gr_fs_read_file(pb, 1 << 28, &b, &lb);
        assert_int_equal(ra, rb);
        if (ra == 0) {
            assert_int_equal(la, lb);
            assert_memory_equal(a, b, la);
        }
        gr_free(a);
        gr_free(b);
    }
    gr__gcodegen_out_fini(&out[0]);
    gr__gcodegen_out_fini(&out[1]);
    char c1[PATH_MAX], c2[PATH_MAX], so1[PATH_MAX], so2[PATH_MAX], err[512];
    fresh_cache(c1);
    fresh_cache(c2);
    assert_int_equal(compile(c1, w, len, 2, 0, NULL, so1, err), 0);
    assert_int_equal(compile(c2, w, len, 2, 0, NULL, so2, err), 0);
    assert_string_equal(so1 + strlen(c1), so2 + strlen(c2));
    gr_free(w);
}

/* Builds a wat module with n functions calling each other and using
 * memory, then wat2wasm's it into a buffer. */
static uint8_t*
make_big_module(int n, size_t* len)
{
    char wat[PATH_MAX], wasm[PATH_MAX];
    pathf(wat, "%s/big.wat", cache_root);
    pathf(wasm, "%s/big.wasm", cache_root);
    FILE* f = fopen(wat, "w");
    assert_non_null(f);
    fprintf(f,
            "(module (memory (export \"memory\") 1)\n"
            " (type $t (func (param i32) (result i32)))\n"
            " (table %d funcref)\n",
            n);
    for (int k = 0; k < n; k++) {
        fprintf(f,
                " (func $f%d (export \"f%d\") (param i32) (result i32)"
                " (local i32)\n"
                "  (local.set 1 (i32.add (i32.mul (local.get 0) (i32.const %d))"
                " (i32.load offset=%d (i32.const 0))))\n"
                "  (i32.store offset=%d (i32.const 0) (local.get 1))\n",
                k,
                k,
                2 * k + 1,
                (k * 4) % 4096,
                ((k * 7) % 1024) * 4);
        if (k > 0 && k % 8)
            fprintf(f,
                    "  (local.set 1 (i32.xor (local.get 1)"
                    " (call $f%d (i32.shr_u (local.get 1) (i32.const 3)))))\n",
                    k - 1);
        if (k > 0 && k % 8 == 0)
            fprintf(f,
                    "  (local.set 1 (i32.add (local.get 1) (call_indirect"
                    " (type $t) (local.get 1) (i32.const %d))))\n",
                    k - 3);
        fprintf(f, "  (local.get 1))\n");
    }
    fprintf(f, " (elem (i32.const 0)");
    for (int k = 0; k < n; k++)
        fprintf(f, " $f%d", k);
    fprintf(f, "))\n");
    fclose(f);
    pid_t pid;
    char* argv[] = { "wat2wasm", wat, "-o", wasm, NULL };
    assert_int_equal(posix_spawnp(&pid, "wat2wasm", NULL, NULL, argv, environ),
                     0);
    int st;
    waitpid(pid, &st, 0);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    uint8_t* w = NULL;
    assert_int_equal(gr_fs_read_file(wasm, 1 << 28, &w, len), 0);
    return w;
}

/* Functions nothing outside their part uses are static in that part (the
 * C compiler then drops the ones nothing calls: a module of mostly dead
 * functions compiled ~7x slower before); exported, table and start
 * functions and those called from another part stay visible to winit.c
 * and the other parts. */
static void
test_static_linkage(void** state)
{
    (void)state;
    char wat[PATH_MAX], wasm[PATH_MAX], dir[PATH_MAX], p[PATH_MAX];
    pathf(wat, "%s/link.wat", cache_root);
    pathf(wasm, "%s/link.wasm", cache_root);
    FILE* f = fopen(wat, "w");
    assert_non_null(f);
    fputs("(module (table 1 funcref) (elem (i32.const 0) $t)\n"
          " (func $dead (result i32) (i32.const 1))\n"
          " (func $helper (result i32) (i32.const 2))\n"
          " (func $t (result i32) (i32.const 3))\n"
          " (func (export \"f\") (result i32) (call $helper)))\n",
          f);
    fclose(f);
    pid_t pid;
    char* argv[] = { "wat2wasm", wat, "-o", wasm, NULL };
    assert_int_equal(posix_spawnp(&pid, "wat2wasm", NULL, NULL, argv, environ),
                     0);
    int st;
    waitpid(pid, &st, 0);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    uint8_t* w = NULL;
    size_t len;
    assert_int_equal(gr_fs_read_file(wasm, 1 << 20, &w, &len), 0);
    pathf(dir, "%s/link", cache_root);
    gr_fs_remove_tree(dir);
    assert_int_equal(gr_fs_mkdir_p(dir), 0);
    struct gr__codegen_info info;
    struct gr__gcodegen_out out;
    char err[512];
    memset(&info, 0, sizeof info);
    if (gr__gcodegen_translate(w, len, dir, 0, 1, &info, &out, err, sizeof err))
        fail_msg("translate: %s", err);
    gr__codegen_info_fini(&info);
    gr__gcodegen_out_fini(&out);
    pathf(p, "%s/wpart_0.c", dir);
    assert_true(file_says(p, "static uint32_t wf0(void*);"));
    assert_true(file_says(p, "static uint32_t wf1(void*);"));
    assert_false(file_says(p, "static uint32_t wf2("));
    assert_false(file_says(p, "static uint32_t wf3("));
    pathf(p, "%s/wmod.h", dir);
    assert_false(file_says(p, "wf0("));
    assert_true(file_says(p, "uint32_t wf2(void*);"));
    assert_true(file_says(p, "uint32_t wf3(void*);"));
    /* and it runs: f calls the static helper */
    char cache[PATH_MAX];
    fresh_cache(cache);
    struct loaded l;
    load(cache, w, len, 0, &l);
    uint32_t (*fn)(void*) = (uint32_t(*)(void*))export_fn(l.s, "f", ">i");
    assert_int_equal(fn(l.inst), 2);
    unload(&l);
    gr_free(w);
}

static void
test_split_compile(void** state)
{
    (void)state;
    char cache[PATH_MAX], so_split[PATH_MAX], so_one[PATH_MAX], err[512];
    fresh_cache(cache);
    size_t len;
    uint8_t* w = make_big_module(600, &len);
    setenv("GRANARY_CODEGEN_SPLIT_MIN", "1", 1);
    int rc = compile(cache, w, len, 3, 0, NULL, so_split, err);
    unsetenv("GRANARY_CODEGEN_SPLIT_MIN");
    if (rc)
        fail_msg("split compile: %d %s", rc, err);
    char meta[PATH_MAX], dir[PATH_MAX];
    object_dir(so_split, dir);
    pathf(meta, "%s/meta", dir);
    /* Parts that shrink towards the end (each 1/(2 jobs) of the cost left,
     * down to the minimum of 1): more of them than jobs, plus winit.c. */
    int parts = meta_parts(meta);
    assert_true(parts > 4);
    assert_true(parts < 64);

    char cache2[PATH_MAX];
    fresh_cache(cache2);
    setenv("GRANARY_CODEGEN_SPLIT_MIN", "1000000000", 1);
    rc = compile(cache2, w, len, 1, 0, NULL, so_one, err);
    unsetenv("GRANARY_CODEGEN_SPLIT_MIN");
    assert_int_equal(rc, 0);
    object_dir(so_one, dir);
    pathf(meta, "%s/meta", dir);
    assert_true(file_says(meta, "parts 2\n"));

    struct loaded a, b;
    load(cache, w, len, 0, &a);
    load(cache2, w, len, 0, &b);
    assert_int_equal(a.s->n_exports, b.s->n_exports);
    assert_int_equal(a.s->n_exports, 600);
    assert_int_equal(a.s->instance_size, b.s->instance_size);
    for (size_t i = 0; i < a.s->n_exports; i++) {
        assert_string_equal(a.s->exports[i].name, b.s->exports[i].name);
        assert_string_equal(a.s->exports[i].sig, b.s->exports[i].sig);
        uint32_t (*fa)(void*, uint32_t) =
          (uint32_t(*)(void*, uint32_t))a.s->exports[i].fn;
        uint32_t (*fb)(void*, uint32_t) =
          (uint32_t(*)(void*, uint32_t))b.s->exports[i].fn;
        assert_int_equal(fa(a.inst, (uint32_t)i * 977u),
                         fb(b.inst, (uint32_t)i * 977u));
    }
    unload(&a);
    unload(&b);
    gr_free(w);
}

static int
setup(void** state)
{
    (void)state;
    pathf(
      cache_root, "%s/test_codegen.%ld", GRANARY_BINARY_DIR, (long)getpid());
    gr_fs_remove_tree(cache_root);
    return gr_fs_mkdir_p(cache_root);
}

static int
teardown(void** state)
{
    (void)state;
    if (!getenv("GR_TEST_KEEP"))
        gr_fs_remove_tree(cache_root);
    return 0;
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_compile_basic),
        cmocka_unit_test(test_cache_hit),
        cmocka_unit_test(test_rejects),
        cmocka_unit_test(test_missing_import),
        cmocka_unit_test(test_concurrent),
        cmocka_unit_test(test_stale_tmp),
        cmocka_unit_test(test_no_wabt_needed),
        cmocka_unit_test(test_deterministic),
        cmocka_unit_test(test_static_linkage),
        cmocka_unit_test(test_split_compile),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
