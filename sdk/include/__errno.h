/* SPDX-License-Identifier: Apache-2.0 */
/* Stands in for wasi-libc's <__errno.h> (included by <errno.h>): Debian's
 * wasi-libc declares errno _Thread_local but its libc.a is the non-threaded
 * build, where errno is a plain global. Code compiled with atomics
 * (granary-cc -pthread) would address it as TLS and fail to link, so with
 * atomics errno is declared as what libc.a defines: one global shared by
 * all threads (docs/threads.md, "Guest side"). */
#ifndef __wasilibc___errno_h
#define __wasilibc___errno_h

#ifdef __cplusplus
extern "C"
{
#endif

#if defined(__wasm_atomics__)
    extern int errno;
#elif defined(__cplusplus)
extern thread_local int errno;
#else
extern _Thread_local int errno;
#endif

#define errno errno

#ifdef __cplusplus
}
#endif

#endif
