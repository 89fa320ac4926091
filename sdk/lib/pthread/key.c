/* SPDX-License-Identifier: Apache-2.0 */
/* Thread-specific data: PTHREAD_KEYS_MAX keys, each with a generation so
 * that a deleted and re-created key reads NULL in every thread, and the
 * destructor pass at thread exit. (_Thread_local needs none of this: it is
 * the wasm TLS block that start.s and init.c set up.) */
#include <errno.h>

#include "pthread_int.h"

struct key
{
    _Atomic unsigned gen; /* odd: in use */
    void (*_Atomic dtor)(void*);
};

static struct key keys[PTHREAD_KEYS_MAX];

static void
nodtor(void* p)
{
    (void)p;
}

int
pthread_key_create(pthread_key_t* k, void (*dtor)(void*))
{
    for (unsigned i = 0; i < PTHREAD_KEYS_MAX; i++) {
        unsigned g = atomic_load(&keys[i].gen);
        if ((g & 1) == 0 &&
            atomic_compare_exchange_strong(&keys[i].gen, &g, g + 1)) {
            atomic_store(&keys[i].dtor, dtor ? dtor : nodtor);
            *k = i;
            return 0;
        }
    }
    return EAGAIN;
}

int
pthread_key_delete(pthread_key_t k)
{
    if (k >= PTHREAD_KEYS_MAX)
        return EINVAL;
    unsigned g = atomic_load(&keys[k].gen);
    if ((g & 1) == 0 ||
        !atomic_compare_exchange_strong(&keys[k].gen, &g, g + 1))
        return EINVAL;
    return 0;
}

void*
pthread_getspecific(pthread_key_t k)
{
    if (k >= PTHREAD_KEYS_MAX)
        return NULL;
    struct gr_tsd* d = &gr__pt_self()->tsd[k];
    return d->gen == atomic_load_explicit(&keys[k].gen, memory_order_relaxed)
             ? d->val
             : NULL;
}

int
pthread_setspecific(pthread_key_t k, const void* v)
{
    if (k >= PTHREAD_KEYS_MAX)
        return EINVAL;
    unsigned g = atomic_load(&keys[k].gen);
    if ((g & 1) == 0)
        return EINVAL;
    struct gr_tsd* d = &gr__pt_self()->tsd[k];
    d->val = (void*)v;
    d->gen = g;
    return 0;
}

void
gr__pt_tsd_run(struct __pthread* t)
{
    for (int round = 0; round < PTHREAD_DESTRUCTOR_ITERATIONS; round++) {
        int any = 0;
        for (unsigned i = 0; i < PTHREAD_KEYS_MAX; i++) {
            struct gr_tsd* d = &t->tsd[i];
            unsigned g = atomic_load(&keys[i].gen);
            if (!d->val || d->gen != g || (g & 1) == 0)
                continue;
            void* v = d->val;
            d->val = NULL;
            void (*dtor)(void*) = atomic_load(&keys[i].dtor);
            dtor(v);
            any = 1;
        }
        if (!any)
            break;
    }
}
