/* SPDX-License-Identifier: Apache-2.0 */
/* Reads the header wasm2c 1.0.32 generates (instance struct, import and
 * export comments) and writes the small shim.c that gives every object the
 * fixed `granary_shim` entry point of shim.h. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "engine/codegen.h"
#include "granary/status.h"
#include "util/alloc.h"

/* One line of the header, not NUL-terminated. */
struct line
{
    const char* p;
    size_t n;
};

static int
next_line(const char** cur, struct line* l)
{
    const char* s = *cur;
    if (!*s)
        return 0;
    const char* e = strchr(s, '\n');
    l->p = s;
    l->n = e ? (size_t)(e - s) : strlen(s);
    *cur = e ? e + 1 : s + l->n;
    return 1;
}

static int
line_starts(const struct line* l, const char* prefix)
{
    size_t n = strlen(prefix);
    return l->n >= n && memcmp(l->p, prefix, n) == 0;
}

static void
trim(const char** p, size_t* n)
{
    while (*n && (**p == ' ' || **p == '\t')) {
        (*p)++;
        (*n)--;
    }
    while (*n && ((*p)[*n - 1] == ' ' || (*p)[*n - 1] == '\t' ||
                  (*p)[*n - 1] == '\r'))
        (*n)--;
}

/* Maps a wasm2c C type to signature letters; "" for void. Returns 0 on
 * success, -1 for types a signature can not express (references). */
static int
type_letters(const char* t, size_t n, char* out, size_t cap)
{
    trim(&t, &n);
    out[0] = 0;
    if (n == 4 && memcmp(t, "void", 4) == 0)
        return 0;
    const char* one = NULL;
    if (n == 3 && memcmp(t, "u32", 3) == 0)
        one = "i";
    else if (n == 3 && memcmp(t, "u64", 3) == 0)
        one = "I";
    else if (n == 3 && memcmp(t, "f32", 3) == 0)
        one = "f";
    else if (n == 3 && memcmp(t, "f64", 3) == 0)
        one = "F";
    if (one) {
        snprintf(out, cap, "%s", one);
        return 0;
    }
    /* Multi-value results: struct wasm_multi_<i|j|f|d>... */
    static const char pre[] = "struct wasm_multi_";
    if (n > sizeof pre - 1 && memcmp(t, pre, sizeof pre - 1) == 0) {
        size_t k = 0;
        for (size_t i = sizeof pre - 1; i < n; i++) {
            char c;
            switch (t[i]) {
                case 'i':
                    c = 'i';
                    break;
                case 'j':
                    c = 'I';
                    break;
                case 'f':
                    c = 'f';
                    break;
                case 'd':
                    c = 'F';
                    break;
                default:
                    return -1;
            }
            if (k + 1 >= cap)
                return -1;
            out[k++] = c;
        }
        out[k] = 0;
        return 0;
    }
    return -1;
}

/* Parses "<ret> <sym>(<first>, <params...>);" into sym and sig. Returns
 * 0, -1 when the line is not a function of a supported signature. */
static int
parse_decl(const struct line* l, char** sym, char* sig, size_t cap)
{
    const char* p = l->p;
    size_t n = l->n;
    trim(&p, &n);
    if (n > 7 && memcmp(p, "extern ", 7) == 0) {
        p += 7;
        n -= 7;
    }
    const char* open = memchr(p, '(', n);
    const char* close = open ? memchr(open, ')', n - (size_t)(open - p)) : NULL;
    if (!open || !close)
        return -1;
    const char* s = open;
    while (s > p && s[-1] != ' ' && s[-1] != '*')
        s--;
    if (s == p)
        return -1;
    char res[32];
    if (type_letters(p, (size_t)(s - p), res, sizeof res) < 0)
        return -1;
    size_t k = 0;
    const char* a = open + 1;
    int first = 1;
    while (a < close) {
        const char* c = memchr(a, ',', (size_t)(close - a));
        const char* e = c ? c : close;
        if (!first) {
            char t[32];
            if (type_letters(a, (size_t)(e - a), t, sizeof t) < 0 ||
                strlen(t) != 1 || k + 2 >= cap)
                return -1;
            sig[k++] = t[0];
        }
        first = 0;
        a = e + 1;
    }
    if (k + strlen(res) + 2 > cap)
        return -1;
    sig[k++] = '>';
    memcpy(sig + k, res, strlen(res) + 1);
    *sym = gr_strndup(s, (size_t)(open - s));
    return *sym ? 0 : -ENOMEM;
}

