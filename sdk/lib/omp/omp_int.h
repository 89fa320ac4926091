/* SPDX-License-Identifier: Apache-2.0 */
/* Private header of Granary's OpenMP runtime (sdk/lib/omp): the LLVM
 * __kmpc_* ABI and the omp_* API over POSIX threads and C11 atomics. The
 * same sources build natively (x86-64, glibc, futex) and for wasm32 guests
 * (memory.atomic.wait32/notify). Threading rules are given per struct.
 */
#ifndef GR_OMP_INT_H
#define GR_OMP_INT_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "omp.h"

/* ---- ABI types (layouts fixed by clang's code generation) ---- */

typedef struct ident
{
    int32_t reserved_1;
    int32_t flags;
    int32_t reserved_2;
    int32_t reserved_3;
    const char* psource;
} ident_t;
#define KMP_IDENT_ATOMIC_REDUCE 0x10

typedef int32_t kmp_critical_name[8];
typedef void (*kmpc_micro)(int32_t* gtid, int32_t* btid, ...);
typedef int32_t (*kmp_routine_entry_t)(int32_t gtid, void* task);

typedef union kmp_cmplrdata
{
    int32_t priority;
    kmp_routine_entry_t destructors;
} kmp_cmplrdata_t;

typedef struct kmp_task
{
    void* shareds;
    kmp_routine_entry_t routine;
    int32_t part_id;
    kmp_cmplrdata_t data1;
    kmp_cmplrdata_t data2;
} kmp_task_t;

typedef struct kmp_depend_info
{
    intptr_t base_addr;
    size_t len;
    uint8_t flags; /* 1 in, 2 out, 4 mutexinoutset, 8 inoutset */
} kmp_depend_info_t;

typedef struct kmp_dim
{
    int64_t lo, up, st;
} kmp_dim_t;

/* Schedule kinds of __kmpc_for_static_init / __kmpc_dispatch_init. */
enum
{
    SCH_STATIC_CHUNKED = 33,
    SCH_STATIC = 34,
    SCH_DYNAMIC = 35,
    SCH_GUIDED = 36,
    SCH_RUNTIME = 37,
    SCH_AUTO = 38,
    SCH_TRAPEZOIDAL = 39,
    SCH_STATIC_GREEDY = 40,
    SCH_STATIC_BALANCED = 41,
    SCH_GUIDED_ITERATIVE = 42,
    SCH_GUIDED_ANALYTICAL = 43,
    SCH_STATIC_STEAL = 44,
    SCH_STATIC_BALANCED_CHUNKED = 45,
    SCH_GUIDED_SIMD = 46,
    SCH_RUNTIME_SIMD = 47,
    SCH_ORD_LOWER = 65,
    SCH_ORD_UPPER = 72,
    SCH_DIST_STATIC_CHUNKED = 91,
    SCH_DIST_STATIC = 92,
    SCH_MODIFIER_MASK = (1 << 29) | (1 << 30)
};

/* Task flags of __kmpc_omp_task_alloc. */
#define TASK_TIED 0x1
#define TASK_FINAL 0x2
#define TASK_MERGED_IF0 0x4
#define TASK_DESTRUCTORS 0x8
#define TASK_PROXY 0x10
#define TASK_PRIORITY 0x20
#define TASK_DETACHABLE 0x40

/* ---- waiting (wait.c) ---- */

/* A word threads wait on. Writers change val, then call omp__flag_wake;
 * sleepers counts threads inside the futex wait so wakes can skip the
 * system call. Any thread may touch it. */
typedef struct omp_flag
{
    _Atomic uint32_t val;
    _Atomic uint32_t sleepers;
} omp_flag;

void omp__futex_wait(_Atomic uint32_t* addr, uint32_t expected);
void omp__futex_wake(_Atomic uint32_t* addr, int n);
void omp__flag_wake(omp_flag* f);
/* Waits while f->val == old: spins for the block time, then sleeps. */
void omp__flag_wait_ne(omp_flag* f, uint32_t old);
/* Spinning: call in a loop with a counter starting at 0; returns 0 when the
 * block time has passed and the caller should sleep. */
