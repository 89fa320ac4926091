/* SPDX-License-Identifier: Apache-2.0 */
/* Faaslets: one isolated instance of a function (object + linear memory +
 * WASI context + limits), restored copy-on-write from its Proto-Faaslet
 * and reset to it after every call, so no call sees another's writes. */
#ifndef GR_FAASLET_FAASLET_H
#define GR_FAASLET_FAASLET_H

#include <stddef.h>
#include <stdint.h>

#include "engine/engine.h"
#include "faaslet/snapshot.h"
#include "host/wasi/wasi.h"

struct gr_state;
typedef struct gr_proto gr_proto;
typedef struct gr_faaslet gr_faaslet;

/* How a function is entered. */
enum gr_entry_kind
{
    GR_ENTRY_COMMAND, /* _start: input on stdin, output = stdout */
    GR_ENTRY_REACTOR, /* granary_main: input/output via granary/faas.h */
};

typedef struct gr_proto_config
{
    uint32_t max_pages;       /* linear-memory cap (64 KiB pages); 0 = 65536 */
    size_t max_output;        /* output bytes per call; 0 = 16 MiB */
    size_t max_capture;       /* stdout/stderr bytes kept per call; 0 = 1 MiB */
    uint64_t init_timeout_ns; /* deadline of the initialisation (start
                                 function, _initialize, granary_init);
                                 0 = none */
    /* WASI view (copied): argv, environment, preopened directories. */
    size_t argc;
    const char* const* argv;
    size_t envc;
    const char* const* envp;
    size_t n_preopens;
    const gr_wasi_preopen* preopens;
} gr_proto_config;

/* Makes the Proto-Faaslet of obj: instantiates it (running its start
 * function), runs its one-time initialisation (reactor: _initialize, then
 * granary_init if exported; command: nothing, since _start runs
 * everything) and snapshots it, all on the calling thread under
 * cfg->max_pages and cfg->init_timeout_ns. Returns 0, GR_ENOEXPORT
 * (neither granary_main nor _start), GR_ETRAP / GR_EEXIT / GR_ETIMEOUT
 * (initialisation trapped, exited non-zero or ran past the timeout;
 * message in err) or -errno. The proto holds a reference to obj.
 * Immutable and shareable across threads. */
int gr_proto_create(gr_object* obj,
                    const gr_proto_config* cfg,
                    gr_proto** out,
                    char* err,
                    size_t errlen);
gr_proto* gr_proto_ref(gr_proto* p);
void gr_proto_unref(gr_proto* p);
enum gr_entry_kind gr_proto_entry(const gr_proto* p);
gr_snapshot* gr_proto_snapshot(const gr_proto* p);

/* One call's input. */
typedef struct gr_call
{
    const uint8_t* input;
    size_t input_len;
    uint64_t timeout_ns; /* 0 = no deadline */
} gr_call;

/* One call's outcome. Buffers are owned by the Faaslet and valid until its
 * next call, reset or destroy. */
typedef struct gr_call_result
{
    int status;      /* 0, GR_ETRAP (see trap) or -errno */
    int return_code; /* granary_main's value or the exit status */
    gr_trap trap;
    const uint8_t* output;
    size_t output_len;
    int output_truncated;  /* the guest exceeded max_output (its write
                              past it failed: EFBIG or -1) */
    int capture_truncated; /* stdout or stderr exceeded max_capture */
    const char* out;       /* captured stdout (reactors) and stderr */
    size_t out_len;
    const char* err;
    size_t err_len;
    uint64_t exec_ns; /* time inside the guest */
    /* The guest thread whose trap, exit or timeout ended the call (its
     * wasi thread id), 0 when it was the main thread's. */
    uint32_t thread;
} gr_call_result;

/* Restores a new Faaslet from the proto's snapshot (copy-on-write, no
 * guest code run). Returns 0 or -errno. */
int gr_faaslet_create(gr_proto* p, gr_faaslet** out);

/* Runs one call and resets the Faaslet to the snapshot afterwards, traps
 * included. Returns 0 when the call ran (its outcome, trap or exit
 * included, is in r) or -errno when the Faaslet could not run or reset
 * (then destroy it). One thread at a time per Faaslet. */
int gr_faaslet_call(gr_faaslet* f, const gr_call* c, gr_call_result* r);

/* Gives f access to shared state as `user` (state.h): creates its state
 * context (replacing any earlier one). st must outlive f. Returns 0,
 * -EINVAL (bad user name) or -ENOMEM. */
int gr_faaslet_set_state(gr_faaslet* f, struct gr_state* st, const char* user);

/* Resets to the snapshot (done by gr_faaslet_call; exposed for tests).
 * Shared-state segments mapped during the call get the snapshot's private
 * pages back and the call's state locks are released; shared values
 * themselves are untouched. */
int gr_faaslet_reset(gr_faaslet* f);

void gr_faaslet_destroy(gr_faaslet* f);

gr_instance* gr_faaslet_instance(const gr_faaslet* f);
gr_proto* gr_faaslet_proto(const gr_faaslet* f);

#endif
