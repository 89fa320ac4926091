/* SPDX-License-Identifier: Apache-2.0 */
/* Reduction operations: the predefined ones on every type they apply to,
 * and user functions (called directly: the library runs in the guest).
 */
#include <complex.h>
#include <stdlib.h>
#include <string.h>

#include "mpi_int.h"

typedef struct uop
{
    int used;
    int commute;
    MPI_User_function* fn;
} uop;
static uop* uops;
static int nuops;

enum
{
    O_MAX = 1,
    O_MIN,
    O_SUM,
    O_PROD,
    O_LAND,
    O_BAND,
    O_LOR,
    O_BOR,
    O_LXOR,
    O_BXOR,
    O_MINLOC,
    O_MAXLOC,
    O_REPLACE,
    O_NO_OP
};

#define ARITH(T)                                                               \
    static int op_##T(int o, const T* a, T* b, size_t n)                       \
    {                                                                          \
        switch (o) {                                                           \
            case O_MAX:                                                        \
                for (size_t i = 0; i < n; i++)                                 \
                    if (a[i] > b[i])                                           \
                        b[i] = a[i];                                           \
                return 0;                                                      \
            case O_MIN:                                                        \
                for (size_t i = 0; i < n; i++)                                 \
                    if (a[i] < b[i])                                           \
                        b[i] = a[i];                                           \
                return 0;                                                      \
            case O_SUM:                                                        \
                for (size_t i = 0; i < n; i++)                                 \
                    b[i] = b[i] + a[i];                                        \
                return 0;                                                      \
            case O_PROD:                                                       \
                for (size_t i = 0; i < n; i++)                                 \
                    b[i] = b[i] * a[i];                                        \
                return 0;                                                      \
            case O_LAND:                                                       \
                for (size_t i = 0; i < n; i++)                                 \
                    b[i] = (T)(a[i] && b[i]);                                  \
                return 0;                                                      \
            case O_LOR:                                                        \
                for (size_t i = 0; i < n; i++)                                 \
                    b[i] = (T)(a[i] || b[i]);                                  \
                return 0;                                                      \
            case O_LXOR:                                                       \
                for (size_t i = 0; i < n; i++)                                 \
                    b[i] = (T)(!a[i] != !b[i]);                                \
                return 0;                                                      \
        }                                                                      \
        return MPI_ERR_OP;                                                     \
    }

#define INTEGER(T)                                                             \
    ARITH(T)                                                                   \
    static int iop_##T(int o, const T* a, T* b, size_t n)                      \
    {                                                                          \
        switch (o) {                                                           \
            case O_BAND:                                                       \
                for (size_t i = 0; i < n; i++)                                 \
                    b[i] &= a[i];                                              \
                return 0;                                                      \
            case O_BOR:                                                        \
                for (size_t i = 0; i < n; i++)                                 \
                    b[i] |= a[i];                                              \
                return 0;                                                      \
            case O_BXOR:                                                       \
                for (size_t i = 0; i < n; i++)                                 \
                    b[i] ^= a[i];                                              \
                return 0;                                                      \
        }                                                                      \
        return op_##T(o, a, b, n);                                             \
    }

typedef signed char schar;
typedef unsigned char uchar;
typedef unsigned short ushort;
typedef unsigned int uint;
typedef unsigned long ulong;
typedef long long llong;
typedef unsigned long long ullong;
typedef long double ldouble;
INTEGER(char)
INTEGER(schar)
INTEGER(uchar)
INTEGER(short)
INTEGER(ushort)
INTEGER(int)
INTEGER(uint)
INTEGER(long)
INTEGER(ulong)
INTEGER(llong)
INTEGER(ullong)
ARITH(float)
ARITH(double)
ARITH(ldouble)

