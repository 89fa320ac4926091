/* SPDX-License-Identifier: Apache-2.0 */
/* Table-driven option parsing for the long-running commands (serve,
 * planner, worker): one place for value syntax, ranges and messages. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli_int.h"
#include "util/log.h"

static int
parse_long(const char* s, long lo, long hi, long* out)
{
    char* end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

int
gr__cli_parse_secs(const char* s, double* out)
{
    char* end;
    double v = strtod(s, &end);
    if (end == s || s[0] == '-' || s[0] == '+')
        return -1;
    /* A unit suffix, as wasmtime's durations: 100ms, 2s, 1m, 1h. */
    if (!strcmp(end, "ms"))
        v /= 1000.0;
    else if (!strcmp(end, "m"))
        v *= 60.0;
    else if (!strcmp(end, "h"))
        v *= 3600.0;
    else if (*end && strcmp(end, "s"))
        return -1;
    if (!(v > 0) || v > 86400.0 * 365)
        return -1;
    *out = v;
    return 0;
}

static int
parse_size(const char* s, unsigned long long* out)
{
    char* end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || s[0] == '-')
        return -1;
    unsigned long long mul = 1;
    if (*end == 'K' || *end == 'k')
        mul = 1ull << 10;
    else if (*end == 'M' || *end == 'm')
        mul = 1ull << 20;
    else if (*end == 'G' || *end == 'g')
        mul = 1ull << 30;
    else if (*end)
        return -1;
    if (mul > 1 && end[1])
        return -1;
    if (v > (1ull << 40) / mul)
        return -1;
    *out = v * mul;
    return 0;
}

int
gr__cli_parse_listen(const char* s, gr__cli_listen* o)
{
    const char* colon = strrchr(s, ':');
    if (!colon || colon == s)
        return -1;
    size_t hl = (size_t)(colon - s);
    /* [v6]:port */
    if (s[0] == '[' && hl >= 2 && s[hl - 1] == ']') {
        s++;
        hl -= 2;
    }
    if (hl >= sizeof o->host)
        return -1;
    long port;
    if (parse_long(colon + 1, 0, 65535, &port) < 0)
        return -1;
    memcpy(o->host, s, hl);
    o->host[hl] = '\0';
    o->port = (unsigned)port;
    return 0;
}

static int
parse_value(const gr__cli_opt* o, const char* v)
{
    switch (o->kind) {
        case GR__CLI_STR:
            *(const char**)o->dst = v;
            return 0;
        case GR__CLI_LONG:
            return parse_long(v, o->lo, o->hi, o->dst);
        case GR__CLI_SECS:
            return gr__cli_parse_secs(v, o->dst);
        case GR__CLI_SIZE:
            return parse_size(v, o->dst);
        case GR__CLI_LISTEN:
            return gr__cli_parse_listen(v, o->dst);
        case GR__CLI_FLAG:
            break;
    }
    return -1;
}

/* The common options' table (NULL-terminated) for c. */
static void
common_opts(gr__cli_common* c, int http, gr__cli_opt out[10])
{
    size_t n = 0;
    out[n++] = (gr__cli_opt){ "--data", GR__CLI_STR, &c->data, 0, 0 };
    out[n++] = (gr__cli_opt){ "--cache", GR__CLI_STR, &c->cache, 0, 0 };
    out[n++] = (gr__cli_opt){ "--redis", GR__CLI_STR, &c->redis, 0, 0 };
    out[n++] = (gr__cli_opt){ "--timeout", GR__CLI_SECS, &c->timeout, 0, 0 };
    out[n++] = (gr__cli_opt){ "--quiet", GR__CLI_FLAG, &c->quiet, 0, 0 };
    if (http) {
        out[n++] =
          (gr__cli_opt){ "--listen", GR__CLI_LISTEN, &c->listen, 0, 0 };
        out[n++] = (gr__cli_opt){ "--tokens", GR__CLI_STR, &c->tokens, 0, 0 };
        out[n++] =
          (gr__cli_opt){ "--port-file", GR__CLI_STR, &c->port_file, 0, 0 };
        out[n++] =
          (gr__cli_opt){ "--threads", GR__CLI_LONG, &c->threads, 1, 1024 };
    }
    out[n] = (gr__cli_opt){ NULL, GR__CLI_FLAG, NULL, 0, 0 };
}

static const gr__cli_opt*
find(const gr__cli_opt* t, const char* name)
{
    for (; t && t->name; t++)
        if (!strcmp(t->name, name))
            return t;
    return NULL;
}

static int
parse(const char* prog,
      int argc,
      char** argv,
      const gr__cli_opt* own,
      const gr__cli_opt* common,
      void (*usage)(FILE* f))
{
    for (int i = 1; i < argc; i++) {
        const char* a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            exit(GR_CLI_OK);
        }
        const gr__cli_opt* o = find(own, a);
        if (!o)
            o = find(common, a);
        if (!o) {
            fprintf(stderr, "granary %s: unknown option '%s'\n", prog, a);
            return -1;
        }
        if (o->kind == GR__CLI_FLAG) {
            *(int*)o->dst = 1;
            continue;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "granary %s: missing value for %s\n", prog, a);
            return -1;
        }
        const char* v = argv[++i];
        if (parse_value(o, v) < 0) {
            fprintf(stderr, "granary %s: bad value for %s: '%s'\n", prog, a, v);
            return -1;
        }
    }
    return 0;
}

int
gr__cli_parse(const char* prog,
              int argc,
              char** argv,
              const gr__cli_opt* own,
              gr__cli_common* c,
              int http,
              void (*usage)(FILE* f))
{
    gr__cli_opt common[10];
    common_opts(c, http, common);
    if (parse(prog, argc, argv, own, common, usage) < 0) {
        usage(stderr);
        return -1;
    }
    if (!getenv("GRANARY_LOG"))
        gr_log_set_level(c->quiet ? GR_LOG_WARN : GR_LOG_INFO);
    return 0;
}
