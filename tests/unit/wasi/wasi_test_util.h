/* SPDX-License-Identifier: Apache-2.0 */
/* Fixture for the WASI unit tests: a temporary directory with a sandbox
 * (preopened as "/", guest fd 3) and a sibling "outside" directory the guest
 * must never reach, a 64 KiB synthetic linear memory and captured stdio. */
#ifndef GR_TEST_WASI_UTIL_H
#define GR_TEST_WASI_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "host/wasi/wasi.h"

#define TW_MEM_SIZE 65536u
#define TW_ROOT_FD 3u

typedef struct tw
{
    gr_wasi* w;
    wasm_rt_memory_t mem;
    char base[256];    /* the temporary directory */
    char root[300];    /* base/root: preopened as "/" */
    char outside[300]; /* base/outside: holds "secret" */
    char out[4096];
    size_t out_len;
    char err[4096];
    size_t err_len;
} tw;

/* cmocka group/test setup: creates the fixture into *state. */
int tw_setup(void** state);
/* As tw_setup with stdin taken from host fd stdin_fd and an optional
 * listening socket. */
int tw_setup_with(void** state, int stdin_fd, int listen_fd);
int tw_teardown(void** state);

/* Writes s (without NUL) at guest offset off; returns its length. */
uint32_t tw_put(tw* t, uint32_t off, const char* s);
/* Writes one iovec {buf, len} at guest offset off. */
void tw_iov(tw* t, uint32_t off, uint32_t buf, uint32_t len);
uint32_t tw_ld32(tw* t, uint32_t off);
uint64_t tw_ld64(tw* t, uint32_t off);
uint16_t tw_ld16(tw* t, uint32_t off);
/* Host path of rel inside the sandbox (static buffer per call slot 0/1). */
const char* tw_host(tw* t, const char* rel, int slot);
/* Creates a host file with content (path relative to base). */
void tw_write_file(const char* path, const char* content);
/* Opens path (guest, relative to fd 3) with all rights; returns guest fd. */
uint32_t tw_open(tw* t, const char* path, uint32_t oflags, uint32_t* fd);
/* Calls a path_* style function with a path at a fixed scratch offset. */
#define TW_PATH_OFF 1024u
#define TW_PATH2_OFF 2048u
#define TW_OUT_OFF 4096u

#endif
