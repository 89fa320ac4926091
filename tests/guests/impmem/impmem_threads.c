/* SPDX-License-Identifier: Apache-2.0 */
/* Test guest (command) with POSIX threads on a memory it imports
 * (granary-cc -pthread -Wl,--import-memory -Wl,--shared-memory): reads a
 * thread count n from stdin, and n threads add to an atomic counter, take
 * turns under a mutex, and each malloc, fill and check a block, then main
 * prints what they computed. A block that overlaps another thread's live
 * one (the allocator handing the same bytes to two threads) counts as an
 * error. The memory, its growth (malloc) and its reset between calls are
 * all the host's, from the import's limits. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_THREADS 8
#define ADDS 10000
#define BLOCK (256 * 1024)

static _Atomic int counter;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int turns, calls;
/* The blocks threads hold, by index (under lock). */
static unsigned char* live[MAX_THREADS];

/* Records p as thread index's block; returns how many live blocks of other
 * threads it overlaps. */
static uintptr_t
hold(uintptr_t index, unsigned char* p)
{
    uintptr_t overlaps = 0;
    pthread_mutex_lock(&lock);
    for (int i = 0; i < MAX_THREADS; i++)
        overlaps += live[i] && p < live[i] + BLOCK && live[i] < p + BLOCK;
    live[index] = p;
    pthread_mutex_unlock(&lock);
    return overlaps;
}

static void
release(uintptr_t index)
{
    pthread_mutex_lock(&lock);
    live[index] = NULL;
    pthread_mutex_unlock(&lock);
}

static void*
worker(void* arg)
{
    uintptr_t index = (uintptr_t)arg;
    for (int i = 0; i < ADDS; i++)
        atomic_fetch_add(&counter, 1);
    pthread_mutex_lock(&lock);
    turns++;
    pthread_mutex_unlock(&lock);
    unsigned char* p = malloc(BLOCK);
    if (!p)
        return (void*)1;
    uintptr_t bad = hold(index, p);
    memset(p, (int)(index + 1), BLOCK);
    for (size_t i = 0; i < BLOCK; i += 4096)
        bad += p[i] != (unsigned char)(index + 1);
    release(index);
    free(p);
    return (void*)bad;
}

int
main(void)
{
    int n = 0;
    if (scanf("%d", &n) != 1 || n < 1 || n > MAX_THREADS)
        return 2;
    calls++; /* 1 on every call: the memory is reset in between */
    pthread_t t[MAX_THREADS];
    for (int i = 0; i < n; i++)
        if (pthread_create(&t[i], NULL, worker, (void*)(uintptr_t)i) != 0)
            return 3;
    uintptr_t errors = 0;
    for (int i = 0; i < n; i++) {
        void* r;
        if (pthread_join(t[i], &r) != 0)
            return 4;
        errors += (uintptr_t)r;
    }
    printf("threads=%d counter=%d turns=%d errors=%lu calls=%d\n",
           n,
           atomic_load(&counter),
           turns,
           (unsigned long)errors,
           calls);
    return 0;
}
