/* SPDX-License-Identifier: Apache-2.0 */
/* Same-host channels: one single-producer/single-consumer ring of cells
 * per (sender, receiver) pair of local ranks, written by the sender
 * without any lock and read by the receiver (match.c decides what goes
 * through it and keeps MPI's order with the locked path). A record is one
 * header cell plus continuation cells; every cell starts with a control
 * word that only ever holds a header's sequence number, so message bytes
 * can never pass for a header. */
#include <string.h>

#include "mpi/mpi_int.h"
#include "util/alloc.h"

#define HEAD_DATA (GR__MPI_CELL_BYTES - 24)
#define CONT_DATA (GR__MPI_CELL_BYTES - 8)

_Static_assert(sizeof(struct gr__mpi_cell) == GR__MPI_CELL_BYTES, "cell");

static uint32_t
cells_for(size_t len)
{
    if (len <= HEAD_DATA)
        return 1;
    return 1 + (uint32_t)((len - HEAD_DATA + CONT_DATA - 1) / CONT_DATA);
}

_Static_assert(1 + (GR__MPI_INLINE - HEAD_DATA + CONT_DATA - 1) / CONT_DATA <=
                 GR__MPI_CHAN_CELLS / 2,
               "an inline record fits the ring twice");

struct gr__mpi_chan*
gr__mpi_chan_open(gr_mpi_world* w, int src, int dst)
{
    struct gr__mpi_chan* c = gr__mpi_chan_get(w, src, dst);
    if (c || !w->chans)
        return c;
    /* only the sender creates its channels: no race between creators */
    void* raw = gr_malloc(sizeof *c + 63);
    if (!raw)
        return NULL;
    c = (struct gr__mpi_chan*)(((uintptr_t)raw + 63) & ~(uintptr_t)63);
    memset(c, 0, sizeof *c);
    c->raw = raw;
    __atomic_store_n(
      &w->chans[(size_t)dst * (size_t)w->size + src], c, __ATOMIC_RELEASE);
    return c;
}

void
gr__mpi_chans_free(gr_mpi_world* w)
{
    if (!w->chans)
        return;
    for (size_t i = 0; i < (size_t)w->size * (size_t)w->size; i++)
        if (w->chans[i])
            gr_free(w->chans[i]->raw);
    gr_free(w->chans);
    w->chans = NULL;
}

int
gr__mpi_chan_push(struct gr__mpi_chan* c,
                  const void* buf,
                  size_t len,
                  int tag,
                  int ctx)
{
    uint32_t n = cells_for(len);
    if (c->head + n - c->tail_seen > GR__MPI_CHAN_CELLS) {
        c->tail_seen = __atomic_load_n(&c->tail, __ATOMIC_ACQUIRE);
        if (c->head + n - c->tail_seen > GR__MPI_CHAN_CELLS)
            return 0;
    }
    uint64_t pos = c->head;
    struct gr__mpi_cell* h = &c->cells[pos % GR__MPI_CHAN_CELLS];
    h->u.h.tag = tag;
    h->u.h.ctx = ctx;
    h->u.h.len = (uint32_t)len;
    h->u.h.ncell = n;
    const uint8_t* p = buf;
    size_t k = len < HEAD_DATA ? len : HEAD_DATA;
    if (k)
        memcpy(h->u.h.data, p, k);
    for (uint32_t i = 1; i < n; i++) {
        size_t m = len - k < CONT_DATA ? len - k : CONT_DATA;
        memcpy(c->cells[(pos + i) % GR__MPI_CHAN_CELLS].u.cont, p + k, m);
        k += m;
    }
    c->head = pos + n;
    /* seq_cst, as the receiver's read of it: with the flag a receiver
     * sets before it sleeps, one of the two sides sees the other (see
     * wait_cv in match.c) */
    __atomic_store_n(&h->seq, pos + 1, __ATOMIC_SEQ_CST);
    return 1;
}

int
gr__mpi_chan_sender_empty(struct gr__mpi_chan* c)
{
    return c->head == __atomic_load_n(&c->tail, __ATOMIC_ACQUIRE);
}

void
gr__mpi_chan_read(struct gr__mpi_chan* c,
                  const struct gr__mpi_rec* rec,
                  void* dst,
                  size_t n)
{
    if (n > rec->len)
        n = rec->len;
    const struct gr__mpi_cell* h = &c->cells[rec->pos % GR__MPI_CHAN_CELLS];
    uint8_t* d = dst;
    size_t k = n < HEAD_DATA ? n : HEAD_DATA;
    if (k)
        memcpy(d, h->u.h.data, k);
    for (uint32_t i = 1; k < n && i < rec->ncell; i++) {
        size_t m = n - k < CONT_DATA ? n - k : CONT_DATA;
        memcpy(d + k, c->cells[(rec->pos + i) % GR__MPI_CHAN_CELLS].u.cont, m);
        k += m;
    }
}

void
gr__mpi_chan_pop(struct gr__mpi_chan* c, const struct gr__mpi_rec* rec)
{
    __atomic_store_n(&c->tail, rec->pos + rec->ncell, __ATOMIC_RELEASE);
}

int
gr__mpi_chan_sender_may_match(struct gr__mpi_chan* c, int tag, int ctx)
{
    uint64_t pos = __atomic_load_n(&c->tail, __ATOMIC_ACQUIRE);
    while (pos < c->head) {
        const struct gr__mpi_cell* h = &c->cells[pos % GR__MPI_CHAN_CELLS];
        if (h->u.h.ctx == ctx && (tag == GR_MPI_ANY_TAG || h->u.h.tag == tag))
            return 1;
        pos += h->u.h.ncell ? h->u.h.ncell : 1;
    }
    return 0;
}
