/* SPDX-License-Identifier: Apache-2.0 */
/* Private to src/net: helpers shared by frames, connections, peers and the
 * listener. */
#ifndef GR_NET_NET_INT_H
#define GR_NET_NET_INT_H

#include <stdint.h>
#include <sys/socket.h>

#include "net/net.h"

/* 1 if type is a message this build understands. */
int gr__net_type_known(Granary__Envelope__BodyCase type);

/* The size of env's frame (header included) in *len. Errors as
 * gr_frame_encode. */
int gr__frame_size(const Granary__Envelope* env,
                   uint32_t max_payload,
                   size_t* len);

/* Packs env's frame into buf, of exactly the len gr__frame_size gave.
 * -EINVAL if env changed meanwhile. */
int gr__frame_pack(const Granary__Envelope* env, uint8_t* buf, size_t len);

/* CLOCK_MONOTONIC in milliseconds. */
int64_t gr__net_now_ms(void);

/* Deadline for a timeout (-1 = none, returned as -1). */
int64_t gr__net_deadline(int timeout_ms);

/* Milliseconds left until deadline, for poll(): -1 = forever, 0 = passed. */
int gr__net_remaining(int64_t deadline);

/* Resolves "host:port" / "[v6]:port" into *ss. Returns 0 or -EINVAL. */
int gr__net_resolve(const char* addr,
                    int passive,
                    struct sockaddr_storage* ss,
                    socklen_t* sslen);

/* Formats sa as "ip:port" into buf. */
void gr__net_format(const struct sockaddr* sa, char* buf, size_t len);

#endif
