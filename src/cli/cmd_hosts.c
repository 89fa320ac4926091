/* SPDX-License-Identifier: Apache-2.0 */
/* granary hosts: the hosts of a cluster as its planner sees them (GET
 * /hosts): slots, used slots, warm functions and what runs where. */
#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "util/alloc.h"

static void
hosts_usage(FILE* f)
{
    fputs("usage: granary hosts [--server URL] [--token TOKEN] [--json]\n"
          "\n"
          "Lists the hosts of the cluster behind a planner (GET /hosts):\n"
          "id, address, slots, used slots (calls), thread granules running\n"
          "(guest threads of calls, main threads not counted) and the slots\n"
          "they hold, calls placed, seconds since the last heartbeat, warm\n"
          "functions and the calls running there (with their MPI ranks or\n"
          "thread granules). Any\n"
          "valid token may list hosts; only an admin sees other users'\n"
          "calls and functions. A 'granary serve' shows itself as 'local'.\n"
          "\n"
          "  --server URL   planner (default $GRANARY_SERVER, else\n"
          "                 http://127.0.0.1:8080)\n"
          "  --token TOKEN  API token (default $GRANARY_TOKEN)\n"
          "  --json         print the server's JSON\n",
          f);
}

struct buf
{
    char* p;
    size_t n;
};

static size_t
on_body(char* d, size_t sz, size_t nm, void* ud)
{
    struct buf* b = ud;
    size_t n = sz * nm;
    char* p = gr_realloc(b->p, b->n + n + 1);
    if (!p)
        return 0;
    memcpy(p + b->n, d, n);
    b->p = p;
    b->n += n;
    p[b->n] = '\0';
    return n;
}

static void
print_table(json_t* hosts)
{
    printf("%-16s %-22s %5s %4s %7s %6s %8s %6s  %s\n",
           "HOST",
           "ADDRESS",
           "SLOTS",
           "USED",
           "THREADS",
           "TSLOTS",
           "PLACED",
           "SEEN",
           "RUNNING / WARM");
    size_t i;
    json_t* h;
    json_array_foreach(hosts, i, h)
    {
        printf("%-16s %-22s %5lld %4lld %7lld %6lld %8lld %5.1fs ",
               json_string_value(json_object_get(h, "id")),
               json_string_value(json_object_get(h, "address")),
               json_integer_value(json_object_get(h, "slots")),
               json_integer_value(json_object_get(h, "used")),
               json_integer_value(json_object_get(h, "threads")),
               json_integer_value(json_object_get(h, "thread_slots")),
               json_integer_value(json_object_get(h, "placed")),
               json_number_value(json_object_get(h, "seen_s")));
        size_t k;
        json_t* c;
        json_t* run = json_object_get(h, "running");
        json_array_foreach(run, k, c)
        {
            const char* ranks = json_string_value(json_object_get(c, "ranks"));
            json_int_t threads =
              json_integer_value(json_object_get(c, "threads"));
            printf(" %s/%s(%s)%s%s",
                   json_string_value(json_object_get(c, "user")),
                   json_string_value(json_object_get(c, "fn")),
                   json_string_value(json_object_get(c, "id")),
                   ranks ? " ranks " : "",
                   ranks ? ranks : "");
            if (threads > 0)
                printf(" threads %lld", (long long)threads);
        }
        json_t* warm = json_object_get(h, "warm");
        if (json_array_size(warm))
            printf(" warm:");
        json_array_foreach(warm, k, c)
          printf(" %s/%s",
                 json_string_value(json_object_get(c, "user")),
                 json_string_value(json_object_get(c, "fn")));
        printf("\n");
    }
}

int
gr_cli_hosts(int argc, char** argv)
{
    const char* server = getenv("GRANARY_SERVER");
    const char* token = getenv("GRANARY_TOKEN");
    int as_json = 0;
    if (!server || !*server)
        server = "http://127.0.0.1:8080";
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            hosts_usage(stdout);
            return GR_CLI_OK;
        } else if (!strcmp(argv[i], "--json")) {
            as_json = 1;
        } else if (!strcmp(argv[i], "--server") && i + 1 < argc) {
            server = argv[++i];
        } else if (!strcmp(argv[i], "--token") && i + 1 < argc) {
            token = argv[++i];
        } else {
            hosts_usage(stderr);
            return GR_CLI_USAGE;
        }
    }
    char url[4096], auth[600];
    size_t sl = strlen(server);
    while (sl && server[sl - 1] == '/')
        sl--;
    snprintf(url, sizeof url, "%.*s/hosts", (int)sl, server);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    CURL* h = curl_easy_init();
    if (!h)
        return GR_CLI_FAILURE;
    struct curl_slist* hdrs = NULL;
    if (token && *token) {
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
        hdrs = curl_slist_append(hdrs, auth);
    }
    struct buf b = { 0 };
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 30L);
    CURLcode cc = curl_easy_perform(h);
    long code = 0;
    int ret = GR_CLI_OK;
    if (cc != CURLE_OK) {
        fprintf(stderr, "granary: %s: %s\n", url, curl_easy_strerror(cc));
        ret = GR_CLI_SERVER;
        goto out;
    }
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    if (code != 200) {
        fprintf(
          stderr, "granary: %s: HTTP %ld %s\n", url, code, b.p ? b.p : "");
        ret = code == 401 || code == 403 || code == 404 ? GR_CLI_DENIED
                                                        : GR_CLI_SERVER;
        goto out;
    }
    json_error_t je;
    json_t* v = json_loads(b.p ? b.p : "", 0, &je);
    if (!v || !json_is_array(json_object_get(v, "hosts"))) {
        fprintf(stderr, "granary: %s: not a host list\n", url);
        ret = GR_CLI_SERVER;
    } else if (as_json) {
        fputs(b.p, stdout);
        if (b.n && b.p[b.n - 1] != '\n')
            putchar('\n');
    } else {
        print_table(json_object_get(v, "hosts"));
    }
    json_decref(v);
out:
    gr_free(b.p);
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(h);
    return ret;
}
