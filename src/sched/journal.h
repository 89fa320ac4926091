/* SPDX-License-Identifier: Apache-2.0 */
/* Private to src/sched: the call-record journal, a SQLite database
 * (<data>/calls.db, WAL) that keeps call records across restarts. An
 * accepted call is committed before its id is handed out; a finished one
 * is committed by a writer thread in batches (group commit). Calls that
 * were queued or running when the server died read back as failed with
 * GR_ERESTARTED. Bounded by count and bytes, oldest first. */
#ifndef GR_SCHED_JOURNAL_H
#define GR_SCHED_JOURNAL_H

#include <stddef.h>
#include <stdint.h>

#include "sched/sched.h"

struct gr__call;
typedef struct gr__sched_journal gr__sched_journal;

/* Opens (creating) dir/calls.db and starts its writer thread. Records left
 * queued or running by a previous process become failed (GR_ERESTARTED).
 * max_records / max_bytes bound what is kept (oldest dropped first).
 * Returns 0, -ENOMEM or -EIO (reason logged). */
int gr__sched_journal_open(const char* dir,
                           size_t max_records,
                           size_t max_bytes,
                           gr__sched_journal** out);
/* Commits everything handed over so far, stops the writer, closes. NULL
 * is a no-op. */
void gr__sched_journal_close(gr__sched_journal* j);

/* Records the accepted (queued) call c and waits until it is committed:
 * after 0, the call's record survives a kill -9. Concurrent callers share
 * one commit. Returns 0, -ENOMEM, -ENOSPC or -EIO. NULL j: 0. */
int gr__sched_journal_accept(gr__sched_journal* j, const struct gr__call* c);
/* Hands over the outcome of c (finished with state st; the outcome fields
 * of c are final) for the next batch; copies what it needs and does not
 * wait for the commit (only for room when the writer is far behind).
 * Errors are logged. NULL j: no-op. */
void gr__sched_journal_finish(gr__sched_journal* j,
                              const struct gr__call* c,
                              gr_call_state st);
/* Waits until everything handed over before the call is committed (or
 * failed to commit: logged). NULL j: no-op. */
void gr__sched_journal_sync(gr__sched_journal* j);

/* Reads the journaled record of call id into out (as gr_sched_call_get;
 * user NULL = any user). Returns 0, -ENOENT, -EACCES or -ENOMEM. NULL j:
 * -ENOENT. */
int gr__sched_journal_get(gr__sched_journal* j,
                          const char* user,
                          uint64_t id,
                          gr_call_info* out);

/* Thread-safe throughout. */

#endif
