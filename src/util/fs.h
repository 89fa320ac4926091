/* SPDX-License-Identifier: Apache-2.0 */
/* Small file-system helpers: whole-file read, atomic write, mkdir -p. */
#ifndef GR_UTIL_FS_H
#define GR_UTIL_FS_H

#include <stddef.h>
#include <stdint.h>

/* Reads a whole file into a new buffer (owned by the caller, gr_free),
 * refusing files larger than max_len (-EFBIG). Returns 0 or -errno. */
int gr_fs_read_file(const char* path,
                    size_t max_len,
                    uint8_t** data,
                    size_t* len);

/* Writes data to path atomically: a temporary file in the same directory,
 * fsync, then rename over path. A crash leaves either the old file or the
 * new one, never a partial file. Returns 0 or -errno. */
int gr_fs_write_atomic(const char* path, const void* data, size_t len);

/* Creates a directory and its parents (mode 0755); existing is fine. */
int gr_fs_mkdir_p(const char* path);

/* Removes a directory tree (like rm -rf). Missing is fine. */
int gr_fs_remove_tree(const char* path);

#endif