int omp__spin(unsigned* count);
void omp__pause(void);

/* A futex mutex in one 32-bit word (0 free, 1 locked, 2 contended). */
void omp__mutex_lock(_Atomic uint32_t* w);
int omp__mutex_trylock(_Atomic uint32_t* w);
void omp__mutex_unlock(_Atomic uint32_t* w);

double omp__now(void);

/* ---- ICVs ---- */

typedef struct omp_icv
{
    int nthreads;          /* nthreads-var of this level */
    int dynamic;           /* dyn-var */
    int max_active_levels; /* max-active-levels-var */
    int sched;             /* run-sched-var kind (omp_sched_t, may be |mono) */
    int chunk;             /* run-sched-var chunk (0: default) */
} omp_icv;

typedef struct omp_globals
{
    int initialized;
    int num_procs;
    int thread_limit;      /* thread-limit-var */
    int nthreads_list[16]; /* OMP_NUM_THREADS list, per level */
    int nthreads_len;
    int blocktime_us;          /* spin before sleeping */
    int max_task_prio;         /* max-task-priority-var */
    int cancellation;          /* cancel-var */
    int disp_buffers;          /* dispatch buffer ring size */
    int force_reduce;          /* 0 auto, 1 critical, 2 atomic */
    size_t stacksize;          /* 0: default */
    int taskloop_min;          /* KMP_TASKLOOP_MIN_TASKS */
    int throttle;              /* deque length at which tasks run at once */
    omp_icv icv;               /* initial ICVs */
    int target_offload;        /* 0 disabled, 1 default, 2 mandatory */
    _Atomic int nthreads_made; /* threads known to the runtime */
} omp_globals;

/* libomp's extra schedule kinds (omp_get_schedule reports them). */
#define OMP_SCHED_TRAPEZOIDAL 101
#define OMP_SCHED_STATIC_STEAL 102
#define OMP_BLOCKTIME_INFINITE 0x7fffffff

extern omp_globals omp__g;
void omp__init(void);
void omp__set_target_offload(const char* v);
int omp__supported_levels(void);

/* ---- tasks ---- */

typedef struct omp_team omp_team;
typedef struct omp_thread omp_thread;
typedef struct omp_task omp_task;
typedef struct omp_dephash omp_dephash;

/* A taskgroup: count of unfinished tasks created in it or its descendants.
 * Lives on the stack of the task that opened it. */
typedef struct omp_taskgroup
{
    _Atomic int32_t count;
    struct omp_taskgroup* parent;
    struct omp_taskred* red; /* task reductions of the group, or NULL */
} omp_taskgroup;

/* Dependence node of a task with depend clauses. refs: one for the task,
 * one per dependence-hash slot naming it. Lock protects succ/nsucc/done. */
typedef struct omp_depnode
{
    _Atomic int32_t npred; /* unfinished predecessors, +1 while building */
    _Atomic int32_t refs;
    _Atomic uint32_t lock;
    int done;
    omp_task* task; /* NULL for a wait-only node */
    struct omp_depnode** succ;
    int nsucc, capsucc;
} omp_depnode;

/* A task, implicit or explicit. An explicit task is one heap block:
 * omp_task, then the kmp_task_t with the compiler's privates, then the
 * shareds. refs = 1 for itself + 1 per unfinished child: the block is freed
 * when both it and all its children have finished. */
