/* SPDX-License-Identifier: Apache-2.0 */
/* Prototypes of the __kmpc_* entry points that clang-14 and clang-19 emit
 * for -fopenmp (LLVM libomp's ABI), as implemented by sdk/lib/omp.
 */
#ifndef GR_KMP_ABI_H
#define GR_KMP_ABI_H

#include "omp_int.h"

/* parallel and teams */
void __kmpc_fork_call(ident_t* loc, int32_t argc, kmpc_micro fn, ...);
void __kmpc_fork_call_if(ident_t* loc,
                         int32_t argc,
                         kmpc_micro fn,
                         int32_t cond,
                         void* args);
void __kmpc_push_num_threads(ident_t* loc, int32_t gtid, int32_t n);
void __kmpc_serialized_parallel(ident_t* loc, int32_t gtid);
void __kmpc_end_serialized_parallel(ident_t* loc, int32_t gtid);
int32_t __kmpc_global_thread_num(ident_t* loc);
int32_t __kmpc_global_num_threads(ident_t* loc);
int32_t __kmpc_bound_thread_num(ident_t* loc);
int32_t __kmpc_bound_num_threads(ident_t* loc);
int32_t __kmpc_in_parallel(ident_t* loc);
int32_t __kmpc_ok_to_fork(ident_t* loc);
void __kmpc_begin(ident_t* loc, int32_t flags);
void __kmpc_end(ident_t* loc);
void __kmpc_push_num_teams(ident_t* loc,
                           int32_t gtid,
                           int32_t nteams,
                           int32_t nthreads);
void __kmpc_fork_teams(ident_t* loc, int32_t argc, kmpc_micro fn, ...);
void __kmpc_push_proc_bind(ident_t* loc, int32_t gtid, int bind);
int __kmpc_get_target_offload(void);

/* synchronisation */
void __kmpc_barrier(ident_t* loc, int32_t gtid);
int32_t __kmpc_cancel_barrier(ident_t* loc, int32_t gtid);
int32_t __kmpc_cancel(ident_t* loc, int32_t gtid, int32_t kind);
int32_t __kmpc_cancellationpoint(ident_t* loc, int32_t gtid, int32_t kind);
void __kmpc_flush(ident_t* loc);
int32_t __kmpc_master(ident_t* loc, int32_t gtid);
void __kmpc_end_master(ident_t* loc, int32_t gtid);
int32_t __kmpc_masked(ident_t* loc, int32_t gtid, int32_t filter);
void __kmpc_end_masked(ident_t* loc, int32_t gtid);
int32_t __kmpc_single(ident_t* loc, int32_t gtid);
void __kmpc_end_single(ident_t* loc, int32_t gtid);
void __kmpc_critical(ident_t* loc, int32_t gtid, kmp_critical_name* crit);
void __kmpc_critical_with_hint(ident_t* loc,
                               int32_t gtid,
                               kmp_critical_name* crit,
                               uint32_t hint);
void __kmpc_end_critical(ident_t* loc, int32_t gtid, kmp_critical_name* crit);
void __kmpc_ordered(ident_t* loc, int32_t gtid);
void __kmpc_end_ordered(ident_t* loc, int32_t gtid);
void __kmpc_copyprivate(ident_t* loc,
                        int32_t gtid,
                        size_t size,
                        void* data,
                        void (*cpy)(void*, void*),
                        int32_t didit);
int32_t __kmpc_reduce_nowait(ident_t* loc,
                             int32_t gtid,
                             int32_t nvars,
                             size_t size,
                             void* data,
                             void (*fn)(void*, void*),
                             kmp_critical_name* lck);
void __kmpc_end_reduce_nowait(ident_t* loc,
                              int32_t gtid,
                              kmp_critical_name* lck);
int32_t __kmpc_reduce(ident_t* loc,
                      int32_t gtid,
                      int32_t nvars,
                      size_t size,
                      void* data,
                      void (*fn)(void*, void*),
                      kmp_critical_name* lck);
