/* SPDX-License-Identifier: Apache-2.0 */
/* Call records <-> InvokeResult messages, shared by planner and worker. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cluster/cluster_int.h"
#include "util/alloc.h"

uint64_t
gr__cluster_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static Granary__CallState
wire_state(gr_call_state st)
{
    switch (st) {
        case GR_CALL_QUEUED:
            return GRANARY__CALL_STATE__CALL_STATE_QUEUED;
        case GR_CALL_RUNNING:
            return GRANARY__CALL_STATE__CALL_STATE_RUNNING;
        case GR_CALL_DONE:
            return GRANARY__CALL_STATE__CALL_STATE_DONE;
        case GR_CALL_FAILED:
            return GRANARY__CALL_STATE__CALL_STATE_FAILED;
    }
    return GRANARY__CALL_STATE__CALL_STATE_UNSPECIFIED;
}

void
gr__cluster_result_from_info(Granary__InvokeResult* res,
                             uint64_t call_id,
                             const gr_call_info* ci,
                             const char* host)
{
    granary__invoke_result__init(res);
    res->call_id = call_id;
    res->state = wire_state(ci->state);
    res->status = ci->status;
    res->return_code = ci->return_code;
    res->trap = (char*)ci->trap;
    res->output.data = ci->output;
    res->output.len = ci->output_len;
    res->stdout_data.data = (uint8_t*)ci->out;
    res->stdout_data.len = ci->out ? strlen(ci->out) : 0;
    res->stderr_data.data = (uint8_t*)ci->err;
    res->stderr_data.len = ci->err ? strlen(ci->err) : 0;
    res->host = (char*)host;
}

static char*
dup_text(const ProtobufCBinaryData* b)
{
    char* s = gr_malloc(b->len + 1);
    if (!s)
        return NULL;
    if (b->len)
        memcpy(s, b->data, b->len);
    s[b->len] = '\0';
    return s;
}

int
gr__cluster_info_from_result(const Granary__InvokeResult* res,
                             gr_call_info* ci)
{
    memset(ci, 0, sizeof *ci);
    ci->id = res->call_id;
    ci->state = res->state == GRANARY__CALL_STATE__CALL_STATE_DONE
                  ? GR_CALL_DONE
                  : GR_CALL_FAILED;
    ci->status = res->status;
    if (ci->state == GR_CALL_FAILED && !ci->status)
        ci->status = -EIO; /* a failure must say why; the wire did not */
    ci->return_code = res->return_code;
    snprintf(ci->trap, sizeof ci->trap, "%s", res->trap ? res->trap : "");
    snprintf(ci->host, sizeof ci->host, "%s", res->host ? res->host : "");
    ci->cold = res->timings ? res->timings->cold : 0;
    if (res->output.len) {
        ci->output = gr_malloc(res->output.len);
        if (!ci->output)
            goto fail;
        memcpy(ci->output, res->output.data, res->output.len);
        ci->output_len = res->output.len;
    }
    ci->out = dup_text(&res->stdout_data);
    ci->err = dup_text(&res->stderr_data);
    if (!ci->out || !ci->err)
        goto fail;
    return 0;
fail:
    gr__cluster_info_fini(ci);
    return -ENOMEM;
}

void
gr__cluster_info_fini(gr_call_info* ci)
{
    gr_free(ci->output);
    gr_free(ci->out);
    gr_free(ci->err);
    ci->output = NULL;
    ci->out = ci->err = NULL;
}

void
gr__cluster_info_failed(gr_call_info* ci, int status, const char* host)
{
    memset(ci, 0, sizeof *ci);
    ci->state = GR_CALL_FAILED;
    ci->status = status;
    snprintf(ci->host, sizeof ci->host, "%s", host ? host : "");
}

int
gr__cluster_send_failure(gr_peer* p, uint64_t call_id, int status,
                         const char* host)
{
    gr_call_info ci;
    gr__cluster_info_failed(&ci, status, host);
    Granary__InvokeResult res;
    gr__cluster_result_from_info(&res, call_id, &ci, host);
    Granary__Envelope env = GRANARY__ENVELOPE__INIT;
    env.body_case = GRANARY__ENVELOPE__BODY_INVOKE_RESULT;
    env.invoke_result = &res;
    return gr_peer_send(p, &env);
}
