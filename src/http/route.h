/* SPDX-License-Identifier: Apache-2.0 */
/* Routing of the HTTP API: maps a method and a decoded URL path to one
 * action and its parameters. Pure (no I/O, no allocation): unit-tested on
 * its own and the first thing every request goes through. */
#ifndef GR_HTTP_ROUTE_H
#define GR_HTTP_ROUTE_H

#include <stdint.h>

#include "http/tokens.h"

typedef enum gr_http_action
{
    GR_HTTP_HEALTHZ,      /* GET /healthz (no auth) */
    GR_HTTP_METRICS,      /* GET /metrics (no auth) */
    GR_HTTP_WHOAMI,       /* GET /whoami */
    GR_HTTP_HOSTS,        /* GET /hosts (docs/cluster.md) */
    GR_HTTP_FN_LIST,      /* GET /f/{user}, or GET /f for the caller's own */
    GR_HTTP_FN_GET,       /* GET /f/{user}/{fn} */
    GR_HTTP_FN_UPLOAD,    /* PUT /f/{user}/{fn} */
    GR_HTTP_FN_DELETE,    /* DELETE /f/{user}/{fn} */
    GR_HTTP_FN_INVOKE,    /* POST /f/{user}/{fn} */
    GR_HTTP_CALL_GET,     /* GET /calls/{id} */
    GR_HTTP_CALL_POST,    /* POST /calls (JSON invocation) */
    GR_HTTP_STATE_GET,    /* GET /s/{user}/{key} */
    GR_HTTP_STATE_PUT,    /* PUT /s/{user}/{key} */
    GR_HTTP_STATE_DELETE, /* DELETE /s/{user}/{key} */
} gr_http_action;

typedef struct gr_http_route
{
    gr_http_action action;
    char user[GR_TOKEN_USER_MAX + 1]; /* "" for GET /f */
    char fn[GR_TOKEN_USER_MAX + 1];   /* function, or state key for /s/ */
    uint64_t call_id;
    const char* allow; /* on -ENOTSUP: the Allow header value (static) */
} gr_http_route;

/* Routes method + path (the path as sent, without the query string and
 * still percent-encoded). The path is split at '/' first and each segment
 * decoded after, so "%2F" is a character of a name, not a separator, and
 * a decoded NUL never cuts a name short: both are outside the name set
 * and get -EINVAL. One trailing slash is ignored. HEAD is accepted
 * wherever GET is. Returns 0 (r filled), -ENOENT (no such resource: 404),
 * -EINVAL (bad escape, user/function name or call id: 400), or -ENOTSUP
 * (the path exists but not with that method: 405, r->allow set). */
int gr_http_route_match(const char* method, const char* path, gr_http_route* r);

/* Whether an action requires a bearer token. */
int gr_http_action_needs_auth(gr_http_action a);

#endif