#define COMPLEX(T)                                                             \
    static int cop_##T(int o, const T* a, T* b, size_t n)                      \
    {                                                                          \
        switch (o) {                                                           \
            case O_SUM:                                                        \
                for (size_t i = 0; i < n; i++)                                 \
                    b[i] = b[i] + a[i];                                        \
                return 0;                                                      \
            case O_PROD:                                                       \
                for (size_t i = 0; i < n; i++)                                 \
                    b[i] = b[i] * a[i];                                        \
                return 0;                                                      \
        }                                                                      \
        return MPI_ERR_OP;                                                     \
    }
typedef float _Complex fcomplex;
typedef double _Complex dcomplex;
typedef long double _Complex ldcomplex;
COMPLEX(fcomplex)
COMPLEX(dcomplex)
COMPLEX(ldcomplex)

/* MINLOC/MAXLOC: value then index; ties take the lower index. */
#define LOC(NAME, V, I)                                                        \
    typedef struct NAME                                                        \
    {                                                                          \
        V v;                                                                   \
        I i;                                                                   \
    } NAME;                                                                    \
    static int lop_##NAME(int o, const NAME* a, NAME* b, size_t n)             \
    {                                                                          \
        if (o != O_MINLOC && o != O_MAXLOC)                                    \
            return MPI_ERR_OP;                                                 \
        for (size_t k = 0; k < n; k++) {                                       \
            int better = o == O_MINLOC ? a[k].v < b[k].v : a[k].v > b[k].v;    \
            if (better)                                                        \
                b[k] = a[k];                                                   \
            else if (a[k].v == b[k].v && a[k].i < b[k].i)                      \
                b[k].i = a[k].i;                                               \
        }                                                                      \
        return 0;                                                              \
    }
LOC(loc_ii, int, int)
LOC(loc_fi, float, int)
LOC(loc_di, double, int)
LOC(loc_li, long, int)
LOC(loc_si, short, int)
LOC(loc_ldi, long double, int)
LOC(loc_ff, float, float)
LOC(loc_dd, double, double)

static int
c_bool_op(int o, const _Bool* a, _Bool* b, size_t n)
{
    switch (o) {
        case O_LAND:
            for (size_t i = 0; i < n; i++)
                b[i] = a[i] && b[i];
            return 0;
        case O_LOR:
            for (size_t i = 0; i < n; i++)
                b[i] = a[i] || b[i];
            return 0;
        case O_LXOR:
            for (size_t i = 0; i < n; i++)
                b[i] = a[i] != b[i];
            return 0;
    }
    return MPI_ERR_OP;
}

static int
byte_op(int o, const uchar* a, uchar* b, size_t n)
{
    if (o == O_BAND || o == O_BOR || o == O_BXOR)
        return iop_uchar(o, a, b, n);
    return MPI_ERR_OP;
}

