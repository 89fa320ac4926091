/* SPDX-License-Identifier: Apache-2.0 */
/* One sample Envelope of every message type, shared by the net unit tests
 * and the fuzz seed generator. */
#ifndef GR_TEST_NET_MSGS_H
#define GR_TEST_NET_MSGS_H

#include <stddef.h>

#include "net/net.h"

#define NET_TEST_NMSGS 13

/* Fills envs[0..NET_TEST_NMSGS) with pointers to static sample messages
 * (borrowed; not to be freed), one per body type, fields populated. */
void net_test_msgs(Granary__Envelope* envs[NET_TEST_NMSGS]);

/* 1 if a and b pack to the same bytes. */
int net_test_msgs_equal(const Granary__Envelope* a, const Granary__Envelope* b);

#endif
