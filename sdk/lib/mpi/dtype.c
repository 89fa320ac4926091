/* SPDX-License-Identifier: Apache-2.0 */
/* Datatypes: every type is flattened at construction into a list of byte
 * blocks (in type-map order) of one instance; pack/unpack walk that list.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mpi_int.h"

#define NBUILTIN 0x50
static dtype builtins[NBUILTIN];
static dtype** derived;
static int nderived;

typedef struct pair_fi
{
    float a;
    int b;
} pair_fi;
typedef struct pair_di
{
    double a;
    int b;
} pair_di;
typedef struct pair_li
{
    long a;
    int b;
} pair_li;
typedef struct pair_si
{
    short a;
    int b;
} pair_si;
typedef struct pair_ldi
{
    long double a;
    int b;
} pair_ldi;

static void
builtin(MPI_Datatype h, size_t size, const char* name)
{
    dtype* t = &builtins[h & 0xff];
    t->used = 1;
    t->builtin = 1;
    t->committed = 1;
    t->size = (MPI_Count)size;
    t->lb = t->tlb = 0;
    t->ub = t->tub = (MPI_Aint)size;
    t->basic = h;
    t->nelem = 1;
    t->nblk = 1;
    t->blk = malloc(sizeof(blk));
    t->blk[0].off = 0;
    t->blk[0].len = (MPI_Aint)size;
    t->blk[0].esize = (int)size;
    t->contig = 1;
    t->combiner = MPI_COMBINER_NAMED;
    snprintf(t->name, sizeof t->name, "%s", name);
}

void
gr__dt_init(void)
{
#define B(h, T) builtin(h, sizeof(T), #h)
    B(MPI_CHAR, char);
    B(MPI_SIGNED_CHAR, signed char);
    B(MPI_UNSIGNED_CHAR, unsigned char);
    B(MPI_BYTE, char);
    B(MPI_WCHAR, int);
    B(MPI_SHORT, short);
    B(MPI_UNSIGNED_SHORT, unsigned short);
    B(MPI_INT, int);
    B(MPI_UNSIGNED, unsigned);
    B(MPI_LONG, long);
    B(MPI_UNSIGNED_LONG, unsigned long);
    B(MPI_FLOAT, float);
    B(MPI_DOUBLE, double);
    B(MPI_LONG_DOUBLE, long double);
    B(MPI_LONG_LONG_INT, long long);
    B(MPI_UNSIGNED_LONG_LONG, unsigned long long);
    B(MPI_PACKED, char);
    B(MPI_2INT, int[2]);
    B(MPI_FLOAT_INT, pair_fi);
    B(MPI_DOUBLE_INT, pair_di);
    B(MPI_LONG_INT, pair_li);
    B(MPI_SHORT_INT, pair_si);
    B(MPI_LONG_DOUBLE_INT, pair_ldi);
    B(MPI_INT8_T, int8_t);
    B(MPI_INT16_T, int16_t);
    B(MPI_INT32_T, int32_t);
    B(MPI_INT64_T, int64_t);
    B(MPI_UINT8_T, uint8_t);
    B(MPI_UINT16_T, uint16_t);
    B(MPI_UINT32_T, uint32_t);
    B(MPI_UINT64_T, uint64_t);
    B(MPI_C_BOOL, _Bool);
    B(MPI_C_FLOAT_COMPLEX, float[2]);
    B(MPI_C_DOUBLE_COMPLEX, double[2]);
    B(MPI_C_LONG_DOUBLE_COMPLEX, long double[2]);
    B(MPI_AINT, MPI_Aint);
    B(MPI_OFFSET, MPI_Offset);
    B(MPI_COUNT, MPI_Count);
    B(MPI_CHARACTER, char);
    B(MPI_LOGICAL, int);
    B(MPI_INTEGER, int);
    B(MPI_REAL, float);
    B(MPI_DOUBLE_PRECISION, double);
    B(MPI_COMPLEX, float[2]);
    B(MPI_DOUBLE_COMPLEX, double[2]);
    B(MPI_2INTEGER, int[2]);
    B(MPI_2REAL, float[2]);
    B(MPI_2DOUBLE_PRECISION, double[2]);
#undef B
    /* MPICH reports MPI_LONG_LONG under its long name. */
    snprintf(builtins[MPI_LONG_LONG_INT & 0xff].name,
             MPI_MAX_OBJECT_NAME,
             "MPI_LONG_LONG_INT");
}

