/* SPDX-License-Identifier: Apache-2.0 */
/* Tests for sdk/bin/granary-cc: commands and reactors come out with the
 * exports the runtime needs, only target features Granary's compiler
 * translates (SIMD and bulk memory by default), and its decoder and
 * validator accept them; unsupported flags are refused. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "wasm/wasm.h"

#define CC GRANARY_SOURCE_DIR "/sdk/bin/granary-cc"

static char dir[256];

/* ---- helpers ------------------------------------------------------------ */

/* Runs a shell command inside the test directory with stdout and stderr
 * captured to dir/out and dir/err. Returns the exit status (or -1). */
static int
run(const char* fmt, ...)
{
    char cmd[4096];
    char full[4600];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    assert_true(n > 0 && (size_t)n < sizeof cmd);
    n = snprintf(full, sizeof full, "cd '%s' && ( %s ) >out 2>err", dir, cmd);
    assert_true(n > 0 && (size_t)n < sizeof full);
    int st = system(full);
    if (st == -1 || !WIFEXITED(st))
        return -1;
    return WEXITSTATUS(st);
}

static char*
slurp(const char* name, size_t* len)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE* f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, n = 0;
    char* buf = malloc(cap + 1);
    assert_non_null(buf);
    size_t got;
    while ((got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            cap *= 2;
            buf = realloc(buf, cap + 1);
            assert_non_null(buf);
        }
    }
    fclose(f);
    buf[n] = '\0';
    if (len)
        *len = n;
    return buf;
}

static void
write_file(const char* name, const char* text)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE* f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
}

static int
exists(const char* name)
{
    char path[512];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return stat(path, &st) == 0;
}

static void
expect_stderr_contains(const char* needle)
{
    char* err = slurp("err", NULL);
    assert_non_null(err);
    if (!strstr(err, needle))
        fail_msg("stderr lacks \"%s\":\n%s", needle, err);
    free(err);
}

/* ---- a minimal reader for the wasm sections we check --------------------- */

#define MAX_ITEMS 64

struct wasm_info
{
    int n_exports;
    char export_names[MAX_ITEMS][64];
    int export_kinds[MAX_ITEMS]; /* 0 func, 1 table, 2 memory, 3 global */
    int n_features;
    char features[MAX_ITEMS][64]; /* with their '+', '-' or '=' prefix */
    int has_memory, memory_has_max;
    uint32_t memory_max;
};

struct reader
{
    const uint8_t* p;
    const uint8_t* end;
};

static uint32_t
leb_u32(struct reader* r)
{
    uint32_t v = 0;
    for (int shift = 0; shift < 35; shift += 7) {
        assert_true(r->p < r->end);
        uint8_t b = *r->p++;
        v |= (uint32_t)(b & 0x7f) << shift;
        if (!(b & 0x80))
            return v;
    }
    fail_msg("bad LEB128");
    return 0;
}

static void
read_name(struct reader* r, char* out, size_t cap)
{
    uint32_t n = leb_u32(r);
    assert_true(n <= (size_t)(r->end - r->p));
    size_t k = n < cap - 1 ? n : cap - 1;
    memcpy(out, r->p, k);
    out[k] = '\0';
    r->p += n;
}

static void
parse_wasm(const char* name, struct wasm_info* info)
{
    size_t len = 0;
    char* buf = slurp(name, &len);
    assert_non_null(buf);
    memset(info, 0, sizeof *info);
    static const uint8_t magic[8] = { 0, 'a', 's', 'm', 1, 0, 0, 0 };
    assert_true(len >= 8);
    assert_memory_equal(buf, magic, 8);
    struct reader r = { (const uint8_t*)buf + 8, (const uint8_t*)buf + len };
    while (r.p < r.end) {
        uint8_t id = *r.p++;
        uint32_t size = leb_u32(&r);
        assert_true(size <= (size_t)(r.end - r.p));
        struct reader s = { r.p, r.p + size };
        r.p += size;
        if (id == 0) {
            char cname[64];
            read_name(&s, cname, sizeof cname);
            if (strcmp(cname, "target_features") != 0)
                continue;
            uint32_t n = leb_u32(&s);
            for (uint32_t i = 0; i < n && info->n_features < MAX_ITEMS; i++) {
                assert_true(s.p < s.end);
                char* f = info->features[info->n_features++];
                f[0] = (char)*s.p++;
                read_name(&s, f + 1, 63);
            }
        } else if (id == 5) {
            uint32_t n = leb_u32(&s);
            if (n > 0) {
                uint32_t flags = leb_u32(&s);
                info->has_memory = 1;
                (void)leb_u32(&s); /* initial */
                if (flags & 1) {
                    info->memory_has_max = 1;
                    info->memory_max = leb_u32(&s);
                }
            }
        } else if (id == 7) {
            uint32_t n = leb_u32(&s);
            for (uint32_t i = 0; i < n && info->n_exports < MAX_ITEMS; i++) {
                int k = info->n_exports++;
                read_name(&s, info->export_names[k], 64);
                assert_true(s.p < s.end);
                info->export_kinds[k] = *s.p++;
                (void)leb_u32(&s);
            }
        }
    }
    free(buf);
}

