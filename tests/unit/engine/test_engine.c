/* SPDX-License-Identifier: Apache-2.0 */
/* The engine as a whole: 4 GiB memories, import messages, unloading idle
 * objects (LRU) and reloading them, a full code registry failing the load,
 * data segments compiled as data, compiler limits, and stale build
 * directories removed at start. Modules are .wat guests or built here. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "eng_support.h"
#include "engine/engine.h"
#include "granary/status.h"
#include "util/fs.h"

#define CACHE GRANARY_BINARY_DIR "/test-engine-cache"

/* ---- building small modules ---- */

struct wbuf
{
    uint8_t* p;
    size_t n, cap;
};

static void
put(struct wbuf* b, const void* d, size_t n)
{
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2 + 64;
        b->p = realloc(b->p, b->cap);
        assert_non_null(b->p);
    }
    memcpy(b->p + b->n, d, n);
    b->n += n;
}

static void
put_byte(struct wbuf* b, uint8_t c)
{
    put(b, &c, 1);
}

static void
put_leb(struct wbuf* b, uint64_t v)
{
    do {
        uint8_t c = v & 0x7f;
        v >>= 7;
        put_byte(b, v ? c | 0x80 : c);
    } while (v);
}

static void
put_section(struct wbuf* b, uint8_t id, const struct wbuf* body)
{
    put_byte(b, id);
    put_leb(b, body->n);
    put(b, body->p, body->n);
}

static void
put_header(struct wbuf* b)
{
    put(b, "\0asm\1\0\0\0", 8);
}

/* (module (func (export "f") (result i32) (i32.const n))), n < 64 */
static struct wbuf
const_module(int n)
{
    struct wbuf m = { 0 }, s = { 0 };
    put_header(&m);
    put(&s, "\x01\x60\x00\x01\x7f", 5);
    put_section(&m, 1, &s);
    s.n = 0;
    put(&s, "\x01\x00", 2);
    put_section(&m, 3, &s);
    s.n = 0;
    put(&s,
        "\x01\x01"
        "f"
        "\x00\x00",
        5);
    put_section(&m, 7, &s);
    s.n = 0;
    uint8_t code[] = { 0x01, 0x04, 0x00, 0x41, (uint8_t)n, 0x0b };
    put(&s, code, sizeof code);
    put_section(&m, 10, &s);
    free(s.p);
    return m;
}

static uint8_t
pattern(size_t i)
{
    return (uint8_t)((i ^ (i >> 9) ^ (i >> 17)) * 31 + 7);
}

/* A memory of `bytes` rounded up to pages plus one, with one active data
 * segment of `bytes` pattern bytes at 0, and (func (export "get") (param
 * i32) (result i32) (i32.load8_u (local.get 0))). */
static struct wbuf
data_module(size_t bytes)
{
    struct wbuf m = { 0 }, s = { 0 };
    put_header(&m);
    put(&s, "\x01\x60\x01\x7f\x01\x7f", 6);
    put_section(&m, 1, &s);
    s.n = 0;
    put(&s, "\x01\x00", 2);
    put_section(&m, 3, &s);
    s.n = 0;
    put(&s, "\x01\x00", 2);
    put_leb(&s, bytes / 65536 + 1);
    put_section(&m, 5, &s);
    s.n = 0;
    put(&s,
        "\x01\x03"
        "get"
        "\x00\x00",
        7);
    put_section(&m, 7, &s);
    s.n = 0;
    put(&s, "\x01\x07\x00\x20\x00\x2d\x00\x00\x0b", 9);
    put_section(&m, 10, &s);
    s.n = 0;
    put(&s, "\x01\x00\x41\x00\x0b", 5);
    put_leb(&s, bytes);
    for (size_t i = 0; i < bytes; i++)
        put_byte(&s, pattern(i));
    put_section(&m, 11, &s);
    free(s.p);
    return m;
}

/* ---- calling exports ---- */

struct call_args
{
    wasm_rt_function_ptr_t fn;
    void* module;
    int has_arg;
    uint32_t arg;
    uint32_t ret;
};

static void
do_call(void* p)
{
    struct call_args* a = p;
    if (a->has_arg)
        a->ret = ((uint32_t(*)(void*, uint32_t))a->fn)(a->module, a->arg);
    else
        a->ret = ((uint32_t(*)(void*))a->fn)(a->module);
}