dtype*
gr__dt_get(MPI_Datatype h)
{
    if (H_KIND(h) == H_DTYPE_BUILTIN) {
        int i = h & 0xff;
        if (((unsigned)h & 0x00ff0000u) || i >= NBUILTIN || !builtins[i].used ||
            (builtins[i].size << 8 | i) != (h & 0xffff))
            return NULL;
        return &builtins[i];
    }
    if (H_KIND(h) == H_DTYPE_DERIVED) {
        int i = H_IDX(h);
        if (i < nderived && derived[i] && derived[i]->used)
            return derived[i];
    }
    return NULL;
}

static MPI_Datatype
dt_register(dtype* t)
{
    for (int i = 0; i < nderived; i++)
        if (!derived[i]) {
            derived[i] = t;
            return (MPI_Datatype)(H_DTYPE_DERIVED | (unsigned)i);
        }
    dtype** n = realloc(derived, sizeof(*n) * (size_t)(nderived * 2 + 16));
    if (!n)
        return MPI_DATATYPE_NULL;
    for (int i = nderived; i < nderived * 2 + 16; i++)
        n[i] = NULL;
    derived = n;
    int i = nderived;
    nderived = nderived * 2 + 16;
    derived[i] = t;
    return (MPI_Datatype)(H_DTYPE_DERIVED | (unsigned)i);
}

MPI_Count
gr__dt_packed(dtype* t, MPI_Count count)
{
    return t->size * count;
}

void*
gr__dt_base(dtype* t, const void* buf)
{
    return (char*)buf + (t->nblk ? t->blk[0].off : 0);
}

void
gr__dt_pack(dtype* t, const void* buf, MPI_Count count, void* out)
{
    char* o = out;
    const char* b = buf;
    MPI_Aint ext = t->ub - t->lb;
    if (t->contig) { /* packed == layout: one copy, not one per element */
        if (count > 0 && t->size > 0)
            memcpy(o, gr__dt_base(t, buf), (size_t)(t->size * count));
        return;
    }
    for (MPI_Count i = 0; i < count; i++, b += ext)
        for (int k = 0; k < t->nblk; k++) {
            memcpy(o, b + t->blk[k].off, (size_t)t->blk[k].len);
            o += t->blk[k].len;
        }
}

void
gr__dt_unpack(dtype* t,
              const void* in,
              MPI_Count nbytes,
              void* buf,
              MPI_Count count)
{
    const char* p = in;
    char* b = buf;
    MPI_Aint ext = t->ub - t->lb;
    if (t->contig) {
        MPI_Count n = count > 0 ? t->size * count : 0;
        if (n > nbytes)
            n = nbytes;
        if (n > 0)
            memcpy(gr__dt_base(t, buf), p, (size_t)n);
        return;
    }
    for (MPI_Count i = 0; i < count && nbytes > 0; i++, b += ext)
        for (int k = 0; k < t->nblk && nbytes > 0; k++) {
            MPI_Count n = t->blk[k].len;
            if (n > nbytes)
                n = nbytes;
            memcpy(b + t->blk[k].off, p, (size_t)n);
            p += n;
            nbytes -= n;
        }
}

/* ---- construction ---- */

typedef struct builder
{
    dtype* t;
    int cap;
    int any; /* bounds set */
} builder;

static int
bld_start(builder* b)
{
    b->t = calloc(1, sizeof(dtype));
    if (!b->t)
        return -1;
    b->cap = 0;
    b->any = 0;
    b->t->basic = MPI_DATATYPE_NULL;
    return 0;
}

static int
bld_add_blk(builder* b, MPI_Aint off, MPI_Aint len, int esize)
{
    dtype* t = b->t;
    if (len == 0)
        return 0;
    if (t->nblk) {
        blk* l = &t->blk[t->nblk - 1];
        if (l->off + l->len == off && l->esize == esize) {
            l->len += len;
            return 0;
        }
    }
    if (t->nblk == b->cap) {
        int nc = b->cap ? b->cap * 2 : 4;
        blk* n = realloc(t->blk, sizeof(blk) * (size_t)nc);
        if (!n)
            return -1;
        t->blk = n;
        b->cap = nc;
    }
    t->blk[t->nblk].off = off;
    t->blk[t->nblk].len = len;
    t->blk[t->nblk].esize = esize;
    t->nblk++;
    return 0;
}

