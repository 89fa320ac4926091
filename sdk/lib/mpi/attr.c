/* SPDX-License-Identifier: Apache-2.0 */
/* Attribute caching on communicators and datatypes: keyvals with copy
 * and delete callbacks, and the predefined attributes of MPI_COMM_WORLD.
 */
#include <stdlib.h>
#include <string.h>

#include "mpi_int.h"

struct attr
{
    int keyval;
    void* val;
    attr* next;
};

typedef struct kvent
{
    int used;
    int is_type;
    MPI_Comm_copy_attr_function* copy;
    MPI_Comm_delete_attr_function* del;
    MPI_Type_copy_attr_function* tcopy;
    MPI_Type_delete_attr_function* tdel;
    void* extra;
} kvent;
static kvent kvs[256];

int gr__lastusedcode(void);

int
MPI_COMM_NULL_COPY_FN(MPI_Comm c, int k, void* e, void* in, void* out, int* f)
{
    (void)c;
    (void)k;
    (void)e;
    (void)in;
    (void)out;
    *f = 0;
    return 0;
}

int
MPI_COMM_DUP_FN(MPI_Comm c, int k, void* e, void* in, void* out, int* f)
{
    (void)c;
    (void)k;
    (void)e;
    memcpy(out, &in, sizeof in);
    *f = 1;
    return 0;
}

int
MPI_COMM_NULL_DELETE_FN(MPI_Comm c, int k, void* v, void* e)
{
    (void)c;
    (void)k;
    (void)v;
    (void)e;
    return 0;
}

int
MPI_TYPE_NULL_COPY_FN(MPI_Datatype t,
                      int k,
                      void* e,
                      void* in,
                      void* out,
                      int* f)
{
    return MPI_COMM_NULL_COPY_FN(t, k, e, in, out, f);
}

int
MPI_TYPE_DUP_FN(MPI_Datatype t, int k, void* e, void* in, void* out, int* f)
{
    return MPI_COMM_DUP_FN(t, k, e, in, out, f);
}

int
MPI_TYPE_NULL_DELETE_FN(MPI_Datatype t, int k, void* v, void* e)
{
    return MPI_COMM_NULL_DELETE_FN(t, k, v, e);
}

static kvent*
kv_get(int k)
{
    if (H_KIND(k) != H_KEYVAL || H_IDX(k) >= 256 || !kvs[H_IDX(k)].used)
        return NULL;
    return &kvs[H_IDX(k)];
}

static int
kv_new(int is_type, int* out)
{
    for (int i = 0; i < 256; i++)
        if (!kvs[i].used) {
            memset(&kvs[i], 0, sizeof kvs[i]);
            kvs[i].used = 1;
            kvs[i].is_type = is_type;
            *out = (int)(H_KEYVAL | (unsigned)i);
            return 0;
        }
    return MPI_ERR_OTHER;
}

int
MPI_Comm_create_keyval(MPI_Comm_copy_attr_function* copy,
                       MPI_Comm_delete_attr_function* del,
                       int* keyval,
                       void* extra)
{
    int rc = kv_new(0, keyval);
    if (rc)
        return ERR(MPI_COMM_WORLD, rc);
    kvent* k = kv_get(*keyval);
    k->copy = copy;
    k->del = del;
    k->extra = extra;
    return 0;
}

int
MPI_Type_create_keyval(MPI_Type_copy_attr_function* copy,
                       MPI_Type_delete_attr_function* del,
                       int* keyval,
                       void* extra)
{
    int rc = kv_new(1, keyval);
    if (rc)
        return ERR(MPI_COMM_WORLD, rc);
    kvent* k = kv_get(*keyval);
    k->tcopy = copy;
    k->tdel = del;
    k->extra = extra;
    return 0;
}

int
MPI_Comm_free_keyval(int* keyval)
{
    kvent* k = kv_get(*keyval);
    if (!k)
        return ERR(MPI_COMM_WORLD, MPI_ERR_KEYVAL);
    /* Attributes still set keep the callbacks (MPI: freed when unused);
     * keyvals are never reused here while attributes may point at them,
     * so only the handle is invalidated. */
    k->used = 2;
    *keyval = MPI_KEYVAL_INVALID;
    return 0;
}

int
MPI_Type_free_keyval(int* keyval)
{
    return MPI_Comm_free_keyval(keyval);
}

int
MPI_Keyval_create(MPI_Copy_function* copy,
                  MPI_Delete_function* del,
                  int* keyval,
                  void* extra)
{
    return MPI_Comm_create_keyval(copy, del, keyval, extra);
}

int
MPI_Keyval_free(int* keyval)
{
    return MPI_Comm_free_keyval(keyval);
}

static attr**
comm_attrs(MPI_Comm ch)
{
    comm* c = gr__comm_get(ch);
    return c ? &c->attrs : NULL;
}

static attr**
type_attrs(MPI_Datatype th)
{
    dtype* t = gr__dt_get(th);
    return t ? &t->attrs : NULL;
}

static int
call_delete(kvent* k, int handle, int key, void* val)
{
    if (k->is_type)
        return k->tdel ? k->tdel(handle, key, val, k->extra) : 0;
    return k->del ? k->del(handle, key, val, k->extra) : 0;
}

static int
attr_set(attr** list, int handle, int key, void* val)
{
    kvent* k = kv_get(key);
    if (!k || k->used != 1)
        return MPI_ERR_KEYVAL;
    for (attr* a = *list; a; a = a->next)
        if (a->keyval == key) {
            int rc = call_delete(k, handle, key, a->val);
            if (rc)
                return rc;
            a->val = val;
            return 0;
        }
    attr* a = malloc(sizeof(attr));
    if (!a)
        return MPI_ERR_NO_MEM;
    a->keyval = key;
    a->val = val;
    a->next = *list;
    *list = a;
    return 0;
}

