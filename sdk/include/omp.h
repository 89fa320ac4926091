/* SPDX-License-Identifier: Apache-2.0 */
/* The OpenMP API of Granary's guest OpenMP runtime (sdk/lib/omp). Types are
 * laid out like LLVM libomp's so that objects compiled against either header
 * link against either runtime. See docs/openmp.md for what is supported.
 */
#ifndef GRANARY_OMP_H
#define GRANARY_OMP_H

#include <stddef.h>
#include <stdint.h>

#define _OPENMP_GRANARY 1

#ifdef __cplusplus
extern "C"
{
#endif

    /* Locks: one pointer each. A simple lock keeps its state in the pointer's
     * storage; a nested lock points to a heap block made by omp_init_nest_lock.
     */
    typedef struct omp_lock_t
    {
        void* _lk;
    } omp_lock_t;
    typedef struct omp_nest_lock_t
    {
        void* _lk;
    } omp_nest_lock_t;

    typedef enum omp_sched_t
    {
        omp_sched_static = 1,
        omp_sched_dynamic = 2,
        omp_sched_guided = 3,
        omp_sched_auto = 4,
        omp_sched_monotonic = (int)0x80000000
    } omp_sched_t;

    typedef enum omp_sync_hint_t
    {
        omp_sync_hint_none = 0,
        omp_lock_hint_none = omp_sync_hint_none,
        omp_sync_hint_uncontended = 1,
        omp_lock_hint_uncontended = omp_sync_hint_uncontended,
        omp_sync_hint_contended = (1 << 1),
        omp_lock_hint_contended = omp_sync_hint_contended,
        omp_sync_hint_nonspeculative = (1 << 2),
        omp_lock_hint_nonspeculative = omp_sync_hint_nonspeculative,
        omp_sync_hint_speculative = (1 << 3),
        omp_lock_hint_speculative = omp_sync_hint_speculative
    } omp_sync_hint_t;
    typedef omp_sync_hint_t omp_lock_hint_t;

    typedef enum omp_proc_bind_t
    {
        omp_proc_bind_false = 0,
        omp_proc_bind_true = 1,
        omp_proc_bind_master = 2,
        omp_proc_bind_close = 3,
        omp_proc_bind_spread = 4
    } omp_proc_bind_t;

    typedef enum omp_pause_resource_t
    {
        omp_pause_resume = 0,
        omp_pause_soft = 1,
        omp_pause_hard = 2
    } omp_pause_resource_t;

    typedef enum omp_event_handle_t
    {
        omp_event_handle_t_max__ = UINTPTR_MAX
    } omp_event_handle_t;

    /* Threads and teams. */
    extern void omp_set_num_threads(int n);
    extern int omp_get_num_threads(void);
    extern int omp_get_max_threads(void);
    extern int omp_get_thread_num(void);
    extern int omp_get_num_procs(void);
    extern int omp_in_parallel(void);
    extern int omp_in_final(void);
    extern void omp_set_dynamic(int on);
    extern int omp_get_dynamic(void);
    extern void omp_set_nested(int on);
    extern int omp_get_nested(void);
    extern void omp_set_max_active_levels(int n);
    extern int omp_get_max_active_levels(void);
    extern int omp_get_supported_active_levels(void);
    extern int omp_get_level(void);
    extern int omp_get_active_level(void);
    extern int omp_get_ancestor_thread_num(int level);
    extern int omp_get_team_size(int level);
    extern int omp_get_thread_limit(void);
    extern void omp_set_schedule(omp_sched_t kind, int chunk);
    extern void omp_get_schedule(omp_sched_t* kind, int* chunk);
    extern int omp_get_cancellation(void);
    extern omp_proc_bind_t omp_get_proc_bind(void);
    extern int omp_get_num_places(void);
    extern int omp_get_place_num(void);
    extern int omp_get_max_task_priority(void);
    extern int omp_get_num_teams(void);
    extern int omp_get_team_num(void);
    extern int omp_get_default_device(void);
    extern void omp_set_default_device(int device);
    extern int omp_get_num_devices(void);
    extern int omp_get_device_num(void);
    extern int omp_is_initial_device(void);
    extern int omp_get_initial_device(void);
    extern int omp_pause_resource(omp_pause_resource_t kind, int device);
    extern int omp_pause_resource_all(omp_pause_resource_t kind);
    extern void omp_fulfill_event(omp_event_handle_t event);

    /* Locks. */
    extern void omp_init_lock(omp_lock_t* lock);
    extern void omp_init_lock_with_hint(omp_lock_t* lock, omp_sync_hint_t hint);
    extern void omp_destroy_lock(omp_lock_t* lock);
    extern void omp_set_lock(omp_lock_t* lock);
    extern void omp_unset_lock(omp_lock_t* lock);
    extern int omp_test_lock(omp_lock_t* lock);
    extern void omp_init_nest_lock(omp_nest_lock_t* lock);
    extern void omp_init_nest_lock_with_hint(omp_nest_lock_t* lock,
                                             omp_sync_hint_t hint);
    extern void omp_destroy_nest_lock(omp_nest_lock_t* lock);
    extern void omp_set_nest_lock(omp_nest_lock_t* lock);
    extern void omp_unset_nest_lock(omp_nest_lock_t* lock);
    extern int omp_test_nest_lock(omp_nest_lock_t* lock);

    /* Timing. */
    extern double omp_get_wtime(void);
    extern double omp_get_wtick(void);

    /* libomp extensions that programs use. */
    extern void kmp_set_defaults(const char* settings);
    extern void kmp_set_disp_num_buffers(int n);
    extern int kmp_get_blocktime(void);
    extern void kmp_set_blocktime(int msec);
    extern void* kmp_malloc(size_t size);
    extern void* kmp_aligned_malloc(size_t size, size_t alignment);
    extern void* kmp_calloc(size_t n, size_t size);
    extern void* kmp_realloc(void* p, size_t size);
    extern void kmp_free(void* p);

#ifdef __cplusplus
}
#endif

#endif
