/* SPDX-License-Identifier: Apache-2.0 */
/* Codegen and object cache: compile, cache hits, rejected modules, races,
 * the memory-base post-pass and split compilation. A minimal wasm_rt_*
 * implementation below lets the test load and run the objects it builds
 * without linking the engine's runtime. */
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
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "engine/codegen.h"
#include "granary/status.h"
#include "util/alloc.h"
#include "util/fs.h"
#include "util/hash.h"

extern char** environ;

/* ---- a minimal runtime, resolved by the objects through -rdynamic ---- */

_Thread_local uint32_t wasm_rt_call_stack_depth;
static jmp_buf* trap_jb;

bool
wasm_rt_is_initialized(void)
{
    return true;
}

void
wasm_rt_trap(wasm_rt_trap_t t)
{
    if (trap_jb)
        longjmp(*trap_jb, (int)t + 1);
    fprintf(stderr, "unexpected trap %d\n", (int)t);
    abort();
}

static pthread_mutex_t types_mu = PTHREAD_MUTEX_INITIALIZER;
static uint32_t types[256][10];
static uint32_t n_types;

uint32_t
wasm_rt_register_func_type(uint32_t params, uint32_t results, ...)
{
    uint32_t key[10] = { params, results };
    va_list ap;
    va_start(ap, results);
    for (uint32_t i = 0; i < params + results && i < 8; i++)
        key[2 + i] = (uint32_t)va_arg(ap, int);
    va_end(ap);
    pthread_mutex_lock(&types_mu);
    uint32_t id = 0;
    for (; id < n_types; id++)
        if (memcmp(types[id], key, sizeof key) == 0)
            break;
    if (id == n_types && n_types < 256)
        memcpy(types[n_types++], key, sizeof key);
    pthread_mutex_unlock(&types_mu);
    return id + 1;
}

void
wasm_rt_allocate_memory(wasm_rt_memory_t* m, uint32_t pages, uint32_t max)
{
    m->data = mmap(NULL,
                   8ull << 30,
                   PROT_NONE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                   -1,
                   0);
    assert_true(m->data != MAP_FAILED);
    if (pages)
        assert_int_equal(
          mprotect(m->data, (size_t)pages << 16, PROT_READ | PROT_WRITE), 0);
    m->pages = pages;
    m->max_pages = max;
    m->size = (uint64_t)pages << 16;
}

uint32_t
wasm_rt_grow_memory(wasm_rt_memory_t* m, uint32_t delta)
{
    uint32_t old = m->pages;
    if ((uint64_t)old + delta > m->max_pages)
        return UINT32_MAX;
    if (delta)
        mprotect(m->data + ((size_t)old << 16),
                 (size_t)delta << 16,
                 PROT_READ | PROT_WRITE);
    m->pages += delta;
    m->size = (uint64_t)m->pages << 16;
    return old;
}

void
wasm_rt_free_memory(wasm_rt_memory_t* m)
{
    munmap(m->data, 8ull << 30);
}

void
wasm_rt_allocate_funcref_table(wasm_rt_funcref_table_t* t,
                               uint32_t n,
                               uint32_t max)
{
    t->data = calloc(n ? n : 1, sizeof *t->data);
    t->size = n;
    t->max_size = max;
}

void
wasm_rt_free_funcref_table(wasm_rt_funcref_table_t* t)
{
    free(t->data);
}

/* Host functions imported by cg_basic. */
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

/* Thread CPU time: this machine's other tenants make wall time noisy. */
static double
cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct loaded
{
    void* dl;
    const struct gr_shim* s;
    void* inst;
};

static void
load(const char* so, struct loaded* l, void* host)
{
    l->dl = dlopen(so, RTLD_NOW | RTLD_LOCAL);
    if (!l->dl)
        fail_msg("dlopen: %s", dlerror());
    gr_shim_get_fn get = (gr_shim_get_fn)dlsym(l->dl, GR_SHIM_SYMBOL);
    assert_non_null(get);
    l->s = get();
    assert_int_equal(l->s->abi_version, GR_SHIM_ABI_VERSION);
    l->s->init_module();
    l->inst = calloc(1, l->s->instance_size);
    l->s->instantiate(l->inst, host);
}