/* Appends blocklen copies of old at byte displacement disp. */
static int
bld_add(builder* b, MPI_Aint disp, MPI_Count blocklen, dtype* old)
{
    dtype* t = b->t;
    MPI_Aint ext = old->ub - old->lb;
    if (blocklen <= 0)
        return 0;
    for (MPI_Count j = 0; j < blocklen; j++) {
        MPI_Aint s = disp + (MPI_Aint)j * ext;
        for (int k = 0; k < old->nblk; k++)
            if (bld_add_blk(
                  b, s + old->blk[k].off, old->blk[k].len, old->blk[k].esize))
                return -1;
    }
    MPI_Aint e = disp + (MPI_Aint)(blocklen - 1) * ext;
    MPI_Aint lo = disp < e ? disp : e, hi = disp < e ? e : disp;
    if (!b->any) {
        t->lb = lo + old->lb;
        t->ub = hi + old->ub;
        t->tlb = lo + old->tlb;
        t->tub = hi + old->tub;
        b->any = 1;
    } else {
        if (lo + old->lb < t->lb)
            t->lb = lo + old->lb;
        if (hi + old->ub > t->ub)
            t->ub = hi + old->ub;
        if (lo + old->tlb < t->tlb)
            t->tlb = lo + old->tlb;
        if (hi + old->tub > t->tub)
            t->tub = hi + old->tub;
    }
    t->size += old->size * blocklen;
    t->nelem += old->nelem * blocklen;
    if (old->size > 0) {
        if (t->basic == MPI_DATATYPE_NULL)
            t->basic = old->basic;
        else if (t->basic != old->basic)
            t->basic = 0;
    }
    return 0;
}

static void
dt_destroy(dtype* t)
{
    if (!t)
        return;
    free(t->blk);
    free(t->ints);
    free(t->aints);
    free(t->types);
    free(t);
}

static int
bld_finish(builder* b,
           int combiner,
           int ni,
           const int* ints,
           int na,
           const MPI_Aint* aints,
           int nd,
           const MPI_Datatype* types,
           MPI_Datatype* out)
{
    dtype* t = b->t;
    t->used = 1;
    t->combiner = combiner;
    if (t->basic == MPI_DATATYPE_NULL)
        t->basic = 0;
    t->contig =
      (t->nblk == 0) || (t->nblk == 1 && t->blk[0].len == t->ub - t->lb &&
                         t->blk[0].off == t->lb);
    t->ni = ni;
    t->na = na;
    t->nd = nd;
    t->ints = malloc(sizeof(int) * (size_t)(ni + 1));
    t->aints = malloc(sizeof(MPI_Aint) * (size_t)(na + 1));
    t->types = malloc(sizeof(MPI_Datatype) * (size_t)(nd + 1));
    if (!t->ints || !t->aints || !t->types)
        goto fail;
    if (ni)
        memcpy(t->ints, ints, sizeof(int) * (size_t)ni);
    if (na)
        memcpy(t->aints, aints, sizeof(MPI_Aint) * (size_t)na);
    if (nd)
        memcpy(t->types, types, sizeof(MPI_Datatype) * (size_t)nd);
    *out = dt_register(t);
    if (*out == MPI_DATATYPE_NULL)
        goto fail;
    return MPI_SUCCESS;
fail:
    dt_destroy(t);
    return MPI_ERR_NO_MEM;
}

#define GET_OLD(var, h)                                                        \
    dtype* var = gr__dt_get(h);                                                \
    if (!var)                                                                  \
        return ERR(MPI_COMM_WORLD, MPI_ERR_TYPE);

int
MPI_Type_contiguous(int count, MPI_Datatype oldtype, MPI_Datatype* newtype)
{
    GET_OLD(old, oldtype);
    if (count < 0)
        return ERR(MPI_COMM_WORLD, MPI_ERR_COUNT);
    builder b;
    if (bld_start(&b) || bld_add(&b, 0, count, old))
        return ERR(MPI_COMM_WORLD, MPI_ERR_NO_MEM);
    int rc = bld_finish(
      &b, MPI_COMBINER_CONTIGUOUS, 1, &count, 0, NULL, 1, &oldtype, newtype);
    return rc ? ERR(MPI_COMM_WORLD, rc) : 0;
}