static int
basic_op(int o, MPI_Datatype t, const void* a, void* b, size_t n)
{
    switch (t) {
#define IOP(H, T)                                                              \
    case H:                                                                    \
        return iop_##T(o, a, b, n);
#define FOP(H, T)                                                              \
    case H:                                                                    \
        return op_##T(o, a, b, n);
        IOP(MPI_CHAR, char)
        IOP(MPI_CHARACTER, char)
        IOP(MPI_SIGNED_CHAR, schar)
        IOP(MPI_INT8_T, schar)
        IOP(MPI_UNSIGNED_CHAR, uchar)
        IOP(MPI_UINT8_T, uchar)
        IOP(MPI_SHORT, short)
        IOP(MPI_INT16_T, short)
        IOP(MPI_UNSIGNED_SHORT, ushort)
        IOP(MPI_UINT16_T, ushort)
        IOP(MPI_INT, int)
        IOP(MPI_INTEGER, int)
        IOP(MPI_LOGICAL, int)
        IOP(MPI_WCHAR, int)
        IOP(MPI_INT32_T, int)
        IOP(MPI_UNSIGNED, uint)
        IOP(MPI_UINT32_T, uint)
        IOP(MPI_LONG, long)
        IOP(MPI_AINT, long)
        IOP(MPI_UNSIGNED_LONG, ulong)
        IOP(MPI_LONG_LONG_INT, llong)
        IOP(MPI_INT64_T, llong)
        IOP(MPI_OFFSET, llong)
        IOP(MPI_COUNT, llong)
        IOP(MPI_UNSIGNED_LONG_LONG, ullong)
        IOP(MPI_UINT64_T, ullong)
        FOP(MPI_FLOAT, float)
        FOP(MPI_REAL, float)
        FOP(MPI_DOUBLE, double)
        FOP(MPI_DOUBLE_PRECISION, double)
        FOP(MPI_LONG_DOUBLE, ldouble)
#undef IOP
#undef FOP
        case MPI_BYTE:
            return byte_op(o, a, b, n);
        case MPI_C_BOOL:
            return c_bool_op(o, a, b, n);
        case MPI_C_FLOAT_COMPLEX:
        case MPI_COMPLEX:
            return cop_fcomplex(o, a, b, n);
        case MPI_C_DOUBLE_COMPLEX:
        case MPI_DOUBLE_COMPLEX:
            return cop_dcomplex(o, a, b, n);
        case MPI_C_LONG_DOUBLE_COMPLEX:
            return cop_ldcomplex(o, a, b, n);
        case MPI_2INT:
        case MPI_2INTEGER:
            return lop_loc_ii(o, a, b, n);
        case MPI_FLOAT_INT:
            return lop_loc_fi(o, a, b, n);
        case MPI_DOUBLE_INT:
            return lop_loc_di(o, a, b, n);
        case MPI_LONG_INT:
            return lop_loc_li(o, a, b, n);
        case MPI_SHORT_INT:
            return lop_loc_si(o, a, b, n);
        case MPI_LONG_DOUBLE_INT:
            return lop_loc_ldi(o, a, b, n);
        case MPI_2REAL:
            return lop_loc_ff(o, a, b, n);
        case MPI_2DOUBLE_PRECISION:
            return lop_loc_dd(o, a, b, n);
    }
    return MPI_ERR_OP;
}

int
gr__op_valid(MPI_Op op)
{
    if (H_KIND(op) == H_OP_BUILTIN)
        return H_IDX(op) >= O_MAX && H_IDX(op) <= O_NO_OP;
    if (H_KIND(op) == H_OP_USER)
        return H_IDX(op) < nuops && uops[H_IDX(op)].used;
    return 0;
}

int
gr__op_commutative(MPI_Op op)
{
    if (H_KIND(op) == H_OP_USER)
        return gr__op_valid(op) ? uops[H_IDX(op)].commute : 1;
    return 1;
}

int
gr__op_apply(MPI_Op op, const void* in, void* inout, int count, MPI_Datatype dt)
{
    dtype* t = gr__dt_get(dt);
    if (!t)
        return MPI_ERR_TYPE;
    if (!gr__op_valid(op))
        return MPI_ERR_OP;
    if (count == 0 || t->size == 0)
        return 0;
    if (H_KIND(op) == H_OP_USER) {
        MPI_User_function* fn = uops[H_IDX(op)].fn;
        int len = count;
        MPI_Datatype d = dt;
        if (t->contig || (count == 1 && t->nblk == 1)) {
            MPI_Aint off = t->blk[0].off;
            fn((char*)in - off, (char*)inout - off, &len, &d);
            return 0;
        }
        /* the function wants the type's layout: unpack, call, pack */
        MPI_Aint ext = t->ub - t->lb;
        MPI_Aint span = (t->tub - t->tlb) + ext * (count - 1);
        char* a = calloc(1, (size_t)span + 1);
        char* b = calloc(1, (size_t)span + 1);
        if (!a || !b) {
            free(a);
            free(b);
            return MPI_ERR_NO_MEM;
        }
        MPI_Count n = gr__dt_packed(t, count);
        gr__dt_unpack(t, in, n, a - t->tlb, count);
        gr__dt_unpack(t, inout, n, b - t->tlb, count);
        fn(a - t->tlb, b - t->tlb, &len, &d);
        gr__dt_pack(t, b - t->tlb, count, inout);
        free(a);
        free(b);
        return 0;
    }
    int o = H_IDX(op);
    if (o == O_NO_OP)
        return 0;
    size_t bytes = (size_t)gr__dt_packed(t, count);
    if (o == O_REPLACE) {
        memmove(inout, in, bytes);
        return 0;
    }
    if (!t->basic)
        return MPI_ERR_OP;
    dtype* b = gr__dt_get(t->basic);
    return basic_op(o, t->basic, in, inout, bytes / (size_t)b->size);
}

