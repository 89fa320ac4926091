/* SPDX-License-Identifier: Apache-2.0 */
/* Environment: init/finalize, time, errors and error handlers, info
 * objects, memory helpers.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mpi_int.h"

int gr__mpi_initialized;
static int finalized;
static int thread_level;
MPI_Errhandler gr__world_eh = MPI_ERRORS_ARE_FATAL;

void*
gr__malloc(size_t n)
{
    return malloc(n ? n : 1);
}

void
gr__not_initialized(const char* fn)
{
    fprintf(stderr,
            "MPI error: %s called %s MPI_Init\n",
            fn,
            finalized ? "after MPI_Finalize, not between" : "before");
    gr_mpi_abort(MPI_ERR_OTHER);
}

int
gr__dev_err(int rc)
{
    switch (rc) {
        case GR_MPI_ERR_FAULT:
            return MPI_ERR_BUFFER;
        case GR_MPI_ERR_RANK:
            return MPI_ERR_RANK;
        case GR_MPI_ERR_TAG:
            return MPI_ERR_TAG;
        case GR_MPI_ERR_REQUEST:
            return MPI_ERR_REQUEST;
        case GR_MPI_ERR_TRUNCATE:
            return MPI_ERR_TRUNCATE;
        case GR_MPI_ERR_NOMEM:
            return MPI_ERR_NO_MEM;
        case GR_MPI_ERR_ARG:
            return MPI_ERR_ARG;
        default:
            return rc < 0 ? MPI_ERR_OTHER : MPI_SUCCESS;
    }
}

static void init_common(void);

int
MPI_Init(int* argc, char*** argv)
{
    (void)argc;
    (void)argv;
    if (gr__mpi_initialized || finalized) {
        fprintf(stderr, "MPI error: MPI_Init called twice\n");
        gr_mpi_abort(MPI_ERR_OTHER);
    }
    init_common();
    return MPI_SUCCESS;
}

int
MPI_Init_thread(int* argc, char*** argv, int required, int* provided)
{
    int rc = MPI_Init(argc, argv);
    /* One thread per rank (wasm32 without atomics): FUNNELED is honest,
     * and SERIALIZED/MULTIPLE programs that never use threads work. */
    thread_level = required > MPI_THREAD_FUNNELED ? required : required;
    *provided = thread_level;
    return rc;
}

static void
init_common(void)
{
    gr__dt_init();
    gr__comm_init();
    gr__mpi_initialized = 1;
}

int
MPI_Initialized(int* flag)
{
    *flag = gr__mpi_initialized || finalized;
    return 0;
}

int
MPI_Finalized(int* flag)
{
    *flag = finalized;
    return 0;
}

int
MPI_Query_thread(int* provided)
{
    *provided = thread_level;
    return 0;
}

int
MPI_Is_thread_main(int* flag)
{
    *flag = 1;
    return 0;
}

int
MPI_Finalize(void)
{
    CHECK_INIT();
    /* Finalize is collective: no rank may leave while others still send
     * to it (the host drops undelivered messages). */
    MPI_Barrier(MPI_COMM_WORLD);
    MPI_Comm self = MPI_COMM_SELF;
    comm* c = gr__comm_get(self);
    if (c)
        gr__attr_delete_all(&c->attrs, self, 0);
    gr_mpi_finalize();
    gr__mpi_initialized = 0;
    finalized = 1;
    return 0;
}

int
MPI_Abort(MPI_Comm comm, int errorcode)
{
    (void)comm;
    fflush(stdout);
    fprintf(stderr,
            "MPI_Abort called on rank %d with error code %d\n",
            gr_mpi_world_rank(),
            errorcode);
    fflush(stderr);
    gr_mpi_abort(errorcode);
    return errorcode;
}