static uint32_t
call_u32(gr_instance* in, const char* name, const char* sig, ...)
{
    struct call_args a = { 0 };
    a.fn = gr_object_export(gr_instance_object(in), name, sig);
    assert_non_null(a.fn);
    a.module = gr_instance_module(in);
    if (sig[0] == 'i') {
        va_list ap;
        va_start(ap, sig);
        a.has_arg = 1;
        a.arg = va_arg(ap, uint32_t);
        va_end(ap);
    }
    gr_trap t;
    int rc = gr_instance_call(in, do_call, &a, &t);
    if (rc)
        fail_msg("%s trapped: %s", name, gr_trap_name(t.kind));
    return a.ret;
}

/* ---- 4 GiB memories ---- */

static void
test_memory_4gib(void** state)
{
    (void)state;
    gr_engine* e = eng_engine(NULL, CACHE);
    gr_object* o = eng_load_guest(e, "eng_mem4g");
    gr_instance_config ic = { .max_pages = 65536 };
    gr_instance* in;
    gr_trap t;
    assert_int_equal(gr_instance_create(o, &ic, &in, &t), 0);
    assert_int_equal(call_u32(in, "grow", ">i"), 1); /* the old size */
    assert_int_equal(call_u32(in, "size", ">i"), 65536);
    assert_int_equal(gr_instance_memory(in)->size, 4ull << 30);
    assert_int_equal(call_u32(in, "touch", ">i"), 42);
    gr_instance_destroy(in);

    /* Under a lower limit the same grow fails (-1) as the spec allows. */
    ic.max_pages = 1024;
    assert_int_equal(gr_instance_create(o, &ic, &in, &t), 0);
    assert_int_equal(call_u32(in, "grow", ">i"), UINT32_MAX);
    assert_int_equal(call_u32(in, "size", ">i"), 1);
    gr_instance_destroy(in);
    gr_object_unref(o);
    gr_engine_destroy(e);
}

/* ---- import messages ---- */

static const char*
host_sig(const char* module, const char* name)
{
    if (strcmp(module, "env") == 0 && strcmp(name, "known") == 0)
        return "ii>i";
    return NULL;
}

static void
test_import_messages(void** state)
{
    (void)state;
    gr_engine_config cfg = { .import_sig = host_sig };
    gr_engine* e = eng_engine(&cfg, CACHE);
    char path[PATH_MAX], err[1024] = "";
    snprintf(path, sizeof path, "%s/eng_imports.wasm", GRANARY_GUEST_DIR);
    gr_object* o = NULL;
    assert_int_equal(gr_engine_load_file(e, path, &o, err, sizeof err),
                     GR_EIMPORT);
    assert_null(o);
    if (!strstr(err,
                "unknown imports: env.nope1 (i32) -> (), "
                "env.nope2 () -> i64") ||
        !strstr(err,
                "import env.known has the wrong signature: the module "
                "declares (i32, i64) -> f64, the host provides "
                "(i32, i32) -> i32"))
        fail_msg("message: %s", err);
    gr_engine_destroy(e);
}

/* ---- unloading idle objects ---- */

static gr_object*
load_bytes(gr_engine* e, const struct wbuf* w, char* err, size_t errlen)
{
    gr_object* o = NULL;
    int rc = gr_engine_load(e, w->p, w->n, &o, err, errlen);
    return rc ? NULL : o;
}

static uint32_t
run_const(gr_object* o)
{
    gr_instance* in;
    gr_trap t;
    assert_int_equal(gr_instance_create(o, NULL, &in, &t), 0);
    uint32_t v = call_u32(in, "f", ">i");
    gr_instance_destroy(in);
    return v;
}

