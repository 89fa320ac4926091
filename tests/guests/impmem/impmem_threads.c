/* SPDX-License-Identifier: Apache-2.0 */
/* Test guest (command) with POSIX threads on a memory it imports
 * (granary-cc -pthread -Wl,--import-memory -Wl,--shared-memory): reads a
 * thread count n from stdin, and n threads add to an atomic counter, take
 * turns under a mutex, and each malloc, fill and check a block, then main
 * prints what they computed. The memory, its growth (malloc) and its reset
 * between calls are all the host's, from the import's limits. */
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
    memset(p, (int)(index + 1), BLOCK);
    uintptr_t bad = 0;
    for (size_t i = 0; i < BLOCK; i += 4096)
        bad += p[i] != (unsigned char)(index + 1);
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
