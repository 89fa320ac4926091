/* SPDX-License-Identifier: Apache-2.0 */
/* granary token: creates, lists and revokes the API tokens of a server by
 * editing its token file (a running server picks changes up within a
 * second, or at once on SIGHUP). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "http/tokens.h"
#include "util/alloc.h"
#include "util/fs.h"

static void
token_usage(FILE* f)
{
    fputs("usage: granary token create USER [--admin] [options]\n"
          "       granary token list [options]\n"
          "       granary token revoke TOKEN [options]\n"
          "\n"
          "Edits the token file of a server on this machine. A token maps\n"
          "to one user; an admin token may access every user. 'create'\n"
          "prints the new token (32 random bytes, hex) on stdout. 'revoke'\n"
          "takes the token or a unique prefix of at least 8 digits.\n"
          "\n"
          "options:\n"
          "  --data DIR    the server's data directory (default\n"
          "                $GRANARY_DATA, else ~/.local/share/granary);\n"
          "                the token file is DIR/tokens\n"
          "  --tokens FILE the token file itself\n"
          "  -h, --help    show this help\n"
          "\n"
          "exit status: 0 ok, 1 error, 2 usage, 4 no such token.\n",
          f);
}

int
gr_cli_token(int argc, char** argv)
{
    const char* data = NULL;
    const char* file = NULL;
    const char* pos[2] = { NULL, NULL };
    int npos = 0, admin = 0;
    for (int i = 1; i < argc; i++) {
        const char* a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            token_usage(stdout);
            return GR_CLI_OK;
        } else if (strcmp(a, "--admin") == 0) {
            admin = 1;
        } else if (strcmp(a, "--data") == 0 && i + 1 < argc) {
            data = argv[++i];
        } else if (strcmp(a, "--tokens") == 0 && i + 1 < argc) {
            file = argv[++i];
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "granary token: unknown option '%s'\n", a);
            token_usage(stderr);
            return GR_CLI_USAGE;
        } else if (npos < 2) {
            pos[npos++] = a;
        } else {
            token_usage(stderr);
            return GR_CLI_USAGE;
        }
    }
    if (npos == 0) {
        token_usage(stderr);
        return GR_CLI_USAGE;
    }
    char path[4096];
    if (file) {
        snprintf(path, sizeof path, "%s", file);
    } else {
        char dir[4000];
        if (gr_http_data_dir(data, dir, sizeof dir) < 0) {
            fprintf(stderr,
                    "granary token: no data directory (set --data "
                    "or GRANARY_DATA)\n");
            return GR_CLI_USAGE;
        }
        snprintf(path, sizeof path, "%s/tokens", dir);
    }
    const char* sub = pos[0];
    if (strcmp(sub, "create") == 0) {
        if (npos != 2) {
            fprintf(stderr, "granary token create: want USER\n");
            return GR_CLI_USAGE;
        }
        char hex[GR_TOKEN_HEX_LEN + 1];
        int rc = gr_tokens_file_add(path, pos[1], admin, hex);
        if (rc == -EINVAL) {
            fprintf(stderr,
                    "granary token: bad user name '%s' (want "
                    "[A-Za-z0-9_.-]{1,64})\n",
                    pos[1]);
            return GR_CLI_USAGE;
        }
        if (rc < 0) {
            fprintf(stderr, "granary token: %s: %s\n", path, strerror(-rc));
            return GR_CLI_FAILURE;
        }
        printf("%s\n", hex);
        return GR_CLI_OK;
    }
    if (strcmp(sub, "list") == 0) {
        if (npos != 1 || admin)
            return token_usage(stderr), GR_CLI_USAGE;
        gr_tokens t;
        char err[256] = "";
        int rc = gr_tokens_load(path, &t, NULL, err, sizeof err);
        if (rc < 0) {
            fprintf(stderr, "granary token: %s\n", err);
            return GR_CLI_FAILURE;
        }
        /* Only a prefix: the full token is a secret and the file holds
         * it for whoever needs it. */
        for (size_t i = 0; i < t.n; i++) {
            printf("%02x%02x%02x%02x...  %-20s%s\n",
                   t.v[i].key[0],
                   t.v[i].key[1],
                   t.v[i].key[2],
                   t.v[i].key[3],
                   t.v[i].user,
                   t.v[i].admin ? "  admin" : "");
        }
        gr_tokens_fini(&t);
        return GR_CLI_OK;
    }
    if (strcmp(sub, "revoke") == 0) {
        if (npos != 2 || admin)
            return token_usage(stderr), GR_CLI_USAGE;
        int rc = gr_tokens_file_revoke(path, pos[1]);
        if (rc == -ENOENT) {
            fprintf(stderr, "granary token: no such token\n");
            return GR_CLI_DENIED;
        }
        if (rc == -EEXIST) {
            fprintf(
              stderr, "granary token: '%s' matches several tokens\n", pos[1]);
            return GR_CLI_USAGE;
        }
        if (rc < 0) {
            fprintf(stderr, "granary token: %s: %s\n", path, strerror(-rc));
            return GR_CLI_FAILURE;
        }
        return GR_CLI_OK;
    }
    fprintf(stderr, "granary token: unknown subcommand '%s'\n", sub);
    token_usage(stderr);
    return GR_CLI_USAGE;
}