static int
hvector(int count,
        int bl,
        MPI_Aint stride_bytes,
        MPI_Datatype oldtype,
        MPI_Datatype* newtype,
        int combiner,
        int stride_elems)
{
    GET_OLD(old, oldtype);
    if (count < 0 || bl < 0)
        return ERR(MPI_COMM_WORLD, MPI_ERR_COUNT);
    builder b;
    if (bld_start(&b))
        return ERR(MPI_COMM_WORLD, MPI_ERR_NO_MEM);
    for (int i = 0; i < count; i++)
        if (bld_add(&b, (MPI_Aint)i * stride_bytes, bl, old)) {
            dt_destroy(b.t);
            return ERR(MPI_COMM_WORLD, MPI_ERR_NO_MEM);
        }
    int ints[3] = { count, bl, stride_elems };
    int rc =
      combiner == MPI_COMBINER_VECTOR
        ? bld_finish(&b, combiner, 3, ints, 0, NULL, 1, &oldtype, newtype)
        : bld_finish(
            &b, combiner, 2, ints, 1, &stride_bytes, 1, &oldtype, newtype);
    return rc ? ERR(MPI_COMM_WORLD, rc) : 0;
}

int
MPI_Type_vector(int count,
                int blocklength,
                int stride,
                MPI_Datatype oldtype,
                MPI_Datatype* newtype)
{
    GET_OLD(old, oldtype);
    return hvector(count,
                   blocklength,
                   (MPI_Aint)stride * (old->ub - old->lb),
                   oldtype,
                   newtype,
                   MPI_COMBINER_VECTOR,
                   stride);
}

int
MPI_Type_create_hvector(int count,
                        int blocklength,
                        MPI_Aint stride,
                        MPI_Datatype oldtype,
                        MPI_Datatype* newtype)
{
    return hvector(
      count, blocklength, stride, oldtype, newtype, MPI_COMBINER_HVECTOR, 0);
}

int
MPI_Type_hvector(int count,
                 int blocklength,
                 MPI_Aint stride,
                 MPI_Datatype oldtype,
                 MPI_Datatype* newtype)
{
    return MPI_Type_create_hvector(
      count, blocklength, stride, oldtype, newtype);
}

/* General indexed: blocklengths bls (or one bl if bls NULL), displacements
 * in bytes (hd) or in old extents (d). */
static int
indexed(int count,
        const int* bls,
        int bl,
        const int* d,
        const MPI_Aint* hd,
        MPI_Datatype oldtype,
        MPI_Datatype* newtype,
        int combiner)
{
    GET_OLD(old, oldtype);
    if (count < 0)
        return ERR(MPI_COMM_WORLD, MPI_ERR_COUNT);
    MPI_Aint ext = old->ub - old->lb;
    builder b;
    if (bld_start(&b))
        return ERR(MPI_COMM_WORLD, MPI_ERR_NO_MEM);
    for (int i = 0; i < count; i++) {
        int l = bls ? bls[i] : bl;
        if (l < 0) {
            dt_destroy(b.t);
            return ERR(MPI_COMM_WORLD, MPI_ERR_ARG);
        }
        MPI_Aint disp = hd ? hd[i] : (MPI_Aint)d[i] * ext;
        if (bld_add(&b, disp, l, old)) {
            dt_destroy(b.t);
            return ERR(MPI_COMM_WORLD, MPI_ERR_NO_MEM);
        }
    }
    /* envelope */
    int ni = bls ? 1 + count + (hd ? 0 : count) : 2 + (hd ? 0 : count);
    int* ints = malloc(sizeof(int) * (size_t)(ni + 1));
    if (!ints) {
        dt_destroy(b.t);
        return ERR(MPI_COMM_WORLD, MPI_ERR_NO_MEM);
    }
    int k = 0;
    ints[k++] = count;
    if (bls)
        for (int i = 0; i < count; i++)
            ints[k++] = bls[i];
    else
        ints[k++] = bl;
    if (!hd)
        for (int i = 0; i < count; i++)
            ints[k++] = d[i];
    int rc = bld_finish(
      &b, combiner, ni, ints, hd ? count : 0, hd, 1, &oldtype, newtype);
    free(ints);
    return rc ? ERR(MPI_COMM_WORLD, rc) : 0;
}

int
MPI_Type_indexed(int count,
                 const int bls[],
                 const int displs[],
                 MPI_Datatype oldtype,
                 MPI_Datatype* newtype)
{
    return indexed(
      count, bls, 0, displs, NULL, oldtype, newtype, MPI_COMBINER_INDEXED);
}

