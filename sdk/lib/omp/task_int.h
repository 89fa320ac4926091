/* SPDX-License-Identifier: Apache-2.0 */
/* Private interface between the task files of the OpenMP runtime
 * (task.c, task_dep.c, task_loop.c).
 */
#ifndef GR_OMP_TASK_INT_H
#define GR_OMP_TASK_INT_H

#include "omp_int.h"

/* A block of at least size bytes for an explicit task, from the calling
 * thread's pool (owner and pool_class set; nothing else initialised). */
omp_task* omp__task_block(omp_thread* thr, size_t size);
/* Returns a block to its maker's pool; any thread. */
void omp__task_block_free(omp_task* t);
/* Queues a registered, ready task (or runs it at once when throttled). */
void omp__task_push(omp_thread* thr, omp_task* t);
/* Counts a new task in its parent, taskgroup and team. */
void omp__task_register(omp_task* t);
/* Runs a registered task now (inside a final task) or queues it. */
void omp__task_submit(omp_thread* thr, omp_task* t);
/* Marks a finished task's dependence node done and queues the successors
 * that became ready. */
void omp__deps_release(omp_thread* thr, omp_depnode* n);
void omp__depnode_unref(omp_depnode* n);

#endif
