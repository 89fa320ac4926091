/* SPDX-License-Identifier: Apache-2.0 */
/* The cluster transport: length-prefixed, versioned frames carrying one
 * protobuf Envelope (src/net/granary.proto) over TCP, framed connections
 * with per-operation timeouts, multiplexed peers (request/response by id,
 * reconnect with backoff) and a thread-per-connection listener. Used by
 * the planner and the workers; see docs/cluster.md. */
#ifndef GR_NET_NET_H
#define GR_NET_NET_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>

#include "net/granary.pb-c.h"

/* ---- frames ------------------------------------------------------------- */

/* A frame is a 12-byte big-endian header followed by the payload, one
 * packed granary.Envelope:
 *   u32 magic "GRNY" | u16 version | u16 flags (0) | u32 payload length */
#define GR_NET_MAGIC 0x47524E59u
#define GR_NET_PROTO_VERSION 1
#define GR_NET_HEADER_SIZE 12
/* Default payload limit: a 64 MiB module plus room for the envelope. */
#define GR_NET_MAX_PAYLOAD ((uint32_t)(64u << 20) + (1u << 20))

/* Why a frame was rejected. All are negative errnos, so gr_strerror() knows
 * them; gr_net_strerror() gives the wire-specific wording. */
#define GR_NET_EMAGIC (-EPROTO)            /* header magic is not "GRNY" */
#define GR_NET_EVERSION (-EPROTONOSUPPORT) /* unsupported protocol version */
#define GR_NET_EFLAGS (-EOPNOTSUPP)        /* reserved flag bits set */
#define GR_NET_ETOOBIG (-EMSGSIZE)         /* payload length over the limit */
#define GR_NET_ETRUNC (-ENODATA)           /* input ended inside a frame */
#define GR_NET_EDECODE (-EBADMSG)          /* payload is not a valid Envelope */
#define GR_NET_ETYPE (-ENOMSG)       /* Envelope carries no known message */
#define GR_NET_ECLOSED (-ECONNRESET) /* peer closed or reset the connection */

/* The short name of an error above ("bad magic"), else gr_strerror(rc).
 * Never NULL. Thread-safe. */
const char* gr_net_strerror(int rc);

/* Name of a message type ("invoke", "heartbeat"); "none" for NOT_SET and
 * "unknown" for anything else. Never NULL. */
const char* gr_net_type_name(Granary__Envelope__BodyCase type);

/* Writes a header for a payload of payload_len bytes. */
void gr_frame_header_write(uint8_t hdr[GR_NET_HEADER_SIZE],
                           uint32_t payload_len);

/* Checks a header and returns the payload length in *payload_len.
 * Errors: GR_NET_EMAGIC, GR_NET_EVERSION, GR_NET_EFLAGS, GR_NET_ETOOBIG
 * (length > max_payload). Does not log. */
int gr_frame_header_parse(const uint8_t hdr[GR_NET_HEADER_SIZE],
                          uint32_t max_payload,
                          uint32_t* payload_len);

/* Packs env into a new frame (header + payload) in *out (owned by the
 * caller, gr_free) of *out_len bytes. Errors: GR_NET_ETYPE (no body set),
 * GR_NET_ETOOBIG (payload > max_payload), -ENOMEM. */
int gr_frame_encode(const Granary__Envelope* env,
                    uint32_t max_payload,
                    uint8_t** out,
                    size_t* out_len);

/* Decodes the frame at the start of buf[0..len). On success *out is an
 * owned message (gr_msg_free) and *consumed the frame's size. Errors: the
 * header errors, GR_NET_ETRUNC (buf ends inside the frame), GR_NET_EDECODE,
 * GR_NET_ETYPE, -ENOMEM; *consumed is set to the frame size whenever the
 * header was valid and complete, so a caller can skip a bad payload.
 * Allocates only after the length is validated. Does not log. */
int gr_frame_decode(const uint8_t* buf,
                    size_t len,
                    uint32_t max_payload,
                    Granary__Envelope** out,
                    size_t* consumed);

/* Unpacks one Envelope payload (no header) through gr_malloc. Errors:
 * GR_NET_EDECODE, GR_NET_ETYPE, -ENOMEM. */
int gr_msg_unpack(const uint8_t* payload, size_t len, Granary__Envelope** out);

/* Frees a message returned by this module. NULL is a no-op. Do not pass
 * messages built by hand. */
void gr_msg_free(Granary__Envelope* env);

/* ---- connections -------------------------------------------------------- */

/* A framed, non-blocking socket. One thread may send while another
 * receives; sends must be serialised by the caller, and so must receives;
 * gr_conn_shutdown may be called from any thread. Timeouts are in
 * milliseconds, -1 = wait forever. */