int
MPI_Type_create_hindexed(int count,
                         const int bls[],
                         const MPI_Aint displs[],
                         MPI_Datatype oldtype,
                         MPI_Datatype* newtype)
{
    return indexed(
      count, bls, 0, NULL, displs, oldtype, newtype, MPI_COMBINER_HINDEXED);
}

int
MPI_Type_hindexed(int count,
                  const int bls[],
                  const MPI_Aint displs[],
                  MPI_Datatype oldtype,
                  MPI_Datatype* newtype)
{
    return MPI_Type_create_hindexed(count, bls, displs, oldtype, newtype);
}

int
MPI_Type_create_indexed_block(int count,
                              int bl,
                              const int displs[],
                              MPI_Datatype oldtype,
                              MPI_Datatype* newtype)
{
    return indexed(count,
                   NULL,
                   bl,
                   displs,
                   NULL,
                   oldtype,
                   newtype,
                   MPI_COMBINER_INDEXED_BLOCK);
}

int
MPI_Type_create_hindexed_block(int count,
                               int bl,
                               const MPI_Aint displs[],
                               MPI_Datatype oldtype,
                               MPI_Datatype* newtype)
{
    return indexed(count,
                   NULL,
                   bl,
                   NULL,
                   displs,
                   oldtype,
                   newtype,
                   MPI_COMBINER_HINDEXED_BLOCK);
}

int
MPI_Type_create_struct(int count,
                       const int bls[],
                       const MPI_Aint displs[],
                       const MPI_Datatype types[],
                       MPI_Datatype* newtype)
{
    if (count < 0)
        return ERR(MPI_COMM_WORLD, MPI_ERR_COUNT);
    builder b;
    if (bld_start(&b))
        return ERR(MPI_COMM_WORLD, MPI_ERR_NO_MEM);
    for (int i = 0; i < count; i++) {
        dtype* old = gr__dt_get(types[i]);
        if (!old || bls[i] < 0) {
            dt_destroy(b.t);
            return ERR(MPI_COMM_WORLD, old ? MPI_ERR_ARG : MPI_ERR_TYPE);
        }
        if (bld_add(&b, displs[i], bls[i], old)) {
            dt_destroy(b.t);
            return ERR(MPI_COMM_WORLD, MPI_ERR_NO_MEM);
        }
    }
    int* ints = malloc(sizeof(int) * (size_t)(count + 1));
    if (!ints) {
        dt_destroy(b.t);
        return ERR(MPI_COMM_WORLD, MPI_ERR_NO_MEM);
    }
    ints[0] = count;
    for (int i = 0; i < count; i++)
        ints[i + 1] = bls[i];
    int rc = bld_finish(&b,
                        MPI_COMBINER_STRUCT,
                        count + 1,
                        ints,
                        count,
                        displs,
                        count,
                        types,
                        newtype);
    free(ints);
    return rc ? ERR(MPI_COMM_WORLD, rc) : 0;
}

int
MPI_Type_struct(int count,
                int bls[],
                MPI_Aint displs[],
                MPI_Datatype types[],
                MPI_Datatype* newtype)
{
    return MPI_Type_create_struct(count, bls, displs, types, newtype);
}

int
MPI_Type_create_resized(MPI_Datatype oldtype,
                        MPI_Aint lb,
                        MPI_Aint extent,
                        MPI_Datatype* newtype)
{
    GET_OLD(old, oldtype);
    builder b;
    if (bld_start(&b) || bld_add(&b, 0, 1, old))
        return ERR(MPI_COMM_WORLD, MPI_ERR_NO_MEM);
    b.t->lb = lb;
    b.t->ub = lb + extent;
    MPI_Aint a[2] = { lb, extent };
    int rc =
      bld_finish(&b, MPI_COMBINER_RESIZED, 0, NULL, 2, a, 1, &oldtype, newtype);
    return rc ? ERR(MPI_COMM_WORLD, rc) : 0;
}

int
MPI_Type_dup(MPI_Datatype oldtype, MPI_Datatype* newtype)
{
    GET_OLD(old, oldtype);
    builder b;
    if (bld_start(&b) || bld_add(&b, 0, 1, old))
        return ERR(MPI_COMM_WORLD, MPI_ERR_NO_MEM);
    b.t->lb = old->lb;
    b.t->ub = old->ub;
    b.t->tlb = old->tlb;
    b.t->tub = old->tub;
    int rc =
      bld_finish(&b, MPI_COMBINER_DUP, 0, NULL, 0, NULL, 1, &oldtype, newtype);
    if (rc)
        return ERR(MPI_COMM_WORLD, rc);
    gr__dt_get(*newtype)->committed = old->committed;
    return 0;
}

