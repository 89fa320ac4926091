/* SPDX-License-Identifier: Apache-2.0 */
/* HOGWILD-style parallel SGD for a sparse linear SVM (hinge loss), shared
 * by the Granary guest (sgd_guest.c), the native baseline and the bench:
 * the data layout of the "examples" state key, a deterministic generator of
 * an RCV1-like data set, the per-batch update and the loss. Header-only so
 * that it compiles unchanged for wasm32 and the host. */
#ifndef GRANARY_EXAMPLES_SGD_H
#define GRANARY_EXAMPLES_SGD_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* RCV1 has 47,236 features and ~0.16% density (about 75 non-zeros). */
#define SGD_FEATURES 47236u
#define SGD_MIN_NNZ 40u
#define SGD_MAX_NNZ 110u

/* The "examples" value: a header, then (all 4-byte items, so the same
 * bytes work in wasm32 and natively) offsets[n + 1], idx[nnz], val[nnz],
 * label[n]. Read-only after generation. */
typedef struct sgd_header
{
    uint32_t n, features, nnz, pad;
} sgd_header;

typedef struct sgd_view
{
    uint32_t n, features;
    const uint32_t* off;
    const uint32_t* idx;
    const float* val;
    const float* label;
} sgd_view;

static inline size_t
sgd_bytes(uint32_t n, uint32_t nnz)
{
    return sizeof(sgd_header) + 4u * ((size_t)n + 1) + 8u * (size_t)nnz +
           4u * (size_t)n;
}

static inline sgd_view
sgd_view_of(const void* data)
{
    const sgd_header* h = data;
    const uint32_t* p = (const uint32_t*)(h + 1);
    sgd_view v = { .n = h->n, .features = h->features };
    v.off = p;
    v.idx = p + h->n + 1;
    v.val = (const float*)(v.idx + h->nnz);
    v.label = v.val + h->nnz;
    return v;
}

static inline uint64_t
sgd_rand(uint64_t* s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static inline float
sgd_unit(uint64_t* s)
{
    return (float)((sgd_rand(s) >> 40) * (1.0 / 16777216.0));
}

/* Upper bound of nnz for n examples (to size the buffer). */
static inline uint32_t
sgd_max_nnz(uint32_t n)
{
    return n * SGD_MAX_NNZ;
}

/* Writes n examples into buf (sgd_bytes(n, sgd_max_nnz(n)) bytes; the
 * used size is returned). Deterministic in seed. Feature frequencies are
 * skewed like words in text; rows have unit norm; labels come from a
 * hidden weight vector with 5% label noise. */
static inline size_t
sgd_generate(void* buf, uint32_t n, uint64_t seed)
{
    uint64_t s = seed | 1;
    uint32_t max = sgd_max_nnz(n);
    sgd_header* h = buf;
    uint32_t* off = (uint32_t*)(h + 1);
    uint32_t* idx = off + n + 1;
    /* generate idx and (temporarily) vals into the space after idx */
    float* tmpval = (float*)(idx + max);
    uint32_t nnz = 0;
    off[0] = 0;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t k =
          SGD_MIN_NNZ + (uint32_t)(sgd_rand(&s) % (SGD_MAX_NNZ - SGD_MIN_NNZ));
        float norm = 0;
        for (uint32_t j = 0; j < k; j++) {
            float u = sgd_unit(&s);
            idx[nnz + j] = (uint32_t)(u * u * u * (float)(SGD_FEATURES - 1));
            float v = 0.1f + sgd_unit(&s);
            tmpval[nnz + j] = v;
            norm += v * v;
        }
        float inv = 1.0f / __builtin_sqrtf(norm);
        for (uint32_t j = 0; j < k; j++)
            tmpval[nnz + j] *= inv;
        nnz += k;
        off[i + 1] = nnz;
    }
    float* val = (float*)(idx + nnz);
    memmove(val, tmpval, (size_t)nnz * 4);
    float* label = val + nnz;
    /* hidden model: a fixed pseudo-random weight per feature */
    for (uint32_t i = 0; i < n; i++) {
        float dot = 0;
        for (uint32_t j = off[i]; j < off[i + 1]; j++) {
            uint64_t ws = (uint64_t)idx[j] * 0x9E3779B97F4A7C15ull + 1;
            dot += (sgd_unit(&ws) - 0.5f) * val[j];
        }
        float y = dot >= 0 ? 1.0f : -1.0f;
        if (sgd_rand(&s) % 100 < 5)
            y = -y;
        label[i] = y;
    }
    *h = (sgd_header){ .n = n, .features = SGD_FEATURES, .nnz = nnz };
    return sgd_bytes(n, nnz);
}

/* One pass of hinge-loss SGD over examples [from, to) with no locks
 * (HOGWILD: updates are sparse, so concurrent writers rarely collide). */
static inline void
sgd_batch(const sgd_view* v, float* w, uint32_t from, uint32_t to, float lr)
{
    for (uint32_t i = from; i < to && i < v->n; i++) {
        float y = v->label[i], dot = 0;
        for (uint32_t j = v->off[i]; j < v->off[i + 1]; j++)
            dot += w[v->idx[j]] * v->val[j];
        if (y * dot < 1.0f)
            for (uint32_t j = v->off[i]; j < v->off[i + 1]; j++)
                w[v->idx[j]] += lr * y * v->val[j];
    }
}

/* The same update, accumulated into a delta instead of w (the baseline
 * computes against a pulled copy and pushes the change). */
static inline void
sgd_batch_delta(const sgd_view* v,
                const float* w,
                float* delta,
                uint32_t from,
                uint32_t to,
                float lr)
{
    for (uint32_t i = from; i < to && i < v->n; i++) {
        float y = v->label[i], dot = 0;
        for (uint32_t j = v->off[i]; j < v->off[i + 1]; j++)
            dot += (w[v->idx[j]] + delta[v->idx[j]]) * v->val[j];
        if (y * dot < 1.0f)
            for (uint32_t j = v->off[i]; j < v->off[i + 1]; j++)
                delta[v->idx[j]] += lr * y * v->val[j];
    }
}

/* Mean hinge loss of w over all examples. */
static inline double
sgd_loss(const sgd_view* v, const float* w)
{
    double sum = 0;
    for (uint32_t i = 0; i < v->n; i++) {
        float dot = 0;
        for (uint32_t j = v->off[i]; j < v->off[i + 1]; j++)
            dot += w[v->idx[j]] * v->val[j];
        float m = 1.0f - v->label[i] * dot;
        sum += m > 0 ? m : 0;
    }
    return sum / v->n;
}

#endif