/* Reads the quoted names of "/ * import: 'mod' 'name' * /" or
 * "/ * export: 'name' * /". */
static int
parse_names(const struct line* l, char** a, char** b)
{
    const char* p = memchr(l->p, '\'', l->n);
    const char* end = l->p + l->n;
    const char* tail = end;
    /* The names sit between the first and the last single quote of the
     * comment, separated by quote-space-quote for imports. */
    while (tail > p && tail[-1] != '\'')
        tail--;
    if (!p || tail <= p + 1)
        return -1;
    const char* inner = p + 1;
    size_t n = (size_t)(tail - 1 - inner);
    if (b) {
        const char* sep = NULL;
        for (size_t i = 0; i + 3 <= n; i++)
            if (memcmp(inner + i, "' '", 3) == 0) {
                sep = inner + i;
                break;
            }
        if (!sep)
            return -1;
        *a = gr_strndup(inner, (size_t)(sep - inner));
        *b = gr_strndup(sep + 3, n - (size_t)(sep - inner) - 3);
        return *a && *b ? 0 : -ENOMEM;
    }
    *a = gr_strndup(inner, n);
    return *a ? 0 : -ENOMEM;
}

static int
push_str(char*** arr, size_t* n, const char* s, size_t len)
{
    char** na = gr_realloc(*arr, (*n + 1) * sizeof *na);
    if (!na)
        return -ENOMEM;
    *arr = na;
    na[*n] = gr_strndup(s, len);
    if (!na[*n])
        return -ENOMEM;
    (*n)++;
    return 0;
}

static int
push_fn(struct gr__codegen_fn** arr, size_t* n, struct gr__codegen_fn* f)
{
    struct gr__codegen_fn* na = gr_realloc(*arr, (*n + 1) * sizeof *na);
    if (!na)
        return -ENOMEM;
    *arr = na;
    na[(*n)++] = *f;
    return 0;
}

static void
fn_fini(struct gr__codegen_fn* f)
{
    gr_free(f->module);
    gr_free(f->name);
    gr_free(f->sym);
}

/* One field line of the instance struct: "  <type> <name>;". */
static int
parse_field(struct gr__codegen_info* info,
            const struct line* l,
            int after_import,
            char* err,
            size_t errlen)
{
    const char* p = l->p;
    size_t n = l->n;
    trim(&p, &n);
    if (!n || p[n - 1] != ';')
        return 0;
    n--;
    const char* name = p + n;
    while (name > p && name[-1] != ' ' && name[-1] != '*')
        name--;
    size_t name_n = (size_t)(p + n - name);
    size_t type_n = (size_t)(name - p);
    const char* type = p;
    trim(&type, &type_n);
    int ptr = type_n && type[type_n - 1] == '*';
    if (after_import) {
        if (ptr && strncmp(type, "wasm_rt_memory_t", 16) == 0)
            return gr__codegen_err(
              GR_EINVALID_MODULE,
              err,
              errlen,
              "imported memory is not supported: the module must define "
              "its own memory (link without --import-memory)");
        return 1; /* an imported global or table */
    }
    if (ptr) {
        /* "struct Z_<mod>_instance_t* <field>": the context pointer an
         * imported module's functions receive. */
        if (type_n > 20 && memcmp(type, "struct Z_", 9) == 0 &&
            memcmp(type + type_n - 12, "_instance_t*", 12) == 0)
            return push_str(
              &info->ctx_fields, &info->n_ctx_fields, name, name_n);
        return 0;
    }
    if (type_n == 16 && memcmp(type, "wasm_rt_memory_t", 16) == 0) {
        if (!info->mem_field && !(info->mem_field = gr_strndup(name, name_n)))
            return -ENOMEM;
    } else if (type_n == 23 &&
               memcmp(type, "wasm_rt_funcref_table_t", 23) == 0) {
        return push_str(&info->tables, &info->n_tables, name, name_n);
    } else if (type_n == 3 && memcmp(type, "u32", 3) == 0 && name_n == 19 &&
               memcmp(name, "w2c___stack_pointer", 19) == 0) {
        if (!(info->sp_field = gr_strndup(name, name_n)))
            return -ENOMEM;
    }
    return 0;
}