int
MPI_Type_create_subarray(int ndims,
                         const int sizes[],
                         const int subsizes[],
                         const int starts[],
                         int order,
                         MPI_Datatype oldtype,
                         MPI_Datatype* newtype)
{
    GET_OLD(old, oldtype);
    if (ndims <= 0)
        return ERR(MPI_COMM_WORLD, MPI_ERR_ARG);
    MPI_Aint ext = old->ub - old->lb;
    for (int d = 0; d < ndims; d++)
        if (sizes[d] <= 0 || subsizes[d] <= 0 || starts[d] < 0 ||
            starts[d] + subsizes[d] > sizes[d])
            return ERR(MPI_COMM_WORLD, MPI_ERR_ARG);
    /* dims from fastest to slowest varying */
    MPI_Datatype t = oldtype, nt;
    MPI_Aint stride = ext, disp = 0;
    for (int k = 0; k < ndims; k++) {
        int d = order == MPI_ORDER_C ? ndims - 1 - k : k;
        int rc = MPI_Type_create_hvector(subsizes[d], 1, stride, t, &nt);
        if (t != oldtype)
            MPI_Type_free(&t);
        if (rc)
            return rc;
        t = nt;
        disp += (MPI_Aint)starts[d] * stride;
        stride *= sizes[d];
    }
    /* place at disp, extent of the whole array */
    dtype* inner = gr__dt_get(t);
    builder b;
    if (bld_start(&b) || bld_add(&b, disp, 1, inner)) {
        MPI_Type_free(&t);
        return ERR(MPI_COMM_WORLD, MPI_ERR_NO_MEM);
    }
    MPI_Type_free(&t);
    b.t->lb = 0;
    b.t->ub = stride;
    int* ints = malloc(sizeof(int) * (size_t)(3 * ndims + 2));
    if (!ints) {
        dt_destroy(b.t);
        return ERR(MPI_COMM_WORLD, MPI_ERR_NO_MEM);
    }
    ints[0] = ndims;
    for (int d = 0; d < ndims; d++) {
        ints[1 + d] = sizes[d];
        ints[1 + ndims + d] = subsizes[d];
        ints[1 + 2 * ndims + d] = starts[d];
    }
    ints[1 + 3 * ndims] = order;
    int rc = bld_finish(&b,
                        MPI_COMBINER_SUBARRAY,
                        3 * ndims + 2,
                        ints,
                        0,
                        NULL,
                        1,
                        &oldtype,
                        newtype);
    free(ints);
    return rc ? ERR(MPI_COMM_WORLD, rc) : 0;
}

int
MPI_Type_commit(MPI_Datatype* datatype)
{
    dtype* t = datatype ? gr__dt_get(*datatype) : NULL;
    if (!t)
        return ERR(MPI_COMM_WORLD, MPI_ERR_TYPE);
    t->committed = 1;
    return 0;
}

int
MPI_Type_free(MPI_Datatype* datatype)
{
    dtype* t = datatype ? gr__dt_get(*datatype) : NULL;
    if (!t || t->builtin)
        return ERR(MPI_COMM_WORLD, MPI_ERR_TYPE);
    gr__attr_delete_all(&t->attrs, *datatype, 1);
    if (gr__nbc_any_active() || t->holds) {
        /* pending schedules may still unpack with it: released once none
         * is pending (gr__deferred_free) */
        t->used = -1;
        *datatype = MPI_DATATYPE_NULL;
        return 0;
    }
    derived[H_IDX(*datatype)] = NULL;
    dt_destroy(t);
    *datatype = MPI_DATATYPE_NULL;
    return 0;
}

void
gr__dt_hold(MPI_Datatype h)
{
    dtype* t = gr__dt_get(h);
    if (t && !t->builtin)
        t->holds++;
}

void
gr__dt_drop(MPI_Datatype h)
{
    dtype* t = gr__dt_get(h);
    if (!t || t->builtin || t->holds <= 0)
        return;
    if (--t->holds == 0 && t->used == -1 && !gr__nbc_any_active()) {
        derived[H_IDX(h)] = NULL;
        dt_destroy(t);
    }
}

