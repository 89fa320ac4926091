/* SPDX-License-Identifier: Apache-2.0 */
/* Snapshots: a Faaslet's state after initialisation, kept as a sealed memfd
 * copy of its linear memory plus an engine image of its globals and tables.
 * Instances are restored from it copy-on-write (no copy of the memory
 * image) and reset to it in place after each call. A small module of its
 * own so later work can ship snapshots between hosts or diff them. */
#ifndef GR_FAASLET_SNAPSHOT_H
#define GR_FAASLET_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>

#include "engine/engine.h"

typedef struct gr_snapshot gr_snapshot;

/* Captures in (its object, memory, globals, tables). Only pages holding
 * non-zero bytes are written to the memfd. Returns 0, -ENOMEM or -errno.
 * The snapshot holds a reference to the object. Immutable afterwards and
 * safe to share between threads (reference counted). */
int gr_snapshot_take(const gr_instance* in, gr_snapshot** out);

gr_snapshot* gr_snapshot_ref(gr_snapshot* s);
void gr_snapshot_unref(gr_snapshot* s);

/* Creates an instance in the snapshot's state: memory mapped MAP_PRIVATE
 * from the memfd (copy-on-write), globals and tables copied. No guest code
 * runs. cfg->host is the new instance's host context. */
int gr_snapshot_restore(gr_snapshot* s,
                        const gr_instance_config* cfg,
                        gr_instance** out);

/* Resets an instance restored from s back to s without unmapping: private
 * pages are dropped (MADV_DONTNEED), grown pages become inaccessible,
 * globals and tables are copied back, and the byte ranges in remap
 * ([start, end), page aligned: shared mappings placed during the call) get
 * the snapshot's private mapping back. */
int gr_snapshot_reset(gr_snapshot* s,
                      gr_instance* in,
                      const uint64_t (*remap)[2],
                      size_t n_remap);

/* Size of the captured memory in wasm pages, and the memfd (borrowed). */
uint32_t gr_snapshot_pages(const gr_snapshot* s);
int gr_snapshot_fd(const gr_snapshot* s);
gr_object* gr_snapshot_object(const gr_snapshot* s);

#endif