struct omp_task
{
    omp_task* parent;
    omp_team* team;
    omp_taskgroup* tg;     /* taskgroup this task counts in */
    omp_taskgroup* cur_tg; /* innermost taskgroup opened inside it */
    _Atomic int32_t children;
    _Atomic int32_t refs;
    _Atomic int32_t untied_count;
    _Atomic int32_t detach_state; /* 1 routine done, 2 fulfilled */
    int flags;
    int is_implicit;
    int in_final;
    int started;
    omp_depnode* dep;
    omp_dephash* dephash; /* dependences among this task's children */
    omp_icv icv;
    size_t alloc_size;
    /* worksharing state of an implicit task (one per thread per team) */
    uint32_t ws_count;     /* worksharing constructs started */
    uint32_t single_count; /* single constructs seen */
    struct omp_disp* disp; /* current dispatch buffer */
    struct omp_disp* da;   /* current doacross buffer */
    int64_t d_lb, d_st;    /* loop bounds, normalised */
    uint64_t d_trip;
    int64_t d_chunk;
    int d_sched;
    int d_simd;
    uint64_t d_static_k; /* static dispatch: chunks taken */
    uint64_t d_ord_iter; /* ordered: current iteration */
    int d_ord_bumped;
    int d_ordered;
    int reduce_locked; /* 1 critical reduction taken, 2 atomic */
    _Atomic uint32_t* reduce_lock;
    /* explicit tasks: the block's pool (task.c) and queue link */
    omp_thread* owner; /* thread whose pool the block returns to, or NULL */
    int pool_class;    /* size class, -1: plain malloc */
    omp_task* qnext;   /* free list, team inbox */
    _Alignas(16) kmp_task_t kt; /* explicit tasks only; must be last */
};

#define OMP_TASK_OF(kt) ((omp_task*)((char*)(kt)-offsetof(omp_task, kt)))

/* Ring of a deque; outgrown rings stay readable (a thief may still look at
 * one) until the deque is reset. */
typedef struct omp_dqring
{
    uint32_t mask; /* capacity - 1 (a power of two) */
    struct omp_dqring* older;
    _Atomic(omp_task*) slot[];
} omp_dqring;

/* Deque of ready tasks of one team member (Chase-Lev): only the member
 * pushes and pops at bottom, without a lock; other members steal at top
 * with a compare-and-swap. Indices wrap; bottom - top is the length.
 * Tasks that another thread makes ready go to the team's inbox. */
typedef struct omp_deque
{
    _Alignas(64) _Atomic uint32_t top;
    _Alignas(64) _Atomic uint32_t bottom;
    _Atomic(omp_dqring*) ring;
} omp_deque;

/* ---- teams ---- */

/* One worksharing construct's shared state. gen names the construct index
 * (per team) now using it; the last thread to finish moves it on by the ring
 * size. */
typedef struct omp_disp
{
    _Atomic uint32_t gen;
    _Atomic int32_t done;
    _Alignas(64) _Atomic uint64_t next; /* dynamic/guided: next iteration */
    _Alignas(64) _Atomic uint64_t ord_next;
    _Atomic(_Atomic uint32_t*) doacross; /* per-iteration posted flags */
    _Atomic uint32_t doacross_init;
    int64_t da_lo[8], da_st[8];
    uint64_t da_n[8];
    int da_dims;
} omp_disp;

/* A team. Made and owned by its master thread (one per master per nesting
 * level, reused, never freed). Fields above "shared" are written by the
 * master before the fork and read-only during the region. */
struct omp_team
{
    int nproc;
    int level;        /* enclosing parallel regions, this one included */
    int depth;        /* teams above it of this thread (cache slot) */
    int active_level; /* those with more than one thread */
    int parent_tid;   /* the master's thread number in the parent team */
    int hot;          /* workers stay attached between regions */
    int is_teams;     /* a league (teams construct) */
    omp_team* parent;
    omp_thread** members; /* [nproc]; members[0] is the master */
    int cap;              /* allocated members/implicit/deques */
    int nworkers_kept;    /* hot team: workers attached in members[1..] */
    omp_task* enc;        /* the task that encountered the parallel construct */
    kmpc_micro fn;
    int argc;
    void** args;
    int args_cap;
    omp_task* implicit; /* [cap] implicit tasks */
    omp_deque* deques;  /* [cap] */
    omp_disp* disp;     /* [disp_n] */
    int disp_n;

