/* SPDX-License-Identifier: Apache-2.0 */
/* Call records <-> InvokeResult messages, and Invokes handled on task
 * threads: shared by planner and worker. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cluster/cluster_int.h"
#include "util/alloc.h"
#include "util/log.h"

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
gr__cluster_info_from_result(const Granary__InvokeResult* res, gr_call_info* ci)
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
gr__cluster_send_failure(gr_peer* p,
                         uint64_t call_id,
                         int status,
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

int
gr__cluster_send_outcome(gr_peer* p,
                         uint64_t call_id,
                         int rc,
                         const gr_call_info* ci,
                         const char* host)
{
    if (rc)
        return gr__cluster_send_failure(p, call_id, rc, host);
    Granary__Timings tm = GRANARY__TIMINGS__INIT;
    tm.queued_ns = ci->queued_ns;
    tm.started_ns = ci->started_ns;
    tm.finished_ns = ci->finished_ns;
    tm.cold = ci->cold != 0;
    Granary__InvokeResult res;
    gr__cluster_result_from_info(&res, call_id, ci, host);
    res.timings = &tm;
    Granary__Envelope env = GRANARY__ENVELOPE__INIT;
    env.body_case = GRANARY__ENVELOPE__BODY_INVOKE_RESULT;
    env.invoke_result = &res;
    return gr_peer_send(p, &env);
}

struct invoke_task
{
    gr__cluster_task task; /* first: the pool hands it back */
    gr__cluster_invoke_fn fn;
    void* ctx;
    gr_peer* peer;
    Granary__Envelope* msg;
};

static void
invoke_task_main(gr__cluster_task* task)
{
    struct invoke_task* k = (struct invoke_task*)task;
    k->fn(k->ctx, k->peer, k->msg);
    gr_peer_unref(k->peer);
    gr_msg_free(k->msg);
    gr_free(k);
}

void
gr__cluster_invoke_async(gr__cluster_tasks* t,
                         gr__cluster_invoke_fn fn,
                         void* ctx,
                         gr_peer* peer,
                         Granary__Envelope* msg,
                         const char* host)
{
    uint64_t id = msg->invoke->call_id;
    struct invoke_task* k = gr_malloc(sizeof *k);
    int rc = -ENOMEM;
    if (k) {
        *k = (struct invoke_task){ .task.fn = invoke_task_main,
                                   .fn = fn,
                                   .ctx = ctx,
                                   .peer = peer,
                                   .msg = msg };
        gr_peer_ref(peer);
        if (!(rc = gr__cluster_tasks_run(t, &k->task)))
            return;
        gr_peer_unref(peer);
        gr_free(k);
    }
    gr__cluster_send_failure(peer, id, rc, host);
    gr_msg_free(msg);
}

int
gr__cluster_send_invoke(gr_peer* p, const gr_remote_call* d, const char* origin)
{
    Granary__Invoke inv = GRANARY__INVOKE__INIT;
    inv.call_id = d->id;
    inv.user = (char*)d->user;
    inv.fn = (char*)d->fn;
    inv.wasm_hash = (char*)d->hash;
    inv.input.data = (uint8_t*)d->input;
    inv.input.len = d->input_len;
    inv.timeout_ns = d->timeout_ns;
    inv.parent_call_id = d->parent;
    inv.origin_host = (char*)origin;
    inv.threads = d->threads > 0 ? (uint32_t)d->threads : 0;
    Granary__Envelope env = GRANARY__ENVELOPE__INIT;
    env.body_case = GRANARY__ENVELOPE__BODY_INVOKE;
    env.invoke = &inv;
    return gr_peer_send(p, &env);
}

void
gr__cluster_pong(gr_peer* p, const Granary__Envelope* m)
{
    Granary__Pong pong = GRANARY__PONG__INIT;
    pong.nonce = m->ping->nonce;
    pong.data = m->ping->data;
    Granary__Envelope r = GRANARY__ENVELOPE__INIT;
    r.body_case = GRANARY__ENVELOPE__BODY_PONG;
    r.pong = &pong;
    if (m->id)
        gr_peer_reply(p, m, &r);
    else
        gr_peer_send(p, &r);
}

void
gr__cluster_unexpected(gr_peer* p, const Granary__Envelope* m, const char* who)
{
    char addr[64];
    gr_peer_addr(p, addr, sizeof addr);
    GR_WARN("%s: unexpected %s message from %s",
            who,
            gr_net_type_name(m->body_case),
            addr);
    if (m->id)
        gr_peer_reply_error(p, m, -ENOTSUP, "unexpected message");
}