static void
unload(struct loaded* l)
{
    l->s->free(l->inst);
    free(l->inst);
    dlclose(l->dl);
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

/* ---- tests ---- */

static void
test_compile_basic(void** state)
{
    (void)state;
    char cache[PATH_MAX], so[PATH_MAX], err[512];
    fresh_cache(cache);
    size_t len;
    uint8_t* w = load_guest("cg_basic", &len);
    int rc = compile(cache, w, len, 2, 0, NULL, so, err);
    if (rc)
        fail_msg("compile: %d %s", rc, err);
    assert_int_equal(access(so, R_OK), 0);
    assert_int_equal(count_entries(cache, "objects"), 1);
    assert_int_equal(count_entries(cache, "tmp"), 0);
    char p[PATH_MAX];
    pathf(p, "%.*s/module.wasm", (int)(strlen(so) - 10), so);
    assert_int_equal(access(p, R_OK), 0);
    pathf(p, "%.*s/meta", (int)(strlen(so) - 10), so);
    assert_int_equal(access(p, R_OK), 0);

    int marker = 1;
    struct loaded l;
    load(so, &l, &marker);
    const struct gr_shim* s = l.s;
    assert_int_not_equal(s->memory_offset, GR_SHIM_NO_OFFSET);
    assert_int_not_equal(s->stack_pointer_offset, GR_SHIM_NO_OFFSET);
    assert_int_equal(s->n_tables, 1);
    assert_int_equal(s->n_imports, 3);
    /* env and wasi_snapshot_preview1 contexts both hold the host pointer. */
    assert_int_equal(s->n_import_ctx, 2);
    for (size_t i = 0; i < s->n_import_ctx; i++)
        assert_ptr_equal(*(void**)((char*)l.inst + s->import_ctx_offsets[i]),
                         &marker);
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
    /* Only granary_shim is visible: wasm2c's own symbols are hidden. */
    char sym[64];
    snprintf(sym, sizeof sym, "Z_g%.16s_instantiate", so + strlen(cache) + 9);
    assert_null(dlsym(l.dl, sym));
    assert_null(dlsym(l.dl, "func_types"));

    wasm_rt_memory_t* mem =
      (wasm_rt_memory_t*)((char*)l.inst + s->memory_offset);
    assert_int_equal(mem->pages, 2);
    assert_memory_equal(mem->data + 16, "granary", 7);
    assert_int_equal(*(uint32_t*)((char*)l.inst + s->stack_pointer_offset),
                     65536);

    uint32_t (*add)(void*, uint32_t, uint32_t) =
      (uint32_t(*)(void*, uint32_t, uint32_t))export_fn(s, "add", "ii>i");
    assert_int_equal(add(l.inst, 2, 3), 5);
    uint32_t (*ct)(void*, uint32_t, uint32_t, uint32_t) = (uint32_t(*)(
      void*, uint32_t, uint32_t, uint32_t))export_fn(s, "call_table", "iii>i");
    assert_int_equal(ct(l.inst, 1, 2, 3), 10);
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
    /* A trap (out-of-bounds) in guard-page mode reaches wasm_rt_trap via
     * the signal handler in the real runtime; here just check OOB code
     * paths compile. */
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
    /* explicit bounds is a different flavor: a second object. */
    assert_int_equal(compile(cache, w, len, 1, 1, NULL, so2, err), 0);
    assert_string_not_equal(so, so2);
    assert_int_equal(count_entries(cache, "objects"), 2);
    struct loaded l;
    load(so2, &l, NULL);
    uint32_t (*ch)(void*, uint32_t, uint64_t) = (uint32_t(*)(
      void*, uint32_t, uint64_t))export_fn(l.s, "call_host", "iI>i");
    assert_int_equal(ch(l.inst, 4, 5), 9);
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
    expect_reject(w, len / 2, GR_EINVALID_MODULE, "wasm-validate");
    expect_reject(w, 0, GR_EINVALID_MODULE, "wasm-validate");
    gr_free(w);
    w = load_guest("cg_simd", &len);
    expect_reject(w, len, GR_ECOMPILE, "wasm2c failed");
    gr_free(w);
    w = load_guest("cg_import_mem", &len);
    expect_reject(w, len, GR_EINVALID_MODULE, "imported memory");
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

static double
run_matmul(const char* so, int n, int reps, double* best)
{
    struct loaded l;
    load(so, &l, NULL);
    void (*init)(void*, uint32_t) =
      (void (*)(void*, uint32_t))export_fn(l.s, "init", "i>");
    double (*mm)(void*, uint32_t) =
      (double (*)(void*, uint32_t))export_fn(l.s, "matmul", "i>F");
    double sum = 0;
    *best = 1e9;
    for (int r = 0; r < reps; r++) {
        init(l.inst, (uint32_t)n);
        double t = cpu_s();
        sum = mm(l.inst, (uint32_t)n);
        t = cpu_s() - t;
        if (t < *best)
            *best = t;
    }
    unload(&l);
    return sum;
}

static void
test_postpass_same_results(void** state)
{
    (void)state;
    char cache[PATH_MAX], so_pp[PATH_MAX], so_plain[PATH_MAX], err[512];
    fresh_cache(cache);
    size_t len;
    uint8_t* w = NULL;
    const char* alt = getenv("GR_TEST_MATMUL_WASM"); /* for measurements */
    if (alt)
        assert_int_equal(gr_fs_read_file(alt, 1 << 28, &w, &len), 0);
    else
        w = load_guest("cg_matmul", &len);
    assert_int_equal(compile(cache, w, len, 2, 0, NULL, so_pp, err), 0);
    setenv("GRANARY_CODEGEN_NO_POSTPASS", "1", 1);
    int rc = compile(cache, w, len, 2, 0, NULL, so_plain, err);
    unsetenv("GRANARY_CODEGEN_NO_POSTPASS");
    assert_int_equal(rc, 0);
    assert_string_not_equal(so_pp, so_plain);
    const char* nv = getenv("GR_TEST_MATMUL_N");
    int n = nv ? atoi(nv) : 128;
    int reps = nv ? 7 : 2;
    double t_pp, t_plain;
    double a = run_matmul(so_pp, n, reps, &t_pp);
    double b = run_matmul(so_plain, n, reps, &t_plain);
    assert_true(a == b);
    assert_true(a > 0);
    print_message("matmul n=%d: post-pass %.2f ms, plain %.2f ms (%.2fx)\n",
                  n,
                  t_pp * 1e3,
                  t_plain * 1e3,
                  t_plain / t_pp);
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

static void
test_split_compile(void** state)
{
    (void)state;
    char cache[PATH_MAX], so_split[PATH_MAX], so_one[PATH_MAX], err[512];
    fresh_cache(cache);
    size_t len;
    uint8_t* w = make_big_module(600, &len);
    setenv("GRANARY_CODEGEN_SPLIT_MIN", "0", 1);
    int rc = compile(cache, w, len, 3, 0, NULL, so_split, err);
    unsetenv("GRANARY_CODEGEN_SPLIT_MIN");
    if (rc)
        fail_msg("split compile: %d %s", rc, err);
    char meta[PATH_MAX];
    pathf(meta, "%.*s/meta", (int)(strlen(so_split) - 10), so_split);
    uint8_t* m = NULL;
    size_t ml;
    assert_int_equal(gr_fs_read_file(meta, 1 << 20, &m, &ml), 0);
    assert_non_null(strstr((char*)m, "parts 3\n"));
    gr_free(m);

    char cache2[PATH_MAX];
    fresh_cache(cache2);
    assert_int_equal(compile(cache2, w, len, 1, 0, NULL, so_one, err), 0);

    struct loaded a, b;
    load(so_split, &a, NULL);
    load(so_one, &b, NULL);
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
        cmocka_unit_test(test_postpass_same_results),
        cmocka_unit_test(test_split_compile),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
