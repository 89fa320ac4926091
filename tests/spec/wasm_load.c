/* SPDX-License-Identifier: Apache-2.0 */
/* Test-tool loader of modules compiled by Granary's own compiler (see
 * wasm_load.h): wasm -> C (gr_wasm_emit) -> cc -> dlopen, with a cache of
 * shared objects keyed by the generated C, the flags and wrt.h. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wformat-truncation"
#endif
#include "wasm_load.h"

#include "wasm/emit.h"
#include "wasm/wasm.h"

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef GRANARY_WRT_INCLUDE
#define GRANARY_WRT_INCLUDE "src/wasm"
#endif

unsigned char*
wl_read_all(const char* path, size_t* len)
{
    FILE* f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    size_t cap = 4096, n = 0, r;
    unsigned char* b = malloc(cap);
    while (b != NULL && (r = fread(b + n, 1, cap - n, f)) > 0) {
        n += r;
        if (n == cap) {
            unsigned char* nb = realloc(b, cap *= 2);
            if (nb == NULL)
                free(b);
            b = nb;
        }
    }
    fclose(f);
    *len = n;
    return b;
}

static uint64_t
fnv(uint64_t h, const void* p, size_t n)
{
    const unsigned char* b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 0x100000001b3ull;
    return h;
}

static uint64_t
hash_file(uint64_t h, const char* path)
{
    size_t len = 0;
    unsigned char* b = wl_read_all(path, &len);
    if (b != NULL)
        h = fnv(h, b, len);
    free(b);
    return h;
}

/* Hashes (name, bytes) of the files of dir in name order; if rm, removes
 * them and dir. */
static uint64_t
walk_dir(const char* dir, uint64_t h, int rm)
{
    struct dirent** names = NULL;
    int n = scandir(dir, &names, NULL, alphasort);
    for (int i = 0; i < n; i++) {
        const char* nm = names[i]->d_name;
        if (nm[0] != '.') {
            char p[4096];
            snprintf(p, sizeof p, "%s/%s", dir, nm);
            if (rm) {
                unlink(p);
            } else {
                h = fnv(h, nm, strlen(nm));
                h = hash_file(h, p);
            }
        }
        free(names[i]);
    }
    free(names);
    if (rm)
        rmdir(dir);
    return h;
}

int wl_keep_failed;

int
wl_build(const char* path,
         const char* cache_dir,
         const char* cflags,
         char* so_path,
         size_t so_len,
         char* err,
         size_t errlen)
{
    if (cflags == NULL)
        cflags = "-O2";
    mkdir(cache_dir, 0755);
    size_t len = 0;
    unsigned char* bytes = wl_read_all(path, &len);
    if (bytes == NULL) {
        snprintf(err, errlen, "cannot read %s", path);
        return 2;
    }
    gr_wasm_module* m = NULL;
    gr_wasm_error e;
    if (gr_wasm_module_decode(bytes, len, &m, &e) != 0) {
        snprintf(err, errlen, "%s", e.message);
        free(bytes);
        return 1;
    }
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s/tmp.XXXXXX", cache_dir);
    if (mkdtemp(tmp) == NULL) {
        snprintf(err, errlen, "mkdtemp %s: %s", tmp, strerror(errno));
        gr_wasm_module_destroy(m);
        free(bytes);
        return 2;
    }
    int rc = gr_wasm_emit(m, bytes, len, tmp, 0, err, errlen);
    gr_wasm_module_destroy(m);
    free(bytes);
    if (rc < 0) {
        walk_dir(tmp, 0, 1);
        return 2;
    }
    uint64_t h = fnv(0xcbf29ce484222325ull, cflags, strlen(cflags));
    h = hash_file(h, GRANARY_WRT_INCLUDE "/wrt.h");
    h = hash_file(h, GRANARY_WRT_INCLUDE "/wrt_simd.h");
    h = walk_dir(tmp, h, 0);
    snprintf(so_path, so_len, "%s/%016" PRIx64 ".so", cache_dir, h);
    struct stat st;
    if (stat(so_path, &st) == 0) {
        walk_dir(tmp, 0, 1);
        return 0;
    }
    const char* cc = getenv("CC") ? getenv("CC") : "cc";
    char cmd[12288];
    snprintf(cmd,
             sizeof cmd,
             "cd '%s' && %s %s -g0 -w -fPIC -shared -ffp-contract=off "
             "-fsignaling-nans -fno-strict-aliasing -I'%s' -Wa,-I'%s' "
             "-o out.so *.c -lm >compile.log 2>&1",
             tmp,
             cc,
             cflags,
             GRANARY_WRT_INCLUDE,
             tmp);
    if (system(cmd) != 0) {
        char log[4200];
        snprintf(log, sizeof log, "%s/compile.log", tmp);
        size_t ll = 0;
        unsigned char* lb = wl_read_all(log, &ll);
        snprintf(err,
                 errlen,
                 "cc failed: %.*s",
                 (int)(ll > 400 ? 400 : ll),
                 lb ? (char*)lb : "");
        free(lb);
        if (wl_keep_failed)
            fprintf(stderr, "kept %s\n", tmp);
        else
            walk_dir(tmp, 0, 1);
        return 2;
    }
    char out[4200];
    snprintf(out, sizeof out, "%s/out.so", tmp);
    rename(out, so_path);
    walk_dir(tmp, 0, 1);
    return 0;
}

int
wl_load(const char* wasm_path,
        const char* cache_dir,
        const char* cflags,
        wl_module* out,
        char* err,
        size_t errlen)
{
    char so[4096];
    memset(out, 0, sizeof *out);
    int rc = wl_build(wasm_path, cache_dir, cflags, so, sizeof so, err, errlen);
    if (rc != 0)
        return rc;
    out->dl = dlopen(so, RTLD_NOW | RTLD_LOCAL);
    if (out->dl == NULL) {
        snprintf(err, errlen, "dlopen: %s", dlerror());
        return 2;
    }
    out->desc = dlsym(out->dl, "granary_wasm_module");
    if (out->desc == NULL || out->desc->abi != WRT_ABI_VERSION) {
        snprintf(err, errlen, "no granary_wasm_module entry point");
        dlclose(out->dl);
        out->dl = NULL;
        return 2;
    }
    return 0;
}

void
wl_unload(wl_module* m)
{
    if (m != NULL && m->dl != NULL)
        dlclose(m->dl);
    if (m != NULL)
        memset(m, 0, sizeof *m);
}