static int
export_kind(const struct wasm_info* info, const char* name)
{
    for (int i = 0; i < info->n_exports; i++)
        if (strcmp(info->export_names[i], name) == 0)
            return info->export_kinds[i];
    return -1;
}

/* Features of a module built without -pthread: the ones wasm2c 1.0.32
 * also translated, plus simd128 (Granary's compiler; granary-cc's
 * default). Atomics come only with -pthread; tail-call,
 * exception-handling, multimemory and memory64 are refused. */
static void
expect_features_ok(const struct wasm_info* info)
{
    static const char* const ok[] = {
        "mutable-globals", "sign-ext",    "multivalue",          "simd128",
        "reference-types", "bulk-memory", "nontrapping-fptoint",
    };
    for (int i = 0; i < info->n_features; i++) {
        const char* f = info->features[i];
        if (f[0] != '+')
            continue; /* '-' forbids a feature: never a problem */
        int found = 0;
        for (size_t k = 0; k < sizeof ok / sizeof ok[0]; k++)
            found |= strcmp(f + 1, ok[k]) == 0;
        if (!found)
            fail_msg("module requires feature %s", f + 1);
    }
}

static int
has_feature(const struct wasm_info* info, const char* name)
{
    for (int i = 0; i < info->n_features; i++)
        if (info->features[i][0] == '+' &&
            strcmp(info->features[i] + 1, name) == 0)
            return 1;
    return 0;
}

/* Granary's decoder and validator (src/wasm) accept the module. */
static void
expect_granary_accepts(const char* wasm)
{
    size_t len = 0;
    char* buf = slurp(wasm, &len);
    assert_non_null(buf);
    gr_wasm_module* m = NULL;
    gr_wasm_error e;
    if (gr_wasm_module_decode((const uint8_t*)buf, len, &m, &e) != 0)
        fail_msg("Granary's decoder refused %s: %s", wasm, e.message);
    gr_wasm_module_destroy(m);
    free(buf);
}

/* ---- fixtures --------------------------------------------------------------
 */

static const char* const hello_c = "#include <stdio.h>\n"
                                   "#include <stdlib.h>\n"
                                   "int main(int argc, char** argv) {\n"
                                   "    (void)argv;\n"
                                   "    printf(\"hello %d\\n\", argc);\n"
                                   "    return getenv(\"NOPE\") ? 1 : 0;\n"
                                   "}\n";

static const char* const reactor_c =
  "#include <stdlib.h>\n"
  "__attribute__((export_name(\"add\"))) int add(int a, int b)\n"
  "{ return a + b; }\n"
  "int mul(int a, int b) { return a * b; }\n"
  "__attribute__((export_name(\"alloc\"))) void* alloc(unsigned n)\n"
  "{ return malloc(n); }\n";

