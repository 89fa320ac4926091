/* SPDX-License-Identifier: Apache-2.0 */
/* Process-level pieces of the thread library: the main thread's TLS block
 * (wasm-ld leaves __tls_base at 0 in a shared-memory module), and exit()
 * and the main thread's half of __wasm_call_dtors (start.s), which stand in
 * for libc's exit.o so that a worker's end runs no atexit handlers. */
#include <stdint.h>
#include <stdlib.h>

#include "pthread_int.h"

/* Defined by wasm-ld in every shared-memory module: copies the TLS image
 * into block and points __tls_base at it. */
void __wasm_init_tls(void* block);

/* libc's, when linked (atexit.o, __stdio_exit.o). */
void __funcs_on_exit(void) __attribute__((weak));
void __stdio_exit(void) __attribute__((weak));

/* Referenced by granary-cc (-Wl,-u,__granary_pthread_init) so that this
 * file, and with it the constructor below, is always linked. */
int __granary_pthread_init;

/* Before any other constructor: _Thread_local variables of the main thread
 * (and of libc's constructors) need a block. Priorities up to 100 are
 * reserved for the implementation, which this library is. */
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wunknown-warning-option"
#pragma clang diagnostic ignored "-Wprio-ctor-dtor"
#pragma clang diagnostic ignored "-Wpriority-ctor-dtor"
__attribute__((constructor(1))) static void
main_tls(void)
{
    size_t size = __builtin_wasm_tls_size();
    size_t align = __builtin_wasm_tls_align();
    if (align < 16)
        align = 16;
    size_t n = (size + align - 1) & ~(align - 1);
    void* block = aligned_alloc(align, n ? n : align);
    if (!block)
        abort();
    __wasm_init_tls(block);
}
#pragma clang diagnostic pop

static void
run_exit_handlers(void)
{
    if (__funcs_on_exit)
        __funcs_on_exit();
    if (__stdio_exit)
        __stdio_exit();
}

/* Called by __wasm_call_dtors (start.s) in the main thread only: when
 * main returns. */
void __granary_dtors_main(void);
void
__granary_dtors_main(void)
{
    gr__pt_rlock(&gr__pt_stdio_lock);
    run_exit_handlers();
    gr__pt_runlock(&gr__pt_stdio_lock);
}

/* From any thread: ends the whole call. The stdio lock is kept so that no
 * thread writes to a FILE while it is flushed. */
_Noreturn void
exit(int code)
{
    gr__pt_rlock(&gr__pt_stdio_lock);
    run_exit_handlers();
    _Exit(code);
}