typedef struct gr_conn gr_conn;

/* Wraps a connected stream socket; takes ownership of fd (closed on error
 * too). Sets O_NONBLOCK, and for TCP TCP_NODELAY and keepalive (idle 10 s,
 * interval 5 s, 3 probes). max_payload 0 = GR_NET_MAX_PAYLOAD. */
int gr_conn_open(int fd, uint32_t max_payload, gr_conn** out);

/* Connects to addr ("host:port", "[v6addr]:port") within timeout_ms.
 * Errors: -EINVAL (bad address), -ETIMEDOUT, -ECONNREFUSED, other -errno. */
int gr_conn_connect(const char* addr,
                    int timeout_ms,
                    uint32_t max_payload,
                    gr_conn** out);

/* Sends env as one frame. Errors: as gr_frame_encode, -ETIMEDOUT, -EPIPE,
 * GR_NET_ECLOSED. A send that fails after writing part of a frame leaves
 * the connection unusable (later operations return -EPIPE). */
int gr_conn_send(gr_conn* c, const Granary__Envelope* env, int timeout_ms);

/* Writes raw bytes (tests, fuzz corpora, malformed-input checks). */
int gr_conn_send_raw(gr_conn* c, const void* buf, size_t len, int timeout_ms);

/* Receives one frame into *out (owned, gr_msg_free). -ETIMEDOUT leaves the
 * stream intact: a partly read frame is resumed by the next call.
 * Errors: GR_NET_ECLOSED (peer closed between frames), GR_NET_ETRUNC (peer
 * closed inside a frame), the header errors (the stream cannot be resynced:
 * later calls return -EPIPE), GR_NET_EDECODE and GR_NET_ETYPE (frame
 * skipped; the connection stays usable), -ETIMEDOUT, -ENOMEM, -errno.
 * Rejected frames are logged once, with the peer's address. */
int gr_conn_recv(gr_conn* c, Granary__Envelope** out, int timeout_ms);

/* Waits until the socket has bytes to read or has ended: 0, -ETIMEDOUT
 * or -errno. Looks at the socket only, not at bytes an earlier receive
 * buffered, so it may be called while another thread receives; a caller
 * that receives until -ETIMEDOUT before waiting misses nothing. With
 * timeout_ms 0, gr_conn_recv itself only takes what the socket holds (one
 * recv(), no poll()) and returns -ETIMEDOUT when that is no whole frame. */
int gr_conn_wait_readable(gr_conn* c, int timeout_ms);

/* Shuts the socket down both ways: blocked send/recv return promptly. */
void gr_conn_shutdown(gr_conn* c);

/* Closes the socket and frees c. NULL is a no-op. */
void gr_conn_close(gr_conn* c);

/* "ip:port" of the remote end (borrowed, lives as long as c). */
const char* gr_conn_peer(const gr_conn* c);

/* ---- peers: multiplexed request/response -------------------------------- */

/* A connection with a reader thread. Requests carry an id; replies carry
 * reply_to = that id, so many calls may be in flight on one connection and
 * complete in any order. A dialed peer reconnects with exponential backoff
 * after a failure; an accepted peer ends with its connection. All functions
 * are thread-safe unless stated. */
typedef struct gr_peer gr_peer;

/* Called on the peer's reader thread (or a thread in gr_peer_poll, one at
 * a time, in the order received) for every message that is not a reply
 * to one of our calls. Takes ownership of msg (gr_msg_free). Answer a
 * request (msg->id != 0) with gr_peer_reply, now or later from another
 * thread (take a gr_peer_ref to keep p alive). Must not call
 * gr_peer_close on p. Long work should be handed to another thread: the
 * peer reads nothing more until the handler returns. */
typedef void (*gr_peer_handler)(void* ctx, gr_peer* p, Granary__Envelope* msg);

/* Called on the reader thread when the connection comes up (up = 1) or
 * goes down (up = 0). A worker re-sends Hello from here. */
typedef void (*gr_peer_event)(void* ctx, gr_peer* p, int up);

typedef struct gr_peer_config
{
    gr_peer_handler on_message; /* NULL: requests get Error -ENOSYS */
    gr_peer_event on_state;     /* optional */
    void* ctx;
    uint32_t max_payload;   /* 0 = GR_NET_MAX_PAYLOAD */
    int io_timeout_ms;      /* per send; 0 = 10000 */
    int connect_timeout_ms; /* dial: 0 = 3000 */
    int backoff_min_ms;     /* dial: first retry delay; 0 = 50 */
    int backoff_max_ms;     /* dial: delay cap; 0 = 2000 */
} gr_peer_config;

