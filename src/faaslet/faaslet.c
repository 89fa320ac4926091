/* SPDX-License-Identifier: Apache-2.0 */
/* Proto-Faaslets and Faaslets (see faaslet.h). */
#include "faaslet/faaslet.h"

#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <granary/status.h>

#include "host/faas/faas.h"
#include "host/host.h"
#include "host/threads.h"
#include "state/state.h"
#include "util/alloc.h"

#define DEFAULT_MAX_OUTPUT (16u << 20)
#define DEFAULT_MAX_CAPTURE (1u << 20)

/* A deep copy of a string vector. */
struct strv
{
    size_t n;
    char** v;
};

struct gr_proto
{
    atomic_int refs;
    gr_object* obj;
    gr_snapshot* snap;
    enum gr_entry_kind kind;
    wasm_rt_function_ptr_t entry;
    uint32_t max_pages;
    size_t max_output, max_capture;
    struct strv argv, envp;
    gr_wasi_preopen* preopens;
    size_t n_preopens;
};

/* Bytes the guest wrote to a stream, bounded. */
struct capture
{
    char* data;
    size_t len, cap, max;
    int truncated;
};

struct gr_faaslet
{
    gr_proto* proto;
    gr_instance* in;
    gr_wasi* wasi;
    gr_host_ctx host;
    gr_faas_ctx faas;
    struct capture out, err;
};

static void
set_err(char* err, size_t errlen, const char* fmt, ...)
{
    if (!err || !errlen)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

static int
strv_copy(struct strv* d, size_t n, const char* const* src)
{
    d->n = 0;
    d->v = gr_calloc(n + 1, sizeof *d->v);
    if (!d->v)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        d->v[i] = gr_strdup(src[i] ? src[i] : "");
        if (!d->v[i])
            return -ENOMEM;
        d->n++;
    }
    return 0;
}

static void
strv_free(struct strv* s)
{
    for (size_t i = 0; s->v && i < s->n; i++)
        gr_free(s->v[i]);
    gr_free(s->v);
    s->v = NULL;
    s->n = 0;
}

/* Keeps what fits under max and returns how much that was: the guest's
 * write past the limit then fails (see gr_wasi_write_fn). */
static size_t
capture_write(void* ud, const void* buf, size_t n)
{
    struct capture* c = ud;
    size_t room = c->max - c->len;
    if (n > room) {
        c->truncated = 1;
        n = room;
    }
    if (!n)
        return 0;
    if (c->len + n + 1 > c->cap) {
        size_t cap = c->cap ? c->cap : 1024;
        while (cap < c->len + n + 1)
            cap *= 2;
        char* d = gr_realloc(c->data, cap);
        if (!d) {
            c->truncated = 1;
            return 0;
        }
        c->data = d;
        c->cap = cap;
    }
    memcpy(c->data + c->len, buf, n);
    c->len += n;
    c->data[c->len] = '\0';
    return n;
}

/* A command's stdout is its output, bounded by max_output: as much as
 * fits is kept and reported written. */
static size_t
stdout_to_output(void* ud, const void* buf, size_t n)
{
    gr_faas_ctx* fc = ud;
    size_t room = fc->max_output - fc->output_len;
    size_t k = n < room ? n : room;
    if (k && gr_faas_output_append(fc, buf, k) < 0)
        k = 0;
    if (k < n)
        fc->output_overflow = 1;
    return k;
}

static void
capture_reset(struct capture* c)
{
    c->len = 0;
    c->truncated = 0;
    if (c->data)
        c->data[0] = '\0';
}

/* Sets up the WASI context and host context of f (also used, with a
 * throwaway faaslet, while initialising the proto). */