static void
test_unload_lru(void** state)
{
    (void)state;
    gr_engine_config cfg = { .max_objects = 3 };
    gr_engine* e = eng_engine(&cfg, CACHE);
    struct wbuf w[6];
    char err[512];
    for (int i = 0; i < 6; i++)
        w[i] = const_module(10 + i);
    gr_engine_stats st;

    /* Module 0 stays in use through an instance: never unloaded. */
    gr_object* o0 = load_bytes(e, &w[0], err, sizeof err);
    assert_non_null(o0);
    gr_instance* pinned;
    gr_trap t;
    assert_int_equal(gr_instance_create(o0, NULL, &pinned, &t), 0);
    gr_object_unref(o0);
    for (int i = 1; i <= 3; i++) {
        gr_object* o = load_bytes(e, &w[i], err, sizeof err);
        assert_non_null(o);
        assert_int_equal(run_const(o), 10 + i);
        gr_object_unref(o);
    }
    /* 4 loaded, bound 3: the least recently used idle one (1) went. */
    gr_engine_get_stats(e, &st);
    assert_int_equal(st.loaded, 3);
    assert_int_equal(st.unloads, 1);
    /* 2 and 3 are still loaded: using them unloads nothing. */
    for (int i = 2; i <= 3; i++) {
        gr_object* o = load_bytes(e, &w[i], err, sizeof err);
        assert_non_null(o);
        gr_object_unref(o);
    }
    gr_engine_get_stats(e, &st);
    assert_int_equal(st.unloads, 1);
    /* 1 loads again (from the cache) and works; 2, now the LRU, goes. */
    gr_object* o1 = load_bytes(e, &w[1], err, sizeof err);
    assert_non_null(o1);
    assert_int_equal(run_const(o1), 11);
    gr_object_unref(o1);
    gr_engine_get_stats(e, &st);
    assert_int_equal(st.loaded, 3);
    assert_int_equal(st.unloads, 2);
    /* Many more: the bound holds, the pinned module keeps working. */
    for (int i = 4; i < 6; i++) {
        gr_object* o = load_bytes(e, &w[i], err, sizeof err);
        assert_non_null(o);
        assert_int_equal(run_const(o), 10 + i);
        gr_object_unref(o);
    }
    gr_engine_get_stats(e, &st);
    assert_int_equal(st.loaded, 3);
    assert_int_equal(call_u32(pinned, "f", ">i"), 10);
    gr_instance_destroy(pinned);
    gr_engine_trim(e);
    gr_engine_destroy(e);
    for (int i = 0; i < 6; i++)
        free(w[i].p);
}

/* ---- a full code registry fails the load ---- */

static void
test_code_registry_full(void** state)
{
    (void)state;
    gr_engine* e = eng_engine(NULL, CACHE);
    struct wbuf a = const_module(40), b = const_module(41);
    char err[512] = "";
    /* One range in all: whatever holds it, a second object cannot. */
    gr_rt_test_set_limits(1, 0);
    gr_object* oa = load_bytes(e, &a, err, sizeof err);
    err[0] = 0;
    gr_object* ob = NULL;
    int rc = gr_engine_load(e, b.p, b.n, &ob, err, sizeof err);
    gr_rt_test_set_limits(0, 0);
    assert_int_equal(rc, GR_ELOAD);
    assert_null(ob);
    if (!strstr(err, "cannot register the code") ||
        !strstr(err, "too many loaded objects"))
        fail_msg("message: %s", err);
    /* With room again the same module loads and runs. */
    ob = load_bytes(e, &b, err, sizeof err);
    assert_non_null(ob);
    assert_int_equal(run_const(ob), 41);
    gr_object_unref(ob);
    gr_object_unref(oa);
    gr_engine_destroy(e);
    free(a.p);
    free(b.p);
}

/* ---- data segments as data; compiler limits ---- */

static void
fresh_dir(char* dir, const char* name)
{
    snprintf(dir, PATH_MAX, "%s/%s", GRANARY_BINARY_DIR, name);
    gr_fs_remove_tree(dir);
    assert_int_equal(gr_fs_mkdir_p(dir), 0);
}

static void
test_big_data_segment(void** state)
{
    (void)state;
    /* 32 MiB as C literals is ~200 MB of C and several GB of compiler
     * memory; as data it compiles within 1 GiB. */
    char cache[PATH_MAX], err[512] = "";
    fresh_dir(cache, "test-engine-bigdata");
    gr_engine_config cfg = { .cache_dir = cache,
                             .cc_memory_mib = 1024,
                             .cc_cpu_s = 300 };
    gr_engine* e = eng_engine(&cfg, CACHE);
    size_t bytes = 32u << 20;
    struct wbuf w = data_module(bytes);
    gr_object* o = load_bytes(e, &w, err, sizeof err);
    if (!o)
        fail_msg("load: %s", err);
    gr_instance* in;
    gr_trap t;
    assert_int_equal(gr_instance_create(o, NULL, &in, &t), 0);
    size_t probes[] = { 0, 1, 4095, 65536, bytes / 2, bytes - 2, bytes - 1 };
    for (size_t i = 0; i < sizeof probes / sizeof probes[0]; i++)
        assert_int_equal(call_u32(in, "get", "i>i", (uint32_t)probes[i]),
                         pattern(probes[i]));
    for (size_t a = 12345; a < bytes; a += 1048573)
        assert_int_equal(call_u32(in, "get", "i>i", (uint32_t)a), pattern(a));
    assert_int_equal(call_u32(in, "get", "i>i", (uint32_t)bytes), 0);
    gr_instance_destroy(in);
    gr_object_unref(o);
    gr_engine_destroy(e);
    free(w.p);
}