double
MPI_Wtime(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

double
MPI_Wtick(void)
{
    struct timespec ts;
    if (clock_getres(CLOCK_MONOTONIC, &ts) == 0 && (ts.tv_sec || ts.tv_nsec))
        return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
    return 1e-9;
}

int
MPI_Get_processor_name(char* name, int* resultlen)
{
    int n = gr_mpi_host_name(name, MPI_MAX_PROCESSOR_NAME);
    if (n < 0)
        n = snprintf(name, MPI_MAX_PROCESSOR_NAME, "granary");
    if (n >= MPI_MAX_PROCESSOR_NAME)
        n = MPI_MAX_PROCESSOR_NAME - 1;
    *resultlen = n;
    return 0;
}

int
MPI_Get_version(int* version, int* subversion)
{
    *version = MPI_VERSION;
    *subversion = MPI_SUBVERSION;
    return 0;
}

int
MPI_Get_library_version(char* version, int* resultlen)
{
    *resultlen = snprintf(version,
                          MPI_MAX_LIBRARY_VERSION_STRING,
                          "Granary MPI %d.%d (wasm32 guest library on the "
                          "granary_mpi device)",
                          MPI_VERSION,
                          MPI_SUBVERSION);
    return 0;
}

/* ---- error classes, codes and strings ---- */

static const char* const class_names[] = {
    [MPI_SUCCESS] = "no error",
    [MPI_ERR_BUFFER] = "invalid buffer pointer",
    [MPI_ERR_COUNT] = "invalid count argument",
    [MPI_ERR_TYPE] = "invalid datatype",
    [MPI_ERR_TAG] = "invalid tag",
    [MPI_ERR_COMM] = "invalid communicator",
    [MPI_ERR_RANK] = "invalid rank",
    [MPI_ERR_ROOT] = "invalid root",
    [MPI_ERR_GROUP] = "invalid group",
    [MPI_ERR_OP] = "invalid reduce operation",
    [MPI_ERR_TOPOLOGY] = "invalid topology",
    [MPI_ERR_DIMS] = "invalid dimension argument",
    [MPI_ERR_ARG] = "invalid argument",
    [MPI_ERR_UNKNOWN] = "unknown error",
    [MPI_ERR_TRUNCATE] = "message truncated",
    [MPI_ERR_OTHER] = "other error",
    [MPI_ERR_INTERN] = "internal error",
    [MPI_ERR_IN_STATUS] = "error code in status",
    [MPI_ERR_PENDING] = "pending request",
    [MPI_ERR_REQUEST] = "invalid request",
    [MPI_ERR_INFO] = "invalid info object",
    [MPI_ERR_INFO_KEY] = "invalid info key",
    [MPI_ERR_INFO_VALUE] = "invalid info value",
    [MPI_ERR_INFO_NOKEY] = "info key not found",
    [MPI_ERR_NO_MEM] = "out of memory",
    [MPI_ERR_KEYVAL] = "invalid keyval",
    [MPI_ERR_WIN] = "invalid window",
    [MPI_ERR_SIZE] = "invalid size",
    [MPI_ERR_UNSUPPORTED_OPERATION] = "unsupported operation",
};
#define NCLASSES 59

/* User classes and codes: codes above MPI_ERR_LASTCODE-ish space. */
#define USER_BASE 64
#define MAX_USER 256
static int user_class[MAX_USER]; /* code -> class, for user codes */
static char* user_str[MAX_USER];
static int nuser;

int
MPI_Error_class(int code, int* cls)
{
    if (code >= 0 && code < NCLASSES) {
        *cls = code;
        return 0;
    }
    if (code >= USER_BASE && code < USER_BASE + nuser) {
        *cls = user_class[code - USER_BASE];
        return 0;
    }
    return ERR(MPI_COMM_WORLD, MPI_ERR_ARG);
}

int
MPI_Error_string(int code, char* s, int* len)
{
    const char* m = NULL;
    if (code >= 0 && code < NCLASSES)
        m = class_names[code];
    else if (code >= USER_BASE && code < USER_BASE + nuser)
        m = user_str[code - USER_BASE] ? user_str[code - USER_BASE] : "";
    else
        return ERR(MPI_COMM_WORLD, MPI_ERR_ARG);
    if (!m)
        m = "error";
    *len = snprintf(s, MPI_MAX_ERROR_STRING, "%s", m);
    return 0;
}

static int lastused = USER_BASE - 1;

int
MPI_Add_error_class(int* cls)
{
    if (nuser == MAX_USER)
        return ERR(MPI_COMM_WORLD, MPI_ERR_OTHER);
    int c = USER_BASE + nuser;
    user_class[nuser++] = c;
    lastused = c;
    *cls = c;
    return 0;
}

int
MPI_Add_error_code(int cls, int* code)
{
    if (nuser == MAX_USER)
        return ERR(MPI_COMM_WORLD, MPI_ERR_OTHER);
    int c = USER_BASE + nuser;
    user_class[nuser++] = cls;
    lastused = c;
    *code = c;
    return 0;
}

int
MPI_Add_error_string(int code, const char* s)
{
    if (code < USER_BASE || code >= USER_BASE + nuser)
        return ERR(MPI_COMM_WORLD, MPI_ERR_ARG);
    free(user_str[code - USER_BASE]);
    user_str[code - USER_BASE] = strdup(s);
    return 0;
}

int gr__lastusedcode(void);
int
gr__lastusedcode(void)
{
    return lastused;
}

/* ---- error handlers ---- */

typedef struct ehandler
{
    int used;
    MPI_Comm_errhandler_function* fn;
} ehandler;
static ehandler ehs[64];

int
gr__err(MPI_Comm ch, int code, const char* fn)
{
    if (code == MPI_SUCCESS)
        return code;
    comm* c = gr__comm_get(ch);
    MPI_Errhandler eh = c ? c->eh : gr__world_eh;
    if (eh == MPI_ERRORS_RETURN)
        return code;
    if (H_KIND(eh) == H_EH_USER) {
        int i = H_IDX(eh);
        if (i < 64 && ehs[i].used && ehs[i].fn) {
            MPI_Comm cc = c ? ch : MPI_COMM_WORLD;
            int cd = code;
            ehs[i].fn(&cc, &cd);
        }
        return code;
    }
    char s[MPI_MAX_ERROR_STRING];
    int len, cls = code;
    if (MPI_Error_class(code, &cls))
        cls = MPI_ERR_UNKNOWN;
    if (code >= 0 && code < NCLASSES && class_names[code])
        snprintf(s, sizeof s, "%s", class_names[code]);
    else if (MPI_Error_string(code, s, &len))
        snprintf(s, sizeof s, "error %d", code);
    fflush(stdout);
    fprintf(stderr,
            "MPI error on rank %d in %s: %s (error class %d)\n",
            gr_mpi_world_rank(),
            fn,
            s,
            cls);
    fflush(stderr);
    gr_mpi_abort(code);
    return code;
}

int
MPI_Comm_create_errhandler(MPI_Comm_errhandler_function* fn, MPI_Errhandler* eh)
{
    for (int i = 0; i < 64; i++)
        if (!ehs[i].used) {
            ehs[i].used = 1;
            ehs[i].fn = fn;
            *eh = (MPI_Errhandler)(H_EH_USER | (unsigned)i);
            return 0;
        }
    return ERR(MPI_COMM_WORLD, MPI_ERR_NO_MEM);
}

int
MPI_Errhandler_create(MPI_Handler_function* fn, MPI_Errhandler* eh)
{
    return MPI_Comm_create_errhandler(fn, eh);
}

static int
eh_valid(MPI_Errhandler eh)
{
    if (eh == MPI_ERRORS_ARE_FATAL || eh == MPI_ERRORS_RETURN ||
        eh == MPI_ERRORS_ABORT)
        return 1;
    return H_KIND(eh) == H_EH_USER && H_IDX(eh) < 64 && ehs[H_IDX(eh)].used;
}

int
MPI_Comm_set_errhandler(MPI_Comm ch, MPI_Errhandler eh)
{
    comm* c = gr__comm_get(ch);
    if (!c)
        return ERR(MPI_COMM_WORLD, MPI_ERR_COMM);
    if (!eh_valid(eh))
        return ERR(ch, MPI_ERR_ARG);
    c->eh = eh;
    if (ch == MPI_COMM_WORLD)
        gr__world_eh = eh;
    return 0;
}

int
MPI_Comm_get_errhandler(MPI_Comm ch, MPI_Errhandler* eh)
{
    comm* c = gr__comm_get(ch);
    if (!c)
        return ERR(MPI_COMM_WORLD, MPI_ERR_COMM);
    *eh = c->eh;
    return 0;
}

int
MPI_Errhandler_set(MPI_Comm ch, MPI_Errhandler eh)
{
    return MPI_Comm_set_errhandler(ch, eh);
}

int
MPI_Errhandler_get(MPI_Comm ch, MPI_Errhandler* eh)
{
    return MPI_Comm_get_errhandler(ch, eh);
}

int
MPI_Errhandler_free(MPI_Errhandler* eh)
{
    /* Handlers stay valid while communicators use them; user handlers
     * are small and few, so freeing only clears the caller's handle. */
    if (!eh || !eh_valid(*eh))
        return ERR(MPI_COMM_WORLD, MPI_ERR_ARG);
    *eh = MPI_ERRHANDLER_NULL;
    return 0;
}

int
MPI_Comm_call_errhandler(MPI_Comm ch, int code)
{
    gr__err(ch, code, "MPI_Comm_call_errhandler");
    return MPI_SUCCESS;
}

/* ---- memory, addresses ---- */

int
MPI_Alloc_mem(MPI_Aint size, MPI_Info info, void* baseptr)
{
    (void)info;
    void* p = malloc(size ? (size_t)size : 1);
    if (!p)
        return ERR(MPI_COMM_WORLD, MPI_ERR_NO_MEM);
    memcpy(baseptr, &p, sizeof p);
    return 0;
}

int
MPI_Free_mem(void* base)
{
    free(base);
    return 0;
}

int
MPI_Get_address(const void* location, MPI_Aint* address)
{
    *address = (MPI_Aint)location;
    return 0;
}

int
MPI_Address(void* location, MPI_Aint* address)
{
    return MPI_Get_address(location, address);
}

MPI_Aint
MPI_Aint_add(MPI_Aint base, MPI_Aint disp)
{
    return base + disp;
}

MPI_Aint
MPI_Aint_diff(MPI_Aint a, MPI_Aint b)
{
    return a - b;
}

int
MPI_Pcontrol(const int level, ...)
{
    (void)level;
    return 0;
}

/* ---- info objects ---- */

typedef struct info
{
    int used;
    int n;
    char** keys;
    char** vals;
} info;
static info* infos;
static int ninfos;

static info*
info_get(MPI_Info h)
{
    if (H_KIND(h) != H_INFO || h == MPI_INFO_ENV)
        return NULL;
    int i = H_IDX(h) - 2;
    return i >= 0 && i < ninfos && infos[i].used ? &infos[i] : NULL;
}

int
gr__info_valid(MPI_Info h)
{
    return h == MPI_INFO_NULL || h == MPI_INFO_ENV || info_get(h);
}

int
MPI_Info_create(MPI_Info* h)
{
    int i;
    for (i = 0; i < ninfos; i++)
        if (!infos[i].used)
            break;
    if (i == ninfos) {
        info* n = realloc(infos, sizeof(info) * (size_t)(ninfos + 8));
        if (!n)
            return ERR(MPI_COMM_WORLD, MPI_ERR_NO_MEM);
        memset(n + ninfos, 0, sizeof(info) * 8);
        infos = n;
        ninfos += 8;
    }
    memset(&infos[i], 0, sizeof(info));
    infos[i].used = 1;
    *h = (MPI_Info)(H_INFO | (unsigned)(i + 2));
    return 0;
}

int
MPI_Info_free(MPI_Info* h)
{
    info* f = h ? info_get(*h) : NULL;
    if (!f)
        return ERR(MPI_COMM_WORLD, MPI_ERR_INFO);
    for (int i = 0; i < f->n; i++) {
        free(f->keys[i]);
        free(f->vals[i]);
    }
    free(f->keys);
    free(f->vals);
    f->used = 0;
    *h = MPI_INFO_NULL;
    return 0;
}

static int
info_find(info* f, const char* key)
{
    for (int i = 0; i < f->n; i++)
        if (!strcmp(f->keys[i], key))
            return i;
    return -1;
}

int
MPI_Info_set(MPI_Info h, const char* key, const char* value)
{
    info* f = info_get(h);
    if (!f)
        return ERR(MPI_COMM_WORLD, MPI_ERR_INFO);
    if (strlen(key) > MPI_MAX_INFO_KEY || !*key)
        return ERR(MPI_COMM_WORLD, MPI_ERR_INFO_KEY);
    if (strlen(value) > MPI_MAX_INFO_VAL)
        return ERR(MPI_COMM_WORLD, MPI_ERR_INFO_VALUE);
    int i = info_find(f, key);
    if (i >= 0) {
        free(f->vals[i]);
        f->vals[i] = strdup(value);
        return 0;
    }
    char** k = realloc(f->keys, sizeof(char*) * (size_t)(f->n + 1));
    if (!k)
        return ERR(MPI_COMM_WORLD, MPI_ERR_NO_MEM);
    f->keys = k;
    char** v = realloc(f->vals, sizeof(char*) * (size_t)(f->n + 1));
    if (!v)
        return ERR(MPI_COMM_WORLD, MPI_ERR_NO_MEM);
    f->vals = v;
    f->keys[f->n] = strdup(key);
    f->vals[f->n] = strdup(value);
    f->n++;
    return 0;
}

int
MPI_Info_get(MPI_Info h, const char* key, int valuelen, char* value, int* flag)
{
    info* f = info_get(h);
    *flag = 0;
    if (h == MPI_INFO_ENV)
        return 0;
    if (!f)
        return ERR(MPI_COMM_WORLD, MPI_ERR_INFO);
    int i = info_find(f, key);
    if (i < 0)
        return 0;
    *flag = 1;
    snprintf(value, (size_t)valuelen + 1, "%s", f->vals[i]);
    return 0;
}

int
MPI_Info_get_valuelen(MPI_Info h, const char* key, int* valuelen, int* flag)
{
    info* f = info_get(h);
    *flag = 0;
    if (h == MPI_INFO_ENV)
        return 0;
    if (!f)
        return ERR(MPI_COMM_WORLD, MPI_ERR_INFO);
    int i = info_find(f, key);
    if (i >= 0) {
        *flag = 1;
        *valuelen = (int)strlen(f->vals[i]);
    }
    return 0;
}

int
MPI_Info_delete(MPI_Info h, const char* key)
{
    info* f = info_get(h);
    if (!f)
        return ERR(MPI_COMM_WORLD, MPI_ERR_INFO);
    int i = info_find(f, key);
    if (i < 0)
        return ERR(MPI_COMM_WORLD, MPI_ERR_INFO_NOKEY);
    free(f->keys[i]);
    free(f->vals[i]);
    for (; i + 1 < f->n; i++) {
        f->keys[i] = f->keys[i + 1];
        f->vals[i] = f->vals[i + 1];
    }
    f->n--;
    return 0;
}

int
MPI_Info_get_nkeys(MPI_Info h, int* nkeys)
{
    info* f = info_get(h);
    if (h == MPI_INFO_ENV) {
        *nkeys = 0;
        return 0;
    }
    if (!f)
        return ERR(MPI_COMM_WORLD, MPI_ERR_INFO);
    *nkeys = f->n;
    return 0;
}

int
MPI_Info_get_nthkey(MPI_Info h, int n, char* key)
{
    info* f = info_get(h);
    if (!f)
        return ERR(MPI_COMM_WORLD, MPI_ERR_INFO);
    if (n < 0 || n >= f->n)
        return ERR(MPI_COMM_WORLD, MPI_ERR_ARG);
    snprintf(key, MPI_MAX_INFO_KEY + 1, "%s", f->keys[n]);
    return 0;
}

int
MPI_Info_dup(MPI_Info h, MPI_Info* out)
{
    info* f = info_get(h);
    if (!f)
        return ERR(MPI_COMM_WORLD, MPI_ERR_INFO);
    int rc = MPI_Info_create(out);
    if (rc)
        return rc;
    f = info_get(h); /* the table may have moved */
    for (int i = 0; i < f->n; i++)
        MPI_Info_set(*out, f->keys[i], f->vals[i]);
    return 0;
}