void
gr__dt_deferred_free(void)
{
    for (int i = 0; i < nderived; i++)
        if (derived[i] && derived[i]->used == -1 && !derived[i]->holds) {
            dt_destroy(derived[i]);
            derived[i] = NULL;
        }
}

/* ---- queries ---- */

#define GET_T(var, h)                                                          \
    dtype* var = gr__dt_get(h);                                                \
    if (!var)                                                                  \
        return ERR(MPI_COMM_WORLD, MPI_ERR_TYPE);

int
MPI_Type_size(MPI_Datatype datatype, int* size)
{
    GET_T(t, datatype);
    *size = t->size > 0x7fffffff ? MPI_UNDEFINED : (int)t->size;
    return 0;
}

int
MPI_Type_size_x(MPI_Datatype datatype, MPI_Count* size)
{
    GET_T(t, datatype);
    *size = t->size;
    return 0;
}

int
MPI_Type_get_extent(MPI_Datatype datatype, MPI_Aint* lb, MPI_Aint* extent)
{
    GET_T(t, datatype);
    *lb = t->lb;
    *extent = t->ub - t->lb;
    return 0;
}

int
MPI_Type_get_extent_x(MPI_Datatype datatype, MPI_Count* lb, MPI_Count* extent)
{
    GET_T(t, datatype);
    *lb = t->lb;
    *extent = t->ub - t->lb;
    return 0;
}

int
MPI_Type_extent(MPI_Datatype datatype, MPI_Aint* extent)
{
    GET_T(t, datatype);
    *extent = t->ub - t->lb;
    return 0;
}

int
MPI_Type_lb(MPI_Datatype datatype, MPI_Aint* displacement)
{
    GET_T(t, datatype);
    *displacement = t->lb;
    return 0;
}

int
MPI_Type_ub(MPI_Datatype datatype, MPI_Aint* displacement)
{
    GET_T(t, datatype);
    *displacement = t->ub;
    return 0;
}

int
MPI_Type_get_true_extent(MPI_Datatype datatype,
                         MPI_Aint* true_lb,
                         MPI_Aint* true_extent)
{
    GET_T(t, datatype);
    *true_lb = t->tlb;
    *true_extent = t->tub - t->tlb;
    return 0;
}

int
MPI_Type_get_true_extent_x(MPI_Datatype datatype,
                           MPI_Count* true_lb,
                           MPI_Count* true_extent)
{
    GET_T(t, datatype);
    *true_lb = t->tlb;
    *true_extent = t->tub - t->tlb;
    return 0;
}

int
MPI_Type_get_envelope(MPI_Datatype datatype,
                      int* ni,
                      int* na,
                      int* nd,
                      int* combiner)
{
    GET_T(t, datatype);
    *ni = t->builtin ? 0 : t->ni;
    *na = t->builtin ? 0 : t->na;
    *nd = t->builtin ? 0 : t->nd;
    *combiner = t->combiner;
    return 0;
}

int
MPI_Type_get_contents(MPI_Datatype datatype,
                      int max_integers,
                      int max_addresses,
                      int max_datatypes,
                      int ints[],
                      MPI_Aint aints[],
                      MPI_Datatype types[])
{
    GET_T(t, datatype);
    if (t->builtin || max_integers < t->ni || max_addresses < t->na ||
        max_datatypes < t->nd)
        return ERR(MPI_COMM_WORLD, MPI_ERR_ARG);
    if (t->ni)
        memcpy(ints, t->ints, sizeof(int) * (size_t)t->ni);
    if (t->na)
        memcpy(aints, t->aints, sizeof(MPI_Aint) * (size_t)t->na);
    /* The returned derived types are new handles the caller frees. */
    for (int i = 0; i < t->nd; i++) {
        dtype* s = gr__dt_get(t->types[i]);
        if (s && !s->builtin)
            MPI_Type_dup(t->types[i], &types[i]);
        else
            types[i] = t->types[i];
    }
    return 0;
}

int
MPI_Type_set_name(MPI_Datatype datatype, const char* name)
{
    GET_T(t, datatype);
    snprintf(t->name, sizeof t->name, "%s", name);
    return 0;
}

int
MPI_Type_get_name(MPI_Datatype datatype, char* name, int* resultlen)
{
    GET_T(t, datatype);
    *resultlen = snprintf(name, MPI_MAX_OBJECT_NAME, "%s", t->name);
    return 0;
}

