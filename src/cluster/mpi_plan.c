/* SPDX-License-Identifier: Apache-2.0 */
/* MPI apps on a planner, the pure parts: where the ranks of a world go
 * (bin-pack or spread over the hosts' free slots, all or nothing), and
 * the app's outcome merged from every host's part (each worker answers
 * with the JSON document of its own ranks, src/sched/mpi_app.c). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include <granary/status.h>

#include "cluster/cluster_int.h"
#include "util/alloc.h"

static uint32_t
free_of(const gr_cluster_view* v)
{
    return v->used < v->slots ? v->slots - v->used : 0;
}

int
gr_cluster_mpi_place(const gr_cluster_view* v,
                     size_t n,
                     int np,
                     int spread,
                     int* counts)
{
    uint64_t total = 0;
    for (size_t i = 0; i < n; i++) {
        counts[i] = 0;
        total += free_of(&v[i]);
    }
    if (np < 1 || total < (uint64_t)np)
        return -ENOSPC;
    for (int r = 0; r < np; r++) {
        size_t best = n;
        for (size_t i = 0; i < n; i++) {
            uint32_t left = free_of(&v[i]) - (uint32_t)counts[i];
            if (!left)
                continue;
            if (best == n) {
                best = i;
                continue;
            }
            uint32_t bleft = free_of(&v[best]) - (uint32_t)counts[best];
            if (spread) {
                /* the most free slots left; ties: joined earlier */
                if (left > bleft ||
                    (left == bleft && v[i].order < v[best].order))
                    best = i;
            } else if (v[i].order < v[best].order) {
                /* fill the earliest-joined host with room first */
                best = i;
            }
        }
        counts[best]++;
    }
    return 0;
}

/* "0-1", "0,2", "3" (truncated with "...") */
void
gr__cluster_mpi_ranks_text(const int* rank_host,
                           int np,
                           int host,
                           char* buf,
                           size_t len)
{
    size_t k = 0;
    buf[0] = '\0';
    for (int i = 0; i < np && k + 1 < len; i++) {
        if (rank_host[i] != host)
            continue;
        int j = i;
        while (j + 1 < np && rank_host[j + 1] == host)
            j++;
        int w = j > i
                  ? snprintf(buf + k, len - k, "%s%d-%d", k ? "," : "", i, j)
                  : snprintf(buf + k, len - k, "%s%d", k ? "," : "", i);
        if (w < 0 || (size_t)w >= len - k) {
            if (len > 4)
                snprintf(buf + len - 4, 4, "...");
            return;
        }
        k += (size_t)w;
        i = j;
    }
}

static int
by_rank(const void* a, const void* b)
{
    json_int_t x =
      json_integer_value(json_object_get(*(json_t* const*)a, "rank"));
    json_int_t y =
      json_integer_value(json_object_get(*(json_t* const*)b, "rank"));
    return x < y ? -1 : x > y;
}

