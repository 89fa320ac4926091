/* SPDX-License-Identifier: Apache-2.0 */
/* Engine-private: the codegen half of the engine. Turns wasm bytes into a
 * cached native object (wasm-validate, wasm2c, post-pass, shim, cc) under
 * <cache_dir>/objects/<hash>-<flavor>/. object.c calls gr__codegen_ensure;
 * the rest is shared between codegen.c, cache.c, postpass.c, shimgen.c. */
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
    int explicit_bounds;   /* WASM_RT_MEMCHECK_SIGNAL_HANDLER=0, no post-pass */
    /* GR_ENGINE_WASM2C (wasm-validate, wasm2c, shim) or GR_ENGINE_GRANARY
     * (src/wasm's generator, gobject.h); part of the cache key. */
    int backend;
    gr_import_check_fn import_check; /* NULL = accept every import */
    gr_import_sig_fn import_sig;     /* NULL = names are not known */
    /* Per-process limits of every tool run (wasm2c, cc and its cc1/as):
     * RLIMIT_AS in MiB and RLIMIT_CPU in seconds. 0 = the environment
     * ($GRANARY_CC_MEMORY_MIB, $GRANARY_CC_CPU_S), else 4096 MiB and
     * 600 s; negative = no limit. */
    long mem_mib;
    long cpu_s;
};

/* Ensures <cache_dir>/objects/<hash>-<flavor>/module.so exists for this
 * wasm and writes its path into so_path (PATH_MAX bytes). The flavor
 * encodes GR_SHIM_ABI_VERSION, explicit_bounds and a hash of the compiler
 * command, flags and embedded runtime header, so changed flags never reuse
 * stale objects. hash_hex is the SHA-256 hex of wasm (trusted, not
 * recomputed). The object is built in <cache_dir>/tmp/<unique>/ and
 * published with one rename(); a lost race uses the winner's object.
 * Returns 0, GR_EINVALID_MODULE (validator message in err), GR_EIMPORT
 * (every unknown import, and every import whose signature differs from
 * the host's, in one message), GR_ECOMPILE (wasm2c or cc
 * failed or ran past the per-step deadline of 10 minutes; the first lines
 * of its output in err), GR_ETOOLCHAIN (a tool is not on PATH) or -errno.
 * On failure nothing is left in the cache.
 * Thread-safe and multi-process safe; err may be NULL. */
int gr__codegen_ensure(const struct gr__codegen_opts* o,
                       const uint8_t* wasm,
                       size_t len,
                       const char* hash_hex,
                       char* so_path,
                       char* err,
                       size_t errlen);

/* The runtime headers generated code compiles against, embedded at build
 * time (codegen.cmake) so an installed binary needs no source tree. */
extern const char gr__codegen_wasm_rt_h[];
extern const size_t gr__codegen_wasm_rt_h_len;
extern const char gr__codegen_shim_h[];
extern const size_t gr__codegen_shim_h_len;

/* ---- growable byte buffer (postpass.c) ---- */

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

/* ---- header parsing and shim generation (shimgen.c) ---- */

struct gr__codegen_fn
{
    char* module; /* import module; NULL for exports */
    char* name;   /* unmangled wasm name */
    char* sym;    /* C symbol in the generated code */
    char sig[64]; /* "ii>i" */
};

struct gr__codegen_info
{
    char* prefix;    /* "Z_<modname>" */
    char* mem_field; /* defined memory field, NULL if none */
    char* sp_field;  /* "w2c___stack_pointer" or NULL */
    char** tables;   /* funcref table fields */
    size_t n_tables;
    char** ctx_fields; /* imported-module context pointer fields */
    size_t n_ctx_fields;
    char** inst_args; /* struct types of instantiate's import arguments */
    size_t n_inst_args;
    struct gr__codegen_fn* imports;
    size_t n_imports;
    struct gr__codegen_fn* exports; /* functions only */
    size_t n_exports;
};

/* Parses the wasm2c 1.0.32 header text for module name modname. Rejects
 * imported memories (GR_EINVALID_MODULE) and imported globals or tables
 * or unsupported import signatures (GR_EIMPORT). Returns 0, a GR_E* code
 * or -ENOMEM; info must be released with gr__codegen_info_fini. */
int gr__codegen_info_parse(const char* header,
                           const char* modname,
                           struct gr__codegen_info* info,
                           char* err,
                           size_t errlen);
void gr__codegen_info_fini(struct gr__codegen_info* info);

/* Writes signature sig ("ii>I") as wasm types ("(i32, i32) -> i64") into
 * out[0..cap). */
void gr__codegen_sig_describe(const char* sig, char* out, size_t cap);

/* Writes the shim C source for info into out (includes "module.h" and
 * "engine/shim.h"). */
void gr__codegen_shim_source(const struct gr__codegen_info* info,
                             struct gr__codegen_buf* out);

/* ---- post-pass and split (postpass.c) ---- */

struct gr__codegen_xform
{
    const char* mem_field; /* memory field to cache the base of; NULL: none */
    int cachebase;         /* apply the memory-base post-pass */
    int parts;             /* > 1: split function bodies into this many files */
};

/* Transforms the wasm2c output src[0..len) and writes the resulting C
 * files into dir (module.c alone, or common.h + part0.c .. partN-1.c).
 * names receives the file names (owned: free each with gr_free, then the
 * array); *n_names their count. Returns 0 or -errno. */
int gr__codegen_transform(const char* src,
                          size_t len,
                          const struct gr__codegen_xform* x,
                          const char* dir,
                          char*** names,
                          size_t* n_names);

/* ---- data segments (datasec.c) ---- */

/* Moves the data segments out of wasm2c's dir/module.c (streaming: memory
 * stays small however large they are): each segment's bytes go to
 * dir/<symbol>.bin, dir/data.s defines the symbols with .incbin, and
 * module.c keeps an extern declaration of each. *n_segments receives how
 * many were moved (0: no data.s); *data_bytes (may be NULL) their bytes.
 * Returns 0, -EINVAL (not wasm2c 1.0.32's layout) or -errno. */
int gr__codegen_extract_data(const char* dir,
                             size_t* n_segments,
                             size_t* data_bytes);

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