int
MPI_Op_create(MPI_User_function* fn, int commute, MPI_Op* op)
{
    int i;
    for (i = 0; i < nuops; i++)
        if (!uops[i].used)
            break;
    if (i == nuops) {
        uop* n = realloc(uops, sizeof(uop) * (size_t)(nuops * 2 + 8));
        if (!n)
            return ERR(MPI_COMM_WORLD, MPI_ERR_NO_MEM);
        memset(n + nuops, 0, sizeof(uop) * (size_t)(nuops + 8));
        uops = n;
        nuops = nuops * 2 + 8;
    }
    uops[i].used = 1;
    uops[i].commute = commute != 0;
    uops[i].fn = fn;
    *op = (MPI_Op)(H_OP_USER | (unsigned)i);
    return 0;
}

int
MPI_Op_free(MPI_Op* op)
{
    if (!op || H_KIND(*op) != H_OP_USER || !gr__op_valid(*op))
        return ERR(MPI_COMM_WORLD, MPI_ERR_OP);
    /* a pending schedule may still reduce with it: released once none is */
    uops[H_IDX(*op)].used = gr__nbc_any_active() ? -1 : 0;
    *op = MPI_OP_NULL;
    return 0;
}

void
gr__op_deferred_free(void)
{
    for (int i = 0; i < nuops; i++)
        if (uops[i].used == -1)
            uops[i].used = 0;
}

int
MPI_Op_commutative(MPI_Op op, int* commute)
{
    if (!gr__op_valid(op))
        return ERR(MPI_COMM_WORLD, MPI_ERR_OP);
    *commute = gr__op_commutative(op);
    return 0;
}

int
MPI_Reduce_local(const void* inbuf,
                 void* inoutbuf,
                 int count,
                 MPI_Datatype datatype,
                 MPI_Op op)
{
    dtype* t = gr__dt_get(datatype);
    if (!t)
        return ERR(MPI_COMM_WORLD, MPI_ERR_TYPE);
    if (!gr__op_valid(op))
        return ERR(MPI_COMM_WORLD, MPI_ERR_OP);
    int rc;
    if (H_KIND(op) == H_OP_USER || t->contig) {
        /* packed == layout for contiguous types; user ops take layout */
        if (H_KIND(op) == H_OP_USER) {
            int len = count;
            MPI_Datatype d = datatype;
            uops[H_IDX(op)].fn((void*)inbuf, inoutbuf, &len, &d);
            return 0;
        }
        rc = gr__op_apply(
          op, gr__dt_base(t, inbuf), gr__dt_base(t, inoutbuf), count, datatype);
        return rc ? ERR(MPI_COMM_WORLD, rc) : 0;
    }
    xbuf a, b;
    if ((rc = gr__xbuf_send(&a, inbuf, count, t)))
        return ERR(MPI_COMM_WORLD, rc);
    if ((rc = gr__xbuf_send(&b, inoutbuf, count, t))) {
        gr__xbuf_free(&a);
        return ERR(MPI_COMM_WORLD, rc);
    }
    rc = gr__op_apply(op, a.p, b.p, count, datatype);
    if (!rc)
        gr__dt_unpack(t, b.p, b.len, inoutbuf, count);
    gr__xbuf_free(&a);
    gr__xbuf_free(&b);
    return rc ? ERR(MPI_COMM_WORLD, rc) : 0;
}