/* "void Z_x_instantiate(Z_x_instance_t*, struct A*, struct B*);" */
static int
parse_instantiate(struct gr__codegen_info* info, const struct line* l)
{
    const char* open = memchr(l->p, '(', l->n);
    const char* close = memchr(l->p, ')', l->n);
    if (!open || !close || close < open)
        return 0;
    const char* a = open + 1;
    int first = 1;
    while (a < close) {
        const char* c = memchr(a, ',', (size_t)(close - a));
        const char* e = c ? c : close;
        if (!first) {
            const char* t = a;
            size_t n = (size_t)(e - a);
            trim(&t, &n);
            if (n && t[n - 1] == '*')
                n--;
            int rc = push_str(&info->inst_args, &info->n_inst_args, t, n);
            if (rc < 0)
                return rc;
        }
        first = 0;
        a = e + 1;
    }
    return 0;
}

int
gr__codegen_info_parse(const char* header,
                       const char* modname,
                       struct gr__codegen_info* info,
                       char* err,
                       size_t errlen)
{
    memset(info, 0, sizeof *info);
    char want_struct[160], want_inst[160];
    snprintf(want_struct,
             sizeof want_struct,
             "typedef struct Z_%s_instance_t",
             modname);
    snprintf(want_inst, sizeof want_inst, "void Z_%s_instantiate(", modname);
    int rc = 0;
    size_t plen = strlen(modname) + 3;
    if (!(info->prefix = gr_malloc(plen))) {
        rc = -ENOMEM;
        goto fail;
    }
    snprintf(info->prefix, plen, "Z_%s", modname);

    const char* cur = header;
    struct line l, comment = { "", 0 };
    int in_struct = 0, after_import = 0;
    while (next_line(&cur, &l)) {
        if (in_struct) {
            if (line_starts(&l, "}")) {
                in_struct = 0;
                continue;
            }
            const char* p = l.p;
            size_t n = l.n;
            trim(&p, &n);
            if (n > 10 && memcmp(p, "/* import:", 10) == 0) {
                after_import = 1;
                comment = l;
                continue;
            }
            rc = parse_field(info, &l, after_import, err, errlen);
            if (rc == 1) {
                char *m = NULL, *nm = NULL;
                parse_names(&comment, &m, &nm);
                rc = gr__codegen_err(GR_EIMPORT,
                                     err,
                                     errlen,
                                     "import %s.%s: imported globals and "
                                     "tables are not supported",
                                     m ? m : "?",
                                     nm ? nm : "?");
                gr_free(m);
                gr_free(nm);
            }
            if (rc < 0)
                goto fail;
            after_import = 0;
            continue;
        }
        if (line_starts(&l, want_struct)) {
            in_struct = 1;
        } else if (line_starts(&l, want_inst)) {
            if ((rc = parse_instantiate(info, &l)) < 0)
                goto fail;
        } else if (line_starts(&l, "/* import: ") ||
                   line_starts(&l, "/* export: ")) {
            int imp = l.p[3] == 'i';
            struct line decl;
            if (!next_line(&cur, &decl))
                break;
            struct gr__codegen_fn f;
            memset(&f, 0, sizeof f);
            rc = imp ? parse_names(&l, &f.module, &f.name)
                     : parse_names(&l, &f.name, NULL);
            if (rc == 0 && parse_decl(&decl, &f.sym, f.sig, sizeof f.sig) < 0)
                rc = 1; /* not a function (or unexpressible signature) */
            if (rc < 0 || (rc == 1 && imp)) {
                if (rc == 1)
                    rc = gr__codegen_err(
                      GR_EIMPORT,
                      err,
                      errlen,
                      "import %s.%s: only function imports with i32/i64/"
                      "f32/f64 values are supported",
                      f.module ? f.module : "?",
                      f.name ? f.name : "?");
                fn_fini(&f);
                goto fail;
            }
            if (rc == 1) { /* memory, global or table export: not listed */
                fn_fini(&f);
                rc = 0;
                continue;
            }
            rc = imp ? push_fn(&info->imports, &info->n_imports, &f)
                     : push_fn(&info->exports, &info->n_exports, &f);
            if (rc < 0) {
                fn_fini(&f);
                goto fail;
            }
        }
    }
    return 0;
fail:
    gr__codegen_info_fini(info);
    return rc;
}

