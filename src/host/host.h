/* SPDX-License-Identifier: Apache-2.0 */
/* The host interface as a whole: the per-instance context host functions
 * find through gr_instance_host(), and the tables of imports Granary
 * provides (WASI now; env/faas, MPI, OpenMP later) used to vet modules. */
#ifndef GR_HOST_HOST_H
#define GR_HOST_HOST_H

struct gr_wasi;
struct gr_state_ctx;
struct gr_mpi_rank;
struct gr_threads;
struct gr_threads_slots;

/* Per-instance host context. The faaslet layer owns it and stores it with
 * gr_instance_set_host(); every member is owned by the faaslet layer. Used by
 * whichever thread is running the instance. */
typedef struct gr_host_ctx
{
    struct gr_wasi* wasi;       /* NULL: every WASI call fails with ENOSYS */
    void* faas;                 /* Granary API state (later issues) */
    struct gr_state_ctx* state; /* shared state (NULL: state calls fail) */
    /* The MPI rank this instance runs as (src/mpi; NULL: not in a world,
     * the granary_mpi calls see a world of one rank that cannot talk). */
    struct gr_mpi_rank* mpi;
    /* The guest threads of the current call (src/host/threads.c): made by
     * the first wasi thread-spawn, ended by gr_threads_end; NULL when the
     * call has spawned none. Shared by the call's threads. */
    struct gr_threads* threads;
    /* Where the current call's threads get slots (src/host/threads.h;
     * borrowed, set by the scheduler around one call; NULL = the CPU
     * count rule of granary run). */
    const struct gr_threads_slots* thread_slots;
} gr_host_ctx;

/* One import the host provides: module, field name and wasm signature
 * (engine/shim.h format: "iiii>i"). Tables end with a NULL name. */
struct gr_host_import
{
    const char* module;
    const char* name;
    const char* sig;
};

/* The "granary_mpi" imports (src/host/mpi_table.c; implemented in
 * src/mpi/imports.c, which the host library does not depend on). */
extern const struct gr_host_import gr_mpi_imports[];
/* wasi thread-spawn and granary thread_limit (src/host/threads.c). */
extern const struct gr_host_import gr_thread_imports[];

/* Returns 1 if Granary provides module.name with exactly signature sig, else
 * 0. Matches gr_import_check_fn (engine.h). Thread-safe (static tables). */
int gr_host_import_check(const char* module, const char* name, const char* sig);

/* The signature under which Granary provides module.name (static string),
 * or NULL. Matches gr_import_sig_fn (engine.h). Thread-safe. */
const char* gr_host_import_sig(const char* module, const char* name);

#endif