static int
faaslet_host_init(gr_faaslet* f, gr_proto* p)
{
    f->out.max = f->err.max = p->max_capture;
    f->faas.max_output = p->max_output;
    gr_wasi_config wc = {
        .argc = p->argv.n,
        .argv = (const char* const*)p->argv.v,
        .envc = p->envp.n,
        .envp = (const char* const*)p->envp.v,
        .n_preopens = p->n_preopens,
        .preopens = p->preopens,
        .stdin_fd = -1,
        .err = { .host_fd = -1, .write = capture_write, .ud = &f->err },
    };
    if (p->kind == GR_ENTRY_COMMAND)
        wc.out = (gr_wasi_sink){ .host_fd = -1,
                                 .write = stdout_to_output,
                                 .ud = &f->faas };
    else
        wc.out = (gr_wasi_sink){ .host_fd = -1,
                                 .write = capture_write,
                                 .ud = &f->out };
    int rc = gr_wasi_create(&wc, &f->wasi);
    f->host.wasi = f->wasi;
    f->host.faas = &f->faas;
    return rc;
}

static void
faaslet_host_fini(gr_faaslet* f)
{
    gr_wasi_destroy(f->wasi);
    f->wasi = NULL;
    gr_faas_ctx_fini(&f->faas);
    gr_free(f->out.data);
    gr_free(f->err.data);
}

struct thunk_args
{
    wasm_rt_function_ptr_t fn;
    void* module;
    int32_t ret;
    int returns;
};

static void
call_entry(void* p)
{
    struct thunk_args* a = p;
    if (a->returns)
        a->ret = ((int32_t(*)(void*))a->fn)(a->module);
    else
        ((void (*)(void*))a->fn)(a->module);
}

/* Where the initialisation ended, for messages. */
static const char*
trap_what(const gr_trap* t)
{
    return t->kind == GR_TRAP_TIMEOUT ? "timed out (call timeout)"
                                      : gr_trap_name(t->kind);
}

static int
run_init(gr_faaslet* f, const char* name, char* err, size_t errlen)
{
    wasm_rt_function_ptr_t fn =
      gr_object_export(gr_instance_object(f->in), name, ">");
    if (!fn)
        return 0;
    struct thunk_args a = { fn, gr_instance_module(f->in), 0, 0 };
    gr_trap t;
    int rc = gr_instance_call(f->in, call_entry, &a, &t);
    if (rc == GR_EEXIT && t.exit_code == 0)
        return 0;
    if (rc == GR_EEXIT)
        set_err(err,
                errlen,
                "%s exited with status %d%s%s",
                name,
                t.exit_code,
                f->err.len ? ": " : "",
                f->err.len ? f->err.data : "");
    else if (rc)
        set_err(err,
                errlen,
                "%s trapped: %s%s%s",
                name,
                trap_what(&t),
                f->err.len ? ": " : "",
                f->err.len ? f->err.data : "");
    if (rc == GR_ETRAP && t.kind == GR_TRAP_TIMEOUT)
        rc = GR_ETIMEOUT;
    return rc;
}

/* The whole initialisation of a Proto-Faaslet, run under one deadline. */
struct init_args
{
    gr_faaslet* f;
    gr_object* obj;
    char* err;
    size_t errlen;
    int rc;
};

static void
init_thunk(void* arg)
{
    struct init_args* a = arg;
    gr_faaslet* f = a->f;
    gr_proto* p = f->proto;
    gr_instance_config ic = { .max_pages = p->max_pages, .host = &f->host };
    gr_trap t;
    int rc = gr_instance_create(a->obj, &ic, &f->in, &t);
    if (rc == GR_ETRAP) {
        set_err(a->err,
                a->errlen,
                "start function (instantiation) trapped: %s",
                trap_what(&t));
        if (t.kind == GR_TRAP_TIMEOUT)
            rc = GR_ETIMEOUT;
    }
    if (!rc && p->kind == GR_ENTRY_REACTOR) {
        rc = run_init(f, "_initialize", a->err, a->errlen);
        if (!rc)
            rc = run_init(f, "granary_init", a->err, a->errlen);
    }
    a->rc = rc;
}