void
gr__codegen_info_fini(struct gr__codegen_info* info)
{
    gr_free(info->prefix);
    gr_free(info->mem_field);
    gr_free(info->sp_field);
    for (size_t i = 0; i < info->n_tables; i++)
        gr_free(info->tables[i]);
    gr_free(info->tables);
    for (size_t i = 0; i < info->n_ctx_fields; i++)
        gr_free(info->ctx_fields[i]);
    gr_free(info->ctx_fields);
    for (size_t i = 0; i < info->n_inst_args; i++)
        gr_free(info->inst_args[i]);
    gr_free(info->inst_args);
    for (size_t i = 0; i < info->n_imports; i++)
        fn_fini(&info->imports[i]);
    gr_free(info->imports);
    for (size_t i = 0; i < info->n_exports; i++)
        fn_fini(&info->exports[i]);
    gr_free(info->exports);
    memset(info, 0, sizeof *info);
}

/* Emits s as a C string literal; bytes outside printable ASCII become
 * octal escapes so any wasm name survives. */
static void
put_cstr(struct gr__codegen_buf* b, const char* s)
{
    gr__codegen_buf_puts(b, "\"");
    for (const unsigned char* p = (const unsigned char*)s; *p; p++) {
        if (*p == '"' || *p == '\\' || *p == '?' || *p < 0x20 || *p > 0x7e)
            gr__codegen_buf_printf(b, "\\%03o", *p);
        else
            gr__codegen_buf_add(b, (const char*)p, 1);
    }
    gr__codegen_buf_puts(b, "\"");
}

