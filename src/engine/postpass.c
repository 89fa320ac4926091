/* SPDX-License-Identifier: Apache-2.0 */
/* Text passes over the C that wasm2c 1.0.32 writes: (1) keep the linear
 * memory base in a local in every function (valid because Granary's memory
 * never moves), and (2) split the single big file into parts that several
 * compiler processes can build at once. Both rely only on wasm2c's stable
 * layout: a prelude, then top-level items that start in column 0. */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/codegen.h"
#include "util/alloc.h"
#include "util/fs.h"

void
gr__codegen_buf_add(struct gr__codegen_buf* b, const char* s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n + 1)
            cap *= 2;
        char* d = gr_realloc(b->data, cap);
        if (!d) {
            b->oom = 1;
            return;
        }
        b->data = d;
        b->cap = cap;
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = 0;
}

void
gr__codegen_buf_puts(struct gr__codegen_buf* b, const char* s)
{
    gr__codegen_buf_add(b, s, strlen(s));
}

void
gr__codegen_buf_printf(struct gr__codegen_buf* b, const char* fmt, ...)
{
    char small[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->oom = 1;
        return;
    }
    if ((size_t)n < sizeof small) {
        gr__codegen_buf_add(b, small, (size_t)n);
        return;
    }
    char* big = gr_malloc((size_t)n + 1);
    if (!big) {
        b->oom = 1;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    gr__codegen_buf_add(b, big, (size_t)n);
    gr_free(big);
}

void
gr__codegen_buf_fini(struct gr__codegen_buf* b)
{
    gr_free(b->data);
    memset(b, 0, sizeof *b);
}

int
gr__codegen_err(int rc, char* err, size_t errlen, const char* fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return rc;
}

/* Base-pointer accessors used by the rewritten functions. The empty asm
 * keeps each load alive like wasm2c's own accessors do, so a dead load
 * from a guard page still traps. */
static const char cachebase_prologue[] =
  "\n/* Granary post-pass: memory accessors on a cached base pointer. */\n"
  "#if WABT_BIG_ENDIAN\n#error \"granary post-pass assumes little endian\"\n"
  "#endif\n"
  /* Float results stay in vector registers: an "r" constraint would force
   * a move to a general register (and spills in tight loops). */
  "#if defined(__x86_64__)\n#define GR_KEEP_F(r) wasm_asm(\"\" ::\"x\"(r))\n"
  "#elif defined(__aarch64__)\n#define GR_KEEP_F(r) wasm_asm(\"\" ::\"w\"(r))\n"
  "#else\n#define GR_KEEP_F(r) wasm_asm(\"\" ::\"r\"(r))\n#endif\n"
  "#define GR_KEEP_I(r) wasm_asm(\"\" ::\"r\"(r))\n"
  "#define GR_LOAD_B(name, t1, t2, t3, keep)                 \\\n"
  "  static inline t3 name##_b(u8* b, u64 a) {               \\\n"
  "    t1 r;                                                 \\\n"
  "    memcpy(&r, b + a, sizeof(t1));                        \\\n"
  "    keep(r);                                              \\\n"
  "    return (t3)(t2)r;                                     \\\n"
  "  }\n"
  "#define GR_STORE_B(name, t1, t2)                          \\\n"
  "  static inline void name##_b(u8* b, u64 a, t2 v) {       \\\n"
  "    t1 w = (t1)v;                                         \\\n"
  "    memcpy(b + a, &w, sizeof(t1));                        \\\n"
  "  }\n"
  "GR_LOAD_B(i32_load, u32, u32, u32, GR_KEEP_I)\n"
  "GR_LOAD_B(i64_load, u64, u64, u64, GR_KEEP_I)\n"
  "GR_LOAD_B(f32_load, f32, f32, f32, GR_KEEP_F)\n"
  "GR_LOAD_B(f64_load, f64, f64, f64, GR_KEEP_F)\n"
  "GR_LOAD_B(i32_load8_s, s8, s32, u32, GR_KEEP_I)\n"
  "GR_LOAD_B(i64_load8_s, s8, s64, u64, GR_KEEP_I)\n"
  "GR_LOAD_B(i32_load8_u, u8, u32, u32, GR_KEEP_I)\n"
  "GR_LOAD_B(i64_load8_u, u8, u64, u64, GR_KEEP_I)\n"
  "GR_LOAD_B(i32_load16_s, s16, s32, u32, GR_KEEP_I)\n"
  "GR_LOAD_B(i64_load16_s, s16, s64, u64, GR_KEEP_I)\n"
  "GR_LOAD_B(i32_load16_u, u16, u32, u32, GR_KEEP_I)\n"
  "GR_LOAD_B(i64_load16_u, u16, u64, u64, GR_KEEP_I)\n"
  "GR_LOAD_B(i64_load32_s, s32, s64, u64, GR_KEEP_I)\n"
  "GR_LOAD_B(i64_load32_u, u32, u64, u64, GR_KEEP_I)\n"
  "GR_STORE_B(i32_store, u32, u32)\nGR_STORE_B(i64_store, u64, u64)\n"
  "GR_STORE_B(f32_store, f32, f32)\nGR_STORE_B(f64_store, f64, f64)\n"
  "GR_STORE_B(i32_store8, u8, u32)\nGR_STORE_B(i32_store16, u16, u32)\n"
  "GR_STORE_B(i64_store8, u8, u64)\nGR_STORE_B(i64_store16, u16, u64)\n"
  "GR_STORE_B(i64_store32, u32, u64)\n\n";

/* The first item after the prelude in every wasm2c 1.0.32 output. */
static const char prelude_end[] = "\nstatic bool s_module_initialized";

enum item_kind
{
    ITEM_OTHER,  /* non-static definitions: exports, init, free */
    ITEM_FWD,    /* static function forward declaration */
    ITEM_FUNC,   /* static function definition */
    ITEM_OBJECT, /* static object (tables, data segments, func_types) */
    ITEM_HEADER, /* preprocessor lines, typedefs */
};

struct item
{
    const char* p; /* text including leading comments, through the '\n' */
    size_t n;
    size_t decl; /* offset of the first non-comment line within p */
    enum item_kind kind;
    char name[128];
    int part;
};

/* Splits [s, e) into top-level items by tracking brace depth outside
 * comments, string and character literals; an item ends at the first
 * newline at depth 0 after a ';' or '}' outside comments. */
static int
split_items(const char* s, const char* e, struct item** out, size_t* n_out)
{
    struct item* v = NULL;
    size_t n = 0, cap = 0;
    const char* start = s;
    const char* decl = NULL;
    int depth = 0, in_comment = 0, ended = 0;
    for (const char* p = s; p < e; p++) {
        char c = *p;
        if (in_comment) {
            if (c == '*' && p + 1 < e && p[1] == '/') {
                in_comment = 0;
                p++;
            }
            continue;
        }
        if (c == '/' && p + 1 < e && p[1] == '*') {
            in_comment = 1;
            p++;
            continue;
        }
        if (c == '/' && p + 1 < e && p[1] == '/') {
            while (p + 1 < e && p[1] != '\n')
                p++;
            continue;
        }
        if (c == '"' || c == '\'') {
            for (p++; p < e && *p != c; p++)
                if (*p == '\\')
                    p++;
            continue;
        }
        if (c == '#' && (p == s || p[-1] == '\n') && depth == 0) {
            /* A preprocessor line (with continuations) is an item. */
            if (!decl)
                decl = p;
            while (p + 1 < e && !(p[1] == '\n' && p[0] != '\\'))
                p++;
            ended = 1;
            continue;
        }
        if (c == ' ' || c == '\t' || c == '\r')
            continue;
        if (c == '\n') {
            if (depth == 0 && ended) {
                if (n == cap) {
                    cap = cap ? cap * 2 : 1024;
                    struct item* nv = gr_realloc(v, cap * sizeof *nv);
                    if (!nv) {
                        gr_free(v);
                        return -ENOMEM;
                    }
                    v = nv;
                }
                memset(&v[n], 0, sizeof v[n]);
                v[n].p = start;
                v[n].n = (size_t)(p + 1 - start);
                v[n].decl = (size_t)(decl - start);
                n++;
                start = p + 1;
                decl = NULL;
                ended = 0;
            }
            continue;
        }
        if (!decl)
            decl = p;
        if (c == '{')
            depth++;
        else if (c == '}')
            depth--;
        ended = depth == 0 && (c == ';' || c == '}');
    }
    if (start < e && decl) /* an unterminated tail: keep it verbatim */
    {
        struct item* nv = gr_realloc(v, (n + 1) * sizeof *nv);
        if (!nv) {
            gr_free(v);
            return -ENOMEM;
        }
        v = nv;
        memset(&v[n], 0, sizeof v[n]);
        v[n].p = start;
        v[n].n = (size_t)(e - start);
        v[n].decl = (size_t)(decl - start);
        v[n].kind = ITEM_OTHER;
        n++;
    }
    *out = v;
    *n_out = n;
    return 0;
}

static int
is_ident(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '_';
}

static void
classify(struct item* it)
{
    const char* d = it->p + it->decl;
    size_t n = it->n - it->decl;
    const char* eol = memchr(d, '\n', n);
    size_t ln = eol ? (size_t)(eol - d) : n;
    const char* paren = memchr(d, '(', ln);
    const char* eq = memchr(d, '=', ln);
    /* extern: a data segment moved out of the C (datasec.c); every part
     * may refer to it, so it goes to the shared header. */
    if (*d == '#' || strncmp(d, "typedef ", 8) == 0 ||
        strncmp(d, "struct ", 7) == 0 || strncmp(d, "extern ", 7) == 0) {
        it->kind = ITEM_HEADER;
        return;
    }
    int is_static = strncmp(d, "static ", 7) == 0;
    if (paren && (!eq || paren < eq)) {
        const char* q = paren;
        while (q > d && !is_ident(q[-1]))
            q--;
        const char* nm = q;
        while (nm > d && is_ident(nm[-1]))
            nm--;
        size_t k = (size_t)(q - nm);
        if (k >= sizeof it->name)
            k = sizeof it->name - 1;
        memcpy(it->name, nm, k);
        it->name[k] = 0;
        int fwd = ln >= 2 && d[ln - 1] == ';' && d[ln - 2] == ')';
        if (is_static)
            it->kind = fwd ? ITEM_FWD : ITEM_FUNC;
        else
            it->kind = ITEM_OTHER;
        return;
    }
    it->kind = is_static ? ITEM_OBJECT : ITEM_OTHER;
}

/* Appends a function definition, rewriting memory accessors on
 * &instance-><mem> to the cached-base versions when asked. */
static void
emit_func(struct gr__codegen_buf* b,
          const struct item* it,
          const char* mem_field,
          int strip_static)
{
    const char* p = it->p;
    const char* e = it->p + it->n;
    const char* decl = it->p + it->decl;
    gr__codegen_buf_add(b, p, (size_t)(decl - p));
    p = decl;
    if (strip_static && strncmp(p, "static ", 7) == 0)
        p += 7;
    if (!mem_field || strncmp(it->name, "w2c_", 4) != 0) {
        gr__codegen_buf_add(b, p, (size_t)(e - p));
        return;
    }
    char pat[160];
    int pl = snprintf(pat, sizeof pat, "(&instance->%s, ", mem_field);
    if (pl <= 0 || (size_t)pl >= sizeof pat) {
        gr__codegen_buf_add(b, p, (size_t)(e - p));
        return;
    }
    const char* body = memchr(p, '{', (size_t)(e - p));
    if (!body || !memmem(body, (size_t)(e - body), pat, (size_t)pl)) {
        gr__codegen_buf_add(b, p, (size_t)(e - p));
        return;
    }
    const char* eol = memchr(body, '\n', (size_t)(e - body));
    if (!eol) {
        gr__codegen_buf_add(b, p, (size_t)(e - p));
        return;
    }
    gr__codegen_buf_add(b, p, (size_t)(eol + 1 - p));
    gr__codegen_buf_printf(
      b, "  u8* const wbase = instance->%s.data;\n", mem_field);
    p = eol + 1;
    const char* hit;
    while ((hit = memmem(p, (size_t)(e - p), pat, (size_t)pl)) != NULL) {
        /* The accessor name just before '(' decides: only plain loads and
         * stores ([if](32|64)_(load|store)...) take the cached base. */
        const char* nm = hit;
        while (nm > p && is_ident(nm[-1]))
            nm--;
        size_t k = (size_t)(hit - nm);
        int ok = k >= 8 && (nm[0] == 'i' || nm[0] == 'f') &&
                 (strncmp(nm + 1, "32_load", 7) == 0 ||
                  strncmp(nm + 1, "64_load", 7) == 0 ||
                  strncmp(nm + 1, "32_store", 8) == 0 ||
                  strncmp(nm + 1, "64_store", 8) == 0);
        gr__codegen_buf_add(b, p, (size_t)(hit - p));
        if (ok)
            gr__codegen_buf_puts(b, "_b(wbase, ");
        else
            gr__codegen_buf_add(b, hit, (size_t)pl);
        p = hit + pl;
    }
    gr__codegen_buf_add(b, p, (size_t)(e - p));
}

/* "static const u8 x[] = {...};" -> "extern const u8 x[];" */
static void
emit_extern(struct gr__codegen_buf* b, const struct item* it)
{
    const char* d = it->p + it->decl + 7; /* after "static " */
    const char* e = it->p + it->n;
    const char* stop = d;
    while (stop < e && *stop != '=' && *stop != ';')
        stop++;
    while (stop > d && (stop[-1] == ' ' || stop[-1] == '\n'))
        stop--;
    gr__codegen_buf_puts(b, "extern ");
    gr__codegen_buf_add(b, d, (size_t)(stop - d));
    gr__codegen_buf_puts(b, ";\n");
}

static int
write_file(const char* dir,
           const char* name,
           struct gr__codegen_buf* b,
           char** names,
           size_t* n_names)
{
    if (b->oom)
        return -ENOMEM;
    char path[PATH_MAX];
    if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path)
        return -ENAMETOOLONG;
    int rc = gr_fs_write_atomic(path, b->data ? b->data : "", b->len);
    if (rc < 0)
        return rc;
    if (names) {
        if (!(names[*n_names] = gr_strdup(name)))
            return -ENOMEM;
        (*n_names)++;
    }
    return 0;
}