int
MPI_Type_match_size(int typeclass, int size, MPI_Datatype* datatype)
{
    static const MPI_Datatype reals[] = { MPI_FLOAT,
                                          MPI_DOUBLE,
                                          MPI_LONG_DOUBLE };
    static const MPI_Datatype ints[] = {
        MPI_SIGNED_CHAR, MPI_SHORT, MPI_INT, MPI_LONG_LONG
    };
    static const MPI_Datatype cplx[] = { MPI_C_FLOAT_COMPLEX,
                                         MPI_C_DOUBLE_COMPLEX,
                                         MPI_C_LONG_DOUBLE_COMPLEX };
    const MPI_Datatype* l;
    int n;
    switch (typeclass) {
        case MPI_TYPECLASS_REAL:
            l = reals;
            n = 3;
            break;
        case MPI_TYPECLASS_INTEGER:
            l = ints;
            n = 4;
            break;
        case MPI_TYPECLASS_COMPLEX:
            l = cplx;
            n = 3;
            break;
        default:
            return ERR(MPI_COMM_WORLD, MPI_ERR_ARG);
    }
    for (int i = 0; i < n; i++)
        if (gr__dt_get(l[i])->size == size) {
            *datatype = l[i];
            return 0;
        }
    return ERR(MPI_COMM_WORLD, MPI_ERR_ARG);
}

/* ---- pack ---- */

int
MPI_Pack(const void* inbuf,
         int incount,
         MPI_Datatype datatype,
         void* outbuf,
         int outsize,
         int* position,
         MPI_Comm comm)
{
    GET_T(t, datatype);
    MPI_Count n = gr__dt_packed(t, incount);
    if (incount < 0)
        return ERR(comm, MPI_ERR_COUNT);
    if (*position + n > outsize)
        return ERR(comm, MPI_ERR_TRUNCATE);
    gr__dt_pack(t, inbuf, incount, (char*)outbuf + *position);
    *position += (int)n;
    return 0;
}

int
MPI_Unpack(const void* inbuf,
           int insize,
           int* position,
           void* outbuf,
           int outcount,
           MPI_Datatype datatype,
           MPI_Comm comm)
{
    GET_T(t, datatype);
    MPI_Count n = gr__dt_packed(t, outcount);
    if (outcount < 0)
        return ERR(comm, MPI_ERR_COUNT);
    if (*position + n > insize)
        return ERR(comm, MPI_ERR_TRUNCATE);
    gr__dt_unpack(t, (const char*)inbuf + *position, n, outbuf, outcount);
    *position += (int)n;
    return 0;
}

int
MPI_Pack_size(int incount, MPI_Datatype datatype, MPI_Comm comm, int* size)
{
    (void)comm;
    GET_T(t, datatype);
    *size = (int)gr__dt_packed(t, incount);
    return 0;
}

/* ---- transfer buffers ---- */

int
gr__xbuf_send(xbuf* x, const void* buf, int count, dtype* t)
{
    x->len = gr__dt_packed(t, count);
    x->tmp = NULL;
    if (t->contig || count == 0 || (count == 1 && t->nblk == 1)) {
        x->p = gr__dt_base(t, buf);
        return 0;
    }
    x->tmp = malloc(x->len ? (size_t)x->len : 1);
    if (!x->tmp)
        return MPI_ERR_NO_MEM;
    gr__dt_pack(t, buf, count, x->tmp);
    x->p = x->tmp;
    return 0;
}

int
gr__xbuf_recv(xbuf* x, void* buf, int count, dtype* t)
{
    x->len = gr__dt_packed(t, count);
    x->tmp = NULL;
    if (t->contig || count == 0 || (count == 1 && t->nblk == 1)) {
        x->p = gr__dt_base(t, buf);
        return 0;
    }
    x->tmp = malloc(x->len ? (size_t)x->len : 1);
    if (!x->tmp)
        return MPI_ERR_NO_MEM;
    x->p = x->tmp;
    return 0;
}

void
gr__xbuf_finish_recv(xbuf* x, void* buf, int count, dtype* t, MPI_Count nbytes)
{
    if (x->tmp) {
        if (nbytes > x->len)
            nbytes = x->len;
        gr__dt_unpack(t, x->tmp, nbytes, buf, count);
        free(x->tmp);
        x->tmp = NULL;
    }
}

void
gr__xbuf_free(xbuf* x)
{
    free(x->tmp);
    x->tmp = NULL;
}