int
gr_proto_create(gr_object* obj,
                const gr_proto_config* cfg,
                gr_proto** out,
                char* err,
                size_t errlen)
{
    gr_proto_config def = { 0 };
    if (!cfg)
        cfg = &def;
    gr_proto* p = gr_calloc(1, sizeof *p);
    if (!p)
        return -ENOMEM;
    atomic_init(&p->refs, 1);
    p->obj = gr_object_ref(obj);
    p->max_pages = cfg->max_pages;
    p->max_output = cfg->max_output ? cfg->max_output : DEFAULT_MAX_OUTPUT;
    p->max_capture = cfg->max_capture ? cfg->max_capture : DEFAULT_MAX_CAPTURE;

    int rc;
    if ((p->entry = gr_object_export(obj, "granary_main", ">i"))) {
        p->kind = GR_ENTRY_REACTOR;
    } else if ((p->entry = gr_object_export(obj, "_start", ">"))) {
        p->kind = GR_ENTRY_COMMAND;
    } else {
        set_err(err,
                errlen,
                "module exports neither granary_main (int(void)) nor _start");
        rc = GR_ENOEXPORT;
        goto fail;
    }
    rc = strv_copy(&p->argv, cfg->argc, cfg->argv);
    if (!rc)
        rc = strv_copy(&p->envp, cfg->envc, cfg->envp);
    p->preopens = gr_calloc(cfg->n_preopens + 1, sizeof *p->preopens);
    if (!rc && !p->preopens)
        rc = -ENOMEM;
    for (size_t i = 0; !rc && i < cfg->n_preopens; i++) {
        rc = -ENOMEM;
        char* h = gr_strdup(cfg->preopens[i].host_path);
        char* g = gr_strdup(cfg->preopens[i].guest_path);
        if (h && g) {
            p->preopens[i].host_path = h;
            p->preopens[i].guest_path = g;
            p->n_preopens++;
            rc = 0;
        } else {
            gr_free(h);
            gr_free(g);
        }
    }
    if (rc)
        goto fail;

    /* A throwaway Faaslet runs the initialisation; its state becomes the
     * snapshot every Faaslet of this function starts from. */
    gr_faaslet init = { .proto = p };
    rc = faaslet_host_init(&init, p);
    if (rc) {
        set_err(err, errlen, "cannot set up WASI: %s", gr_strerror(rc));
        faaslet_host_fini(&init);
        goto fail;
    }
    /* The start function and the init exports run nested in one frame
     * whose deadline they inherit (gr_rt_call_timeout), so a module that
     * loops at start-up ends like a call that runs too long. Generated
     * code only runs in the nested frames, so the outer one returns. */
    struct init_args ia = { &init, obj, err, errlen, 0 };
    gr_trap t;
    rc = gr_rt_call_timeout(init_thunk, &ia, &t, cfg->init_timeout_ns);
    if (rc) {
        set_err(err, errlen, "initialisation trapped: %s", trap_what(&t));
        rc = t.kind == GR_TRAP_TIMEOUT ? GR_ETIMEOUT : GR_ETRAP;
    } else {
        rc = ia.rc;
    }
    if (!rc)
        rc = gr_snapshot_take(init.in, &p->snap);
    gr_instance_destroy(init.in);
    faaslet_host_fini(&init);
    if (rc)
        goto fail;
    *out = p;
    return 0;
fail:
    gr_proto_unref(p);
    return rc;
}

gr_proto*
gr_proto_ref(gr_proto* p)
{
    atomic_fetch_add(&p->refs, 1);
    return p;
}

void
gr_proto_unref(gr_proto* p)
{
    if (!p || atomic_fetch_sub(&p->refs, 1) != 1)
        return;
    gr_snapshot_unref(p->snap);
    gr_object_unref(p->obj);
    strv_free(&p->argv);
    strv_free(&p->envp);
    for (size_t i = 0; p->preopens && i < p->n_preopens; i++) {
        gr_free((char*)p->preopens[i].host_path);
        gr_free((char*)p->preopens[i].guest_path);
    }
    gr_free(p->preopens);
    gr_free(p);
}

