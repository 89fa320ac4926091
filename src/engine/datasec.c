/* SPDX-License-Identifier: Apache-2.0 */
/* Data segments as data: wasm2c writes each data segment as a C byte-array
 * literal, which the C compiler parses at great cost (a 64 MiB segment is
 * ~400 MB of C). This pass streams wasm2c's module.c, writes each
 * segment's bytes to a file of its own and an assembler file that includes
 * them with .incbin, and leaves an extern declaration in the C. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/codegen.h"
#include "util/alloc.h"
#include "util/text.h"

static const char seg_prefix[] = "static const u8 data_segment_data_";
static const char seg_suffix[] = "[] = {";

/* Parses one line of "0x68, 0x65, ..." into out (at most n bytes: a line
 * never holds more than its length / 4). Returns the count, or -1 when the
 * line is not in that form. */
static long
parse_bytes(const char* p, size_t n, unsigned char* out)
{
    long k = 0;
    size_t i = 0;
    while (i < n) {
        char c = p[i];
        if (c == ' ' || c == '\t' || c == ',' || c == '\n' || c == '\r') {
            i++;
            continue;
        }
        if (c != '0' || i + 2 >= n || (p[i + 1] != 'x' && p[i + 1] != 'X'))
            return -1;
        i += 2;
        int v = 0, digits = 0;
        while (i < n && gr_hex_digit(p[i]) >= 0 && digits < 2) {
            v = v * 16 + gr_hex_digit(p[i]);
            i++;
            digits++;
        }
        if (!digits)
            return -1;
        out[k++] = (unsigned char)v;
    }
    return k;
}

/* Writes s as a gas string literal body: anything but plain printable
 * characters as an octal escape, so any directory name is safe. */
static void
put_gas_string(FILE* f, const char* s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\')
            fprintf(f, "\\%03o", c);
        else
            fputc(c, f);
    }
}

static int
valid_symbol(const char* s, size_t n)
{
    if (!n)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '_'))
            return 0;
    }
    return 1;
}

int
gr__codegen_extract_data(const char* dir,
                         size_t* n_segments,
                         size_t* data_bytes)
{
    char src[PATH_MAX], dst[PATH_MAX], asm_path[PATH_MAX], bin[PATH_MAX];
    FILE *in = NULL, *out = NULL, *as = NULL, *seg = NULL;
    char* line = NULL;
    unsigned char* bytes = NULL;
    size_t cap = 0, n_seg = 0, total = 0;
    int rc = 0;
    *n_segments = 0;
    if (data_bytes)
        *data_bytes = 0;
    if (snprintf(src, sizeof src, "%s/module.c", dir) >= (int)sizeof src ||
        snprintf(dst, sizeof dst, "%s/module.c.new", dir) >= (int)sizeof dst ||
        snprintf(asm_path, sizeof asm_path, "%s/data.s", dir) >=
          (int)sizeof asm_path)
        return -ENAMETOOLONG;
    if (!(in = fopen(src, "re")) || !(out = fopen(dst, "we"))) {
        rc = -errno;
        goto done;
    }
    ssize_t len;
    while ((len = getline(&line, &cap, in)) > 0) {
        size_t n = (size_t)len;
        size_t pl = sizeof seg_prefix - 1, sl = sizeof seg_suffix - 1;
        const char* name = line + sizeof "static const u8 " - 1;
        const char* br = memchr(line, '[', n);
        if (n < pl + sl || memcmp(line, seg_prefix, pl) != 0 || !br ||
            strncmp(br, seg_suffix, sl) != 0 ||
            !valid_symbol(name, (size_t)(br - name))) {
            if (fwrite(line, 1, n, out) != n) {
                rc = -EIO;
                goto done;
            }
            continue;
        }
        /* Copied: the next getline reuses the line buffer. */
        char sym[128];
        int sym_len = (int)(br - name);
        if ((size_t)sym_len >= sizeof sym) {
            rc = -ENAMETOOLONG;
            goto done;
        }
        memcpy(sym, name, (size_t)sym_len);
        sym[sym_len] = 0;
        name = sym;
        if (!as) {
            if (!(as = fopen(asm_path, "we"))) {
                rc = -errno;
                goto done;
            }
            fputs("# Granary: wasm data segments (see datasec.c).\n", as);
        }
        if (snprintf(bin, sizeof bin, "%s/%.*s.bin", dir, sym_len, name) >=
            (int)sizeof bin) {
            rc = -ENAMETOOLONG;
            goto done;
        }
        if (!(seg = fopen(bin, "we"))) {
            rc = -errno;
            goto done;
        }
        int closed = 0;
        while ((len = getline(&line, &cap, in)) > 0) {
            const char* p = line;
            while (*p == ' ' || *p == '\t')
                p++;
            if (p[0] == '}' && p[1] == ';') {
                closed = 1;
                break;
            }
            unsigned char* nb = gr_realloc(bytes, cap);
            if (!nb) {
                rc = -ENOMEM;
                goto done;
            }
            bytes = nb;
            long k = parse_bytes(line, (size_t)len, bytes);
            if (k < 0) {
                rc = -EINVAL; /* not the layout wasm2c 1.0.32 writes */
                goto done;
            }
            if (fwrite(bytes, 1, (size_t)k, seg) != (size_t)k) {
                rc = -EIO;
                goto done;
            }
            total += (size_t)k;
        }
        if (!closed) {
            rc = -EINVAL;
            goto done;
        }
        if (fclose(seg) != 0) {
            seg = NULL;
            rc = -EIO;
            goto done;
        }
        seg = NULL;
        fprintf(as,
                "\t.section .rodata.%.*s,\"a\"\n"
                "\t.globl %.*s\n\t.hidden %.*s\n\t.type %.*s, %%object\n"
                "\t.balign 16\n%.*s:\n\t.incbin \"",
                sym_len,
                name,
                sym_len,
                name,
                sym_len,
                name,
                sym_len,
                name,
                sym_len,
                name);
        put_gas_string(as, bin);
        fprintf(
          as, "\"\n\t.size %.*s, . - %.*s\n", sym_len, name, sym_len, name);
        fprintf(
          out,
          "extern const u8 %.*s[] __attribute__((visibility(\"hidden\")));"
          "\n",
          sym_len,
          name);
        n_seg++;
    }
    if (ferror(in))
        rc = -EIO;
done:
    if (as) {
        fputs("\t.section .note.GNU-stack,\"\",%progbits\n", as);
        if (fclose(as) != 0 && !rc)
            rc = -EIO;
    }
    if (seg)
        fclose(seg);
    if (out && fclose(out) != 0 && !rc)
        rc = -EIO;
    if (in)
        fclose(in);
    free(line);
    gr_free(bytes);
    if (!rc && rename(dst, src) < 0)
        rc = -errno;
    if (rc) {
        unlink(dst);
        return rc;
    }
    *n_segments = n_seg;
    if (data_bytes)
        *data_bytes = total;
    return 0;
}