void __kmpc_end_reduce(ident_t* loc, int32_t gtid, kmp_critical_name* lck);
void __kmpc_atomic_start(void);
void __kmpc_atomic_end(void);
void __kmpc_atomic_fixed4_add(ident_t* loc,
                              int32_t gtid,
                              int32_t* lhs,
                              int32_t rhs);
void __kmpc_atomic_fixed8_add(ident_t* loc,
                              int32_t gtid,
                              int64_t* lhs,
                              int64_t rhs);
void __kmpc_atomic_float8_add(ident_t* loc,
                              int32_t gtid,
                              double* lhs,
                              double rhs);

/* worksharing loops */
void __kmpc_for_static_init_4(ident_t* loc,
                              int32_t gtid,
                              int32_t sched,
                              int32_t* plast,
                              int32_t* plower,
                              int32_t* pupper,
                              int32_t* pstride,
                              int32_t incr,
                              int32_t chunk);
void __kmpc_for_static_init_4u(ident_t* loc,
                               int32_t gtid,
                               int32_t sched,
                               int32_t* plast,
                               uint32_t* plower,
                               uint32_t* pupper,
                               int32_t* pstride,
                               int32_t incr,
                               int32_t chunk);
void __kmpc_for_static_init_8(ident_t* loc,
                              int32_t gtid,
                              int32_t sched,
                              int32_t* plast,
                              int64_t* plower,
                              int64_t* pupper,
                              int64_t* pstride,
                              int64_t incr,
                              int64_t chunk);
void __kmpc_for_static_init_8u(ident_t* loc,
                               int32_t gtid,
                               int32_t sched,
                               int32_t* plast,
                               uint64_t* plower,
                               uint64_t* pupper,
                               int64_t* pstride,
                               int64_t incr,
                               int64_t chunk);
void __kmpc_for_static_fini(ident_t* loc, int32_t gtid);
void __kmpc_dispatch_init_4(ident_t* loc,
                            int32_t gtid,
                            int32_t sched,
                            int32_t lb,
                            int32_t ub,
                            int32_t st,
                            int32_t chunk);
void __kmpc_dispatch_init_4u(ident_t* loc,
                             int32_t gtid,
                             int32_t sched,
                             uint32_t lb,
                             uint32_t ub,
                             int32_t st,
                             int32_t chunk);
void __kmpc_dispatch_init_8(ident_t* loc,
                            int32_t gtid,
                            int32_t sched,
                            int64_t lb,
                            int64_t ub,
                            int64_t st,
                            int64_t chunk);
void __kmpc_dispatch_init_8u(ident_t* loc,
                             int32_t gtid,
                             int32_t sched,
                             uint64_t lb,
                             uint64_t ub,
                             int64_t st,
                             int64_t chunk);
int __kmpc_dispatch_next_4(ident_t* loc,
                           int32_t gtid,
                           int32_t* plast,
                           int32_t* plb,
                           int32_t* pub,
                           int32_t* pst);
int __kmpc_dispatch_next_4u(ident_t* loc,
                            int32_t gtid,
                            int32_t* plast,
                            uint32_t* plb,
                            uint32_t* pub,
                            int32_t* pst);
int __kmpc_dispatch_next_8(ident_t* loc,
                           int32_t gtid,
                           int32_t* plast,
                           int64_t* plb,
                           int64_t* pub,
                           int64_t* pst);
int __kmpc_dispatch_next_8u(ident_t* loc,
                            int32_t gtid,
                            int32_t* plast,
                            uint64_t* plb,
                            uint64_t* pub,
                            int64_t* pst);
void __kmpc_dispatch_fini_4(ident_t* loc, int32_t gtid);
void __kmpc_dispatch_fini_4u(ident_t* loc, int32_t gtid);
void __kmpc_dispatch_fini_8(ident_t* loc, int32_t gtid);
void __kmpc_dispatch_fini_8u(ident_t* loc, int32_t gtid);
void __kmpc_dispatch_deinit(ident_t* loc, int32_t gtid);
void __kmpc_doacross_init(ident_t* loc,
                          int32_t gtid,
                          int32_t ndims,
                          const kmp_dim_t* dims);