static void
test_compile_memory_limit(void** state)
{
    (void)state;
    char cache[PATH_MAX], err[512] = "";
    fresh_dir(cache, "test-engine-limit");
    gr_engine_config cfg = { .cache_dir = cache, .cc_memory_mib = 8 };
    gr_engine* e = eng_engine(&cfg, CACHE);
    struct wbuf w = const_module(50);
    gr_object* o = NULL;
    int rc = gr_engine_load(e, w.p, w.n, &o, err, sizeof err);
    assert_int_equal(rc, GR_ECOMPILE);
    if (!strstr(err, "exceeded its memory limit (8 MiB)"))
        fail_msg("message: %s", err);
    gr_engine_destroy(e);
    free(w.p);
}

static void
put_sleb(struct wbuf* b, int64_t v)
{
    for (;;) {
        uint8_t c = v & 0x7f;
        v >>= 7;
        int done = (v == 0 && !(c & 0x40)) || (v == -1 && (c & 0x40));
        put_byte(b, done ? c : c | 0x80);
        if (done)
            return;
    }
}

/* n exported functions of 60 load-multiply-add-store steps each: a few
 * seconds of compiler CPU time. */
static struct wbuf
slow_module(int n)
{
    struct wbuf m = { 0 }, s = { 0 }, body = { 0 };
    put_header(&m);
    put(&s, "\x01\x60\x01\x7f\x00", 5);
    put_section(&m, 1, &s);
    s.n = 0;
    put_leb(&s, (uint64_t)n);
    for (int i = 0; i < n; i++)
        put_byte(&s, 0);
    put_section(&m, 3, &s);
    s.n = 0;
    put(&s, "\x01\x00\x01", 3);
    put_section(&m, 5, &s);
    s.n = 0;
    put_leb(&s, (uint64_t)n);
    for (int i = 0; i < n; i++) {
        char name[16];
        int k = snprintf(name, sizeof name, "f%d", i);
        put_leb(&s, (uint64_t)k);
        put(&s, name, (size_t)k);
        put_byte(&s, 0);
        put_leb(&s, (uint64_t)i);
    }
    put_section(&m, 7, &s);
    s.n = 0;
    put_leb(&s, (uint64_t)n);
    for (int f = 0; f < n; f++) {
        body.n = 0;
        put_byte(&body, 0); /* no locals */
        for (int i = 0; i < 60; i++) {
            put_byte(&body, 0x41);
            put_sleb(&body, i * 4);
            put_byte(&body, 0x41);
            put_sleb(&body, i * 8 + f);
            put(&body, "\x28\x02\x00\x20\x00\x6c", 6);
            put_byte(&body, 0x41);
            put_sleb(&body, i + f);
            put(&body, "\x6a\x36\x02\x00", 4);
        }
        put_byte(&body, 0x0b);
        put_leb(&s, body.n);
        put(&s, body.p, body.n);
    }
    put_section(&m, 10, &s);
    free(s.p);
    free(body.p);
    return m;
}

static void
test_compile_cpu_limit(void** state)
{
    (void)state;
    char cache[PATH_MAX], err[512] = "";
    fresh_dir(cache, "test-engine-cpu");
    gr_engine_config cfg = { .cache_dir = cache, .cc_cpu_s = 1, .jobs = 1 };
    gr_engine* e = eng_engine(&cfg, CACHE);
    struct wbuf w = slow_module(1500);
    gr_object* o = NULL;
    int rc = gr_engine_load(e, w.p, w.n, &o, err, sizeof err);
    assert_int_equal(rc, GR_ECOMPILE);
    if (!strstr(err, "exceeded its CPU time limit (1 s)"))
        fail_msg("message: %s", err);
    gr_engine_destroy(e);
    free(w.p);
}

/* Processes whose command line mentions s (the tools' mention the build
 * directory) and, if non-NULL, also and also2. */
static int
procs_mentioning(const char* s, const char* also, const char* also2)
{
    DIR* d = opendir("/proc");
    assert_non_null(d);
    int n = 0;
    struct dirent* de;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] < '0' || de->d_name[0] > '9')
            continue;
        char path[300], buf[8192];
        snprintf(path, sizeof path, "/proc/%s/cmdline", de->d_name);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            continue;
        ssize_t k = read(fd, buf, sizeof buf - 1);
        close(fd);
        if (k <= 0)
            continue;
        for (ssize_t i = 0; i < k; i++)
            if (!buf[i])
                buf[i] = ' ';
        buf[k] = 0;
        n += strstr(buf, s) && (!also || strstr(buf, also)) &&
             (!also2 || strstr(buf, also2));
    }
    closedir(d);
    return n;
}