void
gr__codegen_shim_source(const struct gr__codegen_info* info,
                        struct gr__codegen_buf* b)
{
    const char* z = info->prefix;
    gr__codegen_buf_printf(
      b,
      "/* Generated by Granary: the fixed entry point of this object. */\n"
      "#include <stddef.h>\n#include \"module.h\"\n"
      "#include \"engine/shim.h\"\n\n"
      "static void\ngr_shim_inst(void* i, void* host)\n{\n"
      "    (void)host;\n    %s_instantiate((%s_instance_t*)i",
      z,
      z);
    for (size_t i = 0; i < info->n_inst_args; i++)
        gr__codegen_buf_printf(b, ", (%s*)host", info->inst_args[i]);
    gr__codegen_buf_printf(b,
                           ");\n}\n\nstatic void\ngr_shim_free(void* i)\n{\n"
                           "    %s_free((%s_instance_t*)i);\n}\n\n",
                           z,
                           z);
    if (info->n_tables) {
        gr__codegen_buf_puts(b, "static const size_t gr_shim_tables[] = {\n");
        for (size_t i = 0; i < info->n_tables; i++)
            gr__codegen_buf_printf(
              b, "    offsetof(%s_instance_t, %s),\n", z, info->tables[i]);
        gr__codegen_buf_puts(b, "};\n");
    }
    if (info->n_ctx_fields) {
        gr__codegen_buf_puts(b, "static const size_t gr_shim_ctx[] = {\n");
        for (size_t i = 0; i < info->n_ctx_fields; i++)
            gr__codegen_buf_printf(
              b, "    offsetof(%s_instance_t, %s),\n", z, info->ctx_fields[i]);
        gr__codegen_buf_puts(b, "};\n");
    }
    if (info->n_exports) {
        gr__codegen_buf_puts(
          b, "static const struct gr_shim_export gr_shim_exports[] = {\n");
        for (size_t i = 0; i < info->n_exports; i++) {
            const struct gr__codegen_fn* f = &info->exports[i];
            gr__codegen_buf_puts(b, "    { ");
            put_cstr(b, f->name);
            gr__codegen_buf_puts(b, ", ");
            put_cstr(b, f->sig);
            gr__codegen_buf_printf(
              b, ", (wasm_rt_function_ptr_t)&%s },\n", f->sym);
        }
        gr__codegen_buf_puts(b, "};\n");
    }
    if (info->n_imports) {
        gr__codegen_buf_puts(
          b, "static const struct gr_shim_import gr_shim_imports[] = {\n");
        for (size_t i = 0; i < info->n_imports; i++) {
            const struct gr__codegen_fn* f = &info->imports[i];
            gr__codegen_buf_puts(b, "    { ");
            put_cstr(b, f->module);
            gr__codegen_buf_puts(b, ", ");
            put_cstr(b, f->name);
            gr__codegen_buf_puts(b, ", ");
            put_cstr(b, f->sig);
            gr__codegen_buf_puts(b, " },\n");
        }
        gr__codegen_buf_puts(b, "};\n");
    }
    gr__codegen_buf_printf(b,
                           "\nstatic const struct gr_shim gr_shim_value = {\n"
                           "    .abi_version = GR_SHIM_ABI_VERSION,\n"
                           "    .instance_size = sizeof(%s_instance_t),\n",
                           z);
    if (info->mem_field)
        gr__codegen_buf_printf(
          b,
          "    .memory_offset = offsetof(%s_instance_t, %s),\n",
          z,
          info->mem_field);
    else
        gr__codegen_buf_puts(b, "    .memory_offset = GR_SHIM_NO_OFFSET,\n");
    if (info->sp_field)
        gr__codegen_buf_printf(
          b,
          "    .stack_pointer_offset = offsetof(%s_instance_t, %s),\n",
          z,
          info->sp_field);
    else
        gr__codegen_buf_puts(
          b, "    .stack_pointer_offset = GR_SHIM_NO_OFFSET,\n");
    gr__codegen_buf_printf(
      b,
      "    .n_tables = %zu,\n    .table_offsets = %s,\n"
      "    .init_module = %s_init_module,\n"
      "    .instantiate = gr_shim_inst,\n    .free = gr_shim_free,\n"
      "    .n_exports = %zu,\n    .exports = %s,\n"
      "    .n_imports = %zu,\n    .imports = %s,\n"
      "    .n_import_ctx = %zu,\n    .import_ctx_offsets = %s,\n};\n\n",
      info->n_tables,
      info->n_tables ? "gr_shim_tables" : "NULL",
      z,
      info->n_exports,
      info->n_exports ? "gr_shim_exports" : "NULL",
      info->n_imports,
      info->n_imports ? "gr_shim_imports" : "NULL",
      info->n_ctx_fields,
      info->n_ctx_fields ? "gr_shim_ctx" : "NULL");
    gr__codegen_buf_puts(
      b,
      "__attribute__((visibility(\"default\"))) const struct gr_shim*\n"
      "granary_shim(void);\n\n"
      "const struct gr_shim*\ngranary_shim(void)\n{\n"
      "    return &gr_shim_value;\n}\n");
}

static const char*
type_name(char c)
{
    switch (c) {
        case 'i':
            return "i32";
        case 'I':
            return "i64";
        case 'f':
            return "f32";
        case 'F':
            return "f64";
        default:
            return "?";
    }
}

void
gr__codegen_sig_describe(const char* sig, char* out, size_t cap)
{
    struct gr__codegen_buf b = { 0 };
    const char* arrow = strchr(sig, '>');
    size_t np = arrow ? (size_t)(arrow - sig) : strlen(sig);
    const char* res = arrow ? arrow + 1 : "";
    size_t nr = strlen(res);
    gr__codegen_buf_puts(&b, "(");
    for (size_t i = 0; i < np; i++)
        gr__codegen_buf_printf(&b, "%s%s", i ? ", " : "", type_name(sig[i]));
    gr__codegen_buf_puts(&b, ") -> ");
    if (nr == 1) {
        gr__codegen_buf_puts(&b, type_name(res[0]));
    } else {
        gr__codegen_buf_puts(&b, "(");
        for (size_t i = 0; i < nr; i++)
            gr__codegen_buf_printf(
              &b, "%s%s", i ? ", " : "", type_name(res[i]));
        gr__codegen_buf_puts(&b, ")");
    }
    snprintf(out, cap, "%s", b.oom || !b.data ? sig : b.data);
    gr__codegen_buf_fini(&b);
}
