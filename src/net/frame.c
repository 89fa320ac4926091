/* SPDX-License-Identifier: Apache-2.0 */
/* Frame encoding and decoding: the fixed header, the protobuf payload, and
 * the checks that keep malformed input from crashing or over-allocating. */
#include "net/net.h"

#include <granary/status.h>
#include <string.h>

#include "net/net_int.h"
#include "util/alloc.h"

static void*
pb_alloc(void* data, size_t size)
{
    (void)data;
    return gr_malloc(size);
}

static void
pb_free(void* data, void* ptr)
{
    (void)data;
    gr_free(ptr);
}

/* protobuf-c allocations go through the one heap wrapper, so tests can
 * inject failures inside the decoder. */
static ProtobufCAllocator pb_allocator = {
    .alloc = pb_alloc,
    .free = pb_free,
    .allocator_data = NULL,
};

const char*
gr_net_strerror(int rc)
{
    switch (rc) {
        case GR_NET_EMAGIC:
            return "bad frame magic";
        case GR_NET_EVERSION:
            return "unsupported protocol version";
        case GR_NET_EFLAGS:
            return "reserved frame flags set";
        case GR_NET_ETOOBIG:
            return "frame too large";
        case GR_NET_ETRUNC:
            return "truncated frame";
        case GR_NET_EDECODE:
            return "undecodable payload";
        case GR_NET_ETYPE:
            return "unknown message type";
        case GR_NET_ECLOSED:
            return "connection closed by peer";
        default:
            return gr_strerror(rc);
    }
}

const char*
gr_net_type_name(Granary__Envelope__BodyCase type)
{
    switch (type) {
        case GRANARY__ENVELOPE__BODY__NOT_SET:
            return "none";
        case GRANARY__ENVELOPE__BODY_HELLO:
            return "hello";
        case GRANARY__ENVELOPE__BODY_WELCOME:
            return "welcome";
        case GRANARY__ENVELOPE__BODY_HEARTBEAT:
            return "heartbeat";
        case GRANARY__ENVELOPE__BODY_BYE:
            return "bye";
        case GRANARY__ENVELOPE__BODY_PLACE_REQUEST:
            return "place_request";
        case GRANARY__ENVELOPE__BODY_PLACE_REPLY:
            return "place_reply";
        case GRANARY__ENVELOPE__BODY_INVOKE:
            return "invoke";
        case GRANARY__ENVELOPE__BODY_INVOKE_RESULT:
            return "invoke_result";
        case GRANARY__ENVELOPE__BODY_FETCH_MODULE:
            return "fetch_module";
        case GRANARY__ENVELOPE__BODY_MODULE_BYTES:
            return "module_bytes";
        case GRANARY__ENVELOPE__BODY_ERROR:
            return "error";
        case GRANARY__ENVELOPE__BODY_PING:
            return "ping";
        case GRANARY__ENVELOPE__BODY_PONG:
            return "pong";
        default:
            return "unknown";
    }
}

int
gr__net_type_known(Granary__Envelope__BodyCase type)
{
    return (type >= GRANARY__ENVELOPE__BODY_HELLO &&
            type <= GRANARY__ENVELOPE__BODY_PONG) ||
           type == GRANARY__ENVELOPE__BODY_MPI;
}

static void
put_u32(uint8_t* p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static uint32_t
get_u32(const uint8_t* p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
           (uint32_t)p[3];
}

void
gr_frame_header_write(uint8_t hdr[GR_NET_HEADER_SIZE], uint32_t payload_len)
{
    put_u32(hdr, GR_NET_MAGIC);
    hdr[4] = (uint8_t)(GR_NET_PROTO_VERSION >> 8);
    hdr[5] = (uint8_t)GR_NET_PROTO_VERSION;
    hdr[6] = 0;
    hdr[7] = 0;
    put_u32(hdr + 8, payload_len);
}

int
gr_frame_header_parse(const uint8_t hdr[GR_NET_HEADER_SIZE],
                      uint32_t max_payload,
                      uint32_t* payload_len)
{
    if (get_u32(hdr) != GR_NET_MAGIC)
        return GR_NET_EMAGIC;
    if (((uint32_t)hdr[4] << 8 | hdr[5]) != GR_NET_PROTO_VERSION)
        return GR_NET_EVERSION;
    if (hdr[6] || hdr[7])
        return GR_NET_EFLAGS;
    uint32_t len = get_u32(hdr + 8);
    if (len > max_payload)
        return GR_NET_ETOOBIG;
    *payload_len = len;
    return 0;
}

int
gr__frame_size(const Granary__Envelope* env, uint32_t max_payload, size_t* len)
{
    if (!gr__net_type_known(env->body_case))
        return GR_NET_ETYPE;
    size_t n = granary__envelope__get_packed_size(env);
    if (n > max_payload)
        return GR_NET_ETOOBIG;
    *len = GR_NET_HEADER_SIZE + n;
    return 0;
}

int
gr__frame_pack(const Granary__Envelope* env, uint8_t* buf, size_t len)
{
    size_t n = len - GR_NET_HEADER_SIZE;
    if (granary__envelope__pack(env, buf + GR_NET_HEADER_SIZE) != n)
        return -EINVAL; /* the message changed while being packed */
    gr_frame_header_write(buf, (uint32_t)n);
    return 0;
}

int
gr_frame_encode(const Granary__Envelope* env,
                uint32_t max_payload,
                uint8_t** out,
                size_t* out_len)
{
    size_t len;
    int rc = gr__frame_size(env, max_payload, &len);
    if (rc)
        return rc;
    uint8_t* buf = gr_malloc(len);
    if (!buf)
        return -ENOMEM;
    if ((rc = gr__frame_pack(env, buf, len))) {
        gr_free(buf);
        return rc;
    }
    *out = buf;
    *out_len = len;
    return 0;
}

int
gr_msg_unpack(const uint8_t* payload, size_t len, Granary__Envelope** out)
{
    *out = NULL;
    Granary__Envelope* env =
      granary__envelope__unpack(&pb_allocator, len, payload);
    if (!env)
        return GR_NET_EDECODE; /* protobuf-c does not tell OOM apart */
    if (!gr__net_type_known(env->body_case)) {
        gr_msg_free(env);
        return GR_NET_ETYPE;
    }
    *out = env;
    return 0;
}

void
gr_msg_free(Granary__Envelope* env)
{
    if (env)
        granary__envelope__free_unpacked(env, &pb_allocator);
}

int
gr_frame_decode(const uint8_t* buf,
                size_t len,
                uint32_t max_payload,
                Granary__Envelope** out,
                size_t* consumed)
{
    uint32_t plen;
    *out = NULL;
    *consumed = 0;
    if (len < GR_NET_HEADER_SIZE)
        return GR_NET_ETRUNC;
    int rc = gr_frame_header_parse(buf, max_payload, &plen);
    if (rc)
        return rc;
    *consumed = GR_NET_HEADER_SIZE + (size_t)plen;
    if (len - GR_NET_HEADER_SIZE < plen)
        return GR_NET_ETRUNC;
    return gr_msg_unpack(buf + GR_NET_HEADER_SIZE, plen, out);
}