static void
test_compiler_dies_with_server(void** state)
{
    (void)state;
    char cache[PATH_MAX];
    fresh_dir(cache, "test-engine-orphan");
    /* The server: this test binary run afresh (see main). */
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        execl("/proc/self/exe", "test_engine", "--compile-child", cache, NULL);
        _exit(127);
    }
    /* Wait for the compiler proper (cc1) to work on the module's C, then
     * kill its server. */
    int seen = 0;
    for (int i = 0; i < 2400 && !seen; i++) {
        seen = procs_mentioning(cache, "cc1", "/wpart_0.c") > 0 ||
               procs_mentioning(cache, "cc1", "/winit.c") > 0;
        if (!seen)
            usleep(50000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    assert_true(seen);
    /* Gone within 10 s (the guard kills the group at once). */
    int left = 1;
    for (int i = 0; i < 200 && left; i++) {
        left = procs_mentioning(cache, NULL, NULL);
        if (left)
            usleep(50000);
    }
    assert_int_equal(left, 0);
}

/* The server of test_compiler_dies_with_server: compiles a module of some
 * 40 s of compiler CPU time (far longer than the test waits). */
static int
compile_child(const char* cache)
{
    struct wbuf w = slow_module(6000);
    gr_engine_config cfg = { .cache_dir = cache, .jobs = 1, .cc_cpu_s = -1 };
    gr_engine* e;
    gr_object* o = NULL;
    char err[256];
    if (gr_engine_create(&cfg, &e) == 0)
        gr_engine_load(e, w.p, w.n, &o, err, sizeof err);
    return 0;
}

/* ---- stale build directories ---- */

static void
test_stale_build_dirs_removed_at_start(void** state)
{
    (void)state;
    char cache[PATH_MAX], p[PATH_MAX * 2];
    fresh_dir(cache, "test-engine-stale");
    /* A crashed build: its pid (above the default pid_max) is gone. */
    snprintf(p, sizeof p, "%s/tmp/4194305-0123456789abcdef/out", cache);
    assert_int_equal(gr_fs_mkdir_p(p), 0);
    /* A live build of ours, locked like the engine locks its own. */
    snprintf(p, sizeof p, "%s/tmp/%ld-live", cache, (long)getpid());
    assert_int_equal(gr_fs_mkdir_p(p), 0);
    int fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    assert_true(fd >= 0);
    assert_int_equal(flock(fd, LOCK_EX), 0);
    /* A locked directory named after a dead pid (another pid namespace). */
    snprintf(p, sizeof p, "%s/tmp/4194306-elsewhere", cache);
    assert_int_equal(gr_fs_mkdir_p(p), 0);
    int fd2 = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    assert_true(fd2 >= 0);
    assert_int_equal(flock(fd2, LOCK_EX), 0);

    gr_engine_config cfg = { .cache_dir = cache };
    gr_engine* e = eng_engine(&cfg, CACHE);
    struct stat st;
    snprintf(p, sizeof p, "%s/tmp/4194305-0123456789abcdef", cache);
    assert_int_equal(stat(p, &st), -1);
    snprintf(p, sizeof p, "%s/tmp/%ld-live", cache, (long)getpid());
    assert_int_equal(stat(p, &st), 0);
    snprintf(p, sizeof p, "%s/tmp/4194306-elsewhere", cache);
    assert_int_equal(stat(p, &st), 0);
    gr_engine_destroy(e);
    close(fd);
    close(fd2);
}

int
main(int argc, char** argv)
{
    if (argc == 3 && strcmp(argv[1], "--compile-child") == 0)
        return compile_child(argv[2]);
    gr_fs_remove_tree(CACHE);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_memory_4gib),
        cmocka_unit_test(test_import_messages),
        cmocka_unit_test(test_unload_lru),
        cmocka_unit_test(test_code_registry_full),
        cmocka_unit_test(test_big_data_segment),
        cmocka_unit_test(test_compile_memory_limit),
        cmocka_unit_test(test_compile_cpu_limit),
        cmocka_unit_test(test_compiler_dies_with_server),
        cmocka_unit_test(test_stale_build_dirs_removed_at_start),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
