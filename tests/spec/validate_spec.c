/* SPDX-License-Identifier: Apache-2.0 */
/* Runs gr_wasm's decoder/validator over spec tests converted by wabt's
 * wast2json: every module must validate, every assert_invalid and binary
 * assert_malformed must be rejected. Prints per file how many agree.
 *   validate_spec [-v] file.json...
 *   validate_spec -m file.wasm...   (one line per module: ok, or why not)
 * Exit status 0 when every command agrees, 1 otherwise. */
#include "wasm/wasm.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct counts
{
    unsigned valid_ok, valid_n;
    unsigned invalid_ok, invalid_n;
    unsigned malformed_ok, malformed_n;
    unsigned kind_differs; /* rejected, but as invalid vs malformed */
} counts;

static int verbose;

/* The string value of "key": "..." on one line of wast2json's output
 * (one command per line; values here never contain escaped quotes). */
static int
field(const char* line, const char* key, char* out, size_t n)
{
    char pat[64];
    snprintf(pat, sizeof(pat), "\"%s\": \"", key);
    const char* p = strstr(line, pat);
    if (p == NULL)
        return -1;
    p += strlen(pat);
    const char* e = strchr(p, '"');
    if (e == NULL || (size_t)(e - p) >= n)
        return -1;
    memcpy(out, p, (size_t)(e - p));
    out[e - p] = 0;
    return 0;
}

static uint8_t*
slurp(const char* path, size_t* len)
{
    FILE* f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    size_t cap = 4096, n = 0;
    uint8_t* b = malloc(cap);
    size_t r;
    while (b != NULL && (r = fread(b + n, 1, cap - n, f)) > 0) {
        n += r;
        if (n == cap) {
            uint8_t* nb = realloc(b, cap *= 2);
            if (nb == NULL) {
                free(b);
                b = NULL;
            } else {
                b = nb;
            }
        }
    }
    fclose(f);
    *len = n;
    return b;
}

/* 0: valid, 1: rejected as invalid or unsupported, 2: malformed,
 * -1: file unreadable. */
static int
check(const char* path, gr_wasm_error* err)
{
    size_t len;
    uint8_t* b = slurp(path, &len);
    if (b == NULL)
        return -1;
    gr_wasm_module* m = NULL;
    int r = gr_wasm_module_decode(b, len, &m, err);
    free(b);
    gr_wasm_module_destroy(m);
    if (r == 0)
        return 0;
    return err->kind == GR_WASM_ERR_MALFORMED ? 2 : 1;
}

static int
run_file(const char* json, counts* total)
{
    FILE* f = fopen(json, "r");
    if (f == NULL) {
        fprintf(stderr, "%s: %s\n", json, strerror(errno));
        return -1;
    }
    char dir[4096];
    snprintf(dir, sizeof(dir), "%s", json);
    char* slash = strrchr(dir, '/');
    if (slash != NULL)
        slash[1] = 0;
    else
        dir[0] = 0;
    counts c = { 0 };
    char line[65536];
    while (fgets(line, sizeof(line), f) != NULL) {
        char type[64], file[1024], mtype[32], text[256];
        if (field(line, "type", type, sizeof(type)) < 0 ||
            field(line, "filename", file, sizeof(file)) < 0)
            continue;
        if (field(line, "text", text, sizeof(text)) < 0)
            text[0] = 0;
        bool want_valid = strcmp(type, "module") == 0 ||
                          strcmp(type, "assert_unlinkable") == 0 ||
                          strcmp(type, "assert_uninstantiable") == 0;
        bool want_invalid = strcmp(type, "assert_invalid") == 0;
        bool want_malformed = strcmp(type, "assert_malformed") == 0;
        if (!want_valid && !want_invalid && !want_malformed)
            continue;
        if (field(line, "module_type", mtype, sizeof(mtype)) == 0 &&
            strcmp(mtype, "binary") != 0)
            continue; /* text-format assertions: wabt's business */
        char path[8192];
        snprintf(path, sizeof(path), "%s%s", dir, file);
        gr_wasm_error err;
        int r = check(path, &err);
        if (r < 0) {
            fprintf(stderr, "%s: cannot read %s\n", json, path);
            continue;
        }
        const char* what = NULL;
        if (want_valid) {
            c.valid_n++;
            if (r == 0)
                c.valid_ok++;
            else
                what = "valid module rejected";
        } else {
            unsigned* ok = want_invalid ? &c.invalid_ok : &c.malformed_ok;
            (*(want_invalid ? &c.invalid_n : &c.malformed_n))++;
            if (r != 0) {
                (*ok)++;
                if ((r == 2) != want_malformed) {
                    c.kind_differs++;
                    if (verbose)
                        printf("  note %s (%s \"%s\"): %s\n",
                               file,
                               type,
                               text,
                               err.message);
                }
            } else {
                what = "accepted";
            }
        }
        if (what != NULL)
            printf("  FAIL %s (%s%s%s%s): %s%s%s\n",
                   file,
                   type,
                   text[0] ? " \"" : "",
                   text,
                   text[0] ? "\"" : "",
                   what,
                   r != 0 ? ": " : "",
                   r != 0 ? err.message : "");
    }
    fclose(f);
    unsigned ok = c.valid_ok + c.invalid_ok + c.malformed_ok;
    unsigned n = c.valid_n + c.invalid_n + c.malformed_n;
    const char* base = strrchr(json, '/');
    printf("%-32s %5u/%-5u agree (valid %u/%u, invalid %u/%u, malformed "
           "%u/%u; %u rejected under the other kind)\n",
           base ? base + 1 : json,
           ok,
           n,
           c.valid_ok,
           c.valid_n,
           c.invalid_ok,
           c.invalid_n,
           c.malformed_ok,
           c.malformed_n,
           c.kind_differs);
    total->valid_ok += c.valid_ok;
    total->valid_n += c.valid_n;
    total->invalid_ok += c.invalid_ok;
    total->invalid_n += c.invalid_n;
    total->malformed_ok += c.malformed_ok;
    total->malformed_n += c.malformed_n;
    total->kind_differs += c.kind_differs;
    return ok == n ? 0 : 1;
}

int
main(int argc, char** argv)
{
    counts t = { 0 };
    int bad = 0, files = 0;
    if (argc > 1 && strcmp(argv[1], "-m") == 0) {
        for (int i = 2; i < argc; i++) {
            gr_wasm_error err;
            int r = check(argv[i], &err);
            printf("%s: %s\n",
                   argv[i],
                   r == 0  ? "ok"
                   : r < 0 ? "unreadable"
                           : err.message);
        }
        return 0;
    }
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-v") == 0) {
            verbose = 1;
            continue;
        }
        files++;
        if (run_file(argv[i], &t) != 0)
            bad++;
    }
    unsigned ok = t.valid_ok + t.invalid_ok + t.malformed_ok;
    unsigned n = t.valid_n + t.invalid_n + t.malformed_n;
    printf("TOTAL %d files: %u/%u agree (valid %u/%u, invalid %u/%u, "
           "malformed %u/%u; %u rejected under the other kind); %d file(s) "
           "with disagreements\n",
           files,
           ok,
           n,
           t.valid_ok,
           t.valid_n,
           t.invalid_ok,
           t.invalid_n,
           t.malformed_ok,
           t.malformed_n,
           t.kind_differs,
           bad);
    return bad == 0 ? 0 : 1;
}