static int
attr_delete(attr** list, int handle, int key)
{
    kvent* k = kv_get(key);
    if (!k)
        return MPI_ERR_KEYVAL;
    for (attr** p = list; *p; p = &(*p)->next)
        if ((*p)->keyval == key) {
            attr* a = *p;
            int rc = call_delete(k, handle, key, a->val);
            if (rc)
                return rc;
            *p = a->next;
            free(a);
            return 0;
        }
    return MPI_ERR_KEYVAL;
}

int
gr__attr_delete_all(attr** list, int handle, int is_type)
{
    (void)is_type;
    while (*list) {
        attr* a = *list;
        kvent* k = &kvs[H_IDX(a->keyval)];
        *list = a->next;
        call_delete(k, handle, a->keyval, a->val);
        free(a);
    }
    return 0;
}

int
gr__attr_copy_all(MPI_Comm from, MPI_Comm to)
{
    attr** src = comm_attrs(from);
    if (!src)
        return 0;
    for (attr* a = *src; a; a = a->next) {
        kvent* k = &kvs[H_IDX(a->keyval)];
        void* out = NULL;
        int flag = 0;
        if (k->copy) {
            int rc = k->copy(from, a->keyval, k->extra, a->val, &out, &flag);
            if (rc)
                return ERR(from, rc);
        }
        if (flag) {
            attr** dst = comm_attrs(to);
            attr* n = malloc(sizeof(attr));
            if (!n)
                return ERR(from, MPI_ERR_NO_MEM);
            n->keyval = a->keyval;
            n->val = out;
            n->next = *dst;
            *dst = n;
        }
    }
    return 0;
}

/* Predefined attribute values live here; get returns pointers to them. */
static int tag_ub = GR_MPI_TAG_UB;
static int host_val = MPI_PROC_NULL;
static int io_val = MPI_ANY_SOURCE;
static int wtime_global = 0;
static int universe;
static int lastused;
static int appnum = 0;

static int
predefined(int key, void* out, int* flag)
{
    void* p = NULL;
    switch (key) {
        case MPI_TAG_UB:
            p = &tag_ub;
            break;
        case MPI_HOST:
            p = &host_val;
            break;
        case MPI_IO:
            p = &io_val;
            break;
        case MPI_WTIME_IS_GLOBAL:
            p = &wtime_global;
            break;
        case MPI_UNIVERSE_SIZE:
            universe = gr_mpi_world_size();
            p = &universe;
            break;
        case MPI_LASTUSEDCODE:
            lastused = gr__lastusedcode();
            p = &lastused;
            break;
        case MPI_APPNUM:
            p = &appnum;
            break;
        default:
            return 0;
    }
    memcpy(out, &p, sizeof p);
    *flag = 1;
    return 1;
}

static int
attr_get(attr** list, int key, void* out, int* flag)
{
    *flag = 0;
    if (!kv_get(key))
        return MPI_ERR_KEYVAL;
    for (attr* a = *list; a; a = a->next)
        if (a->keyval == key) {
            memcpy(out, &a->val, sizeof a->val);
            *flag = 1;
        }
    return 0;
}

int
MPI_Comm_set_attr(MPI_Comm ch, int key, void* val)
{
    attr** l = comm_attrs(ch);
    if (!l)
        return ERR(MPI_COMM_WORLD, MPI_ERR_COMM);
    int rc = attr_set(l, ch, key, val);
    return rc ? ERR(ch, rc) : 0;
}

int
MPI_Comm_get_attr(MPI_Comm ch, int key, void* val, int* flag)
{
    attr** l = comm_attrs(ch);
    if (!l)
        return ERR(MPI_COMM_WORLD, MPI_ERR_COMM);
    if (predefined(key, val, flag))
        return 0;
    int rc = attr_get(l, key, val, flag);
    return rc ? ERR(ch, rc) : 0;
}

int
MPI_Comm_delete_attr(MPI_Comm ch, int key)
{
    attr** l = comm_attrs(ch);
    if (!l)
        return ERR(MPI_COMM_WORLD, MPI_ERR_COMM);
    int rc = attr_delete(l, ch, key);
    return rc ? ERR(ch, rc) : 0;
}

int
MPI_Attr_put(MPI_Comm ch, int key, void* val)
{
    return MPI_Comm_set_attr(ch, key, val);
}

int
MPI_Attr_get(MPI_Comm ch, int key, void* val, int* flag)
{
    return MPI_Comm_get_attr(ch, key, val, flag);
}

int
MPI_Attr_delete(MPI_Comm ch, int key)
{
    return MPI_Comm_delete_attr(ch, key);
}

int
MPI_Type_set_attr(MPI_Datatype th, int key, void* val)
{
    attr** l = type_attrs(th);
    if (!l)
        return ERR(MPI_COMM_WORLD, MPI_ERR_TYPE);
    int rc = attr_set(l, th, key, val);
    return rc ? ERR(MPI_COMM_WORLD, rc) : 0;
}

int
MPI_Type_get_attr(MPI_Datatype th, int key, void* val, int* flag)
{
    attr** l = type_attrs(th);
    if (!l)
        return ERR(MPI_COMM_WORLD, MPI_ERR_TYPE);
    int rc = attr_get(l, key, val, flag);
    return rc ? ERR(MPI_COMM_WORLD, rc) : 0;
}

int
MPI_Type_delete_attr(MPI_Datatype th, int key)
{
    attr** l = type_attrs(th);
    if (!l)
        return ERR(MPI_COMM_WORLD, MPI_ERR_TYPE);
    int rc = attr_delete(l, th, key);
    return rc ? ERR(MPI_COMM_WORLD, rc) : 0;
}
