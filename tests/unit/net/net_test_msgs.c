/* SPDX-License-Identifier: Apache-2.0 */
/* Sample messages of every type for the net tests and fuzz seeds. */
#include "net_test_msgs.h"

#include <stdlib.h>
#include <string.h>

static uint8_t blob[300];
static char hash[] =
  "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

static Granary__Hello hello = GRANARY__HELLO__INIT;
static Granary__Welcome welcome = GRANARY__WELCOME__INIT;
static Granary__WarmFunction warm1 = GRANARY__WARM_FUNCTION__INIT;
static Granary__WarmFunction warm2 = GRANARY__WARM_FUNCTION__INIT;
static Granary__WarmFunction* warms[2] = { &warm1, &warm2 };
static Granary__Heartbeat heartbeat = GRANARY__HEARTBEAT__INIT;
static Granary__Bye bye = GRANARY__BYE__INIT;
static Granary__PlaceRequest place_req = GRANARY__PLACE_REQUEST__INIT;
static char* place_hosts[3] = { "w1", "w2", "w1" };
static Granary__PlaceReply place_reply = GRANARY__PLACE_REPLY__INIT;
static Granary__Invoke invoke = GRANARY__INVOKE__INIT;
static Granary__Timings timings = GRANARY__TIMINGS__INIT;
static Granary__InvokeResult result = GRANARY__INVOKE_RESULT__INIT;
static Granary__FetchModule fetch = GRANARY__FETCH_MODULE__INIT;
static Granary__ModuleBytes module = GRANARY__MODULE_BYTES__INIT;
static Granary__Error error = GRANARY__ERROR__INIT;
static Granary__Ping ping = GRANARY__PING__INIT;
static Granary__Pong pong = GRANARY__PONG__INIT;
static Granary__Envelope env[NET_TEST_NMSGS];

void
net_test_msgs(Granary__Envelope* envs[NET_TEST_NMSGS])
{
    for (size_t i = 0; i < sizeof blob; i++)
        blob[i] = (uint8_t)(i * 7 + 3);
    hello.host_id = "w1";
    hello.address = "10.77.0.2:7701";
    hello.slots = 4;
    hello.version = GR_NET_PROTO_VERSION;
    hello.build = "granary 0.1";
    welcome.planner_id = "planner";
    welcome.version = 1;
    welcome.heartbeat_ms = 500;
    warm1.user = "demo";
    warm1.fn = "hello";
    warm1.hash = hash;
    warm1.idle = 2;
    warm2.user = "demo";
    warm2.fn = "echo";
    warm2.hash = hash;
    heartbeat.host_id = "w1";
    heartbeat.seq = 42;
    heartbeat.slots = 4;
    heartbeat.used_slots = 3;
    heartbeat.n_warm = 2;
    heartbeat.warm = warms;
    bye.host_id = "w1";
    bye.reason = "shutdown";
    place_req.user = "demo";
    place_req.fn = "hello";
    place_req.count = 3;
    place_req.from_host = "w2";
    place_reply.n_hosts = 3;
    place_reply.hosts = place_hosts;
    invoke.call_id = 0x1122334455667788ull;
    invoke.user = "demo";
    invoke.fn = "hello";
    invoke.wasm_hash = hash;
    invoke.input.data = blob;
    invoke.input.len = 100;
    invoke.timeout_ns = 5000000000ull;
    invoke.parent_call_id = 7;
    invoke.origin_host = "w2";
    timings.queued_ns = 1;
    timings.started_ns = 2;
    timings.finished_ns = 3;
    timings.cold = 1;
    result.call_id = 99;
    result.state = GRANARY__CALL_STATE__CALL_STATE_FAILED;
    result.status = -4005;
    result.return_code = -1;
    result.trap = "out_of_bounds";
    result.output.data = blob;
    result.output.len = 10;
    result.stdout_data.data = blob + 10;
    result.stdout_data.len = 20;
    result.stderr_data.data = blob + 30;
    result.stderr_data.len = 5;
    result.timings = &timings;
    result.host = "w1";
    fetch.hash = hash;
    module.hash = hash;
    module.wasm.data = blob;
    module.wasm.len = sizeof blob;
    module.user = "demo";
    module.fn = "hello";
    error.code = -2;
    error.message = "no such module";
    ping.nonce = 5;
    ping.data.data = blob;
    ping.data.len = 32;
    pong.nonce = 5;

    static const Granary__Envelope__BodyCase cases[NET_TEST_NMSGS] = {
        GRANARY__ENVELOPE__BODY_HELLO,
        GRANARY__ENVELOPE__BODY_WELCOME,
        GRANARY__ENVELOPE__BODY_HEARTBEAT,
        GRANARY__ENVELOPE__BODY_BYE,
        GRANARY__ENVELOPE__BODY_PLACE_REQUEST,
        GRANARY__ENVELOPE__BODY_PLACE_REPLY,
        GRANARY__ENVELOPE__BODY_INVOKE,
        GRANARY__ENVELOPE__BODY_INVOKE_RESULT,
        GRANARY__ENVELOPE__BODY_FETCH_MODULE,
        GRANARY__ENVELOPE__BODY_MODULE_BYTES,
        GRANARY__ENVELOPE__BODY_ERROR,
        GRANARY__ENVELOPE__BODY_PING,
        GRANARY__ENVELOPE__BODY_PONG,
    };
    for (int i = 0; i < NET_TEST_NMSGS; i++) {
        granary__envelope__init(&env[i]);
        env[i].id = (uint64_t)i + 1;
        env[i].reply_to = i % 2 ? (uint64_t)i : 0;
        env[i].body_case = cases[i];
        envs[i] = &env[i];
    }
    env[0].hello = &hello;
    env[1].welcome = &welcome;
    env[2].heartbeat = &heartbeat;
    env[3].bye = &bye;
    env[4].place_request = &place_req;
    env[5].place_reply = &place_reply;
    env[6].invoke = &invoke;
    env[7].invoke_result = &result;
    env[8].fetch_module = &fetch;
    env[9].module_bytes = &module;
    env[10].error = &error;
    env[11].ping = &ping;
    env[12].pong = &pong;
}

int
net_test_msgs_equal(const Granary__Envelope* a, const Granary__Envelope* b)
{
    size_t na = granary__envelope__get_packed_size(a);
    size_t nb = granary__envelope__get_packed_size(b);
    if (na != nb)
        return 0;
    uint8_t* pa = malloc(na + 1);
    uint8_t* pb = malloc(nb + 1);
    granary__envelope__pack(a, pa);
    granary__envelope__pack(b, pb);
    int eq = memcmp(pa, pb, na) == 0;
    free(pa);
    free(pb);
    return eq;
}