int
gr__cluster_mpi_merge(int np,
                      const int* rank_host,
                      const gr__cluster_mpi_part* parts,
                      int nparts,
                      gr_call_info* out)
{
    memset(out, 0, sizeof *out);
    json_t* docs[256] = { 0 };
    if (nparts > 256)
        return -EINVAL;
    json_t* all = json_array();
    json_t** rows = gr_calloc((size_t)np, sizeof *rows);
    int rc = -ENOMEM;
    if (!all || !rows)
        goto fail;
    /* which part decides: a lost host first (the planner saw it die), else
     * the first with an error, in host order */
    int chosen = -1;
    for (int h = 0; h < nparts && chosen < 0; h++)
        if (parts[h].lost)
            chosen = h;
    for (int h = 0; h < nparts && h < 256; h++) {
        const gr_call_info* ci = parts[h].ci;
        if (!parts[h].lost && ci && ci->output_len)
            docs[h] =
              json_loadb((const char*)ci->output, ci->output_len, 0, NULL);
        if (chosen < 0 && docs[h] &&
            json_is_string(json_object_get(docs[h], "error")))
            chosen = h;
        if (chosen < 0 && !parts[h].lost && ci && ci->state == GR_CALL_FAILED &&
            !docs[h])
            chosen = h;
    }
    for (int h = 0; h < nparts && h < 256; h++) {
        json_t* ranks = docs[h] ? json_object_get(docs[h], "ranks") : NULL;
        size_t i;
        json_t* r;
        json_array_foreach(ranks, i, r)
        {
            json_int_t k = json_integer_value(json_object_get(r, "rank"));
            if (k >= 0 && k < np && !rows[k] && rank_host[k] == h)
                rows[k] = json_incref(r);
        }
    }
    /* ranks without a report: their host was lost or never answered */
    for (int k = 0; k < np; k++) {
        if (rows[k])
            continue;
        int h = rank_host[k];
        rows[k] = json_pack("{s:i, s:s, s:n, s:n, s:b, s:b, s:s, s:s}",
                            "rank",
                            k,
                            "host",
                            h < nparts ? parts[h].host : "",
                            "exit_code",
                            "trap",
                            "cancelled",
                            0,
                            "lost",
                            1,
                            "stdout",
                            "",
                            "stderr",
                            "");
        if (!rows[k])
            goto fail;
    }
    qsort(rows, (size_t)np, sizeof *rows, by_rank);
    size_t outn = 0, errn = 0;
    for (int k = 0; k < np; k++) {
        outn += json_string_length(json_object_get(rows[k], "stdout"));
        errn += json_string_length(json_object_get(rows[k], "stderr"));
    }
    char msg[256] = "";
    int code = 0;
    out->state = GR_CALL_DONE;
    if (chosen >= 0) {
        const gr__cluster_mpi_part* p = &parts[chosen];
        json_t* d = docs[chosen];
        if (p->lost || !d) {
            snprintf(msg,
                     sizeof msg,
                     "%s",
                     p->why[0] ? p->why : "a host of the app failed");
            code = 1;
            out->state = GR_CALL_FAILED;
            out->status = p->lost
                            ? -EHOSTDOWN
                            : (p->ci && p->ci->status ? p->ci->status : -EIO);
        } else {
            snprintf(msg,
                     sizeof msg,
                     "%s",
                     json_string_value(json_object_get(d, "error")));
            code = (int)json_integer_value(json_object_get(d, "exit_code"));
            out->state = p->ci->state;
            out->status = p->ci->status;
            snprintf(out->trap, sizeof out->trap, "%s", p->ci->trap);
        }
    } else {
        /* no error anywhere: an exit after MPI_Finalize may still count */
        for (int h = 0; h < nparts && h < 256; h++)
            if (docs[h] && !code)
                code = (int)json_integer_value(
                  json_object_get(docs[h], "exit_code"));
    }
    out->return_code = code;
    for (int k = 0; k < np; k++)
        json_array_append(all, rows[k]);
    json_t* doc = json_pack("{s:i, s:i, s:o, s:O}",
                            "np",
                            np,
                            "exit_code",
                            code,
                            "error",
                            msg[0] ? json_string(msg) : json_null(),
                            "ranks",
                            all);
    char* text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
    out->out = gr_malloc(outn + 1);
    out->err = gr_malloc(errn + strlen(msg) + 16);
    if (!text || !out->out || !out->err) {
        free(text);
        goto fail;
    }
    size_t n = strlen(text);
    out->output = gr_malloc(n ? n : 1);
    if (!out->output) {
        free(text);
        goto fail;
    }
    memcpy(out->output, text, n);
    out->output_len = n;
    free(text);
    size_t ko = 0, ke = 0;
    for (int k = 0; k < np; k++) {
        json_t* o = json_object_get(rows[k], "stdout");
        json_t* e = json_object_get(rows[k], "stderr");
        memcpy(out->out + ko, json_string_value(o), json_string_length(o));
        ko += json_string_length(o);
        memcpy(out->err + ke, json_string_value(e), json_string_length(e));
        ke += json_string_length(e);
    }
    out->out[ko] = '\0';
    if (msg[0])
        ke += (size_t)sprintf(out->err + ke, "granary: %s\n", msg);
    out->err[ke] = '\0';
    rc = 0;
fail:
    for (int h = 0; h < nparts && h < 256; h++)
        json_decref(docs[h]);
    if (rows)
        for (int k = 0; k < np; k++)
            json_decref(rows[k]);
    gr_free(rows);
    json_decref(all);
    if (rc) {
        gr__cluster_info_fini(out);
        gr__cluster_info_failed(out, rc, "");
    }
    return rc;
}