/* Assigns function bodies to parts, largest first onto the lightest part
 * (part 0 starts with the weight of the data and init code it holds). */
static void
balance(struct item* items, size_t n, int parts, size_t part0_load)
{
    size_t* load = gr_calloc((size_t)parts, sizeof *load);
    size_t* order = gr_malloc((n ? n : 1) * sizeof *order);
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (items[i].kind == ITEM_FUNC &&
            strncmp(items[i].name, "w2c_", 4) == 0)
            order[m++] = i;
    if (!load || !order) {
        /* Out of memory while balancing: round-robin needs nothing. */
        for (size_t i = 0, k = 0; i < n; i++)
            if (items[i].kind == ITEM_FUNC &&
                strncmp(items[i].name, "w2c_", 4) == 0)
                items[i].part = (int)(k++ % (size_t)parts);
        gr_free(load);
        gr_free(order);
        return;
    }
    load[0] = part0_load;
    /* Largest first without sorting: walk the sizes by power-of-two
     * bucket, which is close enough to LPT order for balancing. */
    for (int bucket = 40; bucket >= 0; bucket--)
        for (size_t j = 0; j < m; j++) {
            struct item* it = &items[order[j]];
            size_t sz = it->n;
            int lg = 0;
            while (sz >>= 1)
                lg++;
            if (lg != bucket)
                continue;
            int best = 0;
            for (int k = 1; k < parts; k++)
                if (load[k] < load[best])
                    best = k;
            it->part = best;
            load[best] += it->n;
        }
    gr_free(load);
    gr_free(order);
}

