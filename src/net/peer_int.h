/* SPDX-License-Identifier: Apache-2.0 */
/* Private to src/net: what the listener needs from peers. */
#ifndef GR_NET_PEER_INT_H
#define GR_NET_PEER_INT_H

#include "net/net.h"

/* 1 once the reader thread has finished (the connection ended). */
int gr__peer_done(gr_peer* p);

/* Stops and joins the reader thread; keeps the reference. */
void gr__peer_stop(gr_peer* p);

#endif