void __kmpc_doacross_wait(ident_t* loc, int32_t gtid, const int64_t* vec);
void __kmpc_doacross_post(ident_t* loc, int32_t gtid, const int64_t* vec);
void __kmpc_doacross_fini(ident_t* loc, int32_t gtid);

/* tasks */
kmp_task_t* __kmpc_omp_task_alloc(ident_t* loc,
                                  int32_t gtid,
                                  int32_t flags,
                                  size_t task_size,
                                  size_t shareds_size,
                                  kmp_routine_entry_t entry);
kmp_task_t* __kmpc_omp_target_task_alloc(ident_t* loc,
                                         int32_t gtid,
                                         int32_t flags,
                                         size_t task_size,
                                         size_t shareds_size,
                                         kmp_routine_entry_t entry,
                                         int64_t device);
int32_t __kmpc_omp_task(ident_t* loc, int32_t gtid, kmp_task_t* task);
int32_t __kmpc_omp_task_parts(ident_t* loc, int32_t gtid, kmp_task_t* task);
int32_t __kmpc_omp_task_with_deps(ident_t* loc,
                                  int32_t gtid,
                                  kmp_task_t* task,
                                  int32_t ndeps,
                                  kmp_depend_info_t* deps,
                                  int32_t ndeps_noalias,
                                  kmp_depend_info_t* noalias);
void __kmpc_omp_wait_deps(ident_t* loc,
                          int32_t gtid,
                          int32_t ndeps,
                          kmp_depend_info_t* deps,
                          int32_t ndeps_noalias,
                          kmp_depend_info_t* noalias);
void __kmpc_omp_task_begin_if0(ident_t* loc, int32_t gtid, kmp_task_t* task);
void __kmpc_omp_task_complete_if0(ident_t* loc, int32_t gtid, kmp_task_t* task);
int32_t __kmpc_omp_taskwait(ident_t* loc, int32_t gtid);
int32_t __kmpc_omp_taskyield(ident_t* loc, int32_t gtid, int end_part);
void __kmpc_taskgroup(ident_t* loc, int32_t gtid);
void __kmpc_end_taskgroup(ident_t* loc, int32_t gtid);
void __kmpc_taskloop(ident_t* loc,
                     int32_t gtid,
                     kmp_task_t* task,
                     int if_val,
                     uint64_t* lb,
                     uint64_t* ub,
                     int64_t st,
                     int nogroup,
                     int sched,
                     uint64_t grainsize,
                     void* task_dup);
void __kmpc_taskloop_5(ident_t* loc,
                       int32_t gtid,
                       kmp_task_t* task,
                       int if_val,
                       uint64_t* lb,
                       uint64_t* ub,
                       int64_t st,
                       int nogroup,
                       int sched,
                       uint64_t grainsize,
                       int modifier,
                       void* task_dup);
omp_event_handle_t __kmpc_task_allow_completion_event(ident_t* loc,
                                                      int32_t gtid,
                                                      kmp_task_t* task);
void __kmpc_proxy_task_completed(int32_t gtid, kmp_task_t* task);
void __kmpc_proxy_task_completed_ooo(kmp_task_t* task);

void* __kmpc_taskred_init(int32_t gtid, int32_t num, void* data);
void* __kmpc_taskred_modifier_init(ident_t* loc,
                                   int32_t gtid,
                                   int is_ws,
                                   int32_t num,
                                   void* data);
void __kmpc_task_reduction_modifier_fini(ident_t* loc, int32_t gtid, int is_ws);
void* __kmpc_task_reduction_get_th_data(int32_t gtid, void* tg, void* data);

/* threadprivate */
void* __kmpc_threadprivate_cached(ident_t* loc,
                                  int32_t gtid,
                                  void* data,
                                  size_t size,
                                  void*** cache);
void __kmpc_threadprivate_register(ident_t* loc,
                                   void* data,
                                   void* (*ctor)(void*),
                                   void* (*cctor)(void*, void*),
                                   void (*dtor)(void*));

/* allocation used by clang for some private copies */
void* __kmpc_alloc(int32_t gtid, size_t size, void* allocator);
void __kmpc_free(int32_t gtid, void* p, void* allocator);

#endif