    /* shared during the region */
    _Alignas(64) _Atomic int32_t bar_count;
    _Atomic uint32_t bar_epoch;
    _Alignas(64) omp_flag event; /* bumped on release, task push, finish */
    _Alignas(64) _Atomic int32_t ntasks; /* unfinished explicit tasks */
    /* ready tasks queued by threads outside the team's deques */
    _Alignas(64) _Atomic int32_t ninbox;
    _Atomic uint32_t inbox_lock;
    omp_task* inbox;
    _Alignas(64) _Atomic uint32_t single; /* singles claimed */
    _Atomic int32_t active_workers; /* workers not yet out of the region */
    void* copyprivate;
    _Atomic int32_t cancel; /* 1 parallel, 2 loop, 3 sections, 4 tg */
};

/* A thread known to the runtime: a root (a thread the program started) or a
 * worker of the pool. Only the thread itself touches it, except go/next_*
 * (written by the master that hands it a team) and pool links. */
struct omp_thread
{
    int gtid;
    int tid;              /* number in the current team */
    omp_team* team;       /* current team */
    omp_task* task;       /* task being executed */
    int pending_nthreads; /* __kmpc_push_num_threads */
    int pending_nteams, pending_teams_limit;
    int team_num, num_teams; /* teams construct */
    int is_root;
    omp_team** team_cache; /* teams this thread mastered, by level */
    int team_cache_n;
    omp_team root_team;
    /* free task blocks by size class (only this thread), and blocks other
     * threads freed (a stack they push on) */
    omp_task* pool[5];
    _Atomic(omp_task*) pool_remote;
    /* worker hand-off */
    _Alignas(64) omp_flag go;
    omp_team* next_team;
    int next_tid;
    omp_thread* pool_next;
};

#define OMP_MAX_THREADS 1024
extern omp_thread* omp__threads[OMP_MAX_THREADS];
extern _Thread_local omp_thread* omp__self;

omp_thread* omp__register_root(void);
static inline omp_thread*
omp__me(void)
{
    omp_thread* t = omp__self;
    return t ? t : omp__register_root();
}
static inline omp_thread*
omp__thr(int32_t gtid)
{
    /* The compiler passes the calling thread's own number. */
    if (gtid >= 0 && gtid < OMP_MAX_THREADS && omp__threads[gtid])
        return omp__threads[gtid];
    return omp__me();
}

/* team.c */
void omp__fork(omp_thread* thr,
               int nproc,
               kmpc_micro fn,
               int argc,
               void** args);
void omp__barrier(omp_thread* thr);
void omp__serialized_begin(omp_thread* thr);
void omp__serialized_end(omp_thread* thr);
void omp__invoke(kmpc_micro fn,
                 int32_t* gtid,
                 int32_t* tid,
                 int argc,
                 void** args);
void omp__wake_team(omp_team* team);
void omp__icv_child(const omp_icv* parent, omp_icv* child, int level);
static inline omp_icv*
omp__icv(void)
{
    return &omp__me()->task->icv;
}

/* task.c */
/* Runs ready tasks until *cond becomes nonzero (cond == NULL: until the
 * team has no unfinished tasks). */
void omp__wait_tasks(omp_thread* thr, _Atomic int32_t* cond, int32_t until);
omp_task* omp__task_next(omp_thread* thr, omp_team* team);
void omp__task_run(omp_thread* thr, omp_task* t);
void omp__deque_init(omp_deque* d);
/* Empties a deque and frees its outgrown rings: only while no thread of
 * its team can be stealing (team_begin). */
void omp__deque_reset(omp_deque* d);
void omp__dephash_free(omp_dephash* h);
/* Combines and frees a taskgroup's task reductions (task_red.c). */
void omp__taskred_fini(omp_taskgroup* tg);

/* loop.c */
void omp__disp_reset(omp_team* team);

void omp__fatal(const char* fmt, ...)
  __attribute__((noreturn, format(printf, 1, 2)));

#endif