static int
setup(void** state)
{
    (void)state;
    const char* tmp = getenv("TMPDIR");
    snprintf(
      dir, sizeof dir, "%s/granary-cc-test.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir))
        return -1;
    /* A fresh cache: every run also exercises sysroot creation. */
    char cache[300];
    snprintf(cache, sizeof cache, "%s/cache", dir);
    setenv("XDG_CACHE_HOME", cache, 1);
    unsetenv("GRANARY_SYSROOT");
    return 0;
}

static int
teardown(void** state)
{
    (void)state;
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* ---- tests --------------------------------------------------------------- */

static void
test_version_and_help(void** state)
{
    (void)state;
    assert_int_equal(run("%s --version", CC), 0);
    char* out = slurp("out", NULL);
    assert_non_null(strstr(out, "granary-cc"));
    assert_non_null(strstr(out, "clang version"));
    free(out);
    assert_int_equal(run("%s --help", CC), 0);
    out = slurp("out", NULL);
    assert_non_null(strstr(out, "-mexec-model=reactor"));
    free(out);
    assert_int_not_equal(run("%s", CC), 0);
    expect_stderr_contains("no input files");
}

static void
test_command(void** state)
{
    (void)state;
    write_file("hello.c", hello_c);
    assert_int_equal(run("%s -O2 -Wall -Werror -o hello.wasm hello.c", CC), 0);
    struct wasm_info info;
    parse_wasm("hello.wasm", &info);
    assert_int_equal(export_kind(&info, "_start"), 0);
    assert_int_equal(export_kind(&info, "memory"), 2);
    assert_int_equal(export_kind(&info, "__stack_pointer"), 3);
    assert_true(info.memory_has_max);
    assert_int_equal(info.memory_max, 16384); /* 1 GiB default */
    expect_features_ok(&info);
    expect_granary_accepts("hello.wasm");
}

static void
test_reactor(void** state)
{
    (void)state;
    write_file("reactor.c", reactor_c);
    assert_int_equal(run("%s -mexec-model=reactor -O2 -o r.wasm reactor.c "
                         "-Wl,--export=mul",
                         CC),
                     0);
    struct wasm_info info;
    parse_wasm("r.wasm", &info);
    assert_int_equal(export_kind(&info, "_initialize"), 0);
    assert_int_equal(export_kind(&info, "add"), 0);
    assert_int_equal(export_kind(&info, "mul"), 0);
    assert_int_equal(export_kind(&info, "alloc"), 0);
    assert_int_equal(export_kind(&info, "__stack_pointer"), 3);
    assert_int_equal(export_kind(&info, "_start"), -1);
    expect_features_ok(&info);
    expect_granary_accepts("r.wasm");
}

static void
test_refuses_simd_and_threads(void** state)
{
    (void)state;
    static const char* const bad[] = { "-mrelaxed-simd",
                                       "-mcpu=bleeding-edge" };
    write_file("reactor.c", reactor_c);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_not_equal(run("%s -mexec-model=reactor -O2 %s -o bad.wasm "
                                 "reactor.c",
                                 CC,
                                 bad[i]),
                             0);
        expect_stderr_contains(bad[i]);
        expect_stderr_contains("not supported");
        assert_false(exists("bad.wasm"));
        /* also when only compiling */
        assert_int_not_equal(run("%s -c %s reactor.c -o bad.o", CC, bad[i]), 0);
        assert_false(exists("bad.o"));
    }
    assert_int_not_equal(run("%s --target=x86_64-linux-gnu -c reactor.c", CC),
                         0);
    expect_stderr_contains("wasm32-wasi");
}

/* -msimd128 -mbulk-memory by default: a vectorisable loop becomes v128
 * code and memcpy a memory.copy; -mno-simd128 -mno-bulk-memory turn them
 * off; relaxed SIMD is refused. */
static void
test_simd_bulk_defaults(void** state)
{
    (void)state;
    write_file("v.c",
               "#include <string.h>\n"
               "float a[256], b[256], c[256];\n"
               "__attribute__((export_name(\"f\"))) void f(int n) {\n"
               "    for (int i = 0; i < 256; i++) c[i] = a[i] * b[i] + c[i];\n"
               "    memcpy(a, b, (unsigned)n);\n"
               "}\n");
    assert_int_equal(run("%s -mexec-model=reactor -O2 -o v.wasm v.c", CC), 0);
    struct wasm_info info;
    parse_wasm("v.wasm", &info);
    assert_true(has_feature(&info, "simd128"));
    assert_true(has_feature(&info, "bulk-memory"));
    expect_features_ok(&info);
    expect_granary_accepts("v.wasm");
    assert_int_equal(run("wasm-objdump -d v.wasm | grep -c 'f32x4.mul'"), 0);
    assert_int_equal(run("wasm-objdump -d v.wasm | grep -c 'memory.copy'"), 0);

    assert_int_equal(run("%s -mexec-model=reactor -O2 -mno-simd128 "
                         "-mno-bulk-memory -o s.wasm v.c",
                         CC),
                     0);
    parse_wasm("s.wasm", &info);
    assert_false(has_feature(&info, "simd128"));
    assert_false(has_feature(&info, "bulk-memory"));
    expect_granary_accepts("s.wasm");
    assert_int_not_equal(run("wasm-objdump -d s.wasm | grep -q 'v128\\|x4\\.'"),
                         0);

    assert_int_not_equal(
      run("%s -mexec-model=reactor -O2 -mrelaxed-simd -o rs.wasm v.c", CC), 0);
    expect_stderr_contains("-mrelaxed-simd");
    expect_stderr_contains("not supported");
    assert_false(exists("rs.wasm"));
}

/* With bulk memory clang makes wasi-libc's errno real TLS, and clang-14
 * then crashes on it unless the TLS model is local-exec (granary-cc adds
 * it). */
static void
test_errno_with_bulk_memory(void** state)
{
    (void)state;
    write_file("e.c",
               "#include <errno.h>\n"
               "#include <stdlib.h>\n"
               "int main(void) {\n"
               "    errno = 0;\n"
               "    strtol(\"99999999999999999999\", 0, 10);\n"
               "    return errno == ERANGE ? 0 : 1;\n"
               "}\n");
    static const char* const clangs[] = { "clang-14", "clang-19" };
    for (size_t i = 0; i < sizeof clangs / sizeof clangs[0]; i++) {
        if (run("command -v %s", clangs[i]) != 0)
            continue;
        assert_int_equal(
          run("GRANARY_CLANG=%s %s -O2 -o e.wasm e.c", clangs[i], CC), 0);
        struct wasm_info info;
        parse_wasm("e.wasm", &info);
        assert_true(has_feature(&info, "bulk-memory"));
        expect_granary_accepts("e.wasm");
    }
}

/* Thread-local variables in a program built without -pthread (one
 * thread): with bulk memory on by default they used to be real TLS, which
 * wasm-ld refuses without atomics. */
static void
test_thread_local_without_threads(void** state)
{
    (void)state;
    write_file("tl.c",
               "static __thread int a = 5;\n"
               "static _Thread_local int b = 7;\n"
               "int main(void) { a++; b++; return a + b == 14 ? 0 : 1; }\n");
    static const char* const clangs[] = { "clang-14", "clang-19" };
    for (size_t i = 0; i < sizeof clangs / sizeof clangs[0]; i++) {
        if (run("command -v %s", clangs[i]) != 0)
            continue;
        assert_int_equal(
          run("GRANARY_CLANG=%s %s -O2 -o tl.wasm tl.c", clangs[i], CC), 0);
        expect_granary_accepts("tl.wasm");
    }
}

static void
test_compile_then_link(void** state)
{
    (void)state;
    write_file("a.c",
               "int twice(int x);\n"
               "int main(void) { return twice(21) == 42 ? 0 : 1; }\n");
    write_file("b.c",
               "#include \"b.h\"\n"
               "int twice(int x) { return x * FACTOR; }\n");
    assert_int_equal(run("mkdir -p inc && echo '#define FACTOR 2' > inc/b.h"),
                     0);
    assert_int_equal(run("%s -O2 -c a.c -o a.o", CC), 0);
    assert_int_equal(run("%s -O2 -Iinc -c b.c", CC), 0); /* default: b.o */
    assert_true(exists("a.o"));
    assert_true(exists("b.o"));
    size_t len = 0;
    char* obj = slurp("a.o", &len);
    assert_true(len > 8 && memcmp(obj, "\0asm", 4) == 0);
    free(obj);
    assert_int_equal(run("%s -O2 -o ab.wasm a.o b.o", CC), 0);
    struct wasm_info info;
    parse_wasm("ab.wasm", &info);
    assert_int_equal(export_kind(&info, "_start"), 0);
    assert_int_equal(export_kind(&info, "__stack_pointer"), 3);
    expect_features_ok(&info);
    /* mixed: one object, one source, -D on the command line */
    assert_int_equal(run("%s -O1 -Iinc -DUNUSED=1 -o ab2.wasm a.o b.c", CC), 0);
    expect_granary_accepts("ab2.wasm");
}

static void
test_libm(void** state)
{
    (void)state;
    write_file("m.c",
               "#include <math.h>\n"
               "#include <stdio.h>\n"
               "int main(int argc, char** argv) {\n"
               "    (void)argv;\n"
               "    volatile double x = argc * 0.5;\n"
               "    printf(\"%f %f\\n\", sin(x), pow(x, 1.5));\n"
               "    return 0;\n"
               "}\n");
    assert_int_equal(run("%s -O2 -o m.wasm m.c -lm", CC), 0);
    struct wasm_info info;
    parse_wasm("m.wasm", &info);
    assert_int_equal(export_kind(&info, "_start"), 0);
    expect_features_ok(&info);
    expect_granary_accepts("m.wasm");
}

static void
test_undefined_symbols(void** state)
{
    (void)state;
    write_file("u.c",
               "int host_thing(int);\n"
               "__attribute__((export_name(\"f\"))) int f(int x)\n"
               "{ return host_thing(x); }\n");
    /* strict by default, for commands and reactors alike */
    assert_int_not_equal(run("%s -mexec-model=reactor -o u.wasm u.c", CC), 0);
    expect_stderr_contains("host_thing");
    assert_int_equal(
      run("%s -mexec-model=reactor --allow-undefined -o u.wasm u.c", CC), 0);
    assert_int_equal(run("wasm-objdump -j Import -x u.wasm | grep -q "
                         "'env.host_thing'"),
                     0);
}

/* clang runs binaryen's wasm-opt itself when -O reaches the link step;
 * granary-cc must never let that happen. A wasm-opt that fails and leaves
 * a mark stands in for binaryen. */
static void
test_never_runs_wasm_opt(void** state)
{
    (void)state;
    write_file("hello.c", hello_c);
    assert_int_equal(
      run("mkdir -p fakebin && printf '#!/bin/sh\\ntouch %s/ran\\nexit 1\\n' "
          "> fakebin/wasm-opt && chmod +x fakebin/wasm-opt",
          dir),
      0);
    assert_int_equal(
      run("PATH=%s/fakebin:$PATH %s -O3 -o o.wasm hello.c", dir, CC), 0);
    assert_false(exists("ran"));
    assert_true(exists("o.wasm"));
}

static void
test_parallel_sysroot(void** state)
{
    (void)state;
    write_file("hello.c", hello_c);
    /* eight compilers racing to build one fresh sysroot */
    assert_int_equal(
      run("export XDG_CACHE_HOME=%s/par; fails=0; pids=; "
          "for i in 1 2 3 4 5 6 7 8; do %s -c hello.c -o p$i.o & "
          "pids=\"$pids $!\"; done; "
          "for p in $pids; do wait $p || fails=$((fails+1)); done; "
          "test $fails = 0 && ls -A par/granary | grep -c . ",
          dir,
          CC),
      0);
    char* out = slurp("out", NULL);
    assert_string_equal(out, "1\n"); /* no temporary left behind */
    free(out);
}

/* A sysroot whose links point elsewhere (an older layout, a moved
 * wasi-libc) is replaced, not trusted. */
static void
test_stale_sysroot(void** state)
{
    (void)state;
    write_file("hello.c", hello_c);
    assert_int_equal(
      run("export XDG_CACHE_HOME=%s/stale; s=stale/granary/sysroot-v1; "
          "mkdir -p $s/include $s/lib && "
          "ln -s /nonexistent $s/include/wasm32-wasi && "
          "%s -c hello.c -o st.o && readlink $s/include/wasm32-wasi",
          dir,
          CC),
      0);
    char* out = slurp("out", NULL);
    assert_string_equal(out, "/usr/include/wasm32-wasi\n");
    free(out);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_version_and_help),
        cmocka_unit_test(test_command),
        cmocka_unit_test(test_reactor),
        cmocka_unit_test(test_refuses_simd_and_threads),
        cmocka_unit_test(test_simd_bulk_defaults),
        cmocka_unit_test(test_errno_with_bulk_memory),
        cmocka_unit_test(test_thread_local_without_threads),
        cmocka_unit_test(test_compile_then_link),
        cmocka_unit_test(test_libm),
        cmocka_unit_test(test_undefined_symbols),
        cmocka_unit_test(test_never_runs_wasm_opt),
        cmocka_unit_test(test_parallel_sysroot),
        cmocka_unit_test(test_stale_sysroot),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
