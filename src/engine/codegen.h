/* SPDX-License-Identifier: Apache-2.0 */
/* Engine-private: the codegen half of the engine. Turns wasm bytes into a
 * cached native object (Granary's own decoder, validator and C generator in
 * process, then cc) under <cache_dir>/objects/<hash>-<flavor>/. engine.c
 * calls gr__codegen_ensure; the rest is shared between codegen.c,
 * codegen_util.c, gcodegen.c and cache.c. */
#ifndef GR_ENGINE_CODEGEN_H
#define GR_ENGINE_CODEGEN_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/engine.h"

struct gr__codegen_opts
{
    const char* cache_dir; /* required */
    const char* cc;        /* NULL = "cc"; may hold arguments ("gcc -m64") */
    int jobs;              /* 0 = number of CPUs */
    int explicit_bounds;   /* explicit bounds checks for every module */
    gr_import_check_fn import_check; /* NULL = accept every import */
    gr_import_sig_fn import_sig;     /* NULL = names are not known */
    /* Per-process limits of every tool run (cc and its cc1/as):
     * RLIMIT_AS in MiB and RLIMIT_CPU in seconds. 0 = the environment
     * ($GRANARY_CC_MEMORY_MIB, $GRANARY_CC_CPU_S), else 4096 MiB and
     * 600 s; negative = no limit. */
    long mem_mib;
    long cpu_s;
};

/* Ensures <cache_dir>/objects/<hash>-<flavor>/module.so exists for this
 * wasm and writes its path into so_path (PATH_MAX bytes). The flavor
 * encodes WRT_ABI_VERSION, explicit_bounds and a hash of the compiler
 * command, flags, the generator's sources and its runtime headers, so
 * changed flags or a changed generator never reuse stale objects. hash_hex is
 * the SHA-256 hex of wasm (trusted, not recomputed). The object is built in
 * <cache_dir>/tmp/<unique>/ and published with one rename(); a lost race uses
 * the winner's object. Returns 0, GR_EINVALID_MODULE (validator message in
 * err), GR_EIMPORT (every unknown import, and every import whose signature
 * differs from the host's, in one message), GR_ECOMPILE (a feature the
 * generator refuses, or cc failed or ran past the per-step deadline of 10
 * minutes; the first lines of its output in err), GR_ETOOLCHAIN (a tool is not
 * on PATH) or -errno. On failure nothing is left in the cache. Thread-safe and
 * multi-process safe; err may be NULL. */
int gr__codegen_ensure(const struct gr__codegen_opts* o,
                       const uint8_t* wasm,
                       size_t len,
                       const char* hash_hex,
                       char* so_path,
                       char* err,
                       size_t errlen);

/* ---- growable byte buffer (codegen_util.c) ---- */

struct gr__codegen_buf
{
    char* data; /* always NUL-terminated once anything was appended */
    size_t len, cap;
    int oom; /* sticky: an append failed */
};

void gr__codegen_buf_add(struct gr__codegen_buf* b, const char* s, size_t n);
void gr__codegen_buf_puts(struct gr__codegen_buf* b, const char* s);
void gr__codegen_buf_printf(struct gr__codegen_buf* b, const char* fmt, ...)
  __attribute__((format(printf, 2, 3)));
void gr__codegen_buf_fini(struct gr__codegen_buf* b);

/* Formats into err[0..errlen) when err is non-NULL; returns rc. */
int gr__codegen_err(int rc, char* err, size_t errlen, const char* fmt, ...)
  __attribute__((format(printf, 4, 5)));

/* ---- a module's imports (gcodegen.c fills it, codegen.c vets it) ---- */

struct gr__codegen_fn
{
    char* module; /* import module */
    char* name;   /* unmangled wasm name */
    char sig[64]; /* engine.h's signature format: "ii>i" */
};

struct gr__codegen_info
{
    struct gr__codegen_fn* imports;
    size_t n_imports;
};

void gr__codegen_info_fini(struct gr__codegen_info* info);

/* Writes signature sig ("ii>I") as wasm types ("(i32, i32) -> i64") into
 * out[0..cap). */
void gr__codegen_sig_describe(const char* sig, char* out, size_t cap);

/* ---- object cache (cache.c) ---- */

/* Removes <cache_dir>/tmp/<entry> build directories no live build holds
 * (flock) whose owning process is gone or that are older than max_age
 * seconds (left behind by a crash). Best effort. The engine runs it when
 * it starts and before each build. */
void gr__cache_clean_stale(const char* cache_dir, long max_age);

/* Creates a unique build directory <cache_dir>/tmp/<pid>-<random>, writes
 * its path into dir (PATH_MAX) and locks it: *lock_fd holds the lock until
 * closed (after the directory is removed). Returns 0 or -errno. */
int gr__cache_mktemp(const char* cache_dir, char* dir, int* lock_fd);

/* Publishes the finished directory src as final with rename(). When
 * another process won the race (final exists) ours is discarded. Returns
 * 0 (final is complete either way) or -errno. */
int gr__cache_publish(const char* src, const char* final);

#endif