enum gr_entry_kind
gr_proto_entry(const gr_proto* p)
{
    return p->kind;
}

gr_snapshot*
gr_proto_snapshot(const gr_proto* p)
{
    return p->snap;
}

int
gr_faaslet_create(gr_proto* p, gr_faaslet** out)
{
    gr_faaslet* f = gr_calloc(1, sizeof *f);
    if (!f)
        return -ENOMEM;
    f->proto = gr_proto_ref(p);
    int rc = faaslet_host_init(f, p);
    if (!rc) {
        gr_instance_config ic = { .max_pages = p->max_pages, .host = &f->host };
        rc = gr_snapshot_restore(p->snap, &ic, &f->in);
    }
    if (rc) {
        gr_faaslet_destroy(f);
        return rc;
    }
    *out = f;
    return 0;
}

static uint64_t
now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int
gr_faaslet_call(gr_faaslet* f, const gr_call* c, gr_call_result* r)
{
    memset(r, 0, sizeof *r);
    capture_reset(&f->out);
    capture_reset(&f->err);
    gr_faas_ctx_begin(&f->faas, c->input, c->input_len);
    int rc = 0;
    if (f->proto->kind == GR_ENTRY_COMMAND)
        rc = gr_wasi_set_stdin(f->wasi, c->input, c->input_len);
    if (rc)
        return rc;

    struct thunk_args a = { f->proto->entry,
                            gr_instance_module(f->in),
                            0,
                            f->proto->kind == GR_ENTRY_REACTOR };
    uint64_t t0 = now_ns();
    /* A threaded module's call always has a deadline (a far one if none
     * was asked for), so that its threads can be stopped. */
    uint64_t timeout =
      gr_threads_call_timeout(gr_instance_object(f->in), c->timeout_ns);
    int crc =
      gr_instance_call_timeout(f->in, call_entry, &a, &r->trap, timeout);
    /* Every other thread of the call stops before the Faaslet resets. */
    gr_threads_end(&f->host, &crc, &r->trap, &r->thread);
    r->exec_ns = now_ns() - t0;
    if (crc == 0) {
        r->return_code = a.ret;
    } else if (crc == GR_EEXIT) {
        r->return_code = r->trap.exit_code;
    } else {
        r->status = crc;
    }
    r->output = f->faas.output;
    r->output_len = f->faas.output_len;
    r->output_truncated = f->faas.output_overflow;
    r->capture_truncated = f->out.truncated || f->err.truncated;
    r->out = f->out.data ? f->out.data : "";
    r->out_len = f->out.len;
    r->err = f->err.data ? f->err.data : "";
    r->err_len = f->err.len;
    return gr_faaslet_reset(f);
}

int
gr_faaslet_set_state(gr_faaslet* f, struct gr_state* st, const char* user)
{
    gr_state_ctx* c;
    int rc = gr_state_ctx_create(st, user, &c);
    if (rc)
        return rc;
    gr_state_ctx_destroy(f->host.state);
    f->host.state = c;
    return 0;
}

int
gr_faaslet_reset(gr_faaslet* f)
{
    const uint64_t(*remap)[2] = NULL;
    size_t n_remap =
      f->host.state ? gr_state_ctx_ranges(f->host.state, &remap) : 0;
    int rc = gr_snapshot_reset(f->proto->snap, f->in, remap, n_remap);
    if (f->host.state)
        gr_state_ctx_clear(f->host.state);
    int wrc = gr_wasi_reset_fds(f->wasi);
    return rc ? rc : wrc;
}

void
gr_faaslet_destroy(gr_faaslet* f)
{
    if (!f)
        return;
    gr_instance_destroy(f->in);
    gr_state_ctx_destroy(f->host.state);
    faaslet_host_fini(f);
    gr_proto_unref(f->proto);
    gr_free(f);
}

gr_instance*
gr_faaslet_instance(const gr_faaslet* f)
{
    return f->in;
}

gr_proto*
gr_faaslet_proto(const gr_faaslet* f)
{
    return f->proto;
}
