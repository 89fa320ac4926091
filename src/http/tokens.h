/* SPDX-License-Identifier: Apache-2.0 */
/* API tokens: the token file (one "TOKEN USER [admin]" per line, mode 0600)
 * that maps bearer tokens to tenants, its parser, constant-time lookup, and
 * the edits `granary token` makes to it. */
#ifndef GR_HTTP_TOKENS_H
#define GR_HTTP_TOKENS_H

#include <stddef.h>
#include <stdint.h>

#define GR_TOKEN_BYTES 32
#define GR_TOKEN_HEX_LEN (2 * GR_TOKEN_BYTES)
#define GR_TOKEN_USER_MAX 64

typedef struct gr_token_entry
{
    uint8_t key[GR_TOKEN_BYTES];
    char user[GR_TOKEN_USER_MAX + 1];
    int admin;
} gr_token_entry;

/* A parsed token file. Immutable once built, so any number of threads may
 * read one; the server swaps whole tables on reload. */
typedef struct gr_tokens
{
    gr_token_entry* v;
    size_t n;
} gr_tokens;

/* Parses the text of a token file. Blank lines and lines starting with '#'
 * are ignored. Returns 0, -EINVAL (message with the line number in err) or
 * -ENOMEM. t is filled (caller's storage; gr_tokens_fini). */
int gr_tokens_parse(const char* text,
                    size_t len,
                    gr_tokens* t,
                    char* err,
                    size_t errlen);

/* Reads and parses a token file. A missing file gives an empty table and
 * returns 0. Sets *insecure to 1 if the file is readable by group or
 * others (may be NULL). Returns 0 or a negative errno (message in err). */
int gr_tokens_load(const char* path,
                   gr_tokens* t,
                   int* insecure,
                   char* err,
                   size_t errlen);

void gr_tokens_fini(gr_tokens* t);

/* Finds the entry for a bearer token given as text (hex, len bytes, not
 * NUL-terminated). Every entry is compared in constant time, so timing
 * reveals neither the position nor how much of a token matched. Returns
 * the entry (borrowed from t) or NULL. */
const gr_token_entry* gr_tokens_find(const gr_tokens* t,
                                     const char* token,
                                     size_t len);

/* Compares two byte strings of equal length in time independent of their
 * contents. Returns 1 if equal, 0 if not. */
int gr_token_equal(const uint8_t* a, const uint8_t* b, size_t len);

/* Decodes 64 hex digits into 32 bytes. Returns 0 or -EINVAL. */
int gr_token_decode(const char* hex, size_t len, uint8_t key[GR_TOKEN_BYTES]);

/* Fills hex[GR_TOKEN_HEX_LEN + 1] with a new token: 32 bytes from
 * getrandom(2), lowercase hex. Returns 0 or -errno. */
int gr_token_generate(char hex[GR_TOKEN_HEX_LEN + 1]);

/* Whether name is a valid user or function name: [A-Za-z0-9_.-]{1,64},
 * not "." or "..". */
int gr_http_name_valid(const char* name, size_t len);

/* Appends a new token for user to the file at path (created with mode 0600
 * if missing; the rewrite is atomic and serialised with flock on the file's
 * directory lock). hex receives the token. Returns 0 or -errno. */
int gr_tokens_file_add(const char* path,
                       const char* user,
                       int admin,
                       char hex[GR_TOKEN_HEX_LEN + 1]);

/* Removes every line whose token equals tok, or starts with it if tok is at
 * least 8 hex digits and matches exactly one token. Returns 0, -ENOENT (no
 * match), -EEXIST (prefix matches several) or -errno. */
int gr_tokens_file_revoke(const char* path, const char* tok);

/* The data directory: dir if non-NULL, else $GRANARY_DATA, else
 * $XDG_DATA_HOME/granary, else $HOME/.local/share/granary. Writes into buf;
 * returns 0 or -ENAMETOOLONG / -ENOENT (no HOME). */
int gr_http_data_dir(const char* dir, char* buf, size_t len);

#endif