int
gr__codegen_transform(const char* src,
                      size_t len,
                      const struct gr__codegen_xform* x,
                      const char* dir,
                      char*** names_out,
                      size_t* n_names)
{
    int parts = x->parts > 1 ? x->parts : 1;
    const char* mark = memmem(src, len, prelude_end, sizeof prelude_end - 1);
    const char* mem = x->cachebase ? x->mem_field : NULL;
    char** names = gr_calloc((size_t)parts + 2, sizeof *names);
    struct item* items = NULL;
    size_t n_items = 0;
    struct gr__codegen_buf b = { 0 };
    int rc = 0;
    *n_names = 0;
    if (!names)
        return -ENOMEM;
    if (!mark) {
        /* Not the layout we know: compile it untouched, in one piece. */
        gr__codegen_buf_add(&b, src, len);
        rc = write_file(dir, "module.c", &b, names, n_names);
        goto done;
    }
    const char* body = mark + 1;
    rc = split_items(body, src + len, &items, &n_items);
    if (rc < 0)
        goto done;
    for (size_t i = 0; i < n_items; i++)
        classify(&items[i]);

    if (parts == 1) {
        gr__codegen_buf_add(&b, src, (size_t)(body - src));
        if (mem)
            gr__codegen_buf_puts(&b, cachebase_prologue);
        for (size_t i = 0; i < n_items; i++) {
            if (items[i].kind == ITEM_FUNC)
                emit_func(&b, &items[i], mem, 0);
            else
                gr__codegen_buf_add(&b, items[i].p, items[i].n);
        }
        rc = write_file(dir, "module.c", &b, names, n_names);
        goto done;
    }

    /* common.h: the prelude, the accessors, and every declaration a part
     * may need, with file-static linkage turned into hidden extern (the
     * whole object is built with -fvisibility=hidden). */
    gr__codegen_buf_puts(&b, "#ifndef GR_COMMON_H\n#define GR_COMMON_H\n");
    gr__codegen_buf_add(&b, src, (size_t)(body - src));
    if (mem)
        gr__codegen_buf_puts(&b, cachebase_prologue);
    size_t part0_load = 0;
    for (size_t i = 0; i < n_items; i++) {
        struct item* it = &items[i];
        if (it->kind == ITEM_HEADER)
            gr__codegen_buf_add(&b, it->p, it->n);
        else if (it->kind == ITEM_FWD)
            gr__codegen_buf_add(&b, it->p + it->decl + 7, it->n - it->decl - 7);
        else if (it->kind == ITEM_OBJECT)
            emit_extern(&b, it);
        if (it->kind == ITEM_OBJECT || it->kind == ITEM_OTHER ||
            (it->kind == ITEM_FUNC && strncmp(it->name, "w2c_", 4) != 0))
            part0_load += it->kind == ITEM_OBJECT ? it->n / 8 : it->n;
    }
    gr__codegen_buf_puts(&b, "#endif\n");
    if ((rc = write_file(dir, "common.h", &b, NULL, NULL)) < 0)
        goto done;

    balance(items, n_items, parts, part0_load);
    for (int k = 0; k < parts; k++) {
        b.len = 0;
        gr__codegen_buf_puts(&b, "#include \"common.h\"\n\n");
        for (size_t i = 0; i < n_items; i++) {
            struct item* it = &items[i];
            int w2c_fn =
              it->kind == ITEM_FUNC && strncmp(it->name, "w2c_", 4) == 0;
            if (w2c_fn && it->part == k) {
                emit_func(&b, it, mem, 1);
            } else if (k == 0 && it->kind == ITEM_OBJECT) {
                gr__codegen_buf_add(&b, it->p, it->decl);
                gr__codegen_buf_add(
                  &b, it->p + it->decl + 7, it->n - it->decl - 7);
            } else if (k == 0 && it->kind == ITEM_FUNC && !w2c_fn) {
                emit_func(&b, it, NULL, 1);
            } else if (k == 0 && it->kind == ITEM_OTHER) {
                gr__codegen_buf_add(&b, it->p, it->n);
            }
        }
        char nm[32];
        snprintf(nm, sizeof nm, "part%d.c", k);
        if ((rc = write_file(dir, nm, &b, names, n_names)) < 0)
            goto done;
    }
done:
    gr__codegen_buf_fini(&b);
    gr_free(items);
    if (rc < 0) {
        for (size_t i = 0; i < *n_names; i++)
            gr_free(names[i]);
        gr_free(names);
        *n_names = 0;
        return rc;
    }
    *names_out = names;
    return 0;
}