/* Creates a peer that connects to addr in the background and reconnects
 * whenever the connection fails, until gr_peer_close. Returns at once;
 * errors: -EINVAL, -ENOMEM, -EAGAIN (no thread). */
int gr_peer_dial(const char* addr, const gr_peer_config* cfg, gr_peer** out);

/* Wraps a connection this side opened (gr_conn_connect) or accepted, as
 * the listener does: ownership of conn moves to the peer on success, its
 * reader thread starts, and the peer ends with the connection (it never
 * reconnects). Errors: -ENOMEM, -EAGAIN (no thread); conn stays the
 * caller's. */
int gr_peer_adopt(gr_conn* conn, const gr_peer_config* cfg, gr_peer** out);

/* Waits until connected. Returns 0, -ETIMEDOUT, or -ECANCELED (closed, or
 * an accepted peer whose connection ended). */
int gr_peer_wait_up(gr_peer* p, int timeout_ms);

/* Sends req and waits for the reply. Sets req->id. On success *reply is
 * owned by the caller and may carry an Error body. A dialed peer that is
 * down is waited for within the same timeout. Errors: -ETIMEDOUT (no reply
 * in time; a late reply is dropped), GR_NET_ECLOSED (the connection failed
 * with the call in flight: it may or may not have run), -ECANCELED, send
 * errors. */
int gr_peer_call(gr_peer* p,
                 Granary__Envelope* req,
                 Granary__Envelope** reply,
                 int timeout_ms);

/* Sends a one-way message (msg->id is left as set, normally 0). Errors:
 * -ENOTCONN (down now; nothing queued), send errors. */
int gr_peer_send(gr_peer* p, Granary__Envelope* msg);

/* Answers req with reply (sets reply->reply_to = req->id, reply->id = 0).
 * Errors as gr_peer_send. */
int gr_peer_reply(gr_peer* p,
                  const Granary__Envelope* req,
                  Granary__Envelope* reply);

/* Answers req with an Error message carrying code and text. */
int gr_peer_reply_error(gr_peer* p,
                        const Granary__Envelope* req,
                        int code,
                        const char* text);

/* Cooperative reading. A thread that waits for messages of p anyway (an
 * MPI rank spinning in a receive) may read and handle them itself, instead
 * of paying a hand-off to the reader thread: gr_peer_poll takes every
 * whole frame the socket holds now, without blocking, and hands each to
 * the handler (or to the call waiting for it) on the calling thread, in
 * order; it returns how many it handled, 0 when there were none or
 * another thread is reading p (never blocks on it). Each call also keeps
 * the reader thread off the socket for lease_ns (so the two do not both
 * wake for the same frame); gr_peer_unlease ends that at once, e.g.
 * before the caller goes to sleep. The reader thread takes over whenever
 * the lease runs out, so messages are handled even when nobody polls
 * (at most lease_ns later). A connection that ends under a poll is left
 * to the reader thread, which reports it as usual. The caller must hold
 * no lock the handler takes. Thread-safe. */
int gr_peer_poll(gr_peer* p, uint64_t lease_ns);
void gr_peer_unlease(gr_peer* p);

/* Reference counting for handlers that answer later. */
void gr_peer_ref(gr_peer* p);
void gr_peer_unref(gr_peer* p);

/* Remote address ("ip:port" of the last connection, or the dial address);
 * written into buf (NUL-terminated, truncated to len). */
void gr_peer_addr(gr_peer* p, char* buf, size_t len);

/* Stops the reader (joins it), fails calls in flight with -ECANCELED and
 * drops the caller's reference. Not from the peer's own handler. NULL is a
 * no-op. */
void gr_peer_close(gr_peer* p);

/* ---- listener ----------------------------------------------------------- */

/* Accepts connections and runs one gr_peer (one reader thread) per
 * connection with the same config; finished peers are reaped. */
typedef struct gr_server gr_server;

typedef struct gr_server_config
{
    const char* listen; /* "ip:port"; port 0 = ephemeral; NULL = 0.0.0.0:0 */
    gr_peer_config peer;
    int max_conns; /* 0 = 1024; further connections are closed at once */
} gr_server_config;

/* Binds, listens and starts the accept thread. Errors: -EINVAL (address),
 * -EADDRINUSE, -ENOMEM, -errno. */
int gr_server_start(const gr_server_config* cfg, gr_server** out);

/* The bound port (useful with port 0). */
int gr_server_port(const gr_server* s);

/* Number of live connections. */
int gr_server_conns(gr_server* s);

/* Closes the listener and every connection, joins all threads, frees s.
 * NULL is a no-op. Not from a handler. */
void gr_server_stop(gr_server* s);

#endif
